#include "core/engine.h"

#include "core/mappings.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace presenced::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr TimePoint kT0{milliseconds(1'790'000'000'000)};

// "user:availability:sequence:level": enough to tell which projection reached whom.
class TestEncoder final : public PresenceEncoder {
 public:
  explicit TestEncoder(std::string prefix = {}) : prefix_(std::move(prefix)) {}
  std::string encode(const UserId& user, const Presence& projected, std::uint64_t sequence,
                     VisibilityLevel level) const override {
    return prefix_ + user.value + ":" + std::string(to_string(projected.availability)) + ":" +
           std::to_string(sequence) + ":" + std::string(to_string(level));
  }

 private:
  std::string prefix_;
};

class CountingSink final : public WatcherSink {
 public:
  void wake() override { ++wakes; }
  int wakes = 0;
};

class RecordingListener final : public ChangeListener {
 public:
  void on_change(UserIndex user, const Presence& presence, std::uint64_t sequence) override {
    changes.push_back({user, presence.availability, sequence});
  }
  struct Change {
    UserIndex user;
    Availability availability;
    std::uint64_t sequence;
    friend bool operator==(const Change&, const Change&) = default;
  };
  std::vector<Change> changes;
};

ManualLayer manual(std::string state_id, TimePoint set_at, std::string note = {}) {
  ManualLayer m;
  m.state_id = std::move(state_id);
  m.set_at = set_at;
  m.note = std::move(note);
  return m;
}

Session session(std::string client_id, TimePoint since = kT0) {
  Session s;
  s.client_id = std::move(client_id);
  s.kind = "websocket";
  s.since = since;
  s.input_since = since;
  return s;
}

Call call(std::string device, std::string call_id, CallState state) {
  Call c;
  c.device = std::move(device);
  c.call_id = std::move(call_id);
  c.state = state;
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(EngineConfig config = {}, std::uint64_t sequence_base = 0)
      : engine_(config, sequence_base) {
    json_ = engine_.add_format(std::make_unique<TestEncoder>());
  }

  UserIndex add(const std::string& id) {
    auto user = engine_.add_user(UserId{id}, UserSettings{}, kT0);
    EXPECT_TRUE(user.has_value()) << id;
    return user.value();
  }

  // A watcher looking through `user`'s eyes, with its own sink.
  WatcherId watch(UserIndex user, FormatId format = 0) {
    sinks_.push_back(std::make_unique<CountingSink>());
    return engine_.add_watcher(user, format, sinks_.back().get());
  }
  CountingSink& sink(std::size_t n) { return *sinks_[n]; }

  std::vector<std::string> drain(WatcherId watcher) {
    std::vector<std::string> out;
    for (const Delivery& d : engine_.queue(watcher).take()) {
      out.push_back(*d.payload);
    }
    return out;
  }

  Engine engine_;
  FormatId json_ = 0;
  std::vector<std::unique_ptr<CountingSink>> sinks_;
};

using Strings = std::vector<std::string>;

// ---- Users ----

TEST_F(EngineTest, AddUserTwiceIsAConflict) {
  const UserIndex alice = add("alice");
  auto again = engine_.add_user(UserId{"alice"}, UserSettings{}, kT0);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::Conflict);
  EXPECT_EQ(engine_.find("alice"), alice);
  EXPECT_EQ(engine_.user_count(), 1u);
}

TEST_F(EngineTest, NewUserIsOfflineAtSequenceOne) {
  const UserIndex alice = add("alice");
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Offline);
  EXPECT_EQ(engine_.sequence(alice), 1u);
  EXPECT_EQ(engine_.id_of(alice).value, "alice");
}

TEST_F(EngineTest, SequenceGrowsByOnePerVisibleChangeOnly) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_EQ(engine_.sequence(alice), 2u);
  engine_.set_manual(alice, manual("Away", kT0), kT0);
  EXPECT_EQ(engine_.sequence(alice), 3u);

  // No-op changes: the same manual state again, a second session, an unchanged calendar.
  engine_.set_manual(alice, manual("Away", kT0 + seconds(1)), kT0 + seconds(1));
  engine_.open_session(alice, session("ws-2"), kT0 + seconds(2));
  engine_.set_calendar(alice, CalendarLayer{}, kT0 + seconds(3));
  EXPECT_EQ(engine_.sequence(alice), 3u);
  EXPECT_EQ(engine_.stats().changes, 3u);

  engine_.set_manual(alice, manual("Away", kT0 + seconds(4), "lunch"), kT0 + seconds(4));
  EXPECT_EQ(engine_.sequence(alice), 4u);
}

class EngineWithBaseTest : public EngineTest {
 protected:
  EngineWithBaseTest() : EngineTest(EngineConfig{}, 1000) {}
};

// Sequences keep growing across restarts: the base is added to every one.
TEST_F(EngineWithBaseTest, SequenceBaseIsAddedToEverySequence) {
  const UserIndex alice = add("alice");
  EXPECT_EQ(engine_.sequence(alice), 1001u);
  const WatcherId w = watch(alice);
  engine_.subscribe(w, alice);
  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_EQ(drain(w), (Strings{"alice:Offline:1001:personal", "alice:Available:1002:personal"}));
  engine_.set_manual(alice, manual("Busy", kT0), kT0);
  const auto queued = engine_.queue(w).take();
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].sequence, 1003u);
}

TEST_F(EngineTest, RemoveUserSendsALastPresenceUnknown) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  drain(w);
  RecordingListener listener;
  engine_.add_listener(&listener);

  ASSERT_TRUE(engine_.remove_user(alice).has_value());
  EXPECT_EQ(drain(w), Strings{"alice:PresenceUnknown:2:business"});
  EXPECT_EQ(listener.changes,
            (std::vector<RecordingListener::Change>{{alice, Availability::PresenceUnknown, 2}}));
  EXPECT_FALSE(engine_.exists(alice));
  EXPECT_EQ(engine_.find("alice"), std::nullopt);
  EXPECT_EQ(engine_.subscription_count(w), 0u);
  EXPECT_EQ(engine_.stats().subscriptions, 0u);

  auto again = engine_.remove_user(alice);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::NotFound);

  // The name is free again, under a new index.
  const UserIndex alice2 = add("alice");
  EXPECT_NE(alice2, alice);
  EXPECT_TRUE(drain(w).empty());
}

