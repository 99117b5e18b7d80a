// Presence subscriptions (RFC 6665, RFC 3856) over a real engine: each test reads like the
// exchange between a subscriber and us, with the time passed in.

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

class SubscriptionsTest : public testing::Test {
 protected:
  SubscriptionsTest() : engine_(core::EngineConfig(), 0) {
    alice_ = engine_.add_user(core::UserId{"alice"}, core::UserSettings{}, kT0).value();
    bob_ = engine_.add_user(core::UserId{"bob"}, core::UserSettings{}, kT0).value();
    carol_ = engine_.add_user(core::UserId{"carol"}, core::UserSettings{}, kT0).value();
    set_manual("Available", "");
    SubscriptionConfig config;
    config.domain = "example.com";
    subscriptions_ = std::make_unique<Subscriptions>(config, engine_);
    subscriptions_->set_local("192.0.2.1", 5060);
    subscriptions_->set_on_wake([this] { ++wakes_; });
  }

  void set_manual(std::string state, std::string note) {
    core::ManualLayer manual;
    manual.state_id = std::move(state);
    manual.note = std::move(note);
    manual.set_at = kT0;
    engine_.set_manual(alice_, manual, kT0);
  }

  // A SUBSCRIBE from `from_user` to alice; `to_tag` makes it one within the dialog.
  Message subscribe(std::string_view from_user, std::string_view expires, int cseq = 1,
                    std::string_view to_tag = {}) {
    const std::string text =
        lines({"SUBSCRIBE sip:alice@example.com SIP/2.0",
               "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-s" + std::to_string(cseq),
               "From: <sip:" + std::string(from_user) + "@example.com>;tag=w1",
               "To: <sip:alice@example.com>" +
                   (to_tag.empty() ? std::string() : ";tag=" + std::string(to_tag)),
               "Call-ID: sub-1@192.0.2.10", "CSeq: " + std::to_string(cseq) + " SUBSCRIBE",
               "Contact: <sip:" + std::string(from_user) + "@192.0.2.20:5080>",
               "Record-Route: <sip:192.0.2.30;lr>", "Max-Forwards: 70", "Event: presence",
               "Expires: " + std::string(expires), "Content-Length: 0", "", ""});
    auto parsed = test::parse_datagram(text);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  std::vector<OutgoingNotify> outbox() { return subscriptions_->take_outbox(); }

  // The answer, given at once without a store.
  Message answer(const Message& request, const Peer& source, std::string_view subscriber,
                 TimePoint now) {
    return test::answer_at_once(*subscriptions_, request, source, subscriber, now);
  }

  core::Engine engine_;
  core::UserIndex alice_ = 0;
  core::UserIndex bob_ = 0;
  core::UserIndex carol_ = 0;
  std::unique_ptr<Subscriptions> subscriptions_;
  int wakes_ = 0;
};

TEST_F(SubscriptionsTest, SubscribeGets200ThenANotifyInTheDialog) {
  // RFC 6665 §4.2.1.1: 200 with To tag and Expires; §4.2.1.2: a NOTIFY at once
  const Message ok = answer(subscribe("bob", "600"), udp_source(), "bob", kNow);
  ASSERT_EQ(ok.status, 200);
  ASSERT_TRUE(ok.to.tag());
  EXPECT_EQ(ok.expires, 600u);
  ASSERT_EQ(ok.contacts.addresses.size(), 1u);

  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  const Message notify = test::read_back(notifies[0].bytes);
  EXPECT_EQ(notify.method, Method::Notify);
  // RFC 3261 §12.2.1.1: remote target as Request-URI, route set from Record-Route
  EXPECT_EQ(serialize(notify.request_uri), "sip:bob@192.0.2.20:5080");
  ASSERT_EQ(notify.routes.size(), 1u);
  EXPECT_EQ(notify.routes[0].uri.host, "192.0.2.30");
  EXPECT_EQ(notify.from.tag(), ok.to.tag());
  EXPECT_EQ(notify.to.tag(), "w1");
  EXPECT_EQ(notify.call_id, "sub-1@192.0.2.10");
  EXPECT_EQ(notify.cseq.method, Method::Notify);
  ASSERT_TRUE(notify.subscription_state);
  EXPECT_EQ(notify.subscription_state->state, "active");
  EXPECT_EQ(notify.subscription_state->expires, 600u);
  ASSERT_TRUE(notify.content_type);
  EXPECT_EQ(notify.content_type->subtype, "pidf+xml");
  EXPECT_NE(notify.body.find("<basic>open</basic>"), std::string::npos);
  // UDP: to the first route, numeric
  EXPECT_EQ(notifies[0].destination.address, "192.0.2.30");
  EXPECT_EQ(notifies[0].destination.port, 5060);
}

TEST_F(SubscriptionsTest, AChangeIsOneNotifyAndWaitsForTheOneInFlight) {
  ASSERT_EQ(answer(subscribe("bob", "600"), udp_source(), "bob", kNow).status,
            200);
  const auto first = outbox();
  ASSERT_EQ(first.size(), 1u);
  set_manual("DoNotDisturb", "focus");
  EXPECT_EQ(wakes_, 2);  // the initial state, then the change
  subscriptions_->drain(kNow);
  EXPECT_TRUE(outbox().empty());  // the first NOTIFY is not answered yet
  subscriptions_->on_response(first[0].subscription, 200, kNow + std::chrono::seconds(10));
  const auto second = outbox();
  ASSERT_EQ(second.size(), 1u);
  const Message changed = test::read_back(second[0].bytes);
  EXPECT_NE(changed.body.find("<rpid:busy/>"), std::string::npos);
  EXPECT_NE(changed.body.find("<note>focus</note>"), std::string::npos);
  EXPECT_EQ(changed.cseq.number, test::read_back(first[0].bytes).cseq.number + 1);
  EXPECT_EQ(changed.subscription_state->expires, 590u);
}

TEST_F(SubscriptionsTest, BlockedWatcherGetsANeutralClosedDocument) {
  set_manual("DoNotDisturb", "secret");
  engine_.set_visibility(alice_, carol_, core::VisibilityLevel::Blocked);
  ASSERT_EQ(
      answer(subscribe("carol", "600"), udp_source(), "carol", kNow).status,
      200);
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  const std::string body = test::read_back(notifies[0].bytes).body;
  EXPECT_NE(body.find("<basic>closed</basic>"), std::string::npos);
  EXPECT_EQ(body.find("secret"), std::string::npos);
  EXPECT_EQ(body.find("rpid:busy"), std::string::npos);
}

TEST_F(SubscriptionsTest, ExpiresBelowTheMinimumIs423AboveTheMaximumIsCut) {
  // RFC 6665 §4.2.1.1
  const Message brief = answer(subscribe("bob", "5"), udp_source(), "bob", kNow);
  EXPECT_EQ(brief.status, 423);
  EXPECT_EQ(brief.min_expires, 60u);
  EXPECT_TRUE(outbox().empty());
  const Message ok =
      answer(subscribe("bob", "86400"), udp_source(), "bob", kNow);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.expires, 3600u);
}

