// Every mutation kind through each backend, a real SQLite file and a real PostgreSQL database:
// submit, then a new store instance loads the snapshot a restarted server would start from.

#include "store/store.h"

#include "unit/store/store_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace presenced::store {
namespace {

using namespace presenced::store::testing;
using std::chrono::minutes;

UserRecord user(std::string id, std::string display_name, Role role,
                std::vector<std::string> groups) {
  UserRecord u;
  u.id = std::move(id);
  u.display_name = std::move(display_name);
  u.role = role;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$" + u.id;
  u.sip_password = "sip-" + u.id;
  u.groups = std::move(groups);
  return u;
}

core::StateDefinition state(std::string id, core::StateType type, std::string message,
                            core::Availability availability, core::Activity activity, int order) {
  core::StateDefinition s;
  s.id = std::move(id);
  s.type = type;
  s.message = std::move(message);
  s.availability = availability;
  s.activity = activity;
  s.order = order;
  return s;
}

core::Appointment appointment(std::string id, std::int64_t start, std::int64_t end,
                              core::CalendarKind kind, bool is_private) {
  core::Appointment a;
  a.id = std::move(id);
  a.subject = "Subject of " + a.id;
  a.location = "Room " + a.id;
  a.start = at(start);
  a.end = at(end);
  a.kind = kind;
  a.is_private = is_private;
  return a;
}

core::Call call(std::string device, std::string call_id, core::CallState state,
                core::CallDirection direction, std::int64_t started, std::int64_t updated) {
  core::Call c;
  c.device = std::move(device);
  c.call_id = std::move(call_id);
  c.state = state;
  c.direction = direction;
  c.started_at = at(started);
  c.updated_at = at(updated);
  return c;
}

// One record of every kind, with values away from the defaults, for three users.
struct World {
  std::vector<UserRecord> users;
  std::vector<GroupRecord> groups;
  std::vector<DeviceRecord> devices;
  std::vector<core::StateDefinition> states;
  std::vector<VisibilityRecord> visibility;
  std::vector<TokenRecord> tokens;
  std::vector<ContactRecord> contacts;
  std::vector<ManualRecord> manual;
  std::vector<CallRecord> calls;
  std::vector<CalendarRecord> calendars;
  std::vector<std::pair<std::string, std::string>> settings;
  std::vector<DocumentRecord> documents;