// ---- Watchers and fan-out ----

TEST_F(EngineTest, SubscribeQueuesTheCurrentStateAtOnce) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  EXPECT_EQ(sink(0).wakes, 1);
  EXPECT_EQ(engine_.subscription_count(w), 1u);
  EXPECT_EQ(drain(w), Strings{"alice:Available:2:business"});
}

// Issue 10: a team logging in subscribes to each member once per watcher; while the current
// state is still queued, later subscribers at the same level share its encoding.
TEST_F(EngineTest, SubscribersOfTheSameStateShareOneEncoding) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const UserIndex carol = add("carol");
  engine_.open_session(alice, session("ws-1"), kT0);
  const WatcherId w1 = watch(bob);
  const WatcherId w2 = watch(carol);
  const auto encodings = engine_.stats().encodings;
  engine_.subscribe(w1, alice);
  engine_.subscribe(w2, alice);
  std::vector<Delivery> first = engine_.queue(w1).take();
  std::vector<Delivery> second = engine_.queue(w2).take();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].payload, second[0].payload);
  EXPECT_EQ(engine_.stats().encodings, encodings + 1);

  // A new state is encoded anew, and so is one no longer queued anywhere.
  engine_.set_manual(alice, manual("Away", kT0), kT0);
  engine_.queue(w1).take();
  engine_.queue(w2).take();
  first.clear();
  second.clear();
  const WatcherId w3 = watch(carol);
  engine_.subscribe(w3, alice);
  EXPECT_EQ(drain(w3), Strings{"alice:Away:3:business"});
}

TEST_F(EngineTest, ChangeReachesEachSubscriberOnceWithItsLevel) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const UserIndex carol = add("carol");
  engine_.set_visibility(alice, carol, VisibilityLevel::Blocked);
  const WatcherId self = watch(alice);
  const WatcherId by_bob = watch(bob);
  const WatcherId by_carol = watch(carol);
  for (WatcherId w : {self, by_bob, by_carol}) {
    engine_.subscribe(w, alice);
    drain(w);
  }

  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_EQ(drain(self), Strings{"alice:Available:2:personal"});
  EXPECT_EQ(drain(by_bob), Strings{"alice:Available:2:business"});
  EXPECT_EQ(drain(by_carol), Strings{"alice:PresenceUnknown:2:blocked"});
  EXPECT_EQ(engine_.presence_for(alice, carol).availability, Availability::PresenceUnknown);
  EXPECT_EQ(engine_.presence_for(alice, bob).availability, Availability::Available);
}

// One projection and encoding per (format, level), then a pointer copy per watcher.
TEST_F(EngineTest, EncodesOncePerFormatAndLevelNotPerWatcher) {
  const FormatId pidf = engine_.add_format(std::make_unique<TestEncoder>("pidf/"));
  const UserIndex alice = add("alice");
  std::vector<WatcherId> business_json;
  std::vector<WatcherId> team_json;
  std::vector<WatcherId> business_pidf;
  for (int i = 0; i < 12; ++i) {
    const UserIndex u = add("u" + std::to_string(i));
    if (i < 5) {
      business_json.push_back(watch(u, json_));
    } else if (i < 9) {
      engine_.set_visibility(alice, u, VisibilityLevel::Team);
      team_json.push_back(watch(u, json_));
    } else {
      business_pidf.push_back(watch(u, pidf));
    }
  }
  for (const auto* group : {&business_json, &team_json, &business_pidf}) {
    for (WatcherId w : *group) {
      engine_.subscribe(w, alice);
      drain(w);
    }
  }

  const std::uint64_t encodings = engine_.stats().encodings;
  const std::uint64_t deliveries = engine_.stats().deliveries;
  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_EQ(engine_.stats().encodings - encodings, 3u);
  EXPECT_EQ(engine_.stats().deliveries - deliveries, 12u);

  // Watchers of one (format, level) share one payload.
  const auto first = engine_.queue(business_json[0]).take();
  const auto second = engine_.queue(business_json[1]).take();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(first[0].payload.get(), second[0].payload.get());
  EXPECT_EQ(*first[0].payload, "alice:Available:2:business");
  EXPECT_EQ(drain(team_json[0]), Strings{"alice:Available:2:team"});
  EXPECT_EQ(drain(business_pidf[0]), Strings{"pidf/alice:Available:2:business"});

  // The next change encodes afresh (the cache does not outlive one change).
  engine_.set_manual(alice, manual("Busy", kT0), kT0);
  EXPECT_EQ(engine_.stats().encodings - encodings, 6u);
  EXPECT_EQ(drain(business_json[2]), (Strings{"alice:Available:2:business",
                                              "alice:Busy:3:business"}));
}

TEST_F(EngineTest, UnsubscribeStopsDeliveries) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  drain(w);
  engine_.unsubscribe(w, alice);
  EXPECT_EQ(engine_.subscription_count(w), 0u);
  EXPECT_EQ(engine_.stats().subscriptions, 0u);

  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_TRUE(engine_.queue(w).empty());
  EXPECT_EQ(sink(0).wakes, 1);
}

TEST_F(EngineTest, RemoveWatcherStopsDeliveries) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const WatcherId gone = watch(bob);
  const WatcherId stays = watch(bob);
  engine_.subscribe(gone, alice);
  engine_.subscribe(stays, alice);
  EXPECT_EQ(engine_.stats().watchers, 2u);
  EXPECT_EQ(engine_.stats().subscriptions, 2u);

  engine_.remove_watcher(gone);
  EXPECT_EQ(engine_.stats().watchers, 1u);
  EXPECT_EQ(engine_.stats().subscriptions, 1u);
  const std::uint64_t deliveries = engine_.stats().deliveries;
  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_EQ(engine_.stats().deliveries - deliveries, 1u);
  EXPECT_EQ(sink(0).wakes, 1);
  EXPECT_EQ(drain(stays), (Strings{"alice:Offline:1:business", "alice:Available:2:business"}));
}

