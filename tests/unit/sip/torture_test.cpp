// Torture cases in the spirit of RFC 4475, written anew for this parser: each valid message must
// parse and read back the same after writing; each invalid one must be refused with the answer a
// server gives (RFC 3261 §21) and a reason phrase naming the problem.

#include "sip/internal/message.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>

namespace presenced::sip {
namespace {

using test::kCallId;
using test::kFrom;
using test::kTo;
using test::kVia;
using test::lines;

struct Valid {
  const char* name;
  std::string bytes;
  std::function<void(const Message&)> check;
};

class ValidMessage : public ::testing::TestWithParam<Valid> {};

TEST_P(ValidMessage, ParsesAndReadsBackTheSameAfterWriting) {
  const Valid& row = GetParam();
  const auto message = test::parse_datagram(row.bytes);
  ASSERT_TRUE(message) << message.error().detail;
  row.check(*message);
  const std::string written = serialize(*message);
  const auto again = parse(written, Framing::Stream, test::loose_limits());
  ASSERT_TRUE(again) << again.error().detail << "\n" << written;
  EXPECT_EQ(*again, *message) << written;
}

std::vector<Valid> valid_rows() {
  return {
      // RFC 4475 §3.1.1.1 idea: compact names, odd case, tabs, folding, spaces around '/'.
      {"unusual_whitespace_and_folding",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0",
              "v  :  SIP / 2.0 / UDP\t192.0.2.10 ; branch = z9hG4bK-ws",
              "f:\t\"Alice \\\"A\\\" Smith\"   <sip:alice@example.com> ; tag = a1",
              "t :bob<sip:bob@example.com>", "i: c2@192.0.2.10", "cSeQ   :  7\t SUBSCRIBE",
              "Subject: a subject", "  that goes on", "\t and on", "o: presence",
              "Max-Forwards: 70", "l: 0", "", ""}),
       [](const Message& m) {
         ASSERT_EQ(m.vias.size(), 1u);
         EXPECT_EQ(m.vias[0].transport, "UDP");
         EXPECT_EQ(m.vias[0].branch(), "z9hG4bK-ws");
         EXPECT_EQ(m.from.display_name, "Alice \"A\" Smith");
         EXPECT_EQ(m.from.tag(), "a1");
         EXPECT_EQ(m.to.display_name, "bob");
         EXPECT_EQ(m.call_id, "c2@192.0.2.10");
         EXPECT_EQ(m.cseq.number, 7u);
         EXPECT_EQ(m.header("subject"), "a subject that goes on and on");  // §7.3.1
         EXPECT_EQ(m.event->package, "presence");
       }},
      // Every compact form we read (RFC 3261 §7.3.3, RFC 6665 §8.2).
      {"compact_forms",
       lines({"NOTIFY sip:alice@192.0.2.10:5070 SIP/2.0",
              "v: SIP/2.0/TCP pres.example.com;branch=z9hG4bK-n1",
              "f: <sip:bob@example.com>;tag=b7", "t: <sip:alice@example.com>;tag=a1", "i: c3",
              "CSeq: 2 NOTIFY", "m: <sip:pres.example.com;transport=tcp>", "o: dialog;id=42",
              "u: presence, dialog", "k: eventlist", "c: application/dialog-info+xml",
              "Subscription-State: active;expires=599", "s: compact subject", "l: 4", "", "<a/>"}),
       [](const Message& m) {
         EXPECT_EQ(m.method, Method::Notify);
         EXPECT_EQ(m.request_uri.port, 5070);
         EXPECT_EQ(m.contacts.addresses.at(0).uri.host, "pres.example.com");
         EXPECT_EQ(m.event->package, "dialog");
         EXPECT_EQ(m.event->id, "42");
         EXPECT_EQ(m.allow_events, (std::vector<std::string>{"presence", "dialog"}));
         EXPECT_EQ(m.supported, std::vector<std::string>{"eventlist"});
         EXPECT_EQ(m.content_type->subtype, "dialog-info+xml");
         EXPECT_EQ(m.subscription_state->state, "active");
         EXPECT_EQ(m.subscription_state->expires, 599u);
         EXPECT_EQ(m.header("Subject"), "compact subject");
         EXPECT_EQ(m.body, "<a/>");
       }},
      // RFC 4475 §3.1.1.3/§3.1.1.4 ideas: escapes in the user part, an escaped NUL, case.
      {"escaped_user_and_upper_case_scheme",
       lines({"SUBSCRIBE SIP:b%6Fb%40home%00x@EXAMPLE.com;Transport=UDP SIP/2.0", std::string(kVia),
              std::string(kFrom), "To: <sip:%62ob@example.com>", std::string(kCallId),
              "CSeq: 1 SUBSCRIBE", "Event: presence", "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.request_uri.scheme, "sip");
         EXPECT_EQ(m.request_uri.user, std::string("bob@home\0x", 10));
         EXPECT_EQ(m.request_uri.host, "EXAMPLE.com");
         EXPECT_EQ(m.to.uri.user, "bob");
         EXPECT_FALSE(m.max_forwards.has_value());  // Max-Forwards is the proxy's business
       }},
      // An extension method with its CSeq and unknown headers kept in order.
      {"extension_method_and_unknown_headers",
       lines({"PRESENCEPROBE sip:bob@example.com SIP/2.0", std::string(kVia), std::string(kFrom),
              std::string(kTo), std::string(kCallId), "CSeq: 3 PRESENCEPROBE", "X-Empty:",
              "X-Custom:   value with  spaces  ", "Unknown-Header: ;;,,<<\"\"", "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.method, Method::Other);
         EXPECT_EQ(m.method_name(), "PRESENCEPROBE");
         ASSERT_EQ(m.other_headers.size(), 3u);
         EXPECT_EQ(m.other_headers[0].value, "");
         EXPECT_EQ(m.other_headers[1].value, "value with  spaces");
         EXPECT_EQ(m.other_headers[2].name, "Unknown-Header");
       }},
      // Via lists on one line and over several, IPv6 hosts, valueless parameters (RFC 3581).
      {"via_lists_and_ipv6",
       lines({"SUBSCRIBE sip:bob@[2001:db8::1]:5060 SIP/2.0",
              "Via: SIP/2.0/UDP [2001:db8::9]:5062;branch=z9hG4bK-a;rport, SIP/2.0/TCP "
              "proxy.example.com;branch=z9hG4bK-b;received=2001:db8::7",
              "Via: SIP/2.0/TLS edge.example.com:5061;branch=z9hG4bK-c", std::string(kFrom),
              std::string(kTo), std::string(kCallId), "CSeq: 1 SUBSCRIBE",
              "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
              "Record-Route: <sip:p1.example.com;lr>", "Contact: <sip:alice@[2001:db8::9]:5062>",
              "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.request_uri.host, "[2001:db8::1]");
         ASSERT_EQ(m.vias.size(), 3u);
         EXPECT_EQ(m.vias[0].host, "[2001:db8::9]");
         EXPECT_EQ(m.vias[0].port, 5062);
         EXPECT_EQ(find_param(m.vias[0].params, "rport"), "");
         EXPECT_EQ(find_param(m.vias[1].params, "received"), "2001:db8::7");
         EXPECT_EQ(m.vias[2].transport, "TLS");
         ASSERT_EQ(m.routes.size(), 2u);
         EXPECT_EQ(m.routes[1].uri.host, "p2.example.com");
         EXPECT_EQ(m.record_routes.size(), 1u);
       }},
      // Without Content-Length the datagram's end ends the body (§18.3).
      {"datagram_without_content_length",
       lines({"PUBLISH sip:alice@example.com SIP/2.0", std::string(kVia), std::string(kFrom),
              "To: <sip:alice@example.com>", std::string(kCallId), "CSeq: 1 PUBLISH",
              "Event: presence", "Expires: 3600", "Content-Type: application/pidf+xml", "",
              "<presence/>\r\n"}),
       [](const Message& m) {
         EXPECT_EQ(m.body, "<presence/>\r\n");
         EXPECT_EQ(m.expires, 3600u);
       }},
      // Content-Length shorter than the datagram: the rest is dropped (§18.3).
      {"datagram_longer_than_content_length",
       lines({"PUBLISH sip:alice@example.com SIP/2.0", std::string(kVia), std::string(kFrom),
              "To: <sip:alice@example.com>", std::string(kCallId), "CSeq: 2 PUBLISH",
              "Event: presence", "SIP-If-Match: dx200xyz", "Expires: 0", "Content-Length: 3", "",
              "abcdef"}),
       [](const Message& m) {
         EXPECT_EQ(m.body, "abc");
         EXPECT_EQ(m.sip_if_match, "dx200xyz");
         EXPECT_EQ(m.expires, 0u);
       }},
      // RFC 4475 §3.1.2.5 idea: an overlarge Expires is read as the largest (RFC 3261 §20.19).
      {"expires_past_32_bits", test::subscribe({"Expires: 100000000000000000000000"}),
       [](const Message& m) { EXPECT_EQ(m.expires, 4294967295u); }},
      // A response with an empty reason phrase, and one with UTF-8 in it.
      {"response_empty_reason",
       lines({"SIP/2.0 200 ", std::string(kVia), std::string(kFrom),
              "To: <sip:bob@example.com>;tag=b1", std::string(kCallId), "CSeq: 1 SUBSCRIBE",
              "Expires: 600", "Content-Length: 0", "", ""}),
       [](const Message& m) {
         EXPECT_FALSE(m.is_request());
         EXPECT_EQ(m.status, 200);
         EXPECT_EQ(m.reason, "");
         EXPECT_EQ(m.to.tag(), "b1");
       }},
      {"response_utf8_reason",
       lines({"SIP/2.0 480 Nicht verf\xc3\xbc"
              "gbar",
              std::string(kVia), std::string(kFrom), std::string(kTo), std::string(kCallId),
              "CSeq: 1 SUBSCRIBE", "", ""}),
       [](const Message& m) { EXPECT_EQ(m.reason, "Nicht verf\xc3\xbcgbar"); }},
      // Digest challenge and credentials, with quoted commas and an escaped quote (RFC 7616).
      {"digest_challenge",
       lines({"SIP/2.0 401 Unauthorized", std::string(kVia), std::string(kFrom),
              "To: <sip:bob@example.com>;tag=b1", std::string(kCallId), "CSeq: 1 SUBSCRIBE",
              "WWW-Authenticate: Digest realm=\"example.com\", qop=\"auth,auth-int\", "
              "nonce=\"n\\\"1\", algorithm=SHA-256, stale=FALSE",
              "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n2\", algorithm=MD5",
              "Content-Length: 0", "", ""}),
       [](const Message& m) {
         ASSERT_EQ(m.www_authenticate.size(), 2u);
         const Auth& sha = m.www_authenticate[0];
         EXPECT_EQ(sha.scheme, "Digest");
         EXPECT_EQ(sha.param("QOP"), "auth,auth-int");
         EXPECT_EQ(sha.param("nonce"), "n\"1");
         EXPECT_EQ(sha.param("algorithm"), "SHA-256");
         EXPECT_EQ(m.www_authenticate[1].param("algorithm"), "MD5");
       }},
      {"digest_credentials",
       test::subscribe({"Authorization: Digest username=\"alice\", realm=\"example.com\", "
                        "nonce=\"n1\", uri=\"sip:bob@example.com\", response=\"0123abcd\", "
                        "algorithm=MD5, cnonce=\"c1\", qop=auth, nc=00000001"}),
       [](const Message& m) {
         ASSERT_EQ(m.authorization.size(), 1u);
         EXPECT_EQ(m.authorization[0].param("uri"), "sip:bob@example.com");
         EXPECT_EQ(m.authorization[0].param("nc"), "00000001");
         EXPECT_EQ(m.authorization[0].params.size(), 9u);
       }},
      // REGISTER with Contact: * (§10.2.2) and an empty Accept (§20.1).
      {"contact_star_and_empty_accept",
       lines({"REGISTER sip:example.com SIP/2.0", std::string(kVia), std::string(kFrom),
              "To: <sip:alice@example.com>", std::string(kCallId), "CSeq: 9 REGISTER", "Contact: *",
              "Expires: 0", "Accept:", "", ""}),
       [](const Message& m) {
         EXPECT_TRUE(m.contacts.star);
         ASSERT_TRUE(m.accept.has_value());
         EXPECT_TRUE(m.accept->empty());
       }},
      // SUBSCRIBE as a phone sends it for BLF, with Accept and several Allow lines.
      {"blf_subscribe",
       test::subscribe({"Contact: \"Desk\" <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600",
                        "Accept: application/dialog-info+xml;q=1, application/pidf+xml",
                        "Accept: multipart/related", "Allow: INVITE, ACK", "Allow: NOTIFY",
                        "Expires: 3600", "User-Agent: Desk Phone 1.0"}),
       [](const Message& m) {
         EXPECT_EQ(m.accept->size(), 3u);
         EXPECT_EQ(find_param((*m.accept)[0].params, "q"), "1");
         EXPECT_EQ(m.allow.size(), 3u);
         EXPECT_EQ(m.contacts.addresses.at(0).display_name, "Desk");
         EXPECT_EQ(find_param(m.contacts.addresses.at(0).params, "expires"), "3600");
         EXPECT_EQ(find_param(m.contacts.addresses.at(0).uri.params, "transport"), "udp");
       }},
      // Names and addresses in addr-spec form: parameters belong to the header (§20.10).
      {"addr_spec_form",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", std::string(kVia),
              "From: sip:alice@example.com;tag=a9", "To: sip:bob@example.com", std::string(kCallId),
              "CSeq: 1 SUBSCRIBE", "Contact: sip:alice@192.0.2.10 ;expires=60", "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.from.tag(), "a9");
         EXPECT_TRUE(m.from.uri.params.empty());
         EXPECT_EQ(find_param(m.contacts.addresses.at(0).params, "expires"), "60");
       }},
      // Max-Forwards: 0 parses; answering 483 is the transaction layer's job (§16.3).
      {"max_forwards_zero",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", std::string(kVia), std::string(kFrom),
              std::string(kTo), std::string(kCallId), "CSeq: 1 SUBSCRIBE", "Max-Forwards: 0", "",
              ""}),
       [](const Message& m) { EXPECT_EQ(m.max_forwards, 0); }},
      // A terminated subscription with reason and retry-after (RFC 6665 §8.2.3).
      {"subscription_terminated",
       lines({"NOTIFY sip:alice@192.0.2.10 SIP/2.0", std::string(kVia),
              "From: <sip:bob@example.com>;tag=b1", "To: <sip:alice@example.com>;tag=a1",
              std::string(kCallId), "CSeq: 5 NOTIFY", "Event: presence;id=7;x=y",
              "Subscription-State: terminated;reason=timeout;retry-after=30;extra", "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.subscription_state->reason, "timeout");
         EXPECT_EQ(m.subscription_state->retry_after, 30u);
         EXPECT_EQ(m.subscription_state->params.size(), 1u);
         EXPECT_EQ(m.event->params.size(), 1u);
       }},
      // A URI with password, parameters and headers; a tel: URI in From.
      {"uri_parts",
       lines({"SUBSCRIBE "
              "sips:bob:secret@example.com:5061;maddr=192.0.2.1;lr?Subject=hi&Priority=urgent "
              "SIP/2.0",
              std::string(kVia), "From: <tel:+49-30-1234;phone-context=example.com>;tag=t1",
              std::string(kTo), std::string(kCallId), "CSeq: 1 SUBSCRIBE", "", ""}),
       [](const Message& m) {
         EXPECT_EQ(m.request_uri.scheme, "sips");
         EXPECT_EQ(m.request_uri.password, "secret");
         EXPECT_EQ(m.request_uri.params.size(), 2u);
         EXPECT_EQ(m.request_uri.headers, "Subject=hi&Priority=urgent");
         EXPECT_EQ(m.from.uri.scheme, "tel");
         EXPECT_EQ(m.from.uri.opaque, "+49-30-1234;phone-context=example.com");
       }},
  };
}

void PrintTo(const Valid& row, std::ostream* out) { *out << row.name; }

INSTANTIATE_TEST_SUITE_P(Torture, ValidMessage, ::testing::ValuesIn(valid_rows()),
                         [](const ::testing::TestParamInfo<Valid>& row) {
                           return std::string(row.param.name);
                         });

struct Invalid {
  const char* name;
  std::string bytes;
  ParseProblem problem;
  int status;
  const char* reason;
};

class InvalidMessage : public ::testing::TestWithParam<Invalid> {};

TEST_P(InvalidMessage, IsRefusedWithItsAnswer) {
  const Invalid& row = GetParam();
  const auto message = test::parse_datagram(row.bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(to_string(message.error().problem), to_string(row.problem)) << message.error().detail;
  EXPECT_EQ(message.error().status(), row.status);
  EXPECT_EQ(message.error().reason, row.reason);
  EXPECT_FALSE(message.error().detail.empty());
}

std::string request_line(std::string_view line) {
  return lines({line, kVia, kFrom, kTo, kCallId, "CSeq: 1 SUBSCRIBE", "", ""});
}

std::string without(std::string_view header) {
  std::string m = test::subscribe();
  const std::size_t at = m.find(header);
  return m.erase(at, m.find("\r\n", at) + 2 - at);
}

// A request with the mandatory headers and one more.
std::string with_header(std::string_view header) {
  return lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
                "CSeq: 1 SUBSCRIBE", header, "", ""});
}