  World() {
    UserRecord alice = user("alice", "Alice Adams", Role::Admin, {"sales", "support"});
    alice.settings.idle_after = minutes(17);
    alice.settings.login_state = "Available";
    alice.settings.logout_state = "lunch";
    alice.settings.dnd_protection = true;
    UserRecord bob = user("bob", "Bob O'Brien", Role::User, {"sales"});
    bob.sip_password.clear();
    UserRecord svc = user("svc", "Zoë – Dienst 😀", Role::System, {});
    svc.settings.idle_after = minutes(0);
    users = {alice, bob, svc};
    groups = {{"sales", "Sales"}, {"support", "Support & Care"}};
    devices = {{"alice", "desk", "Desk phone", "desk s3cret"},
               {"alice", "mobile", "", ""},
               {"bob", "desk", "Bob's", ""}};
    states = {state("lunch", core::StateType::Away, "At lunch", core::Availability::Away,
                    core::Activity::Away, 3),
              state("focus", core::StateType::Dnd, "Focus time", core::Availability::DoNotDisturb,
                    core::Activity::UrgentInterruptionsOnly, -2)};
    visibility = {{"alice", "bob", core::VisibilityLevel::Personal},
                  {"bob", "alice", core::VisibilityLevel::Blocked},
                  {"alice", "svc", core::VisibilityLevel::Team}};
    tokens = {{"a1b2c3", "alice", at(3'600'000), "login"},
              {"d4e5f6", "bob", at(-5), "ci key"}};
    contacts = {{"alice", "bob"}, {"bob", "alice"}, {"alice", "svc"}};
    core::ManualLayer away;
    away.state_id = "lunch";
    away.note = "back at 1\nor so";
    away.from = at(-60'000);
    away.until = at(1'800'000);
    away.reachability = core::Reachability::HomeOffice;
    away.set_at = at(-61'000);
    core::ManualLayer busy;
    busy.state_id = "Busy";
    busy.reachability = core::Reachability::Vacation;
    busy.set_at = at(7);
    manual = {{"alice", away}, {"bob", busy}};
    calls = {{"alice", call("desk", "c-1", core::CallState::Connected,
                            core::CallDirection::Outbound, -9'000, -1'000)},
             {"alice", call("mobile", "c-2", core::CallState::Held, core::CallDirection::Inbound,
                            -8'000, -2'000)},
             {"bob", call("desk", "c-1", core::CallState::Ringing, core::CallDirection::Inbound,
                          -100, -100)}};
    // In start order: that is the order load() gives a user's appointments in.
    calendars = {{"alice",
                  {appointment("m1", 0, 3'600'000, core::CalendarKind::Busy, false),
                   appointment("m2", 7'200'000, 9'000'000, core::CalendarKind::Tentative, true),
                   appointment("ooo", 86'400'000, 172'800'000, core::CalendarKind::OutOfOffice,
                               false)}},
                 {"bob", {appointment("m1", 60'000, 120'000, core::CalendarKind::Free, false)}}};
    settings = {{"domain", "example.com"}, {"motd", std::string("two\0parts", 9)}};
    documents = {{"call_settings", "alice", "alice", R"({"busy_on_busy":true})"},
                 {"profile", "alice/focus", "alice", "{}"},
                 {"queue", "support", "", R"({"members":["alice","bob"]})"}};
  }

  std::vector<Mutation> puts() const {
    std::vector<Mutation> out;
    for (const auto& u : users) out.push_back(PutUser{u});
    for (const auto& g : groups) out.push_back(PutGroup{g});
    for (const auto& d : devices) out.push_back(PutDevice{d});
    for (const auto& s : states) out.push_back(PutState{s});
    for (const auto& v : visibility) out.push_back(PutVisibility{v});
    for (const auto& t : tokens) out.push_back(PutToken{t});
    for (const auto& c : contacts) out.push_back(PutContact{c});
    for (const auto& m : manual) out.push_back(PutManual{m});
    for (const auto& c : calls) out.push_back(PutCall{c});
    for (const auto& c : calendars) out.push_back(PutCalendar{c});
    for (const auto& [key, value] : settings) out.push_back(PutSetting{key, value});
    for (const auto& d : documents) out.push_back(PutDocument{d});
    return out;
  }

  // Checks that a snapshot holds exactly this world.
  void expect_in(const Snapshot& s) const {
    EXPECT_EQ(all_fields(s.users), all_fields(users));  // load() sorts users by id
    EXPECT_EQ(sorted_fields(s.groups), sorted_fields(groups));
    EXPECT_EQ(sorted_fields(s.devices), sorted_fields(devices));
    EXPECT_EQ(sorted_fields(s.states), sorted_fields(states));
    EXPECT_EQ(sorted_fields(s.visibility), sorted_fields(visibility));
    EXPECT_EQ(sorted_fields(s.tokens), sorted_fields(tokens));
    EXPECT_EQ(s.contacts.size(), contacts.size());  // every entry names a user
    EXPECT_EQ(sorted_fields(contact_records(s)), sorted_fields(contacts));
    EXPECT_EQ(sorted_fields(s.manual), sorted_fields(manual));
    EXPECT_EQ(sorted_fields(s.calls), sorted_fields(calls));
    EXPECT_EQ(sorted_fields(s.calendars), sorted_fields(calendars));
    auto got = s.settings;
    auto want = settings;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(sorted_fields(s.documents), sorted_fields(documents));
  }
};

template <typename T, typename Pred>
void erase_if(std::vector<T>& v, Pred pred) {
  v.erase(std::remove_if(v.begin(), v.end(), pred), v.end());
}

class StoreRoundTripTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    open_ = opener();
    if (!sqlite()) {
      // PostgreSQL text holds no NUL byte (see TextWithANulByteIsRefusedNotCut).
      world_.settings[1].second = "two\nparts";
    }
  }

  // Writes the world through one store instance and closes it.
  void seed() {
    auto loaded = open_loaded(open_);
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(submit_wait(*loaded->store, world_.puts()).has_value());
  }

  // Submits through a fresh instance (as after a restart) and returns what the next one loads.
  Snapshot submit_then_reload(std::vector<Mutation> mutations) {
    {
      auto loaded = open_loaded(open_);
      if (!loaded) {
        return {};
      }
      auto result = submit_wait(*loaded->store, std::move(mutations));
      EXPECT_TRUE(result) << error_message(result);
    }
    auto snapshot = reload(open_);
    return snapshot ? *snapshot : Snapshot{};
  }

