#include "core/aggregation.h"

#include "unit/core/core_test_util.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace presenced::core {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): shared by the core tests

class AggregationTest : public ::testing::Test {
 protected:
  Aggregated at(TimePoint now) const { return aggregate(layers_, settings_, catalog_, rules_, now); }
  Presence presence_at(TimePoint now) const { return at(now).presence; }
  void log_in() { layers_.sessions.sessions.push_back(session("ws-1")); }

  Layers layers_;
  UserSettings settings_;
  TestCatalog catalog_;
  RuleConfig rules_;
};

// ---- no_session / logged_in: the contract's base states. ----

TEST_F(AggregationTest, NoSessionIsOfflineWithTheOfflineFlag) {
  const Aggregated result = at(kT0);
  EXPECT_EQ(result.presence.availability, Availability::Offline);
  EXPECT_EQ(result.presence.activity, Activity::Offline);
  EXPECT_EQ(result.presence.flags, flags_of({Flag::Offline}));
  EXPECT_EQ(result.presence.explanation.rule, "no_session");
  EXPECT_EQ(result.presence.explanation.layer, Layer::Sessions);
  EXPECT_EQ(result.next_change, std::nullopt);
}

// API contract: "a logged-in user with no other layer is Available".
TEST_F(AggregationTest, LoggedInWithNothingElseIsAvailable) {
  log_in();
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.activity, Activity::Available);
  EXPECT_EQ(p.flags, Flags());
  EXPECT_EQ(p.explanation.rule, "logged_in");
}

// A reported session must be refreshed; once its lease lapses the user is logged out.
TEST_F(AggregationTest, SessionLeaseLapses) {
  Session s = session("desktop");
  s.lease_until = kT0 + seconds(60);
  layers_.sessions.sessions.push_back(s);

  const Aggregated before = at(kT0 + seconds(59));
  EXPECT_EQ(before.presence.availability, Availability::Available);
  EXPECT_EQ(before.next_change, kT0 + seconds(60));

  const Presence after = presence_at(kT0 + seconds(60));
  EXPECT_EQ(after.availability, Availability::Offline);
  EXPECT_EQ(after.explanation.rule, "no_session");
}

// ---- call: seed 003, busy on a call on any device; seed 000, a phone call makes busy. ----

struct CallCase {
  CallState state;
  Flags flags;
  std::string detail;
};

TEST_F(AggregationTest, EveryLiveCallStateIsBusyInACall) {
  // Ringing is its own flag, not a call (ENetUC RINGING vs CALL); held is still a call.
  const CallCase cases[] = {
      {CallState::Ringing, flags_of({Flag::Ringing}), "ringing on desk"},
      {CallState::Connected, flags_of({Flag::Call}), "on a call on desk"},
      {CallState::Held, flags_of({Flag::Call}), "call on hold on desk"},
  };
  log_in();
  for (const CallCase& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.state));
    layers_.telephony.calls = {call("desk", c.state, kT0)};
    const Presence p = presence_at(kT0);
    EXPECT_EQ(p.availability, Availability::Busy);
    EXPECT_EQ(p.activity, Activity::InACall);
    EXPECT_EQ(p.flags, c.flags);
    EXPECT_EQ(p.explanation.rule, "call");
    EXPECT_EQ(p.explanation.layer, Layer::Telephony);
    EXPECT_EQ(p.explanation.detail, c.detail);
    EXPECT_EQ(p.busy_devices, std::vector<std::string>{"desk"});
  }
}

TEST_F(AggregationTest, CallOnEitherOfTwoDevicesIsBusy) {
  log_in();
  for (const char* device : {"desk", "mobile"}) {
    SCOPED_TRACE(device);
    layers_.telephony.calls = {call(device, CallState::Connected, kT0)};
    const Presence p = presence_at(kT0);
    EXPECT_EQ(p.availability, Availability::Busy);
    EXPECT_EQ(p.busy_devices, std::vector<std::string>{device});
  }
}

TEST_F(AggregationTest, CallsOnTwoDevicesListBothOnce) {
  log_in();
  layers_.telephony.calls = {call("mobile", CallState::Connected, kT0),
                             call("desk", CallState::Ringing, kT0 + seconds(5)),
                             call("mobile", CallState::Held, kT0 + seconds(1))};
  const Presence p = presence_at(kT0 + seconds(10));
  EXPECT_EQ(p.flags, flags_of({Flag::Ringing, Flag::Call}));
  EXPECT_EQ(p.busy_devices, (std::vector<std::string>{"desk", "mobile"}));
  // The detail names the call that started last.
  EXPECT_EQ(p.explanation.detail, "ringing on desk");
}

