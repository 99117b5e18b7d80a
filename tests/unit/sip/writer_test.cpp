// Writing messages: exact bytes for the answers and NOTIFYs a presence server sends (RFC 3261
// §8.2.6, RFC 6665 §8.2), in one allocation.

#include "sip/internal/message.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::sip {
namespace {

using test::lines;

Message notify() {
  Message m;
  m.method = Method::Notify;
  m.request_uri = *parse_uri("sip:alice@192.0.2.10:5060;transport=udp");
  Via via;
  via.transport = "UDP";
  via.host = "pres.example.com";
  via.port = 5060;
  via.params.push_back(Param{"branch", "z9hG4bK-776"});
  m.vias.push_back(via);
  m.from = *parse_name_addr("<sip:bob@example.com>;tag=srv1");
  m.to = *parse_name_addr("<sip:alice@example.com>;tag=a1");
  m.call_id = "c1@192.0.2.10";
  m.cseq = CSeq{2, Method::Notify, ""};
  m.max_forwards = 70;
  m.contacts.addresses.push_back(*parse_name_addr("<sip:pres.example.com>"));
  m.event = Event{"presence", std::nullopt, {}};
  m.subscription_state = SubscriptionState{"active", "", 3599, std::nullopt, {}};
  m.content_type = MediaType{"application", "pidf+xml", {}};
  m.body = "<presence/>";
  return m;
}

TEST(Writer, WritesANotifyInTheFixedOrder) {
  EXPECT_EQ(serialize(notify()),
            lines({"NOTIFY sip:alice@192.0.2.10:5060;transport=udp SIP/2.0",
                   "Via: SIP/2.0/UDP pres.example.com:5060;branch=z9hG4bK-776",
                   "From: <sip:bob@example.com>;tag=srv1", "To: <sip:alice@example.com>;tag=a1",
                   "Call-ID: c1@192.0.2.10", "CSeq: 2 NOTIFY", "Max-Forwards: 70",
                   "Contact: <sip:pres.example.com>", "Event: presence",
                   "Subscription-State: active;expires=3599", "Content-Type: application/pidf+xml",
                   "Content-Length: 11", "", "<presence/>"}));
}

// §8.2.6.2: the answer copies Via, From, Call-ID and CSeq, and To with our tag added.
TEST(Writer, WritesAnAnswerFromTheRequest) {
  const auto request = test::parse_datagram(test::subscribe({"Expires: 600"}));
  ASSERT_TRUE(request);
  Message answer;
  answer.status = 200;
  answer.reason = "OK";
  answer.vias = request->vias;
  answer.from = request->from;
  answer.to = request->to;
  answer.to.params.push_back(Param{"tag", "srv9"});
  answer.call_id = request->call_id;
  answer.cseq = request->cseq;
  answer.expires = 600;
  EXPECT_EQ(serialize(answer),
            lines({"SIP/2.0 200 OK", "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-t1",
                   "From: <sip:alice@example.com>;tag=a1", "To: <sip:bob@example.com>;tag=srv9",
                   "Call-ID: c1@192.0.2.10", "CSeq: 1 SUBSCRIBE", "Expires: 600",
                   "Content-Length: 0", "", ""}));
}

TEST(Writer, WritesChallengesQuotingWhatWasQuoted) {
  Message m;
  m.status = 401;
  m.reason = "Unauthorized";
  Auth challenge;
  challenge.scheme = "Digest";
  challenge.params = {AuthParam{"realm", "example.com", true}, AuthParam{"nonce", "a\"b", true},
                      AuthParam{"algorithm", "SHA-256", false}};
  m.www_authenticate.push_back(challenge);
  const std::string written = serialize(m);
  EXPECT_NE(written.find("\r\nWWW-Authenticate: Digest realm=\"example.com\", nonce=\"a\\\"b\", "
                         "algorithm=SHA-256\r\n"),
            std::string::npos)
      << written;
}

// The writer counts first, then fills a string reserved to that size: one allocation.
TEST(Writer, AllocatesOnceForTheWholeMessage) {
  const Message m = notify();
  const std::string written = serialize(m);
  EXPECT_EQ(written.capacity(), written.size());
  const std::string answer = serialize(*test::parse_datagram(test::subscribe()));
  EXPECT_EQ(answer.capacity(), answer.size());
}

TEST(Writer, WritesEachViaRouteAndContactOnItsOwnLine) {
  const auto m = test::parse_datagram(
      lines({"SUBSCRIBE sip:b@h SIP/2.0", "v: SIP/2.0/UDP a;branch=z9hG4bK-1, SIP/2.0/UDP b",
             test::kFrom, test::kTo, test::kCallId, "CSeq: 1 SUBSCRIBE",
             "Route: <sip:p1;lr>,<sip:p2;lr>", "m: <sip:a@h>, <sip:b@h>", "", ""}));
  ASSERT_TRUE(m) << m.error().detail;
  const std::string written = serialize(*m);
  EXPECT_NE(written.find("Via: SIP/2.0/UDP a;branch=z9hG4bK-1\r\nVia: SIP/2.0/UDP b\r\n"),
            std::string::npos);
  EXPECT_NE(written.find("Route: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\n"), std::string::npos);
  EXPECT_NE(written.find("Contact: <sip:a@h>\r\nContact: <sip:b@h>\r\n"), std::string::npos);
}

}  // namespace
}  // namespace presenced::sip
