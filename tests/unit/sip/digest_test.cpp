// SIP digest authentication (RFC 3261 §22.4, RFC 7616, RFC 8760): challenges, known answers,
// nonce lifetime and integrity, nonce-count replay, and the refusals.
//
// The expected hex values were computed outside this code base with Python's hashlib and hmac,
// straight from the formulas: HA1 = H("user:realm:password"), HA2 = H("method:uri"),
// response = H("HA1:nonce:nc:cnonce:qop:HA2") in lower-case hex (RFC 7616 §3.4.1-§3.4.3), and
// nonce = hex(ts_us as 8 bytes big-endian || random || HMAC-SHA-256(secret,
// "presenced sip nonce v1" NUL realm NUL ts_us || random)[:16]); opaque = hex(HMAC-SHA-256(secret,
// "presenced sip opaque v1" NUL realm NUL)[:8]).

#include "sip/internal/digest.h"

#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

namespace presenced::sip {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;
using TimePoint = DigestAuthenticator::TimePoint;

constexpr std::string_view kRealm = "example.com";
constexpr std::string_view kPassword = "wonderland";

DigestSecret secret(std::uint8_t first) {
  DigestSecret out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(first + i);
  }
  return out;
}

NonceRandom random_bytes(std::uint8_t fill) {
  NonceRandom out{};
  out.fill(fill);
  return out;
}