TEST_F(AggregationTest, EndedCallCountsForNothing) {
  log_in();
  layers_.telephony.calls = {call("desk", CallState::Ended, kT0)};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.flags, Flags());
  EXPECT_TRUE(p.busy_devices.empty());
}

// Leases: a lost "ended" event must not leave a lamp on for ever.
TEST_F(AggregationTest, RingingLapsesThreeMinutesAfterItsLastEvent) {
  log_in();
  layers_.telephony.calls = {call("desk", CallState::Ringing, kT0)};

  const Aggregated before = at(kT0 + minutes(3) - milliseconds(1));
  EXPECT_TRUE(before.presence.flags.has(Flag::Ringing));
  EXPECT_EQ(before.next_change, kT0 + minutes(3));

  const Presence after = presence_at(kT0 + minutes(3));
  EXPECT_EQ(after.availability, Availability::Available);
  EXPECT_FALSE(after.flags.has(Flag::Ringing));
}

TEST_F(AggregationTest, CallLapsesEightHoursAfterItsLastEvent) {
  log_in();
  // The lease runs from the last event (a hold at +1 h), not from the start.
  layers_.telephony.calls = {call("desk", CallState::Held, kT0, kT0 + hours(1))};

  const Aggregated before = at(kT0 + hours(9) - milliseconds(1));
  EXPECT_TRUE(before.presence.flags.has(Flag::Call));
  EXPECT_EQ(before.next_change, kT0 + hours(9));

  const Presence after = presence_at(kT0 + hours(9));
  EXPECT_EQ(after.availability, Availability::Available);
  EXPECT_FALSE(after.flags.has(Flag::Call));
}

// ---- appointment: seed 000, an Outlook appointment makes busy. ----

TEST_F(AggregationTest, BusyAppointmentIsBusyInAMeeting) {
  log_in();
  const Appointment meeting = appointment(CalendarKind::Busy, kT0, kT0 + hours(1));
  layers_.calendar.appointments = {meeting};
  const Aggregated result = at(kT0 + minutes(10));
  EXPECT_EQ(result.presence.availability, Availability::Busy);
  EXPECT_EQ(result.presence.activity, Activity::InAMeeting);
  EXPECT_EQ(result.presence.flags, flags_of({Flag::Appointment}));
  EXPECT_EQ(result.presence.explanation.rule, "appointment");
  EXPECT_EQ(result.presence.current_appointment, meeting);
  EXPECT_EQ(result.next_change, kT0 + hours(1));
}

TEST_F(AggregationTest, AppointmentCountsOnlyBetweenStartAndEnd) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0 + hours(1), kT0 + hours(2))};

  const Aggregated before = at(kT0);
  EXPECT_EQ(before.presence.availability, Availability::Available);
  EXPECT_FALSE(before.presence.flags.has(Flag::Appointment));
  EXPECT_EQ(before.next_change, kT0 + hours(1));

  EXPECT_EQ(presence_at(kT0 + hours(1)).activity, Activity::InAMeeting);
  EXPECT_EQ(presence_at(kT0 + hours(2)).availability, Availability::Available);
}

TEST_F(AggregationTest, TentativeFlagsButIsBusyOnlyWhenConfigured) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::Tentative, kT0, kT0 + hours(1))};

  const Presence shown_free = presence_at(kT0);
  EXPECT_EQ(shown_free.availability, Availability::Available);
  EXPECT_EQ(shown_free.flags, flags_of({Flag::Appointment}));
  ASSERT_TRUE(shown_free.current_appointment.has_value());

  rules_.tentative_is_busy = true;
  const Presence shown_busy = presence_at(kT0);
  EXPECT_EQ(shown_busy.availability, Availability::Busy);
  EXPECT_EQ(shown_busy.activity, Activity::InAMeeting);
}