// A resuming client passes the last sequence it saw.
TEST_F(EngineTest, SubscribeSinceTheCurrentSequenceQueuesNothing) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);

  struct Case {
    std::int64_t since_offset;  // from the user's sequence at subscribe time
    bool queued;
  };
  const Case cases[] = {{0, false}, {5, false}, {-1, true}, {-2, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.since_offset);
    const std::uint64_t current = engine_.sequence(alice);
    const WatcherId w = watch(bob);
    engine_.subscribe(w, alice, current + static_cast<std::uint64_t>(c.since_offset));
    EXPECT_EQ(engine_.subscription_count(w), 1u);
    EXPECT_EQ(sink(sinks_.size() - 1).wakes, c.queued ? 1 : 0);
    const Strings expected =
        c.queued ? Strings{"alice:" +
                           std::string(to_string(engine_.presence(alice).availability)) + ":" +
                           std::to_string(current) + ":business"}
                 : Strings{};
    EXPECT_EQ(drain(w), expected);
    // Subscribed either way: the next change arrives.
    engine_.set_manual(alice, manual("Away", kT0, std::to_string(current)), kT0);
    EXPECT_EQ(drain(w), Strings{"alice:Away:" + std::to_string(current + 1) + ":business"});
    engine_.remove_watcher(w);
  }
}

TEST_F(EngineTest, SetVisibilityRequeuesTheNewProjectionAtOnce) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  drain(w);

  engine_.set_visibility(alice, bob, VisibilityLevel::Blocked);
  EXPECT_EQ(engine_.pair_level(alice, bob), VisibilityLevel::Blocked);
  EXPECT_EQ(drain(w), Strings{"alice:PresenceUnknown:2:blocked"});

  // The same level again queues nothing.
  engine_.set_visibility(alice, bob, VisibilityLevel::Blocked);
  EXPECT_TRUE(engine_.queue(w).empty());

  // Removing the pair level goes back to the default.
  engine_.set_visibility(alice, bob, std::nullopt);
  EXPECT_EQ(engine_.pair_level(alice, bob), std::nullopt);
  EXPECT_EQ(drain(w), Strings{"alice:Available:2:business"});
  EXPECT_EQ(engine_.sequence(alice), 2u);
}

TEST_F(EngineTest, RaisingThePolicyMinimumRequeuesBlockedWatchers) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.set_visibility(alice, bob, VisibilityLevel::Blocked);
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  EXPECT_EQ(drain(w), Strings{"alice:PresenceUnknown:1:blocked"});

  engine_.set_policy({VisibilityLevel::Business, VisibilityLevel::Public});
  EXPECT_EQ(engine_.level_for(alice, bob), VisibilityLevel::Public);
  EXPECT_EQ(drain(w), Strings{"alice:Offline:1:public"});
}

// ---- Peer watchers (another server) and remote presentities ----

TEST_F(EngineTest, PeerWatcherSeesEveryUserAtItsLevelWhateverTheUsersLists) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");  // user 0 is alice: the peer must not borrow her eyes
  engine_.set_visibility(alice, alice, VisibilityLevel::Blocked);
  engine_.set_visibility(bob, alice, VisibilityLevel::Blocked);
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.open_session(bob, session("ws-2"), kT0);
  sinks_.push_back(std::make_unique<CountingSink>());
  const WatcherId peer =
      engine_.add_peer_watcher(VisibilityLevel::Public, json_, sinks_.back().get());
  engine_.subscribe(peer, alice);
  engine_.subscribe(peer, bob);
  EXPECT_EQ(drain(peer), (Strings{"alice:Available:2:public", "bob:Available:2:public"}));

  // A pair level or a policy change is about users' eyes, not the peer's.
  engine_.set_visibility(bob, alice, std::nullopt);
  engine_.set_policy({VisibilityLevel::Business, VisibilityLevel::Blocked});
  EXPECT_TRUE(engine_.queue(peer).empty());

  engine_.set_peer_level(peer, VisibilityLevel::Blocked);
  EXPECT_EQ(drain(peer), (Strings{"alice:PresenceUnknown:2:blocked",
                                  "bob:PresenceUnknown:2:blocked"}));
  engine_.set_peer_level(peer, VisibilityLevel::Blocked);
  EXPECT_TRUE(engine_.queue(peer).empty());

  engine_.set_manual(bob, manual("Busy", kT0 + seconds(1)), kT0 + seconds(1));
  EXPECT_EQ(drain(peer), Strings{"bob:PresenceUnknown:3:blocked"});
}

TEST_F(EngineTest, PeerWatcherSlotIsAnOrdinaryWatcherOnceReused) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.set_visibility(alice, bob, VisibilityLevel::Blocked);
  const WatcherId peer = engine_.add_peer_watcher(VisibilityLevel::Personal, json_, nullptr);
  engine_.remove_watcher(peer);
  const WatcherId w = watch(bob);
  ASSERT_EQ(w, peer);
  engine_.subscribe(w, alice);
  EXPECT_EQ(drain(w), Strings{"alice:PresenceUnknown:1:blocked"});
}