const TimePoint kT0{microseconds(1'700'000'000'000'000)};

DigestConfig config(std::size_t replay_entries = 1'000) {
  DigestConfig c;
  c.realm = std::string(kRealm);
  c.nonce_lifetime = seconds(300);
  c.replay_entries = replay_entries;
  return c;
}

// One Authorization header's fields; the response is computed from `password` unless given.
struct Creds {
  std::string username = "alice";
  std::string realm = std::string(kRealm);
  std::string nonce;
  std::string uri = "sip:bob@example.com";
  std::string algorithm = "SHA-256";
  std::string qop = "auth";
  std::string nc = "00000001";
  std::string cnonce = "0a4f113b";
  std::string opaque;
  std::string method = "SUBSCRIBE";  // what the client hashed
  std::string password = std::string(kPassword);
  std::string response;  // empty: computed
  std::string extra;     // appended as written
};

std::string authorization(const Creds& c) {
  std::string response = c.response;
  if (response.empty()) {
    const DigestAlgorithm algorithm =
        c.algorithm == "MD5" ? DigestAlgorithm::Md5 : DigestAlgorithm::Sha256;
    response = digest_response(algorithm, c.username, c.realm, c.password, c.method, c.uri, c.nonce,
                               c.nc, c.cnonce, c.qop)
                   .value_or("");
  }
  std::string out = "Authorization: Digest username=\"" + c.username + "\", realm=\"" + c.realm +
                    "\", nonce=\"" + c.nonce + "\", uri=\"" + c.uri + "\", response=\"" + response +
                    "\", algorithm=" + c.algorithm + ", cnonce=\"" + c.cnonce + "\", opaque=\"" +
                    c.opaque + "\", qop=" + c.qop + ", nc=" + c.nc;
  return out + c.extra;
}

Message request(std::string_view request_line, std::string_view method,
                std::optional<std::string> auth_line) {
  const std::string cseq = "CSeq: 1 " + std::string(method);
  std::string text = test::lines({request_line, test::kVia, test::kFrom, test::kTo, test::kCallId,
                                  cseq, "Max-Forwards: 70", "Event: presence"});
  if (auth_line) {
    text += "\r\n" + *auth_line;
  }
  text += "\r\nContent-Length: 0\r\n\r\n";
  auto parsed = parse(text, Framing::Datagram, Limits{});
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
  return parsed ? *parsed : Message{};
}

Message subscribe(const Creds& c) {
  return request("SUBSCRIBE sip:bob@example.com SIP/2.0", "SUBSCRIBE", authorization(c));
}

// A nonce and opaque as the server hands them out, read back from a challenge.
struct Issued {
  std::string nonce;
  std::string opaque;
};

Issued issue(const DigestAuthenticator& auth, TimePoint now, std::uint8_t fill = 0x5a) {
  const auto values = auth.challenge(now, random_bytes(fill), false);
  return Issued{std::string(values.at(0).param("nonce").value_or("")),
                std::string(values.at(0).param("opaque").value_or(""))};
}

Creds creds_for(const Issued& issued) {
  Creds c;
  c.nonce = issued.nonce;
  c.opaque = issued.opaque;
  return c;
}

struct AnswerRow {
  const char* name;
  DigestAlgorithm algorithm;
  const char* user;
  const char* realm;
  const char* password;
  const char* method;
  const char* uri;
  const char* nonce;
  const char* cnonce;
  const char* expected;
};

TEST(Digest, ResponsesMatchKnownAnswers) {
  const AnswerRow rows[] = {
      {"md5", DigestAlgorithm::Md5, "alice", "example.com", "wonderland", "SUBSCRIBE",
       "sip:bob@example.com", "0123456789abcdef", "c0ffee", "b0571130b4e92982cd5d07ab231af758"},
      {"sha256", DigestAlgorithm::Sha256, "alice", "example.com", "wonderland", "SUBSCRIBE",
       "sip:bob@example.com", "0123456789abcdef", "c0ffee",
       "1422f63e99f48677d0c5ed8fa81a28e33d72244fad63b32b2f4bc8eaf8a69b9a"},
      // RFC 7616 §3.9.1: the same values the RFC prints.
      {"rfc7616_md5", DigestAlgorithm::Md5, "Mufasa", "http-auth@example.org", "Circle of Life",
       "GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "8ca523f5e9506fed4657c9700eebdbec"},
      {"rfc7616_sha256", DigestAlgorithm::Sha256, "Mufasa", "http-auth@example.org",
       "Circle of Life", "GET", "/dir/index.html", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
  };
  for (const AnswerRow& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(digest_response(row.algorithm, row.user, row.realm, row.password, row.method, row.uri,
                              row.nonce, "00000001", row.cnonce, "auth"),
              row.expected);
  }
}

// RFC 8760 §2.4: one challenge per algorithm, the preferred (SHA-256) first.
TEST(Digest, ChallengeOffersSha256ThenMd5WithOneNonce) {
  const DigestAuthenticator auth(config(), secret(0));
  const auto values = auth.challenge(kT0, random_bytes(0xa5), false);
  ASSERT_EQ(values.size(), 2U);
  const char* const algorithms[] = {"SHA-256", "MD5"};
  for (std::size_t i = 0; i < values.size(); ++i) {
    SCOPED_TRACE(algorithms[i]);
    EXPECT_EQ(values[i].scheme, "Digest");
    EXPECT_EQ(values[i].param("realm"), "example.com");
    EXPECT_EQ(values[i].param("algorithm"), algorithms[i]);
    EXPECT_EQ(values[i].param("qop"), "auth");
    EXPECT_EQ(values[i].param("nonce"),
              "00060a24181e4000a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a596ab21149a813a113ba0a6fe1c18e60f");
    EXPECT_EQ(values[i].param("opaque"), "5089d5a064bdf411");
    EXPECT_EQ(values[i].param("stale"), std::nullopt);
  }
  const auto stale = auth.challenge(kT0, random_bytes(0xa5), true);
  EXPECT_EQ(stale.at(0).param("stale"), "true");
  EXPECT_EQ(stale.at(1).param("stale"), "true");
}

TEST(Digest, AcceptsTheKnownAnswerExchange) {
  struct Row {
    const char* algorithm;
    const char* response;
  };
  const Row rows[] = {
      {"MD5", "6ae018198037e8355e847ad386c30319"},
      {"SHA-256", "e6341d057dda2933f5ecb6dba2e18dff78c467dd85291c4572ddd2784bae2c63"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.algorithm);
    DigestAuthenticator auth(config(), secret(0));
    Creds c;
    c.nonce = "00060a24181e4000a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a596ab21149a813a113ba0a6fe1c18e60f";
    c.opaque = "5089d5a064bdf411";
    c.uri = "sip:alice@example.com";
    c.algorithm = row.algorithm;
    c.response = row.response;
    const Message m =
        request("SUBSCRIBE sip:alice@example.com SIP/2.0", "SUBSCRIBE", authorization(c));
    EXPECT_EQ(auth.claimed_user(m), "alice");
    const DigestResult r = auth.verify(m, kPassword, kT0 + seconds(10));
    EXPECT_EQ(r.outcome, DigestOutcome::Ok) << r.detail;
    EXPECT_EQ(r.user, "alice");
  }
}

// RFC 7616 §3.3, §5.12: each request on one nonce carries a higher nc.
TEST(Digest, ReplayedNonceCountIsRefused) {
  DigestAuthenticator auth(config(), secret(0));
  Creds c = creds_for(issue(auth, kT0));
  const auto verify = [&](const char* nc) {
    c.nc = nc;
    return auth.verify(subscribe(c), kPassword, kT0 + seconds(1)).outcome;
  };
  EXPECT_EQ(verify("00000001"), DigestOutcome::Ok);
  EXPECT_EQ(verify("00000001"), DigestOutcome::Stale);  // the same request again
  EXPECT_EQ(verify("00000003"), DigestOutcome::Ok);     // gaps are allowed
  EXPECT_EQ(verify("00000002"), DigestOutcome::Stale);  // going back is not
  EXPECT_EQ(verify("00000004"), DigestOutcome::Ok);
}

TEST(Digest, ExpiredNonceIsStaleOnlyWithTheRightPassword) {
  DigestAuthenticator auth(config(), secret(0));
  Creds c = creds_for(issue(auth, kT0));
  const TimePoint late = kT0 + seconds(301);
  EXPECT_EQ(auth.verify(subscribe(c), kPassword, kT0 + seconds(300)).outcome, DigestOutcome::Ok);
  c.nc = "00000002";
  EXPECT_EQ(auth.verify(subscribe(c), kPassword, late).outcome, DigestOutcome::Stale);
  c.password = "guess";
  EXPECT_EQ(auth.verify(subscribe(c), kPassword, late).outcome, DigestOutcome::WrongCredentials);
}

TEST(Digest, TamperedOrForeignNonceIsStale) {
  DigestAuthenticator auth(config(), secret(0));
  const Issued issued = issue(auth, kT0);
  const DigestAuthenticator other(config(), secret(100));
  const Issued foreign = issue(other, kT0);
  // One hex digit changed in the timestamp, the random part and the MAC; then other forms.
  const auto flip = [&](std::size_t at) {
    std::string n = issued.nonce;
    n[at] = n[at] == '0' ? '1' : '0';
    return n;
  };
  struct Row {
    const char* name;
    std::string nonce;
    std::string opaque;
  };
  const Row rows[] = {
      {"timestamp", flip(10), issued.opaque},
      {"random", flip(20), issued.opaque},
      {"mac", flip(79), issued.opaque},
      {"short", issued.nonce.substr(0, 78), issued.opaque},
      {"not_hex", "z" + issued.nonce.substr(1), issued.opaque},
      {"other_secret", foreign.nonce, foreign.opaque},
      {"other_opaque", issued.nonce, foreign.opaque},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Creds c = creds_for(issued);
    c.nonce = row.nonce;
    c.opaque = row.opaque;
    const DigestResult r = auth.verify(subscribe(c), kPassword, kT0 + seconds(1));
    EXPECT_EQ(r.outcome, DigestOutcome::Stale) << r.detail;
  }
  EXPECT_EQ(auth.remembered_nonces(), 0U);
}

TEST(Digest, RefusesEachWrongPart) {
  struct Row {
    const char* name;
    void (*change)(Creds&);
    DigestOutcome outcome;
  };
  using O = DigestOutcome;
  const Row rows[] = {
      {"wrong_password", [](Creds& c) { c.password = "wonderlant"; }, O::WrongCredentials},
      {"wrong_method", [](Creds& c) { c.method = "NOTIFY"; }, O::WrongCredentials},
      {"wrong_uri", [](Creds& c) { c.uri = "sip:carol@example.com"; }, O::WrongCredentials},
      {"wrong_port", [](Creds& c) { c.uri = "sip:bob@example.com:5070"; }, O::WrongCredentials},
      {"response_last_digit", [](Creds& c) { c.response = std::string(63, '0') + "1"; },
       O::WrongCredentials},
      {"wrong_realm", [](Creds& c) { c.realm = "example.org"; }, O::Missing},
      {"unknown_algorithm", [](Creds& c) { c.algorithm = "SHA-512-256"; }, O::BadRequest},
      {"md5_sess", [](Creds& c) { c.algorithm = "MD5-sess"; }, O::BadRequest},
      {"qop_auth_int", [](Creds& c) { c.qop = "auth-int"; }, O::BadRequest},
      {"nc_not_hex", [](Creds& c) { c.nc = "0000000g"; }, O::BadRequest},
      {"nc_short", [](Creds& c) { c.nc = "1"; }, O::BadRequest},
      {"nc_zero", [](Creds& c) { c.nc = "00000000"; }, O::BadRequest},
      {"response_short", [](Creds& c) { c.response = "abc"; }, O::BadRequest},
      {"uri_not_uri", [](Creds& c) { c.uri = "not a uri"; }, O::BadRequest},
      {"nc_twice", [](Creds& c) { c.extra = ", nc=00000009"; }, O::BadRequest},
      {"userhash", [](Creds& c) { c.extra = ", userhash=true"; }, O::BadRequest},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    DigestAuthenticator auth(config(), secret(0));
    Creds c = creds_for(issue(auth, kT0));
    row.change(c);
    const DigestResult r = auth.verify(subscribe(c), kPassword, kT0 + seconds(1));
    EXPECT_EQ(r.outcome, row.outcome) << r.detail;
    EXPECT_EQ(auth.remembered_nonces(), 0U);
  }
}

TEST(Digest, UnknownUserCostsTheSameAndFails) {
  DigestAuthenticator auth(config(), secret(0));
  Creds c = creds_for(issue(auth, kT0));
  c.password = "";  // what a guesser would try against a user without a sip_password
  const DigestResult r = auth.verify(subscribe(c), std::nullopt, kT0 + seconds(1));
  EXPECT_EQ(r.outcome, DigestOutcome::WrongCredentials);
  EXPECT_EQ(r.user, "alice");
  // An empty sip_password is the store's "none", never a password that matches.
  EXPECT_EQ(auth.verify(subscribe(c), "", kT0 + seconds(1)).outcome,
            DigestOutcome::WrongCredentials);
}

TEST(Digest, MissingOrMalformedCredentials) {
  DigestAuthenticator auth(config(), secret(0));
  const Creds c = creds_for(issue(auth, kT0));
  const TimePoint now = kT0 + seconds(1);
  const char* const line = "SUBSCRIBE sip:bob@example.com SIP/2.0";
  EXPECT_EQ(auth.verify(request(line, "SUBSCRIBE", std::nullopt), kPassword, now).outcome,
            DigestOutcome::Missing);
  EXPECT_EQ(auth.claimed_user(request(line, "SUBSCRIBE", std::nullopt)), std::nullopt);
  EXPECT_EQ(
      auth.verify(request(line, "SUBSCRIBE", "Authorization: Basic YWxpY2U6eA=="), kPassword, now)
          .outcome,
      DigestOutcome::Missing);
  // RFC 2069 credentials: no qop, nc or cnonce.
  const std::string rfc2069 =
      "Authorization: Digest username=\"alice\", realm=\"example.com\", "
      "nonce=\"" +
      c.nonce +
      "\", uri=\"sip:bob@example.com\", "
      "response=\"b0571130b4e92982cd5d07ab231af758\", opaque=\"" +
      c.opaque + "\"";
  EXPECT_EQ(auth.verify(request(line, "SUBSCRIBE", rfc2069), kPassword, now).outcome,
            DigestOutcome::BadRequest);
  // No opaque.
  std::string without = authorization(c);
  const std::string opaque = ", opaque=\"" + c.opaque + "\"";
  without.erase(without.find(opaque), opaque.size());
  EXPECT_EQ(auth.verify(request(line, "SUBSCRIBE", without), kPassword, now).outcome,
            DigestOutcome::BadRequest);
}

TEST(Digest, UriMatchesTheRequestUriAsAResource) {
  struct Row {
    const char* request_line;
    const char* uri;
  };
  const Row rows[] = {
      {"SUBSCRIBE sip:bob@example.com;transport=tcp SIP/2.0", "sip:bob@example.com"},
      {"SUBSCRIBE sip:bob@EXAMPLE.com SIP/2.0", "sip:bob@example.com"},
      {"SUBSCRIBE sip:bob@example.com SIP/2.0", "sip:bob@example.com;lr"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.request_line);
    DigestAuthenticator auth(config(), secret(0));
    Creds c = creds_for(issue(auth, kT0));
    c.uri = row.uri;
    const DigestResult r =
        auth.verify(request(row.request_line, "SUBSCRIBE", authorization(c)), kPassword, kT0);
    EXPECT_EQ(r.outcome, DigestOutcome::Ok) << r.detail;
  }
}

TEST(Digest, UpperCaseHexResponseIsAccepted) {
  DigestAuthenticator auth(config(), secret(0));
  Creds c = creds_for(issue(auth, kT0));
  c.algorithm = "MD5";
  std::string response = *digest_response(DigestAlgorithm::Md5, c.username, c.realm, kPassword,
                                          "SUBSCRIBE", c.uri, c.nonce, c.nc, c.cnonce, "auth");
  for (char& ch : response) {
    ch = (ch >= 'a' && ch <= 'f') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  c.response = response;
  EXPECT_EQ(auth.verify(subscribe(c), kPassword, kT0).outcome, DigestOutcome::Ok);
}

// The replay table is bounded: a nonce it no longer remembers is answered stale (the client
// retries with a fresh one) rather than accepted again from nc=1.
TEST(Digest, ForgottenNonceIsStaleAndNewerOnesStillWork) {
  DigestAuthenticator auth(config(2), secret(0));
  const Creds first = creds_for(issue(auth, kT0, 1));
  const Creds second = creds_for(issue(auth, kT0 + microseconds(1), 2));
  const Creds third = creds_for(issue(auth, kT0 + microseconds(2), 3));
  const TimePoint now = kT0 + seconds(1);
  EXPECT_EQ(auth.verify(subscribe(first), kPassword, now).outcome, DigestOutcome::Ok);
  EXPECT_EQ(auth.verify(subscribe(second), kPassword, now).outcome, DigestOutcome::Ok);
  EXPECT_EQ(auth.verify(subscribe(third), kPassword, now).outcome, DigestOutcome::Ok);
  EXPECT_EQ(auth.remembered_nonces(), 2U);
  EXPECT_EQ(auth.verify(subscribe(first), kPassword, now).outcome, DigestOutcome::Stale);
  const Creds fresh = creds_for(issue(auth, now, 4));
  EXPECT_EQ(auth.verify(subscribe(fresh), kPassword, now).outcome, DigestOutcome::Ok);
  EXPECT_EQ(auth.remembered_nonces(), 2U);
}

TEST(Digest, ExpiredNoncesLeaveTheTable) {
  DigestAuthenticator auth(config(), secret(0));
  EXPECT_EQ(auth.verify(subscribe(creds_for(issue(auth, kT0, 1))), kPassword, kT0).outcome,
            DigestOutcome::Ok);
  const TimePoint later = kT0 + seconds(400);
  EXPECT_EQ(auth.verify(subscribe(creds_for(issue(auth, later, 2))), kPassword, later).outcome,
            DigestOutcome::Ok);
  EXPECT_EQ(auth.remembered_nonces(), 1U);
}

TEST(Digest, ConstantTimeEqualComparesWholeValues) {
  struct Row {
    const char* a;
    const char* b;
    bool equal;
  };
  const Row rows[] = {
      {"", "", true},          {"abcd", "abcd", true}, {"abcd", "abce", false},
      {"abcd", "bbcd", false}, {"abcd", "abc", false}, {"abc", "abcd", false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(row.a) + " vs " + row.b);
    EXPECT_EQ(constant_time_equal(row.a, row.b), row.equal);
  }
}

}  // namespace
}  // namespace presenced::sip
