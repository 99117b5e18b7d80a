// What a selected presence profile and a state's automatic action add to a user's own call
// settings, and the decisions that follow: one row per rule, naming the vendor document (seed)
// it comes from. docs/profiles.md and docs/routing.md describe the same rules.

#include "routing/routing.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace presenced::routing {
namespace {

using core::Activity;
using core::Availability;

Forwarding forward_to(ForwardMode mode, std::string destination) {
  Forwarding f;
  f.mode = mode;
  f.destination = std::move(destination);
  return f;
}

CalleeSettings own_forwarding(std::string destination) {
  CalleeSettings s;
  s.forwarding = forward_to(ForwardMode::Always, std::move(destination));
  return s;
}

CalleeSettings own_dnd() {
  CalleeSettings s;
  s.dnd = true;
  return s;
}

CalleeSettings own_find_me() {
  CalleeSettings s;
  s.find_me = {{"+4917099", 10}};
  return s;
}

ProfileRouting profile_dnd(bool on) {
  ProfileRouting p;
  p.dnd = on;
  return p;
}

ProfileRouting profile_forwarding(std::string destination, std::string given = {}) {
  ProfileRouting p;
  p.forwarding = forward_to(ForwardMode::Always, std::move(destination));
  p.destination = std::move(given);
  return p;
}

ProfileRouting profile_staggered() {
  ProfileRouting p;
  PersonalRouting personal;
  personal.staggered = {{"mobile", 8}};
  p.personal = personal;
  return p;
}

struct Row {
  const char* rule;
  const char* seed;
  CalleeSettings own;
  std::optional<ProfileRouting> profile;
  StateAction action;
  // Expected decision for a direct call to an Available user with desk and mobile.
  Action decision;
  const char* reason;
  const char* destination;
  std::vector<Target> targets;
  std::vector<FindMeStep> find_me;
};

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"no profile, no action: the user's own settings", "003", own_forwarding("+4930111"),
       std::nullopt, StateAction::None, Action::Forward, "forward_always", "+4930111", {}, {}},
      {"a profile's DND sends calls to voicemail", "003", CalleeSettings{}, profile_dnd(true),
       StateAction::None, Action::Voicemail, "do_not_disturb", "", {}, {}},
      {"a profile without DND removes the user's own DND", "003", own_dnd(), profile_dnd(false),
       StateAction::None, Action::Ring, "available", "", {{"desk", 0}, {"mobile", 0}}, {}},
      {"a profile that says nothing of DND leaves the user's own", "003", own_dnd(),
       profile_staggered(), StateAction::None, Action::Voicemail, "do_not_disturb", "", {}, {}},
      {"a profile's forwarding replaces the user's own", "000", own_forwarding("+4930111"),
       profile_forwarding("carol"), StateAction::None, Action::Forward, "forward_always", "carol",
       {}, {}},
      {"a profile's forwarding without destination uses the one given at selection", "003",
       CalleeSettings{}, profile_forwarding("", "+4930999"), StateAction::None, Action::Forward,
       "forward_always", "+4930999", {}, {}},
      {"a profile's personal routing decides which device rings when", "003", CalleeSettings{},
       profile_staggered(), StateAction::None, Action::Ring, "available", "",
       {{"desk", 0}, {"mobile", 8}}, {}},
      {"a state type's DND action blocks calls", "002", CalleeSettings{}, std::nullopt,
       StateAction::Dnd, Action::Voicemail, "do_not_disturb", "", {}, {}},
      {"a state type's DND action wins over a profile that removes DND", "002", CalleeSettings{},
       profile_dnd(false), StateAction::Dnd, Action::Voicemail, "do_not_disturb", "", {}, {}},
      {"a state type's find-me action rings the follow-me numbers after the devices", "002",
       own_find_me(), std::nullopt, StateAction::FindMe, Action::Ring, "available", "",
       {{"desk", 0}, {"mobile", 0}}, {{"+4917099", 10}}},
      {"without the find-me action the follow-me numbers stay quiet", "002", own_find_me(),
       std::nullopt, StateAction::None, Action::Ring, "available", "",
       {{"desk", 0}, {"mobile", 0}}, {}},
  };
  return table;
}

TEST(ProfileTest, EveryRuleOfTheTable) {
  const std::vector<std::string> devices = {"desk", "mobile"};
  core::Presence available;
  available.availability = Availability::Available;
  available.activity = Activity::Available;
  for (const Row& row : rows()) {
    SCOPED_TRACE(std::string("seed ") + row.seed + ": " + row.rule);
    const CalleeSettings settings =
        effective_settings(row.own, row.profile ? &*row.profile : nullptr, row.action);
    const Decision d = decide({}, available, {}, devices, settings);
    EXPECT_EQ(to_string(d.action), to_string(row.decision));
    EXPECT_EQ(d.reason, row.reason);
    EXPECT_EQ(d.destination, row.destination);
    EXPECT_EQ(d.targets, row.targets);
    EXPECT_EQ(d.find_me, row.find_me);
  }
}

TEST(ProfileTest, TheOwnSettingsAreNotChangedByTheOverlay) {
  const CalleeSettings own = own_forwarding("+4930111");
  const ProfileRouting profile = profile_forwarding("carol");
  const CalleeSettings effective = effective_settings(own, &profile, StateAction::Dnd);
  EXPECT_EQ(effective.forwarding.destination, "carol");
  EXPECT_TRUE(effective.dnd);
  EXPECT_EQ(own.forwarding.destination, "+4930111");
  EXPECT_FALSE(own.dnd);
}

}  // namespace
}  // namespace presenced::routing
