#include "xmpp/internal/federation.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace presenced::xmpp {
namespace {

using core::VisibilityLevel;

// Users in a real engine and a store whose commits the test runs: a batch counts only once
// complete() says it is durable, and a failed one changes nothing.
class MemoryDirectory final : public Directory {
 public:
  core::Engine& engine() override { return engine_; }
  std::vector<StoredRecord> stored(std::string_view) const override {
    std::vector<StoredRecord> out;
    out.reserve(records.size());
    for (const auto& entry : records) {
      out.push_back(entry.second);
    }
    return out;
  }
  void save(std::vector<StoredRecord> batch, std::function<void(bool)> done) override {
    pending.emplace_back(std::move(batch), std::move(done));
  }
  void complete(bool durable = true) {
    for (auto& [batch, done] : std::exchange(pending, {})) {
      for (StoredRecord& record : batch) {
        if (!durable) {
          break;
        }
        if (record.erase) {
          records.erase(record.id);
        } else {
          records.insert_or_assign(record.id, std::move(record));
        }
      }
      done(durable);
    }
  }
  void set_remote_presence(core::RemotePresence presence) override {
    remote.push_back(std::move(presence));
  }
  std::map<std::string, StoredRecord> records;  // durable, by id
  std::vector<core::RemotePresence> remote;     // reported, oldest first
  std::vector<std::pair<std::vector<StoredRecord>, std::function<void(bool)>>> pending;
  core::Engine engine_{core::EngineConfig(), 0};
};

constexpr core::TimePoint kNow{std::chrono::milliseconds(1'800'000'000'000)};

class FederationTest : public ::testing::Test {
 protected:
  FederationTest() {
    config_.domain = "uc.test";
    config_.domain_levels = {{"remote.test", VisibilityLevel::Team},
                             {"partner.test", VisibilityLevel::Public},
                             {"evil.test", VisibilityLevel::Blocked}};
    config_.subscribe_burst = 3;
    config_.subscribe_refill = std::chrono::milliseconds(1000);
    alice_ = *directory_.engine_.add_user({"alice"}, {}, kNow);
    federation_ = make();
  }

  std::unique_ptr<Federation> make() {
    auto federation = std::make_unique<Federation>(
        config_, directory_, [this](std::string bytes) { sent_.push_back(std::move(bytes)); });
    federation->restore();
    federation->on_ready();
    return federation;
  }

  // One stanza as the server routes it to the component.
  void receive(std::string_view xml, core::TimePoint now = kNow) {
    StreamParser parser;
    std::vector<StreamEvent> events;
    const std::string stream =
        "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns='jabber:component:accept' id='s'>" +
        std::string(xml);
    ASSERT_TRUE(parser.feed(stream, events)) << parser.failure().detail;
    ASSERT_EQ(events.size(), 2u);
    federation_->on_stanza(events[1], now);
  }

  std::vector<std::string> take() { return std::exchange(sent_, {}); }

  void set_manual(std::string state, std::string note) {
    core::ManualLayer manual;
    manual.state_id = std::move(state);
    manual.note = std::move(note);
    manual.set_at = kNow;
    directory_.engine_.set_manual(alice_, manual, kNow);
  }

  void subscribe_bob() {
    receive("<presence from='bob@remote.test' to='alice@uc.test' type='subscribe'/>");
    directory_.complete();
    take();
  }

  XmppConfig config_;
  MemoryDirectory directory_;
  core::UserIndex alice_ = 0;
  std::vector<std::string> sent_;
  std::unique_ptr<Federation> federation_;
};

// RFC 6121 §3.1.3: approved by the domain's level, answered once the store holds it, then the
// contact's current presence.
TEST_F(FederationTest, SubscribeIsApprovedOnceDurableAndFollowedByPresence) {
  set_manual("DoNotDisturb", "in a review");
  receive("<presence from='bob@remote.test/phone' to='alice@uc.test' type='subscribe' id='s1'/>");
  EXPECT_TRUE(take().empty());  // nothing before the commit
  directory_.complete();
  ASSERT_EQ(directory_.records.count("alice bob@remote.test"), 1u);
  EXPECT_EQ(directory_.records["alice bob@remote.test"].owner, "alice");
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='alice@uc.test' to='bob@remote.test' type='subscribed'/>",
                        "<presence from='alice@uc.test' to='bob@remote.test'><show>dnd</show>"
                        "<status>in a review</status></presence>"}));
}

