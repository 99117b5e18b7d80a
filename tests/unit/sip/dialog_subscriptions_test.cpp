// Subscriptions to the dialog package (RFC 4235) for BLF lamps, over a real engine: a call's
// telephony events light the lamp of every phone that subscribed to its owner.

#include "sip/internal/subscriptions.h"

#include "subscription_test_util.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::sip {
namespace {

using test::lines;

using test::kNow;
using test::kT0;
using test::udp_source;

class DialogSubscriptionsTest : public testing::Test {
 protected:
  DialogSubscriptionsTest() : engine_(core::EngineConfig(), 0) {
    alice_ = engine_.add_user(core::UserId{"alice"}, core::UserSettings{}, kT0).value();
    bob_ = engine_.add_user(core::UserId{"bob"}, core::UserSettings{}, kT0).value();
    carol_ = engine_.add_user(core::UserId{"carol"}, core::UserSettings{}, kT0).value();
    SubscriptionConfig config;
    config.domain = "example.com";
    subscriptions_ = std::make_unique<Subscriptions>(config, engine_);
    subscriptions_->set_local("192.0.2.1", 5060);
  }

  // A SUBSCRIBE from `from_user` to alice's dialogs; `to_tag` makes it one within the dialog.
  Message subscribe(std::string_view from_user, std::string_view expires, int cseq = 1,
                    std::string_view to_tag = {}, std::string_view accept = {}) {
    std::string text =
        lines({"SUBSCRIBE sip:alice@example.com SIP/2.0",
               "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-d" + std::to_string(cseq),
               "From: <sip:" + std::string(from_user) + "@example.com>;tag=p1",
               "To: <sip:alice@example.com>" +
                   (to_tag.empty() ? std::string() : ";tag=" + std::string(to_tag)),
               "Call-ID: blf-1@192.0.2.10", "CSeq: " + std::to_string(cseq) + " SUBSCRIBE",
               "Contact: <sip:" + std::string(from_user) + "@192.0.2.20:5080>",
               "Max-Forwards: 70", "Event: dialog", "Expires: " + std::string(expires)});
    if (!accept.empty()) {
      text += "\r\nAccept: " + std::string(accept);
    }
    text += "\r\nContent-Length: 0\r\n\r\n";
    auto parsed = test::parse_datagram(text);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  Message answer(const Message& request, std::string_view subscriber, TimePoint now = kNow) {
    return test::answer_at_once(*subscriptions_, request, udp_source(), subscriber, now);
  }

  void call(std::string id, core::CallState state) {
    core::Call c;
    c.device = "desk";
    c.call_id = std::move(id);
    c.state = state;
    c.direction = core::CallDirection::Inbound;
    engine_.apply_call(alice_, c, kT0 + std::chrono::seconds(++clock_));
  }

  // The NOTIFYs of the changes so far, each answered 200 so that the next one may go.
  std::vector<Message> notifies() { return test::answered_notifies(*subscriptions_, kNow); }

  static bool has(const Message& m, std::string_view text) {
    return m.body.find(text) != std::string::npos;
  }

  core::Engine engine_;
  core::UserIndex alice_ = 0;
  core::UserIndex bob_ = 0;
  core::UserIndex carol_ = 0;
  std::unique_ptr<Subscriptions> subscriptions_;
  int clock_ = 0;
};

TEST_F(DialogSubscriptionsTest, SubscribeGetsAnIdleLampInDialogInfo) {
  // RFC 4235 §3.1, §4.1: Event dialog, application/dialog-info+xml, full state, version 0
  const Message ok = answer(subscribe("bob", "600"), "bob");
  ASSERT_EQ(ok.status, 200);
  const auto sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].event->package, "dialog");
  ASSERT_TRUE(sent[0].content_type);
  EXPECT_EQ(sent[0].content_type->subtype, "dialog-info+xml");
  EXPECT_TRUE(has(sent[0], "version=\"0\" state=\"full\" entity=\"sip:alice@example.com\""));
  EXPECT_FALSE(has(sent[0], "<dialog "));
}

