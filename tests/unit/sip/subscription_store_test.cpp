// Subscriptions that survive a restart: each dialog is stored through the Directory before the
// SUBSCRIBE is answered, erased when it ends, and put back by restore() with a NOTIFY of the
// current state. MemoryDirectory holds the store's completion until the test calls complete().

#include "sip/internal/subscription_record.h"
#include "sip/internal/subscriptions.h"

#include "memory_directory.h"
#include "subscription_test_util.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::sip {
namespace {

using test::lines;

using test::kNow;
using test::kT0;
using test::udp_source;

WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

StoredSubscription sample() {
  StoredSubscription s;
  s.package = "dialog";
  s.subscriber = "bob";
  s.presentity = "alice";
  s.call_id = "c1@192.0.2.10";
  s.local = *parse_name_addr("<sip:alice@example.com>;tag=ours");
  s.remote = *parse_name_addr("\"Bob\" <sip:bob@example.com>;tag=theirs");
  s.event_id = "7";
  s.remote_target = *parse_uri("sip:bob@192.0.2.20:5080;transport=udp");
  s.route_set = {*parse_name_addr("<sip:192.0.2.30;lr>"), *parse_name_addr("<sip:p2;lr>")};
  s.remote_cseq = 12;
  s.local_cseq_bound = 2000;
  s.expires_at = WallTime(std::chrono::milliseconds(1'800'000'600'000));
  s.created_at = WallTime(std::chrono::milliseconds(1'800'000'000'000));
  s.transport = Transport::Tcp;
  s.address = "2001:db8::1";
  s.port = 5070;
  return s;
}

TEST(SubscriptionRecord, RoundTrips) {
  const StoredSubscription s = sample();
  const auto decoded = decode_subscription(encode_subscription(s));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, s);
}

TEST(SubscriptionRecord, ARecordMissingALineOrWithABadValueIsRefused) {
  const std::string body = encode_subscription(sample());
  EXPECT_FALSE(decode_subscription(""));
  EXPECT_FALSE(decode_subscription("garbage\n\n\x01"));
  const std::size_t target = body.find("target ");
  std::string without_target = body;
  without_target.erase(target, body.find('\n', target) - target + 1);
  EXPECT_FALSE(decode_subscription(without_target));
  std::string bad_port = body;
  bad_port.replace(bad_port.find("port 5070"), 9, "port 99999");
  EXPECT_FALSE(decode_subscription(bad_port));
  // Unknown lines are skipped: a later version may add some.
  EXPECT_TRUE(decode_subscription(body + "future value\n"));
}

class SubscriptionStoreTest : public testing::Test {
 protected:
  SubscriptionStoreTest() {
    core::Engine& engine = directory_.engine();
    alice_ = engine.add_user(core::UserId{"alice"}, core::UserSettings{}, kT0).value();
    engine.add_user(core::UserId{"bob"}, core::UserSettings{}, kT0).value();
    start();
  }

  // A new Subscriptions over the same store, as after a restart.
  void start() {
    subscriptions_.reset();
    SubscriptionConfig config;
    config.domain = "example.com";
    subscriptions_ = std::make_unique<Subscriptions>(config, directory_.engine(), &directory_);
    subscriptions_->set_local("192.0.2.1", 5060);
  }

  static Message subscribe(std::string_view expires, int cseq = 1, std::string_view to_tag = {}) {
    const std::string text = lines(
        {"SUBSCRIBE sip:alice@example.com SIP/2.0",
         "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-r" + std::to_string(cseq),
         "From: <sip:bob@example.com>;tag=b1",
         "To: <sip:alice@example.com>" +
             (to_tag.empty() ? std::string() : ";tag=" + std::string(to_tag)),
         "Call-ID: keep-1@192.0.2.10", "CSeq: " + std::to_string(cseq) + " SUBSCRIBE",
         "Contact: <sip:bob@192.0.2.20:5080>", "Record-Route: <sip:192.0.2.30;lr>",
         "Max-Forwards: 70", "Event: dialog", "Expires: " + std::string(expires),
         "Content-Length: 0", "", ""});
    auto parsed = test::parse_datagram(text);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
    return *parsed;
  }

  // Sends the SUBSCRIBE; the answer lands in `answers_` whenever it comes.
  void send(const Message& request, TimePoint now = kNow) {
    subscriptions_->subscribe(request, udp_source(), "bob", now,
                              [this](Message m) { answers_.push_back(std::move(m)); });
  }