TEST_F(SubscriptionsTest, UnknownPresentityIs404) {
  Message request = subscribe("bob", "600");
  request.request_uri.user = "nobody";
  EXPECT_EQ(answer(request, udp_source(), "bob", kNow).status, 404);
  EXPECT_EQ(subscriptions_->size(), 0u);
}

TEST_F(SubscriptionsTest, UnsubscribeEndsWithATerminatedNotify) {
  // RFC 6665 §4.1.2.3
  const Message ok = answer(subscribe("bob", "600"), udp_source(), "bob", kNow);
  const std::string tag(*ok.to.tag());
  (void)outbox();
  const Message bye =
      answer(subscribe("bob", "0", 2, tag), udp_source(), "bob", kNow);
  EXPECT_EQ(bye.status, 200);
  EXPECT_EQ(bye.expires, 0u);
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  EXPECT_EQ(test::read_back(notifies[0].bytes).subscription_state->state, "terminated");
  EXPECT_EQ(test::read_back(notifies[0].bytes).subscription_state->reason, "timeout");
  EXPECT_EQ(subscriptions_->size(), 0u);
  // The dialog is gone: RFC 6665 §4.2.1.2
  EXPECT_EQ(
      answer(subscribe("bob", "600", 3, tag), udp_source(), "bob", kNow).status,
      481);
}

