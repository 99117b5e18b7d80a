// The presence server's answers (docs/sip.md, "The listener and its answers"), without sockets.

#include "sip/internal/service.h"
#include "sip/internal/stateless.h"
#include "memory_directory.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>

namespace presenced::sip {
namespace {

using test::lines;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
constexpr NonceRandom kRandom{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

class ServiceTest : public testing::Test {
 protected:
  ServiceTest()
      : service_("example.com", directory_,
                 DigestAuthenticator(DigestConfig{"example.com", std::chrono::seconds(300), 64},
                                     DigestSecret{})) {}

  Message request(std::string_view bytes) {
    auto parsed = test::parse_datagram(bytes);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  // Answers the 401's SHA-256 challenge as a client would (RFC 7616 §3.4).
  Message with_credentials(Message message, const Message& challenge, std::string_view user,
                           std::string_view password) {
    const Auth& offer = challenge.www_authenticate.at(0);
    const std::string nonce(*offer.param("nonce"));
    const std::string uri = serialize(message.request_uri);
    const auto response =
        digest_response(DigestAlgorithm::Sha256, user, "example.com", password,
                        message.method_name(), uri, nonce, "00000001", "c0ffee", "auth");
    Auth auth;
    auth.scheme = "Digest";
    auth.params = {{"username", std::string(user), true},
                   {"realm", "example.com", true},
                   {"nonce", nonce, true},
                   {"uri", uri, true},
                   {"response", *response, true},
                   {"algorithm", "SHA-256", false},
                   {"qop", "auth", false},
                   {"nc", "00000001", false},
                   {"cnonce", "c0ffee", true},
                   {"opaque", std::string(*offer.param("opaque")), true}};
    message.authorization = {auth};
    return message;
  }

  test::MemoryDirectory directory_;
  Service service_;
};

TEST_F(ServiceTest, OptionsAnswers200WithCapabilities) {
  // RFC 3261 §11.2
  const Message answer = service_.handle(
      request(lines({"OPTIONS sip:example.com SIP/2.0", test::kVia, test::kFrom, test::kTo,
                     test::kCallId, "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""})),
      kNow, kRandom);
  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.allow, (std::vector<std::string>{"OPTIONS", "SUBSCRIBE", "NOTIFY", "PUBLISH"}));
  EXPECT_EQ(answer.allow_events,
            (std::vector<std::string>{"presence", "dialog", "presence.winfo"}));
  ASSERT_TRUE(answer.accept);
  EXPECT_EQ(answer.accept->at(0).subtype, "pidf+xml");
}

TEST_F(ServiceTest, SubscribeWithoutCredentialsIsChallengedWithSha256ThenMd5) {
  // RFC 8760 §2.4
  const Message answer = service_.handle(request(test::subscribe()), kNow, kRandom);
  EXPECT_EQ(answer.status, 401);
  ASSERT_EQ(answer.www_authenticate.size(), 2u);
  EXPECT_EQ(answer.www_authenticate[0].param("algorithm"), "SHA-256");
  EXPECT_EQ(answer.www_authenticate[1].param("algorithm"), "MD5");
}

TEST_F(ServiceTest, AuthenticatedPresenceSubscribeIsNotImplementedYet) {
  const Message subscribe = request(test::subscribe());
  const Message challenge = service_.handle(subscribe, kNow, kRandom);
  const Message answer = service_.handle(
      with_credentials(subscribe, challenge, "alice", "s3cret"), kNow, kRandom);
  EXPECT_EQ(answer.status, 501);
}

TEST_F(ServiceTest, AuthenticatedUnknownEventIs489WithAllowEvents) {
  // RFC 6665 §8.2.1
  Message subscribe = request(test::subscribe());
  subscribe.event->package = "message-summary";
  const Message challenge = service_.handle(subscribe, kNow, kRandom);
  const Message answer = service_.handle(
      with_credentials(subscribe, challenge, "alice", "s3cret"), kNow, kRandom);
  EXPECT_EQ(answer.status, 489);
  EXPECT_EQ(answer.allow_events.size(), 3u);
}

TEST_F(ServiceTest, WrongPasswordAndUnknownUserAre403) {
  const Message subscribe = request(test::subscribe());
  const Message challenge = service_.handle(subscribe, kNow, kRandom);
  EXPECT_EQ(service_.handle(with_credentials(subscribe, challenge, "alice", "nope"), kNow, kRandom)
                .status,
            403);
  EXPECT_EQ(service_.handle(with_credentials(subscribe, challenge, "mallory", "s3cret"), kNow,
                            kRandom)
                .status,
            403);
}

TEST_F(ServiceTest, WrongCredentialsAreCountedAsAuthFailures) {
  const Message subscribe = request(test::subscribe());
  const Message challenge = service_.handle(subscribe, kNow, kRandom);
  EXPECT_EQ(service_.auth_failures(), 0u);
  (void)service_.handle(with_credentials(subscribe, challenge, "alice", "nope"), kNow, kRandom);
  EXPECT_EQ(service_.auth_failures(), 1u);
  // A missing Authorization is a challenge, not a failure.
  (void)service_.handle(subscribe, kNow, kRandom);
  EXPECT_EQ(service_.auth_failures(), 1u);
}

TEST_F(ServiceTest, ListedUserAgentsAreOfferedMd5Only) {
  service_.set_md5_only(std::regex("^baresip"));
  const auto algorithms = [&](std::string_view user_agent) {
    std::vector<std::string> out;
    const Message challenge =
        service_.handle(request(test::subscribe({user_agent})), kNow, kRandom);
    for (const Auth& offer : challenge.www_authenticate) {
      out.emplace_back(offer.param("algorithm").value_or(""));
    }
    return out;
  };
  const std::vector<std::string> md5_only{"MD5"};
  const std::vector<std::string> sha256_first{"SHA-256", "MD5"};
  EXPECT_EQ(algorithms("User-Agent: baresip v1.0.0 (x86_64/linux)"), md5_only);
  EXPECT_EQ(algorithms("User-Agent: Yealink SIP-T54W 96.86"), sha256_first);
  EXPECT_EQ(algorithms("Subject: no User-Agent"), sha256_first);
}

// A device with its own secret signs in as "user-device" and acts as its user (docs/sip.md,
// "Authentication"); the digest is computed over the username the phone sent.
class DeviceCredentialsTest : public ServiceTest {
 protected:
  DeviceCredentialsTest() {
    const core::TimePoint t0{};
    (void)directory_.engine().add_user(core::UserId{"alice"}, core::UserSettings{}, t0);
    (void)directory_.engine().add_user(core::UserId{"bob"}, core::UserSettings{}, t0);
    directory_.devices["alice-desk"] = Credentials{"alice", "desk", "desk-pw"};
    SubscriptionConfig config;
    config.domain = "example.com";
    subscriptions_ = std::make_unique<Subscriptions>(config, directory_.engine());
    with_subscriptions_ = std::make_unique<Service>(
        "example.com", directory_,
        DigestAuthenticator(DigestConfig{"example.com", std::chrono::seconds(300), 64},
                            DigestSecret{}),
        subscriptions_.get());
  }

  int answer(std::string_view username, std::string_view password) {
    const Message subscribe =
        request(test::subscribe({"Contact: <sip:phone@192.0.2.20:5080>", "Expires: 600"}));
    const Message challenge = with_subscriptions_->handle(subscribe, kNow, kRandom);
    int status = 0;
    with_subscriptions_->handle(with_credentials(subscribe, challenge, username, password),
                                Peer{}, kNow, TimePoint{}, kRandom,
                                [&status](Message m) { status = m.status; });
    return status;  // the subscriptions hold no store here: they answer at once
  }

  std::unique_ptr<Subscriptions> subscriptions_;
  std::unique_ptr<Service> with_subscriptions_;
};

TEST_F(DeviceCredentialsTest, DevicePasswordSubscribesAsItsUser) {
  // "alice-desk" is no user of the engine: the 200 says the subscription is alice's.
  EXPECT_EQ(answer("alice-desk", "desk-pw"), 200);
  EXPECT_EQ(subscriptions_->size(), 1u);
}

TEST_F(DeviceCredentialsTest, UserPasswordStillWorks) {
  EXPECT_EQ(answer("alice", "s3cret"), 200);
}

TEST_F(DeviceCredentialsTest, TheUsersPasswordIsNotTheDevicesAndTheDevicesIsNotTheUsers) {
  EXPECT_EQ(answer("alice-desk", "s3cret"), 403);
  EXPECT_EQ(answer("alice", "desk-pw"), 403);
  EXPECT_EQ(with_subscriptions_->auth_failures(), 2u);
}

TEST_F(DeviceCredentialsTest, ADeviceGoneFromTheDirectoryIsRefusedAtOnce) {
  ASSERT_EQ(answer("alice-desk", "desk-pw"), 200);
  directory_.devices.erase("alice-desk");
  EXPECT_EQ(answer("alice-desk", "desk-pw"), 403);
}

TEST_F(DeviceCredentialsTest, ADeviceWithoutASecretIsRefused) {
  directory_.devices["alice-desk"].password.clear();
  EXPECT_EQ(answer("alice-desk", ""), 403);
}

TEST_F(ServiceTest, OtherMethodsAre405WithAllow) {
  // RFC 3261 §8.2.1
  const Message answer = service_.handle(
      request(lines({"MESSAGE sip:bob@example.com SIP/2.0", test::kVia, test::kFrom, test::kTo,
                     test::kCallId, "CSeq: 1 MESSAGE", "Content-Length: 0", "", ""})),
      kNow, kRandom);
  EXPECT_EQ(answer.status, 405);
  EXPECT_EQ(answer.allow.size(), 4u);
}

TEST(StatelessAnswer, CopiesTheHeadersAClientMatchesOn) {
  // RFC 3261 §8.2.6.2
  const std::string bytes = lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", test::kVia,
                                   test::kFrom, test::kTo, test::kCallId, "CSeq: 1 SUBSCRIBE",
                                   "Max-Forwards: many", "Content-Length: 0", "", ""});
  const auto parsed = test::parse_datagram(bytes);
  ASSERT_FALSE(parsed);
  const auto answer = stateless_answer(bytes, parsed.error(), Limits{}, "t1");
  ASSERT_TRUE(answer);
  const auto reread = test::parse_datagram(*answer);
  ASSERT_TRUE(reread) << *answer;
  EXPECT_EQ(reread->status, 400);
  EXPECT_EQ(reread->call_id, "c1@192.0.2.10");
  EXPECT_EQ(reread->to.tag(), "t1");
}

TEST(StatelessAnswer, NothingWithoutCallIdOrForAResponse) {
  const std::string no_call_id =
      lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", test::kVia, test::kFrom, test::kTo,
             "CSeq: 1 SUBSCRIBE", "Content-Length: 0", "", ""});
  const auto parsed = test::parse_datagram(no_call_id);
  ASSERT_FALSE(parsed);
  EXPECT_FALSE(stateless_answer(no_call_id, parsed.error(), Limits{}, "t1"));
  const std::string response = lines({"SIP/2.0 200 OK", test::kVia, test::kFrom, test::kTo,
                                      test::kCallId, "CSeq: 1 SUBSCRIBE", "Content-Length: x",
                                      "", ""});
  const auto bad = test::parse_datagram(response);
  ASSERT_FALSE(bad);
  EXPECT_FALSE(stateless_answer(response, bad.error(), Limits{}, "t1"));
}

}  // namespace
}  // namespace presenced::sip