// ProCall shows the next appointment beside the current one (reference §2).
TEST_F(AggregationTest, NextAppointmentIsTheEarliestStillToStart) {
  log_in();
  const Appointment now_on = appointment("now", CalendarKind::Busy, kT0, kT0 + hours(1));
  const Appointment later = appointment("later", CalendarKind::Busy, kT0 + hours(3), kT0 + hours(4));
  const Appointment sooner = appointment("sooner", CalendarKind::OutOfOffice, kT0 + hours(2),
                                         kT0 + hours(5));
  const Appointment free = appointment("free", CalendarKind::Free, kT0 + hours(1), kT0 + hours(2));
  layers_.calendar.appointments = {later, now_on, free, sooner};
  const Presence p = presence_at(kT0 + minutes(10));
  EXPECT_EQ(p.current_appointment, now_on);
  EXPECT_EQ(p.next_appointment, sooner);
  EXPECT_EQ(presence_at(kT0 + hours(2)).next_appointment, later);
  EXPECT_FALSE(presence_at(kT0 + hours(3)).next_appointment.has_value());
}

TEST_F(AggregationTest, FreeAppointmentIsIgnored) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::Free, kT0, kT0 + hours(1))};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.flags, Flags());
  EXPECT_FALSE(p.current_appointment.has_value());
}

TEST_F(AggregationTest, CallBeatsMeeting) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0, kT0 + hours(1))};
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + minutes(5))};
  const Presence p = presence_at(kT0 + minutes(6));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.flags, flags_of({Flag::Call, Flag::Appointment}));
  EXPECT_EQ(p.explanation.rule, "call");
}

// ---- out_of_office: seed 004, "available out of office" while the app is open. ----

TEST_F(AggregationTest, OutOfOfficeWhileLoggedInIsAvailableOutOfOffice) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.activity, Activity::OutOfOffice);
  EXPECT_EQ(p.flags, flags_of({Flag::OutOfOffice}));
  EXPECT_EQ(p.explanation.rule, "out_of_office");
  EXPECT_EQ(p.explanation.layer, Layer::Calendar);
}

TEST_F(AggregationTest, OutOfOfficeWhileNotLoggedInIsAwayOutOfOffice) {
  layers_.calendar.appointments = {appointment(CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.activity, Activity::OutOfOffice);
  EXPECT_EQ(p.flags, flags_of({Flag::OutOfOffice}));
}

// Seed 004 "busy out of office"; Graph "In a call, out of office".
TEST_F(AggregationTest, CallDuringOutOfOfficeKeepsTheFlag) {
  log_in();
  layers_.calendar.appointments = {appointment(CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  layers_.telephony.calls = {call("mobile", CallState::Connected, kT0 + minutes(1))};
  const Presence p = presence_at(kT0 + minutes(1));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.flags, flags_of({Flag::Call, Flag::OutOfOffice}));
}

// ---- manual, appear_offline, dnd_not_overridden: the states of the API contract. ----

struct ManualCase {
  const char* state;
  Availability availability;
  Activity activity;
  const char* rule;
};

TEST_F(AggregationTest, EachBuiltInStateShowsItsGraphPair) {
  const ManualCase cases[] = {
      {"Available", Availability::Available, Activity::Available, "manual"},
      {"Busy", Availability::Busy, Activity::Busy, "manual"},
      {"DoNotDisturb", Availability::DoNotDisturb, Activity::DoNotDisturb, "dnd_not_overridden"},
      {"BeRightBack", Availability::BeRightBack, Activity::BeRightBack, "manual"},
      {"Away", Availability::Away, Activity::Away, "manual"},
      {"Offline", Availability::Offline, Activity::OffWork, "appear_offline"},
  };
  log_in();
  for (const ManualCase& c : cases) {
    SCOPED_TRACE(c.state);
    layers_.manual = manual(c.state, kT0);
    const Presence p = presence_at(kT0);
    EXPECT_EQ(p.availability, c.availability);
    EXPECT_EQ(p.activity, c.activity);
    EXPECT_EQ(p.state_id, c.state);
    EXPECT_EQ(p.explanation.rule, c.rule);
    EXPECT_EQ(p.explanation.layer, Layer::Manual);
  }
}

TEST_F(AggregationTest, BuiltInStatesInDisplayOrder) {
  std::vector<std::string> ids;
  for (const StateDefinition& s : built_in_states()) {
    EXPECT_TRUE(s.built_in) << s.id;
    EXPECT_EQ(s.order, static_cast<int>(ids.size())) << s.id;
    ids.push_back(s.id);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"Available", "Busy", "DoNotDisturb", "BeRightBack",
                                           "Away", "Offline"}));
}