std::vector<Invalid> invalid_rows() {
  using P = ParseProblem;
  return {
      // Start line (RFC 3261 §7.1, §7.2; RFC 4475 §3.1.2.x ideas).
      {"extra_space_in_request_line", request_line("SUBSCRIBE  sip:bob@example.com SIP/2.0"),
       P::BadStartLine, 400, "Bad Request Line"},
      {"uri_in_angle_brackets", request_line("SUBSCRIBE <sip:bob@example.com> SIP/2.0"),
       P::BadStartLine, 400, "Bad Request Line"},
      {"space_inside_uri", request_line("SUBSCRIBE sip:bob@exa mple.com SIP/2.0"), P::BadStartLine,
       400, "Bad Request Line"},
      {"bad_escape_in_uri", request_line("SUBSCRIBE sip:b%G0b@example.com SIP/2.0"),
       P::BadStartLine, 400, "Bad Request Line"},
      {"port_too_large", request_line("SUBSCRIBE sip:bob@example.com:65536 SIP/2.0"),
       P::BadStartLine, 400, "Bad Request Line"},
      {"unknown_version", request_line("SUBSCRIBE sip:bob@example.com SIP/7.0"),
       P::UnsupportedVersion, 505, "Version Not Supported"},
      {"malformed_version", request_line("SUBSCRIBE sip:bob@example.com SIP/2.0x"), P::BadStartLine,
       400, "Bad Request Line"},
      {"tel_request_uri", request_line("SUBSCRIBE tel:+1-555-0100 SIP/2.0"),
       P::UnsupportedUriScheme, 416, "Unsupported URI Scheme"},
      {"request_uri_too_long",
       request_line("SUBSCRIBE sip:" + std::string(3000, 'b') + "@example.com SIP/2.0"),
       P::UriTooLong, 414, "Request-URI Too Long"},
      {"method_not_a_token", request_line("SUB(SCRIBE sip:bob@example.com SIP/2.0"),
       P::BadStartLine, 400, "Bad Request Line"},
      {"status_code_two_digits",
       lines({"SIP/2.0 20 OK", kVia, kFrom, kTo, kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadStartLine, 400, "Bad Status Line"},
      {"status_code_four_digits",
       lines({"SIP/2.0 2000 OK", kVia, kFrom, kTo, kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadStartLine, 400, "Bad Status Line"},
      // Mandatory and single headers (§8.1.1, §20).
      {"missing_call_id", without("Call-ID"), P::MissingHeader, 400, "Missing Call-ID"},
      {"missing_from", without("From"), P::MissingHeader, 400, "Missing From"},
      {"missing_to", without("To:"), P::MissingHeader, 400, "Missing To"},
      {"missing_cseq", without("CSeq"), P::MissingHeader, 400, "Missing CSeq"},
      {"missing_via", without("Via"), P::MissingHeader, 400, "Missing Via"},
      {"duplicate_call_id", test::subscribe({"i: other@192.0.2.10"}), P::DuplicateHeader, 400,
       "Duplicate Call-ID"},
      {"duplicate_to", test::subscribe({"To: <sip:carol@example.com>"}), P::DuplicateHeader, 400,
       "Duplicate To"},
      {"duplicate_content_length", test::subscribe({"l: 0"}), P::DuplicateHeader, 400,
       "Duplicate Content-Length"},
      {"duplicate_event", test::subscribe({"Event: dialog"}), P::DuplicateHeader, 400,
       "Duplicate Event"},
      // CSeq (§8.1.1.5, §8.2).
      {"cseq_method_mismatch",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId, "CSeq: 1 NOTIFY",
              "", ""}),
       P::CSeqMismatch, 400, "CSeq Method Mismatch"},
      {"cseq_past_2_31",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
              "CSeq: 36893488147419103232 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad CSeq"},
      {"cseq_without_method",
       lines(
           {"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId, "CSeq: 1", "", ""}),
       P::BadHeader, 400, "Bad CSeq"},
      {"max_forwards_past_255", with_header("Max-Forwards: 300"), P::BadHeader, 400,
       "Bad Max-Forwards"},
      // Content-Length (§18.3, §20.14).
      {"negative_content_length",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
              "CSeq: 1 SUBSCRIBE", "Content-Length: -5", "", ""}),
       P::BadContentLength, 400, "Bad Content-Length"},
      {"content_length_past_datagram",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
              "CSeq: 1 SUBSCRIBE", "Content-Length: 9999", "", "short"}),
       P::Truncated, 400, "Bad Content-Length"},
      {"content_length_huge",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
              "CSeq: 1 SUBSCRIBE", "Content-Length: 99999999999999999999999999", "", ""}),
       P::BodyTooLarge, 413, "Request Entity Too Large"},
      // Header syntax.
      {"unterminated_display_name", test::subscribe({"Contact: \"Alice <sip:alice@192.0.2.10>"}),
       P::BadHeader, 400, "Bad Contact"},
      {"unbalanced_angle_bracket", test::subscribe({"Contact: <sip:alice@192.0.2.10"}),
       P::BadHeader, 400, "Bad Contact"},
      {"space_inside_angle_brackets", test::subscribe({"Contact: <sip:alice@192.0.2.10 >"}),
       P::BadHeader, 400, "Bad Contact"},
      {"star_with_addresses", test::subscribe({"Contact: *", "Contact: <sip:a@192.0.2.1>"}),
       P::BadHeader, 400, "Bad Contact"},
      {"via_wrong_version",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0",
              "Via: SIP/3.0/UDP 192.0.2.10;branch=z9hG4bK-x", kFrom, kTo, kCallId,
              "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad Via"},
      {"via_without_host",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", "Via: SIP/2.0/UDP ;branch=z9hG4bK-x", kFrom,
              kTo, kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad Via"},
      {"empty_list_element",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0",
              "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK-1,,SIP/2.0/UDP b.example.com", kFrom,
              kTo, kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad Via"},
      {"event_without_package", with_header("Event: ;id=1"), P::BadHeader, 400, "Bad Event"},
      {"subscription_state_bad_expires",
       test::subscribe({"Subscription-State: active;expires=soon"}), P::BadHeader, 400,
       "Bad Subscription-State"},
      {"etag_not_a_token", test::subscribe({"SIP-ETag: a b"}), P::BadHeader, 400, "Bad SIP-ETag"},
      {"expires_not_a_number", test::subscribe({"Expires: 1h"}), P::BadHeader, 400, "Bad Expires"},
      {"call_id_with_space",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, "Call-ID: a b",
              "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad Call-ID"},
      {"auth_param_without_value", test::subscribe({"Authorization: Digest username"}),
       P::BadHeader, 400, "Bad Authorization"},
      // Lines and characters (§7.3.1, §25.1).
      {"raw_nul_in_header", test::subscribe({std::string("X-Note: a\0b", 11)}), P::BadHeader, 400,
       "Bad Header"},
      {"bare_lf_inside_headers", test::subscribe({"X-A: 1\nX-B: 2"}), P::BadHeader, 400,
       "Bad Header"},
      {"only_lf_line_ends", "SUBSCRIBE sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP h\n\n",
       P::Truncated, 400, "Truncated Message"},
      {"no_empty_line", lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom}), P::Truncated,
       400, "Truncated Message"},
      {"continuation_before_first_header",
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", " folded: start", kVia, kFrom, kTo, kCallId,
              "CSeq: 1 SUBSCRIBE", "", ""}),
       P::BadHeader, 400, "Bad Header"},
      {"header_without_colon", test::subscribe({"NoColonHere"}), P::BadHeader, 400, "Bad Header"},
      {"header_name_with_space", test::subscribe({"X Bad: 1"}), P::BadHeader, 400, "Bad Header"},
      {"empty_message", "", P::Truncated, 400, "Truncated Message"},
      {"only_crlf", "\r\n\r\n", P::BadStartLine, 400, "Bad Request Line"},
  };
}

void PrintTo(const Invalid& row, std::ostream* out) { *out << row.name; }

INSTANTIATE_TEST_SUITE_P(Torture, InvalidMessage, ::testing::ValuesIn(invalid_rows()),
                         [](const ::testing::TestParamInfo<Invalid>& row) {
                           return std::string(row.param.name);
                         });

}  // namespace
}  // namespace presenced::sip
