// presence.winfo subscriptions (RFC 3857, RFC 3858): a user watches their own watcher list,
// which changes when a presence subscription to them starts or ends.

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

class WinfoTest : public testing::Test {
 protected:
  WinfoTest() : engine_(core::EngineConfig(), 0) {
    engine_.add_user(core::UserId{"alice"}, core::UserSettings{}, kT0).value();
    engine_.add_user(core::UserId{"bob"}, core::UserSettings{}, kT0).value();
    SubscriptionConfig config;
    config.domain = "example.com";
    subscriptions_ = std::make_unique<Subscriptions>(config, engine_);
    subscriptions_->set_local("192.0.2.1", 5060);
  }

  // A SUBSCRIBE from `from_user` to `to_user` for `event`, in its own dialog (`call_id`).
  static Message subscribe(std::string_view from_user, std::string_view to_user,
                           std::string_view event, std::string_view call_id,
                           std::string_view expires = "600", int cseq = 1,
                           std::string_view to_tag = {}) {
    const std::string text = lines(
        {"SUBSCRIBE sip:" + std::string(to_user) + "@example.com SIP/2.0",
         "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-" + std::string(call_id) +
             std::to_string(cseq),
         "From: \"" + std::string(from_user) + "\" <sip:" + std::string(from_user) +
             "@example.com>;tag=f-" + std::string(call_id),
         "To: <sip:" + std::string(to_user) + "@example.com>" +
             (to_tag.empty() ? std::string() : ";tag=" + std::string(to_tag)),
         "Call-ID: " + std::string(call_id), "CSeq: " + std::to_string(cseq) + " SUBSCRIBE",
         "Contact: <sip:" + std::string(from_user) + "@192.0.2.20:5080>", "Max-Forwards: 70",
         "Event: " + std::string(event), "Expires: " + std::string(expires), "Content-Length: 0",
         "", ""});
    auto parsed = test::parse_datagram(text);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  Message answer(const Message& request, std::string_view subscriber, TimePoint now = kNow) {
    return test::answer_at_once(*subscriptions_, request, udp_source(), subscriber, now);
  }

  // The NOTIFYs sent so far for `event`, each answered 200.
  std::vector<Message> notifies(std::string_view event) {
    std::vector<Message> out;
    for (int round = 0; round < 8; ++round) {
      subscriptions_->drain(kNow);
      auto batch = subscriptions_->take_outbox();
      if (batch.empty()) {
        break;
      }
      for (OutgoingNotify& n : batch) {
        if (test::read_back(n.bytes).event->package == event) {
          out.push_back(test::read_back(n.bytes));
        }
        subscriptions_->on_response(n.subscription, 200, kNow);
      }
    }
    return out;
  }

  static bool has(const Message& m, std::string_view text) {
    return m.body.find(text) != std::string::npos;
  }

  core::Engine engine_;
  std::unique_ptr<Subscriptions> subscriptions_;
};

TEST_F(WinfoTest, AUserMaySubscribeOnlyToTheirOwnWatchers) {
  // RFC 3857 §5.1
  EXPECT_EQ(answer(subscribe("bob", "alice", "presence.winfo", "w1"), "bob").status, 403);
  EXPECT_EQ(subscriptions_->size(), 0u);
  EXPECT_EQ(answer(subscribe("alice", "alice", "presence.winfo", "w1"), "alice").status, 200);
}

TEST_F(WinfoTest, TheFirstNotifyIsAnEmptyFullWatcherList) {
  // RFC 3858 §4: application/watcherinfo+xml, version 0, state full
  ASSERT_EQ(answer(subscribe("alice", "alice", "presence.winfo", "w1"), "alice").status, 200);
  const auto sent = notifies("presence.winfo");
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].content_type);
  EXPECT_EQ(sent[0].content_type->subtype, "watcherinfo+xml");
  EXPECT_TRUE(has(sent[0], "version=\"0\" state=\"full\""));
  EXPECT_TRUE(has(sent[0], "<watcher-list resource=\"sip:alice@example.com\" package=\"presence\">"));
  EXPECT_FALSE(has(sent[0], "<watcher "));
}