// Our choice: a manual state shows while not logged in (a vacation note, a FreePBX logout state).
TEST_F(AggregationTest, ManualStateShowsWithoutASession) {
  layers_.manual = manual("Away", kT0, "on holiday");
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.activity, Activity::Away);
  EXPECT_EQ(p.explanation.rule, "manual");
  EXPECT_FALSE(p.flags.has(Flag::Offline));
}

TEST_F(AggregationTest, ManualUntilEndsTheState) {
  log_in();
  ManualLayer m = manual("Busy", kT0);
  m.until = kT0 + hours(1);
  layers_.manual = m;

  const Aggregated before = at(kT0 + minutes(59));
  EXPECT_EQ(before.presence.availability, Availability::Busy);
  EXPECT_EQ(before.presence.until, kT0 + hours(1));
  EXPECT_EQ(before.next_change, kT0 + hours(1));

  const Presence after = presence_at(kT0 + hours(1));
  EXPECT_EQ(after.availability, Availability::Available);
  EXPECT_EQ(after.explanation.rule, "logged_in");
  EXPECT_EQ(after.until, std::nullopt);
  EXPECT_EQ(after.state_id, "");
}

TEST_F(AggregationTest, ManualFromInTheFutureWaitsForIt) {
  log_in();
  ManualLayer m = manual("Away", kT0);
  m.from = kT0 + hours(2);
  m.until = kT0 + hours(3);
  layers_.manual = m;

  const Aggregated before = at(kT0);
  EXPECT_EQ(before.presence.availability, Availability::Available);
  EXPECT_EQ(before.presence.state_id, "");
  EXPECT_EQ(before.next_change, kT0 + hours(2));

  const Aggregated during = at(kT0 + hours(2));
  EXPECT_EQ(during.presence.availability, Availability::Away);
  EXPECT_EQ(during.next_change, kT0 + hours(3));
}

TEST_F(AggregationTest, ManualStateWithUnknownIdIsIgnored) {
  log_in();
  layers_.manual = manual("deleted-by-admin", kT0, "a note");
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.explanation.rule, "logged_in");
  EXPECT_EQ(p.state_id, "");
  EXPECT_EQ(p.note, "");
  EXPECT_FALSE(p.flags.has(Flag::Note));
}

TEST_F(AggregationTest, ReachabilityComesWithTheManualState) {
  log_in();
  ManualLayer m = manual("Away", kT0);
  m.reachability = Reachability::Vacation;
  layers_.manual = m;
  EXPECT_EQ(presence_at(kT0).reachability, Reachability::Vacation);
}

// ---- system_overrides_manual: reference §2.2, a manual presence is overridden by later system
// events other than "available". ----

TEST_F(AggregationTest, CallStartedAfterManualStateOverridesIt) {
  log_in();
  layers_.manual = manual("Away", kT0, "lunch");
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + minutes(1))};

  const Presence during = presence_at(kT0 + minutes(2));
  EXPECT_EQ(during.availability, Availability::Busy);
  EXPECT_EQ(during.activity, Activity::InACall);
  EXPECT_EQ(during.explanation.rule, "system_overrides_manual");
  EXPECT_EQ(during.explanation.layer, Layer::Telephony);
  // The manual layer still stands behind the call: its id and note stay visible.
  EXPECT_EQ(during.state_id, "Away");
  EXPECT_EQ(during.note, "lunch");

  // Our choice: the manual state comes back once the call is over.
  layers_.telephony.calls.clear();
  const Presence after = presence_at(kT0 + minutes(3));
  EXPECT_EQ(after.availability, Availability::Away);
  EXPECT_EQ(after.activity, Activity::Away);
  EXPECT_EQ(after.explanation.rule, "manual");
}

TEST_F(AggregationTest, ManualAvailableIsOverriddenByALaterCall) {
  log_in();
  layers_.manual = manual("Available", kT0);
  layers_.telephony.calls = {call("desk", CallState::Ringing, kT0 + seconds(1))};
  const Presence p = presence_at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.explanation.rule, "system_overrides_manual");
}

TEST_F(AggregationTest, ManualStateSetDuringACallWins) {
  log_in();
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0)};
  layers_.manual = manual("Away", kT0 + minutes(1));
  const Presence p = presence_at(kT0 + minutes(2));
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.activity, Activity::Away);
  EXPECT_EQ(p.explanation.rule, "manual");
  // The call still shows as a flag.
  EXPECT_EQ(p.flags, flags_of({Flag::Call}));
}