TEST_F(FederationTest, ChangesReachSubscribersAtTheDomainLevel) {
  subscribe_bob();
  receive("<presence from='carol@partner.test' to='alice@uc.test' type='subscribe'/>");
  directory_.complete();
  take();
  set_manual("Away", "back at 3");
  // Team sees the note as <status>; Public does not (seed 000: notes from Team up).
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='alice@uc.test' to='bob@remote.test'><show>away</show>"
                        "<status>back at 3</status></presence>",
                        "<presence from='alice@uc.test' to='carol@partner.test'><show>away</show>"
                        "</presence>"}));
  directory_.engine_.set_manual(alice_, std::nullopt, kNow);
  const auto after = take();
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0], "<presence from='alice@uc.test' to='bob@remote.test' type='unavailable'/>");
}

TEST_F(FederationTest, BlockedAndUnknownDomainsLearnNothing) {
  set_manual("Available", "");
  receive("<presence from='eve@evil.test' to='alice@uc.test' type='subscribe'/>");
  receive("<presence from='eve@nobody.test' to='alice@uc.test' type='subscribe'/>");
  receive("<presence from='eve@evil.test' to='alice@uc.test' type='probe'/>");
  EXPECT_EQ(take(),
            (std::vector<std::string>{
                "<presence from='alice@uc.test' to='eve@evil.test' type='unsubscribed'/>",
                "<presence from='alice@uc.test' to='eve@nobody.test' type='unsubscribed'/>",
                "<presence from='alice@uc.test' to='eve@evil.test' type='unsubscribed'/>"}));
  EXPECT_TRUE(directory_.pending.empty());
  set_manual("Busy", "");
  EXPECT_TRUE(take().empty());
}

// RFC 6121 §4.3.2: a probe from a subscriber gets the presence, from anyone else unsubscribed.
TEST_F(FederationTest, ProbesAreAnsweredForSubscribersOnly) {
  set_manual("Available", "");
  subscribe_bob();
  receive("<presence from='bob@remote.test' to='alice@uc.test' type='probe'/>");
  receive("<presence from='dave@remote.test' to='alice@uc.test' type='probe'/>");
  receive("<presence from='bob@remote.test' to='nobody@uc.test' type='probe'/>");
  EXPECT_EQ(take(),
            (std::vector<std::string>{
                "<presence from='alice@uc.test' to='bob@remote.test'></presence>",
                "<presence from='alice@uc.test' to='dave@remote.test' type='unsubscribed'/>",
                "<presence from='nobody@uc.test' to='bob@remote.test' type='unsubscribed'/>"}));
}

// RFC 6121 §3.3.3: unsubscribe ends the subscription and the record, with our unavailable.
TEST_F(FederationTest, UnsubscribeEndsTheSubscription) {
  subscribe_bob();
  receive("<presence from='bob@remote.test/x' to='alice@uc.test' type='unsubscribe'/>");
  EXPECT_EQ(take(),
            (std::vector<std::string>{
                "<presence from='alice@uc.test' to='bob@remote.test' type='unavailable'/>"}));
  directory_.complete();
  EXPECT_TRUE(directory_.records.empty());
  set_manual("Busy", "");
  EXPECT_TRUE(take().empty());
}