TEST_F(SubscriptionsTest, ARemovedPresentityEndsItsSubscriptionsWithNoresource) {
  // RFC 6665 §4.2.2: the resource is gone; the final NOTIFY carries no document.
  const Message ok = answer(subscribe("bob", "600"), udp_source(), "bob", kNow);
  ASSERT_EQ(ok.status, 200);
  (void)outbox();
  ASSERT_TRUE(engine_.remove_user(alice_));
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  const Message last = test::read_back(notifies[0].bytes);
  EXPECT_EQ(last.subscription_state->state, "terminated");
  EXPECT_EQ(last.subscription_state->reason, "noresource");
  EXPECT_TRUE(last.body.empty());
  EXPECT_FALSE(last.content_type.has_value());
  EXPECT_EQ(subscriptions_->size(), 0u);
  EXPECT_GT(wakes_, 0);  // the transport is asked to send it
  // A refresh in the old dialog finds nothing (and reads nothing of the removed user).
  EXPECT_EQ(answer(subscribe("bob", "600", 2, *ok.to.tag()), udp_source(), "bob", kNow).status,
            481);
}

TEST_F(SubscriptionsTest, ARemovedSubscriberEndsItsSubscriptionsWithRejected) {
  ASSERT_EQ(answer(subscribe("bob", "600"), udp_source(), "bob", kNow).status, 200);
  (void)outbox();
  ASSERT_TRUE(engine_.remove_user(bob_));
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  EXPECT_EQ(test::read_back(notifies[0].bytes).subscription_state->reason, "rejected");
  EXPECT_EQ(subscriptions_->size(), 0u);
}

TEST_F(SubscriptionsTest, RefreshExtendsAndExpiryEndsWithTimeout) {
  const Message ok = answer(subscribe("bob", "600"), udp_source(), "bob", kNow);
  const std::string tag(*ok.to.tag());
  subscriptions_->on_response(outbox()[0].subscription, 200, kNow);
  const TimePoint later = kNow + std::chrono::seconds(500);
  const Message refreshed =
      answer(subscribe("bob", "600", 2, tag), udp_source(), "bob", later);
  EXPECT_EQ(refreshed.status, 200);
  EXPECT_EQ(outbox().size(), 1u);  // the current state again
  EXPECT_EQ(subscriptions_->next_deadline(), later + std::chrono::seconds(600));
  subscriptions_->advance(kNow + std::chrono::seconds(700));
  EXPECT_TRUE(outbox().empty());
  subscriptions_->advance(later + std::chrono::seconds(600));
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  EXPECT_EQ(test::read_back(notifies[0].bytes).subscription_state->state, "terminated");
  EXPECT_EQ(test::read_back(notifies[0].bytes).subscription_state->reason, "timeout");
  EXPECT_EQ(subscriptions_->size(), 0u);
}

TEST_F(SubscriptionsTest, RefreshWithAnOldCSeqIs500) {
  // RFC 3261 §12.2.2
  const Message ok = answer(subscribe("bob", "600", 5), udp_source(), "bob", kNow);
  const std::string tag(*ok.to.tag());
  EXPECT_EQ(
      answer(subscribe("bob", "600", 5, tag), udp_source(), "bob", kNow).status,
      500);
}