TEST_F(EngineTest, RemotePresentityShowsWhatItsServerReports) {
  const UserIndex remote = add("sip:carol@example.org");
  const UserIndex bob = add("bob");
  const WatcherId w = watch(bob);
  engine_.subscribe(w, remote);
  drain(w);

  RemotePresence reported;
  reported.address = "sip:carol@example.org";
  engine_.set_remote(remote, reported, kT0);
  EXPECT_EQ(engine_.presence(remote).explanation.rule, "remote_unknown");
  EXPECT_TRUE(engine_.presence(remote).flags.has(Flag::Offline));
  EXPECT_EQ(drain(w), Strings{"sip:carol@example.org:Offline:2:business"});  // a new reason

  reported.known = true;
  reported.availability = Availability::Busy;
  reported.activity = Activity::InACall;
  reported.note = "on the phone";
  // Local layers do not count for a remote presentity.
  engine_.open_session(remote, session("ws-1"), kT0);
  engine_.set_remote(remote, reported, kT0 + seconds(1));
  const Presence& p = engine_.presence(remote);
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.note, "on the phone");
  EXPECT_TRUE(p.flags.has(Flag::Note));
  EXPECT_EQ(p.explanation.layer, Layer::Remote);
  EXPECT_EQ(p.explanation.rule, "remote_presence");
  EXPECT_EQ(drain(w), Strings{"sip:carol@example.org:Busy:3:business"});
  EXPECT_EQ(engine_.next_deadline(), std::nullopt);

  engine_.set_remote(remote, std::nullopt, kT0 + seconds(2));
  EXPECT_EQ(engine_.presence(remote).explanation.rule, "logged_in");
}

TEST_F(EngineTest, WakeOnlyWhenTheQueueGoesFromEmptyToNonEmpty) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  engine_.subscribe(w, bob);
  EXPECT_EQ(sink(0).wakes, 1);
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.open_session(bob, session("ws-2"), kT0);
  EXPECT_EQ(sink(0).wakes, 1);
  EXPECT_EQ(drain(w).size(), 4u);

  engine_.set_manual(alice, manual("Away", kT0), kT0);
  EXPECT_EQ(sink(0).wakes, 2);
  engine_.set_manual(bob, manual("Away", kT0), kT0);
  EXPECT_EQ(sink(0).wakes, 2);
}

class SlowWatcherTest : public EngineTest {
 protected:
  static EngineConfig config() {
    EngineConfig c;
    c.queue_soft_limit = 4;
    return c;
  }
  SlowWatcherTest() : EngineTest(config()) {}
};

// A slow watcher skips intermediate states and keeps only the newest one per user.
TEST_F(SlowWatcherTest, KeepsOnlyTheNewestStatePerUserInOrder) {
  const UserIndex watcher_user = add("watcher");
  const std::vector<UserIndex> users = {add("u0"), add("u1"), add("u2")};
  const WatcherId w = watch(watcher_user);
  for (UserIndex u : users) {
    engine_.subscribe(w, u);
  }
  for (int i = 0; i < 100; ++i) {
    const UserIndex u = users[static_cast<std::size_t>(i) % users.size()];
    engine_.set_manual(u, manual("Away", kT0, "change " + std::to_string(i)), kT0);
  }
  EXPECT_EQ(sink(0).wakes, 1);
  EXPECT_EQ(engine_.stats().deliveries, 103u);

  WatcherQueue& queue = engine_.queue(w);
  EXPECT_EQ(queue.coalesced(), 100u);
  const std::vector<Delivery> kept = queue.take();
  // The last three changes went to u1, u2, u0 (change 99 is u0's).
  ASSERT_EQ(kept.size(), 3u);
  const UserIndex order[] = {users[1], users[2], users[0]};
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept[i].user, order[i]);
    EXPECT_EQ(kept[i].sequence, engine_.sequence(order[i]));
  }
  // u0: added (1), then changes 0, 3, ..., 99 (34).
  EXPECT_EQ(engine_.sequence(users[0]), 35u);
}

TEST(WatcherQueueTest, CompactsPastTheSoftLimitKeepingTheNewestPerUser) {
  WatcherQueue queue(4);
  auto push = [&](UserIndex user, std::uint64_t sequence) {
    queue.push({user, sequence, std::make_shared<const std::string>(std::to_string(sequence))});
  };
  push(1, 1);
  push(2, 1);
  push(1, 2);
  push(3, 1);
  EXPECT_EQ(queue.size(), 4u);  // at the limit: nothing dropped yet
  push(2, 2);
  // Over the limit: u1's and u2's older entries go; order is that of the newest entries.
  const std::vector<Delivery> kept = queue.take();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].user, 1u);
  EXPECT_EQ(kept[0].sequence, 2u);
  EXPECT_EQ(kept[1].user, 3u);
  EXPECT_EQ(kept[2].user, 2u);
  EXPECT_EQ(*kept[2].payload, "2");
  EXPECT_EQ(queue.coalesced(), 2u);
  EXPECT_TRUE(queue.empty());
}

// ---- Time ----

TEST_F(EngineTest, ManualUntilExpiresOnAdvance) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  ManualLayer away = manual("Away", kT0);
  away.until = kT0 + hours(1);
  engine_.set_manual(alice, away, kT0);
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  EXPECT_EQ(drain(w), Strings{"alice:Away:3:business"});
  EXPECT_EQ(engine_.next_deadline(), kT0 + hours(1));

  engine_.advance(kT0 + hours(1) - milliseconds(1));
  EXPECT_TRUE(engine_.queue(w).empty());

  engine_.advance(kT0 + hours(1));
  EXPECT_FALSE(engine_.layers(alice).manual.has_value());
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Available);
  EXPECT_EQ(drain(w), Strings{"alice:Available:4:business"});
  EXPECT_EQ(engine_.next_deadline(), std::nullopt);
}

TEST_F(EngineTest, ManualFromStartsOnAdvance) {
  const UserIndex alice = add("alice");
  ManualLayer later = manual("DoNotDisturb", kT0);
  later.from = kT0 + minutes(30);
  engine_.set_manual(alice, later, kT0);
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Offline);
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(30));
  engine_.advance(kT0 + minutes(30));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::DoNotDisturb);
}