  std::vector<Message> notifies() { return test::answered_notifies(*subscriptions_, kNow); }

  std::size_t records() const {
    return directory_.stored(kSubscriptionKind).size();
  }

  test::MemoryDirectory directory_;
  core::UserIndex alice_ = 0;
  std::unique_ptr<Subscriptions> subscriptions_;
  std::vector<Message> answers_;
};

TEST_F(SubscriptionStoreTest, The200WaitsUntilTheDialogIsDurable) {
  send(subscribe("600"));
  EXPECT_TRUE(answers_.empty());
  EXPECT_TRUE(notifies().empty());
  const auto stored = directory_.stored(kSubscriptionKind);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].owner, "bob");
  const auto record = decode_subscription(stored[0].body);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->call_id, "keep-1@192.0.2.10");
  EXPECT_EQ(record->remote.tag(), "b1");
  EXPECT_EQ(record->route_set.size(), 1u);
  EXPECT_EQ(serialize(record->remote_target), "sip:bob@192.0.2.20:5080");

  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 200);
  EXPECT_EQ(record->local.tag(), answers_[0].to.tag());
  EXPECT_EQ(notifies().size(), 1u);
}

TEST_F(SubscriptionStoreTest, AFailedWriteIs500AndNoSubscription) {
  send(subscribe("600"));
  directory_.complete(false);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 500);
  EXPECT_EQ(subscriptions_->size(), 0u);
  EXPECT_TRUE(notifies().empty());
}

TEST_F(SubscriptionStoreTest, ARefreshIsStoredBeforeIts200) {
  send(subscribe("600"));
  directory_.complete(true);
  (void)notifies();
  const std::string tag(*answers_[0].to.tag());
  const auto before = decode_subscription(directory_.stored(kSubscriptionKind)[0].body);
  send(subscribe("1200", 2, tag), kNow + std::chrono::seconds(100));
  ASSERT_EQ(answers_.size(), 1u);  // not yet
  const auto after = decode_subscription(directory_.stored(kSubscriptionKind)[0].body);
  EXPECT_EQ(after->remote_cseq, 2u);
  EXPECT_GT(after->expires_at, before->expires_at);
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].status, 200);
  EXPECT_EQ(notifies().size(), 1u);  // RFC 6665 §4.2.1.2
}

TEST_F(SubscriptionStoreTest, ARefreshWhoseWriteFailsIs500AndKeepsTheOldExpiry) {
  send(subscribe("600"));
  directory_.complete(true);
  (void)notifies();
  send(subscribe("1200", 2, *answers_[0].to.tag()), kNow + std::chrono::seconds(100));
  directory_.complete(false);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].status, 500);
  EXPECT_EQ(subscriptions_->next_deadline(), kNow + std::chrono::seconds(600));
  EXPECT_TRUE(notifies().empty());
}

TEST_F(SubscriptionStoreTest, UnsubscribeErasesTheRecordBeforeItsAnswer) {
  send(subscribe("600"));
  directory_.complete(true);
  (void)notifies();
  send(subscribe("0", 2, *answers_[0].to.tag()));
  // An acknowledged unsubscribe must not come back after a crash: the 200 waits for the erase.
  EXPECT_EQ(answers_.size(), 1u);
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].status, 200);
  EXPECT_EQ(records(), 0u);
}

TEST_F(SubscriptionStoreTest, AfterARestartTheSubscriberGetsTheCurrentStateAndMayRefresh) {
  send(subscribe("600"));
  directory_.complete(true);
  const auto first = notifies();
  ASSERT_EQ(first.size(), 1u);
  const std::string tag(*answers_[0].to.tag());
  core::Call call;
  call.device = "desk";
  call.call_id = "c1";
  call.state = core::CallState::Ringing;
  directory_.engine().apply_call(alice_, call, kT0 + std::chrono::seconds(1));
  const auto ringing = notifies();
  ASSERT_EQ(ringing.size(), 1u);

  start();  // the process is gone; the store is not
  subscriptions_->restore(kNow + std::chrono::seconds(5), wall_now());
  EXPECT_EQ(subscriptions_->size(), 1u);
  const auto restored = notifies();
  ASSERT_EQ(restored.size(), 1u);
  const Message& notify = restored[0];
  EXPECT_EQ(notify.call_id, "keep-1@192.0.2.10");
  EXPECT_EQ(notify.from.tag(), tag);
  EXPECT_EQ(notify.to.tag(), "b1");
  EXPECT_EQ(serialize(notify.request_uri), "sip:bob@192.0.2.20:5080");
  ASSERT_EQ(notify.routes.size(), 1u);
  // CSeq and version go on above everything sent before the restart.
  EXPECT_GT(notify.cseq.number, ringing[0].cseq.number);
  EXPECT_NE(notify.body.find("version=\"1000\""), std::string::npos) << notify.body;
  EXPECT_NE(notify.body.find("<state>early</state>"), std::string::npos);
  EXPECT_EQ(notify.subscription_state->state, "active");
  EXPECT_LE(notify.subscription_state->expires, 600u);

  // RFC 6665 §4.1.2.2: a refresh in the old dialog
  send(subscribe("600", 2, tag), kNow + std::chrono::seconds(10));
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 2u);
  EXPECT_EQ(answers_[1].status, 200);
}

