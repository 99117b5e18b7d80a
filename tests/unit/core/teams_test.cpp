// The teams layer: exactly the rows of the ProCall <-> Teams table (seed 001,
// presence-reference §2.6) change our presence; the rest only shows beside it.

#include "core/aggregation.h"

#include "core/mappings.h"
#include "unit/core/core_test_util.h"

#include <gtest/gtest.h>

#include <optional>

namespace presenced::core {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): shared by the core tests

TeamsLayer teams(Availability availability, Activity activity, TimePoint since = kT0) {
  TeamsLayer t;
  t.availability = availability;
  t.activity = activity;
  t.since = since;
  return t;
}

class TeamsTest : public ::testing::Test {
 protected:
  TeamsTest() { layers_.sessions.sessions.push_back(session("ws-1")); }
  Presence at(TimePoint now) const {
    return aggregate(layers_, settings_, catalog_, rules_, now).presence;
  }

  Layers layers_;
  UserSettings settings_;
  TestCatalog catalog_;
  RuleConfig rules_;
};

struct Row {
  Availability availability;
  Activity activity;
  TeamsEffect effect;
};

// Seed 001: "Which presence states are transferred?", one line per row of the table.
TEST(TeamsEffectTest, MapsExactlyTheRowsOfTheTable) {
  const Row rows[] = {
      {Availability::Available, Activity::Available, TeamsEffect::None},
      {Availability::Busy, Activity::Busy, TeamsEffect::None},
      {Availability::DoNotDisturb, Activity::DoNotDisturb, TeamsEffect::DoNotDisturb},
      {Availability::BeRightBack, Activity::BeRightBack, TeamsEffect::None},
      {Availability::Away, Activity::Away, TeamsEffect::None},
      {Availability::Offline, Activity::OffWork, TeamsEffect::None},
      {Availability::Busy, Activity::InACall, TeamsEffect::InACall},
      {Availability::Busy, Activity::InAConferenceCall, TeamsEffect::InACall},
      {Availability::DoNotDisturb, Activity::Presenting, TeamsEffect::DoNotDisturb},
      {Availability::Busy, Activity::InAMeeting, TeamsEffect::None},  // via the calendar
      {Availability::Available, Activity::OutOfOffice, TeamsEffect::None},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(teams_effect(teams(row.availability, row.activity)), row.effect)
        << to_string(row.availability) << "/" << to_string(row.activity);
  }
}

// Loop suppression: what our own Teams session caused never comes back.
TEST(TeamsEffectTest, OurOwnStateDoesNothing) {
  TeamsLayer ours = teams(Availability::Busy, Activity::InACall);
  ours.from_us = true;
  EXPECT_EQ(teams_effect(ours), TeamsEffect::None);
  ours.availability = Availability::DoNotDisturb;
  ours.activity = Activity::DoNotDisturb;
  EXPECT_EQ(teams_effect(ours), TeamsEffect::None);
}

TEST_F(TeamsTest, ManualTeamsChangesOnlyShowBesideOurs) {
  layers_.teams = teams(Availability::Away, Activity::Away);
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.explanation.rule, "logged_in");
  ASSERT_TRUE(p.teams.has_value());
  EXPECT_EQ(p.teams->availability, Availability::Away);
  EXPECT_EQ(p.teams->activity, Activity::Away);
}

TEST_F(TeamsTest, TeamsCallIsBusyInACall) {
  layers_.teams = teams(Availability::Busy, Activity::InAConferenceCall);
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.explanation.layer, Layer::Teams);
  EXPECT_EQ(p.explanation.rule, "teams_call");
}

TEST_F(TeamsTest, PresentingIsDoNotDisturb) {
  layers_.teams = teams(Availability::DoNotDisturb, Activity::Presenting);
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.activity, Activity::Presenting);
  EXPECT_EQ(p.explanation.rule, "teams_dnd");
}

// A Teams DND is a DND: our own calls do not override it, but a later choice of the user does.
TEST_F(TeamsTest, TeamsDndHoldsOverCallsUntilTheUserChoosesLater) {
  layers_.teams = teams(Availability::DoNotDisturb, Activity::DoNotDisturb, kT0);
  layers_.manual = manual("Busy", kT0 - seconds(10));
  layers_.telephony.calls = {call("desk", CallState::Connected, kT0 + seconds(5))};
  EXPECT_EQ(at(kT0 + seconds(6)).availability, Availability::DoNotDisturb);

  layers_.manual = manual("Available", kT0 + seconds(7));
  const Presence p = at(kT0 + seconds(8));
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.explanation.rule, "manual");
}

// A Teams call overrides a manual state set before it, like our own calls (ProCall rule).
TEST_F(TeamsTest, TeamsCallOverridesAnEarlierManualState) {
  layers_.manual = manual("Away", kT0 - seconds(10));
  layers_.teams = teams(Availability::Busy, Activity::InACall, kT0);
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.explanation.rule, "system_overrides_manual");
}

// Seed 001: "DND call protection controls presence status" also during a Teams call.
TEST_F(TeamsTest, CallProtectionCoversTeamsCalls) {
  settings_.dnd_protection = true;
  layers_.teams = teams(Availability::Busy, Activity::InACall);
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.explanation.rule, "call_protection");
  EXPECT_EQ(p.explanation.layer, Layer::Teams);
}

TEST_F(TeamsTest, OurOwnCallEchoedByTeamsIsNotATeamsCall) {
  TeamsLayer echo = teams(Availability::Busy, Activity::InACall);
  echo.from_us = true;
  layers_.teams = echo;
  const Presence p = at(kT0 + seconds(1));
  EXPECT_EQ(p.availability, Availability::Available);
  ASSERT_TRUE(p.teams.has_value());
  EXPECT_EQ(p.teams->activity, Activity::InACall);
}

}  // namespace
}  // namespace presenced::core