// Seed 000: "Inactive" after 5 minutes without input.
TEST_F(EngineTest, IdleThresholdIsCrossedOnAdvance) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  ASSERT_TRUE(engine_.report_input(alice, "ws-1", InputState::Idle, kT0, kT0 + seconds(30)));
  EXPECT_FALSE(engine_.report_input(alice, "nobody", InputState::Idle, kT0, kT0));
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  EXPECT_EQ(drain(w), Strings{"alice:Available:2:business"});
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(5));

  engine_.advance(kT0 + minutes(5));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::AvailableIdle);
  EXPECT_EQ(drain(w), Strings{"alice:AvailableIdle:3:business"});

  ASSERT_TRUE(engine_.report_input(alice, "ws-1", InputState::Active, kT0 + minutes(6),
                                   kT0 + minutes(6)));
  EXPECT_EQ(drain(w), Strings{"alice:Available:4:business"});
}

TEST_F(EngineTest, PerUserIdleThresholdFromSettings) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.report_input(alice, "ws-1", InputState::Idle, kT0, kT0);
  UserSettings settings;
  settings.idle_after = minutes(2);
  engine_.set_settings(alice, settings, kT0 + minutes(1));
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(2));
  engine_.advance(kT0 + minutes(2));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::AvailableIdle);
}

// Leases: the ringing call lapses and is dropped from the layer.
TEST_F(EngineTest, LapsedRingingIsDroppedOnAdvance) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0);
  EXPECT_TRUE(engine_.presence(alice).flags.has(Flag::Ringing));
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(3));
  engine_.advance(kT0 + minutes(3));
  EXPECT_TRUE(engine_.layers(alice).telephony.calls.empty());
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Available);
}

TEST_F(EngineTest, CallEventsUpdateAndEndTheCall) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0);
  engine_.apply_call(alice, call("desk", "c1", CallState::Connected), kT0 + seconds(10));
  ASSERT_EQ(engine_.layers(alice).telephony.calls.size(), 1u);
  const Call& c = engine_.layers(alice).telephony.calls[0];
  EXPECT_EQ(c.started_at, kT0);
  EXPECT_EQ(c.updated_at, kT0 + seconds(10));
  EXPECT_EQ(engine_.presence(alice).flags.has(Flag::Call), true);
  EXPECT_EQ(engine_.presence(alice).flags.has(Flag::Ringing), false);
  // The connected call's lease (8 h) now runs from its last event.
  EXPECT_EQ(engine_.next_deadline(), kT0 + seconds(10) + hours(8));

  engine_.apply_call(alice, call("desk", "c1", CallState::Ended), kT0 + minutes(1));
  EXPECT_TRUE(engine_.layers(alice).telephony.calls.empty());
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Available);
  EXPECT_EQ(engine_.next_deadline(), std::nullopt);
}

// Reference §2.2: a later call overrides the manual state; ours comes back after it.
TEST_F(EngineTest, ManualStateReturnsAfterTheCallThatOverrodeIt) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.set_manual(alice, manual("Away", kT0), kT0);
  engine_.apply_call(alice, call("mobile", "c1", CallState::Connected), kT0 + minutes(1));
  EXPECT_EQ(engine_.presence(alice).activity, Activity::InACall);
  engine_.apply_call(alice, call("mobile", "c1", CallState::Ended), kT0 + minutes(2));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Away);
}

// ---- Telephony events: a PBX posting over HTTP retries, reorders and loses them. ----

struct CallEvent {
  const char* device;
  CallState state;
};

struct CallEventCase {
  const char* name;
  std::vector<CallEvent> before;  // call "c1", one second apart
  CallEvent event;
  CallOutcome outcome;
  std::optional<CallState> desk_after;  // c1 on desk afterwards; nullopt: not in the layer
  bool visible;                         // a new sequence and a delivery
};

TEST_F(EngineTest, CallEventsOutOfOrderOrTwice) {
  using enum CallState;
  const CallEventCase cases[] = {
      {"new call", {}, {"desk", Ringing}, CallOutcome::Applied, Ringing, true},
      {"answered", {{"desk", Ringing}}, {"desk", Connected}, CallOutcome::Applied, Connected,
       true},
      {"answered without ringing first", {}, {"desk", Connected}, CallOutcome::Applied,
       Connected, true},
      {"put on hold", {{"desk", Connected}}, {"desk", Held}, CallOutcome::Applied, Held, true},
      {"taken off hold", {{"desk", Held}}, {"desk", Connected}, CallOutcome::Applied, Connected,
       true},
      {"ended", {{"desk", Connected}}, {"desk", Ended}, CallOutcome::Applied, std::nullopt, true},
      // Retries: the same event twice changes nothing visible.
      {"ringing twice", {{"desk", Ringing}}, {"desk", Ringing}, CallOutcome::Duplicate, Ringing,
       false},
      {"connected twice", {{"desk", Ringing}, {"desk", Connected}}, {"desk", Connected},
       CallOutcome::Duplicate, Connected, false},
      {"ended twice", {{"desk", Connected}, {"desk", Ended}}, {"desk", Ended},
       CallOutcome::Duplicate, std::nullopt, false},
      // Reordering: a call does not go back to ringing once answered.
      {"ringing after connected", {{"desk", Ringing}, {"desk", Connected}}, {"desk", Ringing},
       CallOutcome::IgnoredBackwards, Connected, false},
      {"ringing after held", {{"desk", Connected}, {"desk", Held}}, {"desk", Ringing},
       CallOutcome::IgnoredBackwards, Held, false},
      // Reordering: an ended call does not come back.
      {"connected after ended", {{"desk", Ringing}, {"desk", Ended}}, {"desk", Connected},
       CallOutcome::IgnoredEnded, std::nullopt, false},
      {"ringing after ended", {{"desk", Connected}, {"desk", Ended}}, {"desk", Ringing},
       CallOutcome::IgnoredEnded, std::nullopt, false},
      // Lost or overtaken events: an end never seen begin is accepted, changes nothing, and the
      // ringing it overtook does not start a call.
      {"ended never seen", {}, {"desk", Ended}, CallOutcome::IgnoredUnknownEnd, std::nullopt,
       false},
      {"ringing after an end never seen", {{"desk", Ended}}, {"desk", Ringing},
       CallOutcome::IgnoredEnded, std::nullopt, false},
      // A call is one call id on one device: the same id ringing on another device is its own.
      {"same id on another device", {{"desk", Connected}, {"desk", Ended}},
       {"mobile", Ringing}, CallOutcome::Applied, std::nullopt, true},
  };
  for (const CallEventCase& c : cases) {
    SCOPED_TRACE(c.name);
    const UserIndex alice = add(c.name);
    TimePoint t = kT0;
    for (const CallEvent& e : c.before) {
      engine_.apply_call(alice, call(e.device, "c1", e.state), t);
      t += seconds(1);
    }
    const WatcherId w = watch(alice);
    engine_.subscribe(w, alice);
    drain(w);
    const std::uint64_t sequence = engine_.sequence(alice);

    EXPECT_EQ(engine_.apply_call(alice, call(c.event.device, "c1", c.event.state), t),
              c.outcome);
    std::optional<CallState> desk;
    for (const Call& live : engine_.layers(alice).telephony.calls) {
      if (live.device == "desk") {
        desk = live.state;
      }
    }
    EXPECT_EQ(desk, c.desk_after);
    EXPECT_EQ(engine_.sequence(alice), sequence + (c.visible ? 1 : 0));
    EXPECT_EQ(drain(w).size(), c.visible ? 1u : 0u);
  }
}