// A tie (same millisecond, e.g. after a restore) goes to the user's choice.
TEST_F(AggregationTest, ManualStateSetAsTheCallStartsWins) {
  log_in();
  layers_.manual = manual("Away", kT0);
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0)};
  EXPECT_EQ(presence_at(kT0).explanation.rule, "manual");
}

TEST_F(AggregationTest, MeetingStartingAfterManualStateOverridesIt) {
  log_in();
  layers_.manual = manual("BeRightBack", kT0);
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0 + hours(1), kT0 + hours(2))};

  EXPECT_EQ(presence_at(kT0).availability, Availability::BeRightBack);
  const Presence during = presence_at(kT0 + hours(1));
  EXPECT_EQ(during.activity, Activity::InAMeeting);
  EXPECT_EQ(during.explanation.rule, "system_overrides_manual");
  EXPECT_EQ(presence_at(kT0 + hours(2)).availability, Availability::BeRightBack);
}

// Out of office is an overlay, not a system event: it does not override a manual state.
TEST_F(AggregationTest, OutOfOfficeDoesNotOverrideManualState) {
  log_in();
  layers_.manual = manual("Busy", kT0);
  layers_.calendar.appointments = {
      appointment(CalendarKind::OutOfOffice, kT0 + hours(1), kT0 + hours(9))};
  const Presence p = presence_at(kT0 + hours(2));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.activity, Activity::Busy);
  EXPECT_EQ(p.flags, flags_of({Flag::OutOfOffice}));
}

// ---- dnd_not_overridden: seed 001 (DND call protection), seed 004 (DND blocks calls). ----

TEST_F(AggregationTest, DoNotDisturbIsNotOverriddenByACallOrAMeeting) {
  log_in();
  layers_.manual = manual("DoNotDisturb", kT0);
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + minutes(1)),
                             call("mobile", CallState::Ringing, kT0 + minutes(2))};
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0 + minutes(1), kT0 + hours(1))};
  const Presence p = presence_at(kT0 + minutes(2));
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.activity, Activity::DoNotDisturb);
  EXPECT_EQ(p.explanation.rule, "dnd_not_overridden");
  EXPECT_EQ(p.flags, flags_of({Flag::Ringing, Flag::Call, Flag::Appointment}));
  EXPECT_EQ(p.busy_devices, (std::vector<std::string>{"desk", "mobile"}));
}

// ---- call_protection: seed 001, "Do not disturb call protection controls presence status":
// the DND presence during a call, and it ends with the call. ----

struct ProtectionCase {
  const char* name;
  bool protection;
  std::vector<Call> calls;
  std::optional<ManualLayer> manual;
  Availability availability;
  Activity activity;
  const char* rule;
  Flags flags;
};

TEST_F(AggregationTest, CallProtectionShowsDoNotDisturbDuringAnAnsweredCall) {
  const TimePoint t1 = kT0 + minutes(1);
  const ProtectionCase cases[] = {
      {"connected", true, {call("desk", CallState::Connected, t1)}, std::nullopt,
       Availability::DoNotDisturb, Activity::InACall, "call_protection", flags_of({Flag::Call})},
      {"held", true, {call("desk", CallState::Held, t1)}, std::nullopt,
       Availability::DoNotDisturb, Activity::InACall, "call_protection", flags_of({Flag::Call})},
      // Ringing is no call yet: nothing to protect.
      {"ringing alone", true, {call("desk", CallState::Ringing, t1)}, std::nullopt,
       Availability::Busy, Activity::InACall, "call", flags_of({Flag::Ringing})},
      {"connected, protection off", false, {call("desk", CallState::Connected, t1)},
       std::nullopt, Availability::Busy, Activity::InACall, "call", flags_of({Flag::Call})},
      {"connected and ringing on another device", true,
       {call("desk", CallState::Connected, t1), call("mobile", CallState::Ringing, t1)},
       std::nullopt, Availability::DoNotDisturb, Activity::InACall, "call_protection",
       flags_of({Flag::Ringing, Flag::Call})},
      {"no call", true, {}, std::nullopt, Availability::Available, Activity::Available,
       "logged_in", Flags()},
      // The user's own DND keeps its activity and rule.
      {"manual DND", true, {call("desk", CallState::Connected, t1)}, manual("DoNotDisturb", kT0),
       Availability::DoNotDisturb, Activity::DoNotDisturb, "dnd_not_overridden",
       flags_of({Flag::Call})},
      // Appear offline hides the call, so the protection must not show either.
      {"appear offline", true, {call("desk", CallState::Connected, t1)}, manual("Offline", kT0),
       Availability::Offline, Activity::OffWork, "appear_offline", flags_of({Flag::Offline})},
      {"manual state set before the call", true, {call("desk", CallState::Connected, t1)},
       manual("Away", kT0), Availability::DoNotDisturb, Activity::InACall, "call_protection",
       flags_of({Flag::Call})},
      // Above `manual`: callers are turned away whatever state the user picked during the call.
      {"manual state set during the call", true, {call("desk", CallState::Connected, t1)},
       manual("Available", t1 + seconds(30)), Availability::DoNotDisturb, Activity::InACall,
       "call_protection", flags_of({Flag::Call})},
  };
  log_in();
  for (const ProtectionCase& c : cases) {
    SCOPED_TRACE(c.name);
    settings_.dnd_protection = c.protection;
    layers_.telephony.calls = c.calls;
    layers_.manual = c.manual;
    const Presence p = presence_at(t1 + minutes(1));
    EXPECT_EQ(p.availability, c.availability);
    EXPECT_EQ(p.activity, c.activity);
    EXPECT_EQ(p.explanation.rule, c.rule);
    EXPECT_EQ(p.flags, c.flags);
    EXPECT_EQ(p.state_id, c.manual ? c.manual->state_id : "");
  }
}