TEST_F(SubscriptionsTest, NotifyAnswered481Or408EndsTheSubscription) {
  // RFC 6665 §4.2.2
  for (const int status : {481, 408}) {
    ASSERT_EQ(
        answer(subscribe("bob", "600"), udp_source(), "bob", kNow).status, 200);
    const auto notifies = outbox();
    ASSERT_EQ(notifies.size(), 1u);
    subscriptions_->on_response(notifies[0].subscription, status, kNow);
    EXPECT_EQ(subscriptions_->size(), 0u) << status;
    set_manual(status == 481 ? "Away" : "Busy", "");
    subscriptions_->drain(kNow);
    EXPECT_TRUE(outbox().empty()) << status;
  }
}

// The NOTIFY is written from the dialog's header text, not from a Message: its bytes are what
// serialize() writes for the same fields, in the same order.
TEST_F(SubscriptionsTest, NotifyBytesAreTheDialogsHeadersInSerializeOrder) {
  Message request = subscribe("bob", "600");
  request.from.display_name = "Bob \"B\" Smith";
  const auto routed = test::parse_datagram(lines(
      {"OPTIONS sip:x SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK-x", "From: <sip:a@h>;tag=1",
       "To: <sip:b@h>", "Call-ID: c", "CSeq: 1 OPTIONS",
       "Record-Route: <sip:p1.example.com;lr>, <sip:192.0.2.30;lr;x=1>", "", ""}));
  ASSERT_TRUE(routed);
  request.record_routes = routed->record_routes;
  request.event->id = "7";
  const Message ok = answer(request, udp_source(), "bob", kNow);
  ASSERT_EQ(ok.status, 200);
  const auto notifies = outbox();
  ASSERT_EQ(notifies.size(), 1u);
  const Message notify = test::read_back(notifies[0].bytes);
  const std::string head =
      lines({"NOTIFY sip:bob@192.0.2.20:5080 SIP/2.0",
             "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" + std::string(*notify.vias.at(0).branch()),
             "Route: <sip:p1.example.com;lr>", "Route: <sip:192.0.2.30;lr;x=1>",
             "From: <sip:alice@example.com>;tag=" + std::string(*ok.to.tag()),
             "To: \"Bob \\\"B\\\" Smith\" <sip:bob@example.com>;tag=w1",
             "Call-ID: sub-1@192.0.2.10", "CSeq: 1 NOTIFY", "Max-Forwards: 70",
             "Contact: <sip:192.0.2.1:5060>", "Event: presence;id=7",
             "Subscription-State: active;expires=600", "Content-Type: application/pidf+xml",
             "Content-Length: " + std::to_string(notify.body.size()), "", ""});
  EXPECT_EQ(notifies[0].bytes.substr(0, head.size()), head);
  EXPECT_EQ(notifies[0].bytes.size(), head.size() + notify.body.size());
  EXPECT_TRUE(notify.vias.at(0).branch()->starts_with("z9hG4bK"));
  // The first route's host is a name: back to where the SUBSCRIBE came from.
  EXPECT_EQ(notifies[0].destination, udp_source());

  // A refresh in the dialog (event id 7) with a new Contact moves the Request-URI and finds the
  // dialog again by its tags afterwards.
  Message refresh = subscribe("bob", "600", 2, *ok.to.tag());
  refresh.event->id = "7";
  refresh.contacts.addresses.at(0).uri.host = "[2001:db8::5]";
  subscriptions_->on_response(notifies[0].subscription, 200, kNow);
  ASSERT_EQ(answer(refresh, udp_source(), "bob", kNow).status, 200);
  const auto refreshed = outbox();
  ASSERT_EQ(refreshed.size(), 1u);
  const Message again = test::read_back(refreshed[0].bytes);
  EXPECT_EQ(serialize(again.request_uri), "sip:bob@[2001:db8::5]:5080");
  EXPECT_EQ(again.to, notify.to);
  EXPECT_EQ(again.from, notify.from);
  EXPECT_EQ(again.routes, notify.routes);
  EXPECT_EQ(again.event, notify.event);
  EXPECT_EQ(again.cseq.number, 2u);
  Message unsubscribe = subscribe("bob", "0", 3, *ok.to.tag());
  unsubscribe.event->id = "7";
  subscriptions_->on_response(refreshed[0].subscription, 200, kNow);
  EXPECT_EQ(answer(unsubscribe, udp_source(), "bob", kNow).status, 200);
  const auto last = outbox();
  ASSERT_EQ(last.size(), 1u);
  const Message terminated = test::read_back(last[0].bytes);
  EXPECT_EQ(terminated.subscription_state->state, "terminated");
  EXPECT_EQ(terminated.subscription_state->reason, "timeout");
  EXPECT_FALSE(terminated.subscription_state->expires);
  EXPECT_EQ(subscriptions_->size(), 0u);
}