TEST(CallOutcomeTest, NamesForLogsAndMetrics) {
  EXPECT_EQ(to_string(CallOutcome::Applied), "applied");
  EXPECT_EQ(to_string(CallOutcome::Duplicate), "duplicate");
  EXPECT_EQ(to_string(CallOutcome::IgnoredEnded), "ignored_ended");
  EXPECT_EQ(to_string(CallOutcome::IgnoredUnknownEnd), "ignored_unknown_end");
  EXPECT_EQ(to_string(CallOutcome::IgnoredBackwards), "ignored_backwards");
}

// A retried event is still a sign of life: it renews the lease without a visible change.
TEST_F(EngineTest, DuplicateCallEventRenewsTheLease) {
  const UserIndex alice = add("alice");
  engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0);
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(3));
  const std::uint64_t sequence = engine_.sequence(alice);
  EXPECT_EQ(engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0 + minutes(2)),
            CallOutcome::Duplicate);
  EXPECT_EQ(engine_.sequence(alice), sequence);
  EXPECT_EQ(engine_.next_deadline(), kT0 + minutes(5));
  EXPECT_EQ(engine_.layers(alice).telephony.calls.at(0).started_at, kT0);
}

// The record of ended calls is bounded by age (EngineConfig::ended_calls_age, 30 minutes):
// past it, the call id counts as new.
TEST_F(EngineTest, EndedCallsAreForgottenAfterTheirAge) {
  const UserIndex alice = add("alice");
  engine_.apply_call(alice, call("desk", "c1", CallState::Connected), kT0);
  engine_.apply_call(alice, call("desk", "c2", CallState::Connected), kT0);
  engine_.apply_call(alice, call("desk", "c1", CallState::Ended), kT0 + minutes(1));
  engine_.apply_call(alice, call("desk", "c2", CallState::Ended), kT0 + minutes(1));

  EXPECT_EQ(engine_.apply_call(alice, call("desk", "c1", CallState::Connected),
                               kT0 + minutes(31) - milliseconds(1)),
            CallOutcome::IgnoredEnded);
  EXPECT_EQ(engine_.apply_call(alice, call("desk", "c2", CallState::Connected), kT0 + minutes(31)),
            CallOutcome::Applied);
}

// ... and by count (EngineConfig::ended_calls_kept, 32 per user): the oldest go first.
TEST_F(EngineTest, EndedCallsKeptPerUserAreBounded) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.apply_call(bob, call("desk", "c0", CallState::Ended), kT0);
  for (int i = 0; i <= 32; ++i) {
    const std::string id = "c" + std::to_string(i);
    engine_.apply_call(alice, call("desk", id, CallState::Connected), kT0);
    engine_.apply_call(alice, call("desk", id, CallState::Ended), kT0 + seconds(1));
  }
  EXPECT_EQ(engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0 + seconds(2)),
            CallOutcome::IgnoredEnded);
  EXPECT_EQ(engine_.apply_call(alice, call("desk", "c0", CallState::Ringing), kT0 + seconds(2)),
            CallOutcome::Applied);
  // Per user: bob's record is his own.
  EXPECT_EQ(engine_.apply_call(bob, call("desk", "c0", CallState::Ringing), kT0 + seconds(2)),
            CallOutcome::IgnoredEnded);
}

// Call leases: a connected call whose "ended" never comes lapses 8 hours after its last event;
// the user goes back to what the other layers say and watchers hear it.
TEST_F(EngineTest, ConnectedCallWhoseEndNeverComesLapses) {
  struct Case {
    bool signed_in;
    Availability after;
  };
  for (const Case c : {Case{true, Availability::Available}, Case{false, Availability::Offline}}) {
    SCOPED_TRACE(c.signed_in);
    const UserIndex alice = add(c.signed_in ? "signed-in" : "signed-out");
    const UserIndex bob = add(c.signed_in ? "bob-1" : "bob-2");
    if (c.signed_in) {
      engine_.open_session(alice, session("ws-1"), kT0);
    }
    engine_.apply_call(alice, call("desk", "c1", CallState::Connected), kT0);
    engine_.apply_call(alice, call("desk", "c1", CallState::Held), kT0 + hours(1));
    const WatcherId w = watch(bob);
    engine_.subscribe(w, alice);
    EXPECT_EQ(drain(w).size(), 1u);
    EXPECT_EQ(engine_.presence(alice).availability, Availability::Busy);

    engine_.advance(kT0 + hours(9) - milliseconds(1));
    EXPECT_TRUE(engine_.queue(w).empty());
    engine_.advance(kT0 + hours(9));
    EXPECT_TRUE(engine_.layers(alice).telephony.calls.empty());
    EXPECT_EQ(engine_.presence(alice).availability, c.after);
    EXPECT_FALSE(engine_.presence(alice).flags.has(Flag::Call));
    EXPECT_EQ(drain(w), Strings{engine_.id_of(alice).value + ":" +
                                std::string(to_string(c.after)) + ":" +
                                std::to_string(engine_.sequence(alice)) + ":business"});
    // The lease end is when the call counts as ended (longest-idle routing).
    EXPECT_EQ(engine_.last_call_end(alice), kT0 + hours(9));
    // A late "ended" for it finds nothing to end.
    EXPECT_EQ(engine_.apply_call(alice, call("desk", "c1", CallState::Ended), kT0 + hours(10)),
              CallOutcome::IgnoredUnknownEnd);
    EXPECT_EQ(engine_.last_call_end(alice), kT0 + hours(9));
  }
}