TEST_F(AggregationTest, CallProtectionNamesTheAnsweredCall) {
  log_in();
  settings_.dnd_protection = true;
  layers_.telephony.calls = {call("desk", CallState::Held, kT0),
                             call("mobile", CallState::Ringing, kT0 + minutes(1))};
  const Presence p = presence_at(kT0 + minutes(2));
  EXPECT_EQ(p.explanation.layer, Layer::Telephony);
  EXPECT_EQ(p.explanation.detail, "call protection: call on hold on desk");
  EXPECT_EQ(p.busy_devices, (std::vector<std::string>{"desk", "mobile"}));
}

// Derived from the call: once its lease lapses (or it ends), the protection is gone with it.
TEST_F(AggregationTest, CallProtectionEndsWithTheCall) {
  log_in();
  settings_.dnd_protection = true;
  layers_.manual = manual("BeRightBack", kT0);
  layers_.calendar.appointments = {appointment(CalendarKind::OutOfOffice, kT0, kT0 + hours(48))};
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + minutes(1))};

  const Aggregated during = at(kT0 + minutes(2));
  EXPECT_EQ(during.presence.availability, Availability::DoNotDisturb);
  EXPECT_EQ(during.presence.flags, flags_of({Flag::Call, Flag::OutOfOffice}));
  EXPECT_EQ(during.next_change, kT0 + minutes(1) + hours(8));

  const Presence after = presence_at(kT0 + minutes(1) + hours(8));
  EXPECT_EQ(after.availability, Availability::BeRightBack);
  EXPECT_EQ(after.explanation.rule, "manual");
  EXPECT_EQ(after.flags, flags_of({Flag::OutOfOffice}));
}

// DoNotDisturb is not dimmed by idle; the flag says it.
TEST_F(AggregationTest, CallProtectionWhileIdleKeepsDoNotDisturb) {
  layers_.sessions.sessions = {session("ws-1", InputState::Locked, kT0)};
  settings_.dnd_protection = true;
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0)};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.flags, flags_of({Flag::Call, Flag::Idle}));
  EXPECT_EQ(p.explanation.rule, "call_protection");
}

// ---- appear_offline: seed 000, "Appear as Offline" shows grey; our choice: nothing leaks. ----

TEST_F(AggregationTest, AppearOfflineHidesCallsCalendarAndIdle) {
  layers_.sessions.sessions = {session("ws-1", InputState::Locked)};
  layers_.manual = manual("Offline", kT0);
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + minutes(1)),
                             call("mobile", CallState::Ringing, kT0 + minutes(1))};
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0, kT0 + hours(1)),
                                   appointment(CalendarKind::OutOfOffice, kT0, kT0 + hours(9))};
  const Presence p = presence_at(kT0 + minutes(2));
  EXPECT_EQ(p.availability, Availability::Offline);
  EXPECT_EQ(p.activity, Activity::OffWork);
  EXPECT_EQ(p.flags, flags_of({Flag::Offline}));
  EXPECT_TRUE(p.busy_devices.empty());
  EXPECT_FALSE(p.current_appointment.has_value());
  EXPECT_EQ(p.explanation.rule, "appear_offline");
}