TEST_F(FederationTest, AFailedCommitIsNotApproved) {
  receive("<presence from='bob@remote.test' to='alice@uc.test' type='subscribe' id='s1'/>");
  directory_.complete(false);
  EXPECT_TRUE(directory_.records.empty());
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence type='error' from='alice@uc.test' to='bob@remote.test' id='s1'>"
                        "<error type='wait'><internal-server-error "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"}));
}

// Subscriptions of record survive a restart: a new Federation over the same store.
TEST_F(FederationTest, StoredSubscriptionsComeBack) {
  set_manual("Available", "");
  subscribe_bob();
  directory_.records["ghost bob@remote.test"] = {
      std::string(kSubscriptionKind), "ghost bob@remote.test", "ghost", "bob@remote.test", false};
  directory_.records["alice eve@evil.test"] = {
      std::string(kSubscriptionKind), "alice eve@evil.test", "alice", "eve@evil.test", false};
  federation_.reset();
  federation_ = make();
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='alice@uc.test' to='bob@remote.test'></presence>"}));
  directory_.complete();
  EXPECT_EQ(directory_.records.size(), 1u);  // the removed user's and the blocked domain's went
  set_manual("Busy", "");
  EXPECT_EQ(take().size(), 1u);
}

TEST_F(FederationTest, SubscriptionFloodsAreLimitedPerDomain) {
  for (int i = 0; i < 5; ++i) {
    receive("<presence from='u" + std::to_string(i) +
            "@remote.test' to='alice@uc.test' type='subscribe'/>");
  }
  directory_.complete();
  EXPECT_EQ(directory_.records.size(), 3u);
  const auto refused = take();
  ASSERT_EQ(refused.size(), 2u + 3u * 2u);  // 2 refused at once; 3 approved once durable
  EXPECT_NE(refused[1].find("<error type='wait'><resource-constraint"), std::string::npos);
  // Another domain has its own bucket; time refills this one.
  receive("<presence from='carol@partner.test' to='alice@uc.test' type='subscribe'/>");
  receive("<presence from='u9@remote.test' to='alice@uc.test' type='subscribe'/>",
          kNow + std::chrono::seconds(1));
  directory_.complete();
  EXPECT_EQ(directory_.records.size(), 5u);
}

// RFC 6120 §8.3.3: what we cannot serve gets a stanza error; errors get no answer.
TEST_F(FederationTest, OtherStanzasGetStanzaErrors) {
  receive(
      "<message from='bob@remote.test/x' to='nobody@uc.test' id='m1'><body>hi</body></message>");
  receive("<iq from='bob@remote.test/x' to='alice@uc.test' type='get' id='q1'><query/></iq>");
  receive("<iq from='bob@remote.test/x' to='alice@elsewhere.test' type='get' id='q2'/>");
  receive("<message from='bob@remote.test/x' to='nobody@uc.test' type='error'/>");
  receive("<presence to='alice@uc.test' type='subscribe'/>");
  const auto sent = take();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0],
            "<message type='error' from='nobody@uc.test' to='bob@remote.test/x' id='m1'><error "
            "type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
            "</message>");
  EXPECT_NE(sent[1].find("<service-unavailable"), std::string::npos);
  EXPECT_NE(sent[2].find("<item-not-found"), std::string::npos);
  ComponentStats stats;
  federation_->fill(stats);
  EXPECT_EQ(stats.errors_out, (std::vector<std::pair<std::string, std::uint64_t>>{
                                  {"item-not-found", 2}, {"service-unavailable", 1}}));
}

TEST_F(FederationTest, OversizedStanzasGetPolicyViolation) {
  StreamParser parser(StreamLimits{.stanza_bytes = 128, .hard_bytes = 4096, .depth = 8});
  std::vector<StreamEvent> events;
  ASSERT_TRUE(
      parser.feed("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
                  "xmlns='jabber:component:accept' id='s'><presence "
                  "from='bob@remote.test' to='alice@uc.test' type='subscribe'><status>" +
                      std::string(500, 'x') + "</status></presence>",
                  events));
  ASSERT_EQ(events.size(), 2u);
  federation_->on_stanza(events[1], kNow);
  const auto sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].find("<error type='modify'><policy-violation"), std::string::npos);
  EXPECT_TRUE(directory_.pending.empty());
}