// Longest-idle routing: the end of the user's last answered call.
TEST_F(EngineTest, LastCallEndIsWhenTheLastAnsweredCallEnded) {
  const UserIndex alice = add("alice");
  EXPECT_EQ(engine_.last_call_end(alice), std::nullopt);

  // A call that only rang was not worked: the agent is as idle as before.
  engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0);
  engine_.apply_call(alice, call("desk", "c1", CallState::Ended), kT0 + seconds(20));
  EXPECT_EQ(engine_.last_call_end(alice), std::nullopt);

  // Two calls at once: the user is idle only when the last one ends.
  engine_.apply_call(alice, call("desk", "c2", CallState::Connected), kT0 + minutes(1));
  engine_.apply_call(alice, call("mobile", "c3", CallState::Held), kT0 + minutes(2));
  engine_.apply_call(alice, call("desk", "c2", CallState::Ended), kT0 + minutes(3));
  EXPECT_EQ(engine_.last_call_end(alice), std::nullopt);
  engine_.apply_call(alice, call("mobile", "c3", CallState::Ended), kT0 + minutes(4));
  EXPECT_EQ(engine_.last_call_end(alice), kT0 + minutes(4));

  // A retried "ended" does not move it.
  engine_.apply_call(alice, call("mobile", "c3", CallState::Ended), kT0 + minutes(5));
  EXPECT_EQ(engine_.last_call_end(alice), kT0 + minutes(4));

  // During the next call it keeps the previous end; the next end replaces it.
  engine_.apply_call(alice, call("desk", "c4", CallState::Connected), kT0 + minutes(10));
  EXPECT_EQ(engine_.last_call_end(alice), kT0 + minutes(4));
  engine_.apply_call(alice, call("desk", "c4", CallState::Ended), kT0 + minutes(12));
  EXPECT_EQ(engine_.last_call_end(alice), kT0 + minutes(12));
}

// Not persisted: calls restored at startup (even lapsed ones) end no call since the start.
TEST_F(EngineTest, LastCallEndStartsEmptyAfterARestore) {
  const UserIndex alice = add("alice");
  TelephonyLayer telephony;
  Call lapsed = call("desk", "c1", CallState::Connected);
  lapsed.started_at = kT0 - hours(10);
  lapsed.updated_at = kT0 - hours(9);
  telephony.calls.push_back(lapsed);
  engine_.restore(alice, std::nullopt, telephony, CalendarLayer{}, kT0);
  EXPECT_TRUE(engine_.layers(alice).telephony.calls.empty());
  EXPECT_EQ(engine_.last_call_end(alice), std::nullopt);
}

// Seed 001: "Do not disturb call protection controls presence status"; when the call ends, the
// state from before comes back by itself.
TEST_F(EngineTest, CallProtectionLastsAsLongAsTheCall) {
  UserSettings settings;
  settings.dnd_protection = true;
  const UserIndex alice = engine_.add_user(UserId{"alice"}, settings, kT0).value();
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.set_manual(alice, manual("Away", kT0), kT0);
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  EXPECT_EQ(drain(w), Strings{"alice:Away:3:business"});

  engine_.apply_call(alice, call("desk", "c1", CallState::Ringing), kT0 + minutes(1));
  engine_.apply_call(alice, call("desk", "c1", CallState::Connected), kT0 + minutes(2));
  engine_.apply_call(alice, call("desk", "c1", CallState::Held), kT0 + minutes(3));
  engine_.apply_call(alice, call("desk", "c1", CallState::Ended), kT0 + minutes(4));
  EXPECT_EQ(drain(w), (Strings{"alice:Busy:4:business", "alice:DoNotDisturb:5:business",
                               "alice:DoNotDisturb:6:business", "alice:Away:7:business"}));
  EXPECT_EQ(engine_.presence(alice).explanation.rule, "manual");

  // Turning the protection off during a call takes effect at once.
  engine_.apply_call(alice, call("desk", "c2", CallState::Connected), kT0 + minutes(5));
  EXPECT_EQ(engine_.presence(alice).explanation.rule, "call_protection");
  settings.dnd_protection = false;
  engine_.set_settings(alice, settings, kT0 + minutes(6));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Busy);
  EXPECT_EQ(engine_.presence(alice).explanation.rule, "system_overrides_manual");
}

// ---- Sessions ----

TEST_F(EngineTest, OpenSessionIsTrueOnlyForTheFirstAndCloseOnlyForTheLast) {
  const UserIndex alice = add("alice");
  EXPECT_TRUE(engine_.open_session(alice, session("ws-1"), kT0));
  EXPECT_FALSE(engine_.open_session(alice, session("ws-2"), kT0));
  EXPECT_FALSE(engine_.open_session(alice, session("ws-1"), kT0));  // a refresh
  EXPECT_EQ(engine_.layers(alice).sessions.sessions.size(), 2u);

  EXPECT_FALSE(engine_.close_session(alice, "ws-1", kT0));
  EXPECT_FALSE(engine_.close_session(alice, "unknown", kT0));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Available);
  EXPECT_TRUE(engine_.close_session(alice, "ws-2", kT0));
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Offline);
  EXPECT_FALSE(engine_.close_session(alice, "ws-2", kT0));
}