// ---- idle: seed 000, "Inactive" after 5 minutes (per profile) or at once on screen lock. ----

TEST_F(AggregationTest, IdleSessionTurnsInactiveAfterFiveMinutes) {
  layers_.sessions.sessions = {session("ws-1", InputState::Idle, kT0)};

  const Aggregated before = at(kT0 + minutes(5) - milliseconds(1));
  EXPECT_EQ(before.presence.availability, Availability::Available);
  EXPECT_EQ(before.presence.activity, Activity::Available);
  EXPECT_FALSE(before.presence.flags.has(Flag::Idle));
  EXPECT_EQ(before.next_change, kT0 + minutes(5));

  const Aggregated after = at(kT0 + minutes(5));
  EXPECT_EQ(after.presence.availability, Availability::AvailableIdle);
  EXPECT_EQ(after.presence.activity, Activity::Inactive);
  EXPECT_EQ(after.presence.flags, flags_of({Flag::Idle}));
  EXPECT_EQ(after.presence.explanation.rule, "idle");
  EXPECT_EQ(after.presence.explanation.layer, Layer::Idle);
  EXPECT_EQ(after.next_change, std::nullopt);
}

TEST_F(AggregationTest, ScreenLockIsIdleAtOnce) {
  layers_.sessions.sessions = {session("ws-1", InputState::Locked, kT0)};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::AvailableIdle);
  EXPECT_EQ(p.activity, Activity::Inactive);
}

TEST_F(AggregationTest, OneActiveSessionKeepsTheUserActive) {
  layers_.sessions.sessions = {session("desktop", InputState::Locked, kT0),
                               session("ws-1", InputState::Active, kT0)};
  const Presence p = presence_at(kT0 + hours(1));
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_FALSE(p.flags.has(Flag::Idle));
}

TEST_F(AggregationTest, IdleOnlyWhenTheLastSessionCrossesTheThreshold) {
  layers_.sessions.sessions = {session("desktop", InputState::Idle, kT0),
                               session("laptop", InputState::Idle, kT0 + minutes(2))};
  const Aggregated early = at(kT0 + minutes(5));
  EXPECT_EQ(early.presence.availability, Availability::Available);
  EXPECT_EQ(early.next_change, kT0 + minutes(7));
  EXPECT_EQ(presence_at(kT0 + minutes(7)).availability, Availability::AvailableIdle);
}

TEST_F(AggregationTest, IdleThresholdIsPerUser) {
  settings_.idle_after = minutes(15);
  layers_.sessions.sessions = {session("ws-1", InputState::Idle, kT0)};
  const Aggregated early = at(kT0 + minutes(5));
  EXPECT_EQ(early.presence.availability, Availability::Available);
  EXPECT_EQ(early.next_change, kT0 + minutes(15));
  EXPECT_EQ(presence_at(kT0 + minutes(15)).availability, Availability::AvailableIdle);
}

struct IdleCase {
  const char* state;
  Availability availability;
  Activity activity;
};

// Idle dims Available and Busy (Graph AvailableIdle, BusyIdle); other states keep their look
// and only carry the idle flag.
TEST_F(AggregationTest, IdleOverManualStates) {
  const IdleCase cases[] = {
      {"Available", Availability::AvailableIdle, Activity::Inactive},
      {"Busy", Availability::BusyIdle, Activity::Busy},
      {"DoNotDisturb", Availability::DoNotDisturb, Activity::DoNotDisturb},
      {"BeRightBack", Availability::BeRightBack, Activity::BeRightBack},
      {"Away", Availability::Away, Activity::Away},
  };
  layers_.sessions.sessions = {session("ws-1", InputState::Locked, kT0)};
  for (const IdleCase& c : cases) {
    SCOPED_TRACE(c.state);
    layers_.manual = manual(c.state, kT0);
    const Presence p = presence_at(kT0);
    EXPECT_EQ(p.availability, c.availability);
    EXPECT_EQ(p.activity, c.activity);
    EXPECT_TRUE(p.flags.has(Flag::Idle));
    EXPECT_EQ(p.explanation.layer, Layer::Manual);
  }
}

