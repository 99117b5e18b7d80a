// The routing decision from the callee's presence, one rule per test (docs/routing.md).

#include "routing/routing.h"

#include <gtest/gtest.h>

namespace presenced::routing {
namespace {

using core::Activity;
using core::Availability;

core::Presence presence(Availability availability, Activity activity) {
  core::Presence p;
  p.availability = availability;
  p.activity = activity;
  return p;
}

core::Layers with_call(core::CallState state) {
  core::Layers layers;
  core::Call call;
  call.device = "desk";
  call.call_id = "c1";
  call.state = state;
  layers.telephony.calls.push_back(call);
  return layers;
}

const std::vector<std::string> kDevices = {"desk", "mobile"};

TEST(RoutingTest, AvailableRingsEveryDeviceAtOnce) {
  const Decision d = decide({}, presence(Availability::Available, Activity::Available), {},
                            kDevices, {});
  EXPECT_EQ(d.action, Action::Ring);
  EXPECT_EQ(d.targets, (std::vector<Target>{{"desk", 0}, {"mobile", 0}}));
  EXPECT_EQ(d.reason, "available");
  EXPECT_TRUE(d.destination.empty());
}

TEST(RoutingTest, AvailableWithoutDevicesRingsNothing) {
  const Decision d = decide({}, presence(Availability::Available, Activity::Available), {}, {},
                            {});
  EXPECT_EQ(d.action, Action::Ring);
  EXPECT_TRUE(d.targets.empty());
  EXPECT_EQ(d.reason, "available");
}

TEST(RoutingTest, DoNotDisturbGoesToVoicemailOrBusyWithout) {
  const core::Presence dnd = presence(Availability::DoNotDisturb, Activity::DoNotDisturb);
  EXPECT_EQ(decide({}, dnd, {}, kDevices, {}).action, Action::Voicemail);
  EXPECT_EQ(decide({}, dnd, {}, kDevices, {}).reason, "do_not_disturb");
  CalleeSettings no_voicemail;
  no_voicemail.has_voicemail = false;
  EXPECT_EQ(decide({}, dnd, {}, kDevices, no_voicemail).action, Action::Busy);
  EXPECT_TRUE(decide({}, dnd, {}, kDevices, {}).targets.empty());
}

TEST(RoutingTest, PresentingBlocksLikeDoNotDisturb) {
  const Decision d =
      decide({}, presence(Availability::Busy, Activity::Presenting), {}, kDevices, {});
  EXPECT_EQ(d.action, Action::Voicemail);
  EXPECT_EQ(d.reason, "do_not_disturb");
}

TEST(RoutingTest, DoNotDisturbDuringACallStaysDoNotDisturb) {
  CalleeSettings settings;
  settings.busy_on_busy = true;
  const Decision d = decide({}, presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
                            with_call(core::CallState::Connected), kDevices, settings);
  EXPECT_EQ(d.reason, "do_not_disturb");
}

TEST(RoutingTest, BusyOnBusyAnswersBusyOnceACallIsConnectedOrHeld) {
  CalleeSettings settings;
  settings.busy_on_busy = true;
  const core::Presence on_call = presence(Availability::Busy, Activity::InACall);
  for (core::CallState state : {core::CallState::Connected, core::CallState::Held}) {
    const Decision d = decide({}, on_call, with_call(state), kDevices, settings);
    EXPECT_EQ(d.action, Action::Busy);
    EXPECT_EQ(d.reason, "busy_on_busy");
    EXPECT_TRUE(d.targets.empty());
  }
}

// Issue 7: a Teams call on another device makes the user busy for busy-on-busy; our own call
// shown in Teams (from_us) is not a second one.
TEST(RoutingTest, BusyOnBusyCountsATeamsCall) {
  CalleeSettings settings;
  settings.busy_on_busy = true;
  const core::Presence on_call = presence(Availability::Busy, Activity::InACall);
  core::Layers teams;
  teams.teams = core::TeamsLayer{Availability::Busy, Activity::InAConferenceCall, false, {}};
  EXPECT_EQ(decide({}, on_call, teams, kDevices, settings).reason, "busy_on_busy");
  teams.teams->from_us = true;
  EXPECT_EQ(decide({}, on_call, teams, kDevices, settings).action, Action::Ring);
  teams.teams = core::TeamsLayer{Availability::Busy, Activity::InAMeeting, false, {}};
  EXPECT_EQ(decide({}, on_call, teams, kDevices, settings).action, Action::Ring);
}

TEST(RoutingTest, BusyOnBusyWaitsWhileTheFirstCallOnlyRings) {
  CalleeSettings settings;
  settings.busy_on_busy = true;
  const Decision d = decide({}, presence(Availability::Busy, Activity::InACall),
                            with_call(core::CallState::Ringing), kDevices, settings);
  EXPECT_EQ(d.action, Action::Ring);
  EXPECT_EQ(d.reason, "busy");
}

TEST(RoutingTest, BusyOnBusyAppliesToDirectCallsOnly) {
  CalleeSettings settings;
  settings.busy_on_busy = true;
  const core::Presence on_call = presence(Availability::Busy, Activity::InACall);
  for (CallType type : {CallType::Group, CallType::Queue}) {
    CallContext call;
    call.type = type;
    const Decision d =
        decide(call, on_call, with_call(core::CallState::Connected), kDevices, settings);
    EXPECT_EQ(d.action, Action::Ring) << to_string(type);
    EXPECT_EQ(d.reason, "busy");
  }
}

TEST(RoutingTest, WithoutBusyOnBusyABusyCalleeStillRings) {
  const Decision d = decide({}, presence(Availability::Busy, Activity::InACall),
                            with_call(core::CallState::Connected), kDevices, {});
  EXPECT_EQ(d.action, Action::Ring);
  EXPECT_EQ(d.targets.size(), 2U);
  EXPECT_EQ(d.reason, "busy");
}

TEST(RoutingTest, AwayAndBeRightBackRingWithTheReason) {
  for (Availability a : {Availability::Away, Availability::BeRightBack}) {
    const Decision d = decide({}, presence(a, Activity::Away), {}, kDevices, {});
    EXPECT_EQ(d.action, Action::Ring);
    EXPECT_EQ(d.reason, "away");
  }
}

TEST(RoutingTest, OfflineWithoutDevicesGoesToVoicemail) {
  const Decision d =
      decide({}, presence(Availability::Offline, Activity::Offline), {}, {}, {});
  EXPECT_EQ(d.action, Action::Voicemail);
  EXPECT_EQ(d.reason, "offline");
}

TEST(RoutingTest, OfflineWithADeviceStillRingsIt) {
  // A desk phone rings whether or not its owner's client is logged in.
  const Decision d =
      decide({}, presence(Availability::Offline, Activity::Offline), {}, {"desk"}, {});
  EXPECT_EQ(d.action, Action::Ring);
  EXPECT_EQ(d.targets, (std::vector<Target>{{"desk", 0}}));
  EXPECT_EQ(d.reason, "offline");
}

TEST(RoutingTest, NamesRoundTrip) {
  EXPECT_EQ(parse_call_type("direct"), CallType::Direct);
  EXPECT_EQ(parse_call_type("group"), CallType::Group);
  EXPECT_EQ(parse_call_type("queue"), CallType::Queue);
  EXPECT_EQ(parse_call_type("Direct"), std::nullopt);
  EXPECT_EQ(parse_call_type(""), std::nullopt);
  EXPECT_EQ(to_string(Action::Ring), "ring");
  EXPECT_EQ(to_string(Action::Forward), "forward");
  EXPECT_EQ(to_string(Action::Voicemail), "voicemail");
  EXPECT_EQ(to_string(Action::Busy), "busy");
}

}  // namespace
}  // namespace presenced::routing
