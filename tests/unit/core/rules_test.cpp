// Rules of docs/presence-rules.md that aggregation_test.cpp and engine_test.cpp do not cover on
// their own.

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/aggregation.h"
#include "core/engine.h"
#include "unit/core/core_test_util.h"

namespace presenced::core {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): shared by the core tests

class RulesTest : public ::testing::Test {
 protected:
  Presence presence_at(TimePoint now) const {
    return aggregate(layers_, settings_, catalog_, rules_, now).presence;
  }
  void log_in(InputState input = InputState::Active) {
    layers_.sessions.sessions.push_back(session("ws-1", input));
  }

  Layers layers_;
  UserSettings settings_;
  TestCatalog catalog_;
  RuleConfig rules_;
};

// call / appointment: a system event shows whether or not the user is signed in (ProCall: a
// phone call or an Outlook appointment makes busy); it is not "not signed in".
TEST_F(RulesTest, SystemEventsShowWithoutASession) {
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0)};
  const Presence on_call = presence_at(kT0);
  EXPECT_EQ(on_call.availability, Availability::Busy);
  EXPECT_EQ(on_call.activity, Activity::InACall);
  EXPECT_EQ(on_call.explanation.rule, "call");
  EXPECT_EQ(on_call.flags, flags_of({Flag::Call}));

  layers_.telephony.calls.clear();
  layers_.calendar.appointments = {appointment("a", CalendarKind::Busy, kT0, kT0 + hours(1))};
  const Presence in_meeting = presence_at(kT0);
  EXPECT_EQ(in_meeting.availability, Availability::Busy);
  EXPECT_EQ(in_meeting.activity, Activity::InAMeeting);
  EXPECT_EQ(in_meeting.explanation.rule, "appointment");
  EXPECT_EQ(in_meeting.flags, flags_of({Flag::Appointment}));
}

// manual vs. appointment: the later of the two wins, as with calls.
TEST_F(RulesTest, ManualStateSetDuringAMeetingWins) {
  log_in();
  layers_.calendar.appointments = {appointment("a", CalendarKind::Busy, kT0, kT0 + hours(1))};
  layers_.manual = manual("BeRightBack", kT0 + minutes(10));
  const Presence p = presence_at(kT0 + minutes(11));
  EXPECT_EQ(p.availability, Availability::BeRightBack);
  EXPECT_EQ(p.explanation.rule, "manual");
  EXPECT_EQ(p.flags, flags_of({Flag::Appointment}));
  ASSERT_TRUE(p.current_appointment.has_value());
  EXPECT_EQ(p.current_appointment->id, "a");
}

// appointment: of overlapping appointments, the one that started last is the current one, and
// its start is the moment a manual state is compared against.
TEST_F(RulesTest, OverlappingAppointmentsShowTheOneThatStartedLast) {
  log_in();
  layers_.calendar.appointments = {
      appointment("early", CalendarKind::Busy, kT0, kT0 + hours(2)),
      appointment("late", CalendarKind::Busy, kT0 + hours(1), kT0 + hours(3)),
  };
  layers_.manual = manual("Away", kT0 + minutes(30));

  const Presence before_late = presence_at(kT0 + minutes(45));
  EXPECT_EQ(before_late.explanation.rule, "manual");
  ASSERT_TRUE(before_late.current_appointment.has_value());
  EXPECT_EQ(before_late.current_appointment->id, "early");

  const Presence during_late = presence_at(kT0 + hours(1));
  EXPECT_EQ(during_late.activity, Activity::InAMeeting);
  EXPECT_EQ(during_late.explanation.rule, "system_overrides_manual");
  ASSERT_TRUE(during_late.current_appointment.has_value());
  EXPECT_EQ(during_late.current_appointment->id, "late");
}