TEST_F(AggregationTest, CallWhileIdleIsBusyIdle) {
  layers_.sessions.sessions = {session("ws-1", InputState::Locked, kT0)};
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0)};
  const Presence p = presence_at(kT0);
  EXPECT_EQ(p.availability, Availability::BusyIdle);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.flags, flags_of({Flag::Call, Flag::Idle}));
  EXPECT_EQ(p.explanation.rule, "call");
}

// ---- note flag (ENetUC NOTESET) ----

TEST_F(AggregationTest, NoteSetsTheNoteFlag) {
  log_in();
  layers_.manual = manual("Away", kT0, "back at 3");
  const Presence with_note = presence_at(kT0);
  EXPECT_EQ(with_note.note, "back at 3");
  EXPECT_EQ(with_note.flags, flags_of({Flag::Note}));

  layers_.manual = manual("Away", kT0);
  const Presence without = presence_at(kT0);
  EXPECT_EQ(without.note, "");
  EXPECT_EQ(without.flags, Flags());
}

// Seed 002: an admin-defined state's message is shown with it; seed 003: the user's status
// message supplements the profile.
TEST_F(AggregationTest, StateMessageIsTheNoteWhenTheUserGaveNone) {
  log_in();
  StateDefinition lunch = definition_for_type(StateType::Away);
  lunch.id = "lunch";
  lunch.message = "Out to lunch";
  catalog_.add(lunch);

  layers_.manual = manual("lunch", kT0);
  const Presence from_state = presence_at(kT0);
  EXPECT_EQ(from_state.note, "Out to lunch");
  EXPECT_TRUE(from_state.flags.has(Flag::Note));

  layers_.manual = manual("lunch", kT0, "canteen, back at 1");
  EXPECT_EQ(presence_at(kT0).note, "canteen, back at 1");
}

// ---- Admin-defined states: seed 002 / reference §3.4, one of six FreePBX types each. ----

struct TypeCase {
  StateType type;
  Availability availability;
  Activity activity;
  const char* rule;
};

TEST_F(AggregationTest, AdminDefinedStateOfEachType) {
  const TypeCase cases[] = {
      {StateType::Available, Availability::Available, Activity::Available, "manual"},
      {StateType::Chat, Availability::Available, Activity::Available, "manual"},
      {StateType::Away, Availability::Away, Activity::Away, "manual"},
      {StateType::Dnd, Availability::DoNotDisturb, Activity::DoNotDisturb, "dnd_not_overridden"},
      {StateType::ExtendedAway, Availability::Away, Activity::OutOfOffice, "manual"},
      {StateType::Unavailable, Availability::Offline, Activity::OffWork, "appear_offline"},
  };
  log_in();
  for (const TypeCase& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.type));
    StateDefinition custom = definition_for_type(c.type);
    EXPECT_EQ(custom.type, c.type);
    EXPECT_FALSE(custom.built_in);
    custom.id = "custom";
    catalog_.add(custom);
    layers_.manual = manual("custom", kT0);
    const Presence p = presence_at(kT0);
    EXPECT_EQ(p.availability, c.availability);
    EXPECT_EQ(p.activity, c.activity);
    EXPECT_EQ(p.explanation.rule, c.rule);
    EXPECT_EQ(p.state_id, "custom");
  }
}

// ---- next_change: the engine sleeps until the earliest of them. ----

TEST_F(AggregationTest, NextChangeIsTheEarliestDeadline) {
  layers_.sessions.sessions = {session("ws-1", InputState::Idle, kT0)};  // idle at +5 min
  ManualLayer m = manual("Away", kT0);
  m.until = kT0 + minutes(4);
  layers_.manual = m;
  layers_.telephony.calls = {call("desk", CallState::Ringing, kT0)};  // lapses at +3 min
  layers_.calendar.appointments = {appointment(CalendarKind::Busy, kT0 + minutes(2), kT0 + hours(1))};

  EXPECT_EQ(at(kT0).next_change, kT0 + minutes(2));
  EXPECT_EQ(at(kT0 + minutes(2)).next_change, kT0 + minutes(3));
  EXPECT_EQ(at(kT0 + minutes(3)).next_change, kT0 + minutes(4));
  EXPECT_EQ(at(kT0 + minutes(4)).next_change, kT0 + minutes(5));
  EXPECT_EQ(at(kT0 + minutes(5)).next_change, kT0 + hours(1));
}

}  // namespace
}  // namespace presenced::core