TEST_F(FederationTest, ARemovedUserSaysGoodbye) {
  subscribe_bob();
  ASSERT_TRUE(directory_.engine_.remove_user(alice_));
  EXPECT_EQ(take(),
            (std::vector<std::string>{
                "<presence from='alice@uc.test' to='bob@remote.test' type='unavailable'/>",
                "<presence from='alice@uc.test' to='bob@remote.test' type='unsubscribed'/>"}));
  ComponentStats stats;
  federation_->fill(stats);
  EXPECT_EQ(stats.subscriptions, 0u);
}

// Remote contacts: one subscription from our domain's JID per remote JID; what its resources
// send is reported as one presence for the API's remote presentity.
TEST_F(FederationTest, WatchesARemoteUserForItsPresentity) {
  EXPECT_FALSE(federation_->refuse_remote("xmpp:bob@remote.test"));
  EXPECT_EQ(federation_->refuse_remote("xmpp:eve@evil.test")->code,
            core::ErrorCode::FailedPrecondition);
  EXPECT_EQ(federation_->refuse_remote("xmpp:alice@uc.test")->code,
            core::ErrorCode::InvalidArgument);
  EXPECT_EQ(federation_->refuse_remote("sip:bob@remote.test")->code,
            core::ErrorCode::InvalidArgument);
  federation_->watch_remote("xmpp:bob@remote.test");
  federation_->watch_remote("xmpp:bob@remote.test");  // one subscription per JID
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='uc.test' to='bob@remote.test' type='subscribe'/>"}));
  receive("<presence from='bob@remote.test' to='uc.test' type='subscribed'/>");
  receive(
      "<presence from='bob@remote.test/desk' to='uc.test'><show>dnd</show>"
      "<status>in a call</status></presence>");
  receive("<presence from='bob@remote.test/phone' to='uc.test'><show>away</show></presence>");
  auto& remote = directory_.remote;
  ASSERT_EQ(remote.size(), 2u);
  EXPECT_EQ(remote[0].address, "xmpp:bob@remote.test");
  EXPECT_TRUE(remote[0].known);
  EXPECT_EQ(remote[0].availability, core::Availability::DoNotDisturb);
  EXPECT_EQ(remote[0].note, "in a call");
  // The most available resource speaks for the user: away beats dnd.
  EXPECT_EQ(remote[1].availability, core::Availability::Away);
  receive("<presence from='bob@remote.test/phone' to='uc.test' type='unavailable'/>");
  EXPECT_EQ(remote.back().availability, core::Availability::DoNotDisturb);
  receive("<presence from='bob@remote.test/desk' to='uc.test' type='unavailable'/>");
  EXPECT_EQ(remote.back().availability, core::Availability::Offline);
  EXPECT_TRUE(remote.back().known);
  // Revoked: nothing is known any more.
  receive("<presence from='bob@remote.test' to='uc.test' type='unsubscribed'/>");
  EXPECT_FALSE(remote.back().known);
  take();
  // A new link asks again and probes.
  federation_->on_link_down();
  federation_->on_ready();
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='uc.test' to='bob@remote.test' type='subscribe'/>",
                        "<presence from='uc.test' to='bob@remote.test' type='probe'/>"}));
  federation_->unwatch_remote("xmpp:bob@remote.test");
  EXPECT_EQ(take(), (std::vector<std::string>{
                        "<presence from='uc.test' to='bob@remote.test' type='unsubscribe'/>"}));
  const std::size_t reported = remote.size();
  receive("<presence from='bob@remote.test/desk' to='uc.test'/>");
  EXPECT_EQ(remote.size(), reported);
}

}  // namespace
}  // namespace presenced::xmpp