// Another event id is another dialog (RFC 6665 §4.1.2): the refresh of one with the tags of the
// other is 481.
TEST_F(SubscriptionsTest, TheEventIdIsPartOfTheDialog) {
  const Message ok = answer(subscribe("bob", "600"), udp_source(), "bob", kNow);
  Message other = subscribe("bob", "600", 2, *ok.to.tag());
  other.event->id = "9";
  EXPECT_EQ(answer(other, udp_source(), "bob", kNow).status, 481);
  EXPECT_EQ(answer(subscribe("bob", "600", 2, *ok.to.tag()), udp_source(), "bob", kNow).status,
            200);
}

// A NOTIFY that never started (our client-transaction table full) keeps the subscription: the
// state goes again after the retry delay, with the same CSeq, or with the next change.
TEST_F(SubscriptionsTest, ANotifyThatDidNotStartIsSentAgainLater) {
  ASSERT_EQ(answer(subscribe("bob", "600"), udp_source(), "bob", kNow).status, 200);
  const auto first = outbox();
  ASSERT_EQ(first.size(), 1u);
  subscriptions_->on_not_started(first[0].subscription, kNow);
  EXPECT_EQ(subscriptions_->size(), 1u);
  EXPECT_TRUE(outbox().empty());
  EXPECT_EQ(subscriptions_->next_deadline(), kNow + Subscriptions::kRetryDelay);
  subscriptions_->advance(kNow + Subscriptions::kRetryDelay / 2);
  EXPECT_TRUE(outbox().empty());
  subscriptions_->advance(kNow + Subscriptions::kRetryDelay);
  const auto retried = outbox();
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(test::read_back(retried[0].bytes).cseq.number,
            test::read_back(first[0].bytes).cseq.number);
  EXPECT_EQ(test::read_back(retried[0].bytes).subscription_state->state, "active");

  // Refused again; a change comes before the delay: it goes at once, and only once.
  subscriptions_->on_not_started(retried[0].subscription, kNow);
  set_manual("Busy", "later");
  subscriptions_->drain(kNow);
  const auto changed = outbox();
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_NE(test::read_back(changed[0].bytes).body.find("<note>later</note>"), std::string::npos);
  subscriptions_->on_response(changed[0].subscription, 200, kNow);
  subscriptions_->advance(kNow + Subscriptions::kRetryDelay);
  EXPECT_TRUE(outbox().empty());
  EXPECT_EQ(subscriptions_->size(), 1u);
}

TEST_F(SubscriptionsTest, AcceptWithoutPidfIs406) {
  // RFC 3856 §6.7
  Message request = subscribe("bob", "600");
  request.accept = std::vector<MediaType>{MediaType{"application", "xpidf+xml", {}}};
  const Message refused = answer(request, udp_source(), "bob", kNow);
  EXPECT_EQ(refused.status, 406);
  EXPECT_EQ(subscriptions_->size(), 0u);
}

}  // namespace
}  // namespace presenced::sip