  Opener open_;
  World world_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreRoundTripTest,
                         ::testing::Values(Backend::Sqlite, Backend::Postgres), backend_name);

TEST_P(StoreRoundTripTest, FreshStoreLoadsEmpty) {
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  EXPECT_TRUE(snapshot->users.empty());
  EXPECT_TRUE(snapshot->groups.empty());
  EXPECT_TRUE(snapshot->devices.empty());
  EXPECT_TRUE(snapshot->states.empty());
  EXPECT_TRUE(snapshot->visibility.empty());
  EXPECT_TRUE(snapshot->tokens.empty());
  EXPECT_TRUE(snapshot->contacts.empty());
  EXPECT_TRUE(snapshot->manual.empty());
  EXPECT_TRUE(snapshot->calls.empty());
  EXPECT_TRUE(snapshot->calendars.empty());
  EXPECT_TRUE(snapshot->settings.empty());
  EXPECT_EQ(snapshot->boot_generation, 1u);
}

TEST_P(StoreRoundTripTest, EveryPutComesBackAfterARestart) {
  seed();
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  world_.expect_in(*snapshot);
  // Only admin-defined states are stored; they never come back as built-in.
  for (const auto& s : snapshot->states) {
    EXPECT_FALSE(s.built_in) << s.id;
  }
}

// Contacts come back as positions in the snapshot's users, each owner's list in one piece
// whatever order the rows were written in.
TEST_P(StoreRoundTripTest, ContactListsNameUsersByPosition) {
  std::vector<Mutation> puts;
  for (const char* id : {"cat", "ann", "ben", "dan"}) {
    puts.push_back(PutUser{user(id, id, Role::User, {})});
  }
  for (auto [owner, contact] : {std::pair{"cat", "ann"}, {"ann", "cat"}, {"ben", "ann"},
                                {"ann", "ben"}, {"cat", "ben"}, {"cat", "cat"}}) {
    puts.push_back(PutContact{{owner, contact}});
  }
  const Snapshot snapshot = submit_then_reload(std::move(puts));
  std::vector<std::string> ids;
  for (const UserRecord& u : snapshot.users) {
    ids.push_back(u.id);
  }
  ASSERT_EQ(ids, (std::vector<std::string>{"ann", "ben", "cat", "dan"}));
  auto list = [&](std::size_t owner) {
    std::vector<std::string> out;
    for (std::uint32_t p : snapshot.contacts.of(owner)) {
      out.push_back(snapshot.users.at(p).id);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(list(0), (std::vector<std::string>{"ben", "cat"}));
  EXPECT_EQ(list(1), (std::vector<std::string>{"ann"}));
  EXPECT_EQ(list(2), (std::vector<std::string>{"ann", "ben", "cat"}));
  EXPECT_TRUE(list(3).empty());
  EXPECT_TRUE(list(4).empty());  // past the last user: no list, no crash
  EXPECT_EQ(snapshot.contacts.size(), 6u);
}

TEST_P(StoreRoundTripTest, EachKindRoundTripsInItsOwnSubmit) {
  {
    auto loaded = open_loaded(open_);
    ASSERT_TRUE(loaded);
    for (Mutation& m : world_.puts()) {
      const auto index = m.index();
      auto result = submit_wait(*loaded->store, {std::move(m)});
      ASSERT_TRUE(result) << "mutation kind " << index << ": " << error_message(result);
    }
  }
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  world_.expect_in(*snapshot);
}

TEST_P(StoreRoundTripTest, TimesKeepMillisecondsAndAbsentBoundsStayAbsent) {
  seed();
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->manual.size(), 2u);
  for (const auto& m : snapshot->manual) {
    if (m.user == "alice") {
      ASSERT_TRUE(m.manual.from && m.manual.until);
      EXPECT_EQ(*m.manual.from, at(-60'000));
      EXPECT_EQ(*m.manual.until, at(1'800'000));
      EXPECT_EQ(m.manual.set_at, at(-61'000));
    } else {
      EXPECT_FALSE(m.manual.from);
      EXPECT_FALSE(m.manual.until);
      EXPECT_EQ(m.manual.set_at, at(7));
    }
  }
  for (const auto& t : snapshot->tokens) {
    EXPECT_EQ(t.expires_at, t.user == "alice" ? at(3'600'000) : at(-5)) << t.token_hash;
  }
}

TEST_P(StoreRoundTripTest, EachDeleteRemovesItsRecordOnly) {
  seed();
  auto snapshot = submit_then_reload({
      DeleteGroup{"sales"},
      DeleteDevice{"alice", "mobile"},
      DeleteState{"lunch"},
      DeleteVisibility{"alice", "bob"},
      DeleteToken{"a1b2c3"},
      DeleteContact{{"alice", "bob"}},
      DeleteManual{"alice"},
      DeleteCall{"alice", "desk", "c-1"},
      DeleteDocument{"queue", "support"},
  });
  World want = world_;
  want.users[0].groups = {"support"};
  want.users[1].groups = {};
  want.groups = {{"support", "Support & Care"}};
  want.devices = {{"alice", "desk", "Desk phone", "desk s3cret"}, {"bob", "desk", "Bob's", ""}};
  want.states.erase(want.states.begin());
  want.visibility.erase(want.visibility.begin());
  want.tokens.erase(want.tokens.begin());
  want.contacts.erase(want.contacts.begin());
  want.manual.erase(want.manual.begin());
  want.calls.erase(want.calls.begin());
  want.documents.pop_back();
  want.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, DeletingWhatIsNotThereSucceedsAndChangesNothing) {
  seed();
  auto snapshot = submit_then_reload({
      DeleteUser{"nobody"},
      DeleteGroup{"nogroup"},
      DeleteDevice{"alice", "nodevice"},
      DeleteState{"nostate"},
      DeleteVisibility{"bob", "svc"},
      DeleteToken{"nohash"},
      DeleteContact{{"svc", "alice"}},
      DeleteManual{"svc"},
      DeleteCall{"bob", "desk", "c-9"},
      DeleteDocument{"queue", "sales"},
  });
  world_.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, DeleteUserRemovesEverythingThatHangsOffIt) {
  seed();
  auto snapshot = submit_then_reload({DeleteUser{"alice"}});
  World want = world_;
  auto mentions_alice = [](const auto&... names) { return ((names == "alice") || ...); };
  erase_if(want.users, [&](const UserRecord& u) { return mentions_alice(u.id); });
  erase_if(want.devices, [&](const DeviceRecord& d) { return mentions_alice(d.user); });
  erase_if(want.visibility,
           [&](const VisibilityRecord& v) { return mentions_alice(v.owner, v.watcher); });
  erase_if(want.tokens, [&](const TokenRecord& t) { return mentions_alice(t.user); });
  erase_if(want.contacts,
           [&](const ContactRecord& c) { return mentions_alice(c.owner, c.contact); });
  erase_if(want.manual, [&](const ManualRecord& m) { return mentions_alice(m.user); });
  erase_if(want.calls, [&](const CallRecord& c) { return mentions_alice(c.user); });
  erase_if(want.calendars, [&](const CalendarRecord& c) { return mentions_alice(c.user); });
  // Documents she owns go; a queue that names her stays (the service prunes members).
  erase_if(want.documents, [&](const DocumentRecord& d) { return mentions_alice(d.owner); });
  ASSERT_EQ(want.documents.size(), 1u);
  ASSERT_EQ(want.users.size(), 2u);
  ASSERT_EQ(want.contacts.size(), 0u);
  want.expect_in(snapshot);

  // Nothing of hers is left in any table, memberships included.
  if (!sqlite()) {
    return;  // the snapshot above reads every table already
  }
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM user_groups WHERE user = 'alice'"), "0");
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM appointments WHERE user = 'alice'"), "0");
}

TEST_P(StoreRoundTripTest, PutsReplaceTheExistingRecord) {
  seed();
  World want = world_;
  UserRecord& alice = want.users[0];
  alice.display_name = "Alice Adams-Baker";
  alice.role = Role::User;
  alice.password_hash = "$argon2id$new";
  alice.sip_password = "";
  alice.groups = {"marketing"};
  alice.settings.idle_after = minutes(3);
  alice.settings.login_state = "";
  alice.settings.logout_state = "Offline";
  want.groups[1].display_name = "Customer Care";
  want.devices[0].label = "Desk phone, 2nd floor";
  want.devices[0].sip_password = "rotated";
  want.devices[2].sip_password = "bob's first";
  want.states[0] = state("lunch", core::StateType::ExtendedAway, "Out for lunch",
                         core::Availability::BeRightBack, core::Activity::BeRightBack, 9);
  want.visibility[0].level = core::VisibilityLevel::Public;
  want.tokens[0].expires_at = at(7'200'000);
  want.tokens[0].user = "bob";
  want.tokens[0].label = "moved";
  want.manual[0].manual.state_id = "focus";
  want.manual[0].manual.from.reset();
  want.manual[0].manual.note = "";
  want.manual[0].manual.set_at = at(100);
  want.calls[0].call.state = core::CallState::Held;
  want.calls[0].call.updated_at = at(5'000);
  want.calendars[0].appointments = {
      appointment("new", 10'000, 20'000, core::CalendarKind::OutOfOffice, true)};
  want.settings[0].second = "example.org";

  auto snapshot = submit_then_reload({
      PutUser{alice},
      PutGroup{want.groups[1]},
      PutDevice{want.devices[0]},
      PutDevice{want.devices[2]},
      PutState{want.states[0]},
      PutVisibility{want.visibility[0]},
      PutToken{want.tokens[0]},
      PutContact{want.contacts[0]},  // already there: stays one row
      PutManual{want.manual[0]},
      PutCall{want.calls[0]},
      PutCalendar{want.calendars[0]},
      PutSetting{want.settings[0].first, want.settings[0].second},
  });
  // Replacing a user keeps everything that hangs off her (an upsert, not delete and insert).
  want.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, AnEmptyDeviceSipPasswordRemovesTheDevicesSecret) {
  seed();
  World want = world_;
  want.devices[0].sip_password.clear();
  auto snapshot = submit_then_reload({PutDevice{want.devices[0]}});
  want.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, AnEmptyCalendarRemovesTheUsersAppointments) {
  seed();
  auto snapshot = submit_then_reload({PutCalendar{{"alice", {}}}});
  World want = world_;
  want.calendars.erase(want.calendars.begin());
  want.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, ALaterMutationInOneSubmitWinsOverAnEarlierOne) {
  seed();
  auto snapshot = submit_then_reload({
      PutSetting{"domain", "first.example"},
      PutSetting{"domain", "second.example"},
      DeleteDevice{"bob", "desk"},
      PutDevice{{"bob", "desk", "re-added", ""}},
      PutDevice{{"svc", "bot", "gone again", ""}},
      DeleteDevice{"svc", "bot"},
  });
  World want = world_;
  want.settings[0].second = "second.example";
  want.devices[2].label = "re-added";
  want.expect_in(snapshot);
}

TEST_P(StoreRoundTripTest, GroupsFindTheirUsersWhateverTheIdsLookLike) {
  // load() merges memberships into users by walking both in id order: the order must agree
  // for upper and lower case, UTF-8 and ids that are prefixes of others.
  std::vector<UserRecord> users;
  std::vector<Mutation> puts;
  for (const char* id : {"zoë", "Zed", "abc", "ab", "abc-1", "Ärger", "_x", "é", "e\xcc\x81"}) {
    users.push_back(user(id, id, Role::User, {std::string("g-") + id, "z-all"}));
    puts.push_back(PutUser{users.back()});
  }
  auto snapshot = submit_then_reload(std::move(puts));
  std::sort(users.begin(), users.end(),
            [](const UserRecord& a, const UserRecord& b) { return a.id < b.id; });
  EXPECT_EQ(all_fields(snapshot.users), all_fields(users));
}

TEST_P(StoreRoundTripTest, BootGenerationGrowsByOnePerLoad) {
  auto first = open_loaded(open_);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->snapshot.boot_generation, 1u);
  // A second load on the same instance (e.g. after seeding) counts as well.
  auto again = first->store->load();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->boot_generation, 2u);
  first.reset();

  for (std::uint64_t expected = 3; expected <= 5; ++expected) {
    auto snapshot = reload(open_);
    ASSERT_TRUE(snapshot);
    EXPECT_EQ(snapshot->boot_generation, expected);
  }
  if (sqlite()) {
    RawDb raw(config_.path);
    EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key = 'boot_generation'"), "5");
  }
}

TEST_P(StoreRoundTripTest, OpeningWithoutLoadingLeavesBootGenerationAlone) {
  ASSERT_TRUE(reload(open_));
  ASSERT_TRUE(open_store(open_));
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->boot_generation, 2u);
}

TEST_P(StoreRoundTripTest, TextWithANulByteIsRefusedNotCut) {
  auto loaded = open_loaded(open_);
  ASSERT_TRUE(loaded);
  auto stored = submit_wait(*loaded->store, {PutSetting{"motd", std::string("two\0parts", 9)}});
  loaded.reset();
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  if (sqlite()) {
    ASSERT_TRUE(stored) << error_message(stored);
    ASSERT_EQ(snapshot->settings.size(), 1u);
    EXPECT_EQ(snapshot->settings[0].second, std::string("two\0parts", 9));
  } else {
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().code, core::ErrorCode::InvalidArgument);
    EXPECT_TRUE(snapshot->settings.empty());
  }
}

TEST_P(StoreRoundTripTest, FastSyncStoresTheSameData) {
  if (!sqlite()) {
    GTEST_SKIP() << "an SQLite setting";
  }
  config_.synchronous_full = false;
  open_ = sqlite_opener(config_);
  seed();
  auto snapshot = reload(open_);
  ASSERT_TRUE(snapshot);
  world_.expect_in(*snapshot);
}

}  // namespace
}  // namespace presenced::store