TEST_F(WinfoTest, ANewWatcherAndItsEndAreNotified) {
  ASSERT_EQ(answer(subscribe("alice", "alice", "presence.winfo", "w1"), "alice").status, 200);
  (void)notifies("presence.winfo");
  const Message ok = answer(subscribe("bob", "alice", "presence", "p1"), "bob");
  ASSERT_EQ(ok.status, 200);
  auto sent = notifies("presence.winfo");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "version=\"1\""));
  EXPECT_TRUE(has(sent[0], "status=\"active\" event=\"subscribe\" display-name=\"bob\""));
  EXPECT_TRUE(has(sent[0], ">sip:bob@example.com</watcher>"));
  EXPECT_TRUE(has(sent[0], "<watcher id=\"" + std::string(*ok.to.tag()) + "\""));

  // RFC 6665 §4.1.2.3: bob unsubscribes; RFC 3857 §5.2: terminated, event timeout
  const TimePoint later = kNow + std::chrono::seconds(42);
  ASSERT_EQ(answer(subscribe("bob", "alice", "presence", "p1", "0", 2, *ok.to.tag()), "bob", later)
                .status,
            200);
  sent = notifies("presence.winfo");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "version=\"2\""));
  EXPECT_TRUE(has(sent[0], "status=\"terminated\" event=\"timeout\""));
  EXPECT_TRUE(has(sent[0], "duration-subscribed=\"42\""));
  // Full state: the next list no longer has bob.
  ASSERT_EQ(answer(subscribe("alice", "alice", "presence.winfo", "w2"), "alice").status, 200);
  sent = notifies("presence.winfo");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_FALSE(has(sent[0], "<watcher "));
}

TEST_F(WinfoTest, WhenOneOfTwoWatcherListSubscriptionsEndsTheOtherIsStillTold) {
  const Message first = answer(subscribe("alice", "alice", "presence.winfo", "w1"), "alice");
  const Message second = answer(subscribe("alice", "alice", "presence.winfo", "w2"), "alice");
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(second.status, 200);
  (void)notifies("presence.winfo");
  const auto end = [&](const Message& ok, std::string_view call_id) {
    ASSERT_EQ(answer(subscribe("alice", "alice", "presence.winfo", call_id, "0", 2, *ok.to.tag()),
                     "alice")
                  .status,
              200);
    (void)notifies("presence.winfo");
  };
  end(second, "w2");
  ASSERT_EQ(answer(subscribe("bob", "alice", "presence", "p1"), "bob").status, 200);
  EXPECT_EQ(notifies("presence.winfo").size(), 1u);
  // Once the last one has ended, a new watcher is told to nobody.
  end(first, "w1");
  ASSERT_EQ(answer(subscribe("bob", "alice", "presence", "p2"), "bob").status, 200);
  EXPECT_EQ(notifies("presence.winfo").size(), 0u);
  EXPECT_EQ(subscriptions_->size(), 2u);
}

TEST_F(WinfoTest, AWatcherWhoseNotifyFailsEndsAsRejected) {
  ASSERT_EQ(answer(subscribe("alice", "alice", "presence.winfo", "w1"), "alice").status, 200);
  (void)notifies("presence.winfo");
  ASSERT_EQ(answer(subscribe("bob", "alice", "presence", "p1"), "bob").status, 200);
  auto batch = subscriptions_->take_outbox();
  for (OutgoingNotify& n : batch) {
    // RFC 6665 §4.2.2: the subscriber answers 481: the subscription is gone
    const bool presence = test::read_back(n.bytes).event->package == "presence";
    subscriptions_->on_response(n.subscription, presence ? 481 : 200,
                                kNow);
  }
  const auto sent = notifies("presence.winfo");
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(has(sent[0], "status=\"terminated\" event=\"rejected\""));
}

TEST_F(WinfoTest, AcceptWithoutWatcherinfoIs406) {
  Message request = subscribe("alice", "alice", "presence.winfo", "w1");
  request.accept = std::vector<MediaType>{MediaType{"application", "pidf+xml", {}}};
  const Message refused = answer(request, "alice");
  EXPECT_EQ(refused.status, 406);
  EXPECT_EQ(refused.accept->at(0).subtype, "watcherinfo+xml");
}

}  // namespace
}  // namespace presenced::sip