// A session whose lease lapsed is gone even if no timer ran yet: the next one is a new login
// (the API applies the FreePBX start-session status on it).
TEST_F(EngineTest, OpenSessionAfterALapsedLeaseIsALogin) {
  const UserIndex alice = add("alice");
  Session desktop = session("desktop");
  desktop.lease_until = kT0 + seconds(60);
  EXPECT_TRUE(engine_.open_session(alice, desktop, kT0));
  EXPECT_TRUE(engine_.open_session(alice, session("ws-1"), kT0 + seconds(90)));
  EXPECT_EQ(engine_.layers(alice).sessions.sessions.size(), 1u);
}

TEST_F(EngineTest, CloseSessionIsALogoutWhenTheOthersLapsed) {
  const UserIndex alice = add("alice");
  Session desktop = session("desktop");
  desktop.lease_until = kT0 + seconds(60);
  engine_.open_session(alice, desktop, kT0);
  engine_.open_session(alice, session("ws-1"), kT0);
  EXPECT_TRUE(engine_.close_session(alice, "ws-1", kT0 + seconds(90)));
  EXPECT_TRUE(engine_.take_lapsed_logouts().empty());  // reported once, by close_session
}

TEST_F(EngineTest, ALastSessionWhoseLeaseLapsesIsALapsedLogout) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  Session desktop = session("desktop");
  desktop.lease_until = kT0 + seconds(60);
  engine_.open_session(alice, desktop, kT0);
  Session phone = session("phone");
  phone.lease_until = kT0 + seconds(60);
  engine_.open_session(bob, phone, kT0);
  engine_.open_session(bob, session("ws-1"), kT0);  // no lease: bob stays logged in
  engine_.advance(kT0 + seconds(59));
  EXPECT_TRUE(engine_.take_lapsed_logouts().empty());
  engine_.advance(kT0 + seconds(60));
  EXPECT_EQ(engine_.take_lapsed_logouts(), std::vector<UserIndex>{alice});
  EXPECT_EQ(engine_.presence(alice).availability, Availability::Offline);
  EXPECT_TRUE(engine_.take_lapsed_logouts().empty());  // taken once
}

// ---- States ----

TEST_F(EngineTest, BuiltInStatesCannotBeReplaced) {
  for (const StateDefinition& s : built_in_states()) {
    SCOPED_TRACE(s.id);
    StateDefinition replacement = definition_for_type(StateType::Away);
    replacement.id = s.id;
    auto result = engine_.put_state(replacement, kT0);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::Conflict);
  }
  EXPECT_EQ(engine_.states().find("Busy")->availability, Availability::Busy);
}

TEST_F(EngineTest, ListStatesBuiltInsFirstThenByOrder) {
  struct Custom {
    const char* id;
    int order;
  };
  const Custom customs[] = {{"zeta", 1}, {"alpha", 2}, {"mid", 1}, {"early", 0}};
  for (const Custom& c : customs) {
    StateDefinition s = definition_for_type(StateType::Away);
    s.id = c.id;
    s.order = c.order;
    ASSERT_TRUE(engine_.put_state(s, kT0).has_value());
  }
  std::vector<std::string> ids;
  for (const StateDefinition& s : engine_.list_states()) {
    ids.push_back(s.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"Available", "Busy", "DoNotDisturb", "BeRightBack",
                                           "Away", "Offline", "early", "mid", "zeta", "alpha"}));
}

// Seed 002: the administrator manages the list; users in a state follow its definition.
TEST_F(EngineTest, RedefiningOrRemovingAStateUpdatesUsersInIt) {
  const UserIndex alice = add("alice");
  const UserIndex bob = add("bob");
  engine_.open_session(alice, session("ws-1"), kT0);
  StateDefinition lunch = definition_for_type(StateType::Away);
  lunch.id = "lunch";
  lunch.message = "Out to lunch";
  ASSERT_TRUE(engine_.put_state(lunch, kT0).has_value());
  engine_.set_manual(alice, manual("lunch", kT0), kT0);
  EXPECT_EQ(engine_.presence(alice).note, "Out to lunch");
  const WatcherId w = watch(bob);
  engine_.subscribe(w, alice);
  drain(w);

  StateDefinition strict = definition_for_type(StateType::Dnd);
  strict.id = "lunch";
  ASSERT_TRUE(engine_.put_state(strict, kT0 + minutes(1)).has_value());
  EXPECT_EQ(drain(w), Strings{"alice:DoNotDisturb:4:business"});

  ASSERT_TRUE(engine_.remove_state("lunch", kT0 + minutes(2)).has_value());
  EXPECT_EQ(drain(w), Strings{"alice:Available:5:business"});
  auto missing = engine_.remove_state("lunch", kT0 + minutes(3));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::NotFound);
}

TEST_F(EngineTest, ListenersHearEveryVisibleChange) {
  RecordingListener listener;
  engine_.add_listener(&listener);
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0);
  engine_.open_session(alice, session("ws-2"), kT0);  // no visible change
  EXPECT_EQ(listener.changes, (std::vector<RecordingListener::Change>{
                                  {alice, Availability::Offline, 1},
                                  {alice, Availability::Available, 2}}));
}

TEST_F(EngineTest, RestoreKeepsTimestampsOfDurableLayers) {
  const UserIndex alice = add("alice");
  engine_.open_session(alice, session("ws-1"), kT0 + hours(1));
  TelephonyLayer telephony;
  Call connected = call("desk", "c1", CallState::Connected);
  connected.started_at = kT0;
  connected.updated_at = kT0;
  telephony.calls.push_back(connected);
  engine_.restore(alice, manual("Away", kT0 - minutes(1)), telephony, CalendarLayer{},
                  kT0 + hours(1));
  // The call started after the manual state was set: it overrides it (reference §2.2).
  EXPECT_EQ(engine_.presence(alice).activity, Activity::InACall);
  EXPECT_EQ(engine_.next_deadline(), kT0 + hours(8));
}

}  // namespace
}  // namespace presenced::core