// Unaric Voice: a manual do not disturb during out of office shows as "do not disturb, out of
// office".
TEST_F(RulesTest, DoNotDisturbDuringOutOfOfficeKeepsTheOutOfOfficeFlag) {
  log_in();
  layers_.calendar.appointments = {
      appointment("oof", CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  layers_.manual = manual("DoNotDisturb", kT0 + minutes(1));
  const Presence p = presence_at(kT0 + minutes(2));
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.activity, Activity::DoNotDisturb);
  EXPECT_EQ(p.explanation.rule, "dnd_not_overridden");
  EXPECT_EQ(p.flags, flags_of({Flag::OutOfOffice}));
}

// idle over out_of_office: Available turns AvailableIdle/Inactive as anywhere else; the out of
// office flag stays and the explanation still names the calendar.
TEST_F(RulesTest, IdleDuringOutOfOffice) {
  log_in(InputState::Locked);
  layers_.calendar.appointments = {
      appointment("oof", CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::AvailableIdle);
  EXPECT_EQ(p.activity, Activity::Inactive);
  EXPECT_EQ(p.flags, flags_of({Flag::Idle, Flag::OutOfOffice}));
  EXPECT_EQ(p.explanation.rule, "out_of_office");
  EXPECT_EQ(p.explanation.layer, Layer::Calendar);
}

// appear_offline hides calls, calendar and idle, but the manual layer still carries its state
// id, note, until and reachability (what the visibility projection then shows or hides).
TEST_F(RulesTest, AppearOfflineStillCarriesTheManualLayer) {
  log_in();
  ManualLayer m = manual("Offline", kT0, "back Monday");
  m.until = kT0 + hours(72);
  m.reachability = Reachability::Vacation;
  layers_.manual = m;
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Offline);
  EXPECT_EQ(p.activity, Activity::OffWork);
  EXPECT_EQ(p.explanation.rule, "appear_offline");
  EXPECT_EQ(p.state_id, "Offline");
  EXPECT_EQ(p.note, "back Monday");
  EXPECT_EQ(p.until, kT0 + hours(72));
  EXPECT_EQ(p.reachability, Reachability::Vacation);
  EXPECT_EQ(p.flags, flags_of({Flag::Offline, Flag::Note}));
}

// ---- Login and logout states (FreePBX UCP "On UCP Login Set Status To" / "On Browser Close or
// UCP Logout Set Status To"). The API sets the user's login_state as a manual state, set at that
// moment, when open_session reports the first session, and logout_state when close_session
// reports the last one. These tests replay that sequence on the engine. ----

class SessionStatesTest : public ::testing::Test {
 protected:
  SessionStatesTest() : engine_(EngineConfig{}, 0) {
    UserSettings settings;
    settings.login_state = "Available";
    settings.logout_state = "Away";
    alice_ = engine_.add_user(UserId{"alice"}, settings, kT0).value();
  }

  void open(const std::string& client_id, TimePoint now) {
    if (engine_.open_session(alice_, session(client_id), now)) {
      engine_.set_manual(alice_, manual(engine_.settings(alice_).login_state, now), now);
    }
  }
  void close(const std::string& client_id, TimePoint now) {
    if (engine_.close_session(alice_, client_id, now)) {
      engine_.set_manual(alice_, manual(engine_.settings(alice_).logout_state, now), now);
    }
  }

  Engine engine_;
  UserIndex alice_ = 0;
};

TEST_F(SessionStatesTest, LoginStateReplacesTheStateLeftAtLogout) {
  engine_.set_manual(alice_, manual("DoNotDisturb", kT0), kT0);
  open("ws-1", kT0 + minutes(1));
  const Presence& p = engine_.presence(alice_);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.state_id, "Available");
  EXPECT_EQ(p.explanation.rule, "manual");

  // A second session is no login: a state chosen meanwhile stays.
  engine_.set_manual(alice_, manual("Busy", kT0 + minutes(2)), kT0 + minutes(2));
  open("ws-2", kT0 + minutes(3));
  EXPECT_EQ(engine_.presence(alice_).state_id, "Busy");
}

TEST_F(SessionStatesTest, LogoutStateShowsOnceTheLastSessionCloses) {
  open("ws-1", kT0);
  open("ws-2", kT0);
  close("ws-1", kT0 + minutes(1));
  EXPECT_EQ(engine_.presence(alice_).state_id, "Available");

  close("ws-2", kT0 + minutes(2));
  const Presence& p = engine_.presence(alice_);
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.state_id, "Away");
  EXPECT_EQ(p.explanation.rule, "manual");
  EXPECT_FALSE(p.flags.has(Flag::Offline));
  EXPECT_TRUE(engine_.layers(alice_).sessions.sessions.empty());
}

// The login state is a manual state like any other: a later call overrides it.
TEST_F(SessionStatesTest, LoginStateIsOverriddenByALaterCall) {
  open("ws-1", kT0);
  Call c = call("desk", CallState::Connected, kT0 + seconds(5));
  engine_.apply_call(alice_, c, kT0 + seconds(5));
  EXPECT_EQ(engine_.presence(alice_).explanation.rule, "system_overrides_manual");
  EXPECT_EQ(engine_.presence(alice_).activity, Activity::InACall);
}

}  // namespace
}  // namespace presenced::core