TEST_F(SubscriptionStoreTest, TheCSeqBoundMovesAheadBeforeItIsReached) {
  send(subscribe("600"));
  directory_.complete(true);
  const auto bound = [this] {
    return decode_subscription(directory_.stored(kSubscriptionKind)[0].body)->local_cseq_bound;
  };
  EXPECT_EQ(bound(), 1000u);
  std::uint32_t last = 0;
  for (int i = 0; i < 600; ++i) {
    core::Call call;
    call.device = "desk";
    call.call_id = "c" + std::to_string(i / 2);
    call.state = i % 2 == 0 ? core::CallState::Ringing : core::CallState::Ended;
    directory_.engine().apply_call(alice_, call, kT0 + std::chrono::seconds(i + 1));
    for (const Message& m : notifies()) {
      last = m.cseq.number;
    }
  }
  ASSERT_GT(last, 500u);
  // Written once, when half of the reserve was used: still well ahead of the last CSeq.
  EXPECT_EQ(bound(), 2000u);
  EXPECT_GT(bound(), last + 400);
}

TEST_F(SubscriptionStoreTest, AWinfoNotifyQueuedWhenTheWriteCompletesWakesTheTransport) {
  int wakes = 0;
  subscriptions_->set_on_wake([&wakes] { ++wakes; });
  Message request = subscribe("600");
  request.request_uri.user = "bob";
  request.event->package = "presence.winfo";
  send(request);
  EXPECT_EQ(wakes, 0);
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 200);
  EXPECT_EQ(wakes, 1);  // nothing else would send the first watcher list
  EXPECT_EQ(subscriptions_->take_outbox().size(), 1u);
}

TEST_F(SubscriptionStoreTest, RestoredWatcherListsAreWholeAndRecordsOfRemovedUsersGo) {
  Message winfo = subscribe("600");
  winfo.request_uri.user = "bob";
  winfo.call_id = "winfo-1@192.0.2.10";
  winfo.event->package = "presence.winfo";
  send(winfo);  // bob watches his own watchers
  Message presence = subscribe("600");
  presence.request_uri.user = "bob";
  presence.event->package = "presence";
  send(presence);  // bob watches himself
  Message to_alice = subscribe("600");
  to_alice.call_id = "gone-1@192.0.2.10";
  send(to_alice);  // bob watches alice, who is removed below
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 3u);
  (void)notifies();
  ASSERT_EQ(records(), 3u);

  start();
  ASSERT_TRUE(directory_.engine().remove_user(alice_));
  subscriptions_->restore(kNow, wall_now());
  EXPECT_EQ(subscriptions_->size(), 2u);
  EXPECT_EQ(records(), 2u);  // alice's is erased
  bool listed = false;
  for (const Message& m : notifies()) {
    if (m.event->package == "presence.winfo") {
      listed = m.body.find("status=\"active\" event=\"subscribe\"") != std::string::npos;
    }
  }
  EXPECT_TRUE(listed);
}

TEST_F(SubscriptionStoreTest, RestoreErasesExpiredRecords) {
  send(subscribe("600"));
  directory_.complete(true);
  start();
  subscriptions_->restore(kNow, wall_now() + std::chrono::hours(2));
  EXPECT_EQ(subscriptions_->size(), 0u);
  EXPECT_TRUE(notifies().empty());
  EXPECT_EQ(records(), 0u);
}

}  // namespace
}  // namespace presenced::sip