TEST_F(DialogSubscriptionsTest, TheLampFollowsACallEarlyConfirmedTerminated) {
  ASSERT_EQ(answer(subscribe("bob", "600"), "bob").status, 200);
  (void)notifies();
  call("c1", core::CallState::Ringing);
  auto sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "version=\"1\""));
  EXPECT_TRUE(has(sent[0], "<dialog id=\"c1\" direction=\"recipient\"><state>early</state>"));
  call("c1", core::CallState::Connected);
  sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "version=\"2\""));
  EXPECT_TRUE(has(sent[0], "<state>confirmed</state>"));
  call("c1", core::CallState::Ended);
  sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "version=\"3\""));
  // RFC 4235 §3.7.1: the dialog ends as terminated rather than vanishing
  EXPECT_TRUE(has(sent[0], "<dialog id=\"c1\" direction=\"recipient\"><state>terminated</state>"));
  // The next document no longer lists it.
  call("c2", core::CallState::Ringing);
  sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(has(sent[0], "id=\"c1\""));
  EXPECT_TRUE(has(sent[0], "id=\"c2\""));
}

TEST_F(DialogSubscriptionsTest, VersionsCountPerSubscription) {
  // RFC 4235 §4.1.1: each subscription has its own version, from 0
  ASSERT_EQ(answer(subscribe("bob", "600"), "bob").status, 200);
  (void)notifies();
  call("c1", core::CallState::Ringing);
  (void)notifies();
  Message second = subscribe("carol", "600");
  second.call_id = "blf-2@192.0.2.10";
  ASSERT_EQ(answer(second, "carol").status, 200);
  const auto sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].call_id, "blf-2@192.0.2.10");
  EXPECT_TRUE(has(sent[0], "version=\"0\""));
  EXPECT_TRUE(has(sent[0], "<state>early</state>"));
}

TEST_F(DialogSubscriptionsTest, BlockedWatcherSeesAnIdleLamp) {
  engine_.set_visibility(alice_, carol_, core::VisibilityLevel::Blocked);
  ASSERT_EQ(answer(subscribe("carol", "600"), "carol").status, 200);
  (void)notifies();
  call("secret-call", core::CallState::Connected);
  for (const Message& m : notifies()) {
    EXPECT_FALSE(has(m, "<dialog ")) << m.body;
    EXPECT_FALSE(has(m, "secret-call"));
  }
}

TEST_F(DialogSubscriptionsTest, PublicWatcherSeesTheStateButNotTheCall) {
  engine_.set_visibility(alice_, carol_, core::VisibilityLevel::Public);
  ASSERT_EQ(answer(subscribe("carol", "600"), "carol").status, 200);
  (void)notifies();
  call("pbx-4711", core::CallState::Ringing);
  const auto sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "<state>early</state>"));
  EXPECT_FALSE(has(sent[0], "pbx-4711"));
  EXPECT_FALSE(has(sent[0], "direction="));
}

TEST_F(DialogSubscriptionsTest, AcceptWithoutDialogInfoIs406) {
  // RFC 4235 §3.5 / RFC 6665 §4.1.2.1: the subscriber must accept the package's format
  const Message refused = answer(subscribe("bob", "600", 1, {}, "application/pidf+xml"), "bob");
  EXPECT_EQ(refused.status, 406);
  ASSERT_TRUE(refused.accept);
  EXPECT_EQ(refused.accept->at(0).subtype, "dialog-info+xml");
  EXPECT_EQ(subscriptions_->size(), 0u);
  EXPECT_EQ(answer(subscribe("bob", "600", 1, {}, "application/dialog-info+xml"), "bob").status,
            200);
}

TEST_F(DialogSubscriptionsTest, UnsubscribeEndsWithATerminatedDialogInfo) {
  // RFC 6665 §4.1.2.3: Expires 0 in the dialog, a final NOTIFY
  const Message ok = answer(subscribe("bob", "600"), "bob");
  const std::string tag(*ok.to.tag());
  (void)notifies();
  EXPECT_EQ(answer(subscribe("bob", "0", 2, tag), "bob").status, 200);
  const auto sent = notifies();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].subscription_state->state, "terminated");
  EXPECT_TRUE(has(sent[0], "version=\"1\""));
  EXPECT_EQ(subscriptions_->size(), 0u);
}

TEST_F(DialogSubscriptionsTest, ARefreshForAnotherPackageIs481) {
  const Message ok = answer(subscribe("bob", "600"), "bob");
  Message refresh = subscribe("bob", "600", 2, *ok.to.tag());
  refresh.event->package = "presence";
  EXPECT_EQ(answer(refresh, "bob").status, 481);
}

TEST_F(DialogSubscriptionsTest, UnknownPackageIs489) {
  // RFC 6665 §8.2.1
  Message request = subscribe("bob", "600");
  request.event->package = "message-summary";
  const Message refused = answer(request, "bob");
  EXPECT_EQ(refused.status, 489);
  EXPECT_FALSE(refused.allow_events.empty());
}

}  // namespace
}  // namespace presenced::sip
