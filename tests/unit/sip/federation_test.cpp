// Serving a federated domain's users (docs/sip.md, "Federation"): a SUBSCRIBE from the peer's
// address whose From is in the peer's domain needs no digest and sees our users at the
// domain's level; anything else is challenged as before. And what a remote presentity's NOTIFY
// shows, as the engine's RemotePresence.

#include "sip/internal/remote_watches.h"
#include "sip/internal/service.h"
#include "memory_directory.h"
#include "subscription_test_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace presenced::sip {
namespace {

using test::kNow;
using test::kT0;
using test::lines;

const auto kWall = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
constexpr NonceRandom kRandom{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

Peer peer_address() {
  Peer peer;
  peer.transport = Transport::Udp;
  peer.address = "192.0.2.50";
  peer.port = 5060;
  return peer;
}

class FederationTest : public testing::Test {
 protected:
  FederationTest()
      : subscriptions_(make_subscriptions(directory_)),
        service_("example.com", directory_,
                 DigestAuthenticator(DigestConfig{"example.com", std::chrono::seconds(300), 64},
                                     DigestSecret{}),
                 subscriptions_.get()) {
    core::Engine& engine = directory_.engine();
    alice_ = engine.add_user(core::UserId{"alice"}, core::UserSettings{}, kT0).value();
    core::ManualLayer manual;
    manual.state_id = "DoNotDisturb";
    manual.note = "plans for Q3";
    manual.set_at = kT0;
    engine.set_manual(alice_, manual, kT0);
    service_.set_peers(
        {SipPeerConfig{"remote.test", peer_address(), core::VisibilityLevel::Public},
         SipPeerConfig{"blocked.test", peer_address(), core::VisibilityLevel::Blocked}});
  }

  static std::unique_ptr<Subscriptions> make_subscriptions(test::MemoryDirectory& directory) {
    SubscriptionConfig config;
    config.domain = "example.com";
    config.peer_levels = {{"remote.test", core::VisibilityLevel::Public},
                          {"blocked.test", core::VisibilityLevel::Blocked}};
    auto made = std::make_unique<Subscriptions>(config, directory.engine(), &directory);
    made->set_local("192.0.2.1", 5060);
    return made;
  }

  // A SUBSCRIBE to alice from wendy@`domain`, relayed by the peer.
  static Message subscribe(std::string_view domain) {
    auto parsed = test::parse_datagram(lines(
        {"SUBSCRIBE sip:alice@example.com SIP/2.0",
         "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bK-peer1",
         "From: <sip:wendy@" + std::string(domain) + ">;tag=w1", "To: <sip:alice@example.com>",
         "Call-ID: fed-1@192.0.2.60", "CSeq: 1 SUBSCRIBE", "Contact: <sip:wendy@192.0.2.60>",
         "Max-Forwards: 69", "Event: presence", "Expires: 600", "Content-Length: 0", "", ""}));
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  Message handle(const Message& request, const Peer& source) {
    Message answered;
    service_.handle(request, source, kWall, kNow, kRandom,
                    [&answered](Message m) { answered = std::move(m); });
    directory_.complete();  // the dialog is durable
    return answered;
  }

  std::string first_body() {
    const auto notifies = test::answered_notifies(*subscriptions_, kNow);
    return notifies.empty() ? std::string() : notifies.front().body;
  }

  test::MemoryDirectory directory_;
  std::unique_ptr<Subscriptions> subscriptions_;
  Service service_;
  core::UserIndex alice_ = 0;
};

TEST_F(FederationTest, APeersUserNeedsNoDigestAndSeesAtTheDomainsLevel) {
  const Message ok = handle(subscribe("remote.test"), peer_address());
  ASSERT_EQ(ok.status, 200);
  const std::string body = first_body();
  // Public: the activity, not the note (docs/presence-rules.md, "Visibility").
  EXPECT_NE(body.find("<basic>open</basic>"), std::string::npos) << body;
  EXPECT_NE(body.find("rpid:busy"), std::string::npos) << body;
  EXPECT_EQ(body.find("plans for Q3"), std::string::npos) << body;
}

TEST_F(FederationTest, ABlockedDomainGetsTheNeutralDocument) {
  ASSERT_EQ(handle(subscribe("blocked.test"), peer_address()).status, 200);
  const std::string body = first_body();
  EXPECT_NE(body.find("<basic>closed</basic>"), std::string::npos) << body;
  EXPECT_EQ(body.find("rpid:busy"), std::string::npos) << body;
  EXPECT_EQ(body.find("plans for Q3"), std::string::npos) << body;
}

TEST_F(FederationTest, TheDomainFromAnotherAddressOrPortIsChallenged) {
  Peer elsewhere = peer_address();
  elsewhere.address = "192.0.2.99";
  EXPECT_EQ(handle(subscribe("remote.test"), elsewhere).status, 401);
  Peer other_port = peer_address();
  other_port.port = 5061;
  EXPECT_EQ(handle(subscribe("remote.test"), other_port).status, 401);
}

TEST_F(FederationTest, AnotherDomainFromThePeersAddressIsChallenged) {
  EXPECT_EQ(handle(subscribe("unknown.test"), peer_address()).status, 401);
}

TEST_F(FederationTest, APeersSubscriptionIsStoredWithoutOwnerAndRestored) {
  ASSERT_EQ(handle(subscribe("remote.test"), peer_address()).status, 200);
  const auto stored = directory_.stored(kSubscriptionKind);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].owner, "");  // no user: deleting one must not take it
  EXPECT_NE(stored[0].body.find("peer:remote.test"), std::string::npos);

  subscriptions_ = make_subscriptions(directory_);  // a restart
  subscriptions_->restore(kNow, std::chrono::time_point_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now()));
  EXPECT_EQ(subscriptions_->size(), 1u);
  const std::string body = first_body();
  EXPECT_NE(body.find("rpid:busy"), std::string::npos) << body;
  EXPECT_EQ(body.find("plans for Q3"), std::string::npos) << body;
}

TEST(RemotePresenceTest, AnUpdateShowsTheDocumentsPairAndNote) {
  RemoteUpdate update;
  update.uri = "sip:carol@remote.test";
  update.reachable = true;
  PidfDocument document;
  document.basic = Basic::Open;
  document.activities = {"on-the-phone"};
  document.notes = {"call me later"};
  update.document = document;
  const core::RemotePresence shown = to_remote_presence(update);
  EXPECT_EQ(shown.address, "sip:carol@remote.test");
  EXPECT_TRUE(shown.known);
  EXPECT_EQ(shown.availability, core::Availability::Busy);
  EXPECT_EQ(shown.activity, core::Activity::InACall);
  EXPECT_EQ(shown.note, "call me later");
}

TEST(RemotePresenceTest, UnreachableOrPendingIsUnknown) {
  RemoteUpdate update;
  update.uri = "sip:carol@remote.test";
  EXPECT_FALSE(to_remote_presence(update).known);
  update.reachable = true;  // pending: no document yet
  EXPECT_FALSE(to_remote_presence(update).known);
}

}  // namespace
}  // namespace presenced::sip
