// Forwarding, personal routing and calls during a call: one row per rule, naming the vendor
// document (seed) it comes from. docs/routing.md lists the same rules in the same order.

#include "routing/routing.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace presenced::routing {
namespace {

using core::Activity;
using core::Availability;

enum class CallNow { None, Ringing, Connected };

struct Row {
  const char* rule;
  const char* seed;
  Availability availability;
  Activity activity;
  CallNow call_now;
  std::vector<std::string> devices;
  CalleeSettings settings;
  CallType type;
  // Expected:
  Action action;
  const char* reason;
  const char* destination;
  std::vector<Target> targets;
  std::optional<NoAnswer> no_answer;
};

Forwarding forwarding(ForwardMode mode, std::string destination) {
  Forwarding f;
  f.mode = mode;
  f.destination = std::move(destination);
  return f;
}

CalleeSettings with(Forwarding f) {
  CalleeSettings s;
  s.forwarding = std::move(f);
  return s;
}

CalleeSettings staggered(std::vector<DeviceDelay> delays, std::optional<int> voicemail_after_s) {
  CalleeSettings s;
  s.personal.staggered = std::move(delays);
  s.personal.voicemail_after_s = voicemail_after_s;
  return s;
}

CalleeSettings no_call_waiting() {
  CalleeSettings s;
  s.call_waiting = false;
  return s;
}

CalleeSettings failover_except_busy() {
  CalleeSettings s = with(forwarding(ForwardMode::Failover, "+49891234"));
  s.forwarding.on_busy = false;
  return s;
}

CalleeSettings forward_all_calls() {
  CalleeSettings s = with(forwarding(ForwardMode::Always, "carol"));
  s.forwarding.direct_calls_only = false;
  return s;
}

CalleeSettings dnd_set() {
  CalleeSettings s;
  s.dnd = true;
  return s;
}

CalleeSettings refuses_group_calls() {
  CalleeSettings s;
  s.accept_group_calls = false;
  return s;
}

CalleeSettings find_me(bool active) {
  CalleeSettings s;
  s.find_me = {{"+4917099", 15}};
  s.find_me_active = active;
  return s;
}

const std::vector<std::string> kDesk = {"desk"};
const std::vector<std::string> kDeskAndMobile = {"desk", "mobile"};
constexpr auto kAvailable = Availability::Available;
constexpr auto kBusy = Availability::Busy;

const std::vector<Row>& rows() {
  static const std::vector<Row> table = {
      {"forwarding always sends every direct call to the destination", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk,
       with(forwarding(ForwardMode::Always, "+49891234")), CallType::Direct, Action::Forward,
       "forward_always", "+49891234", {}, std::nullopt},
      {"forwarding to a colleague names the colleague", "003", kAvailable, Activity::Available,
       CallNow::None, kDesk, with(forwarding(ForwardMode::Always, "carol")), CallType::Direct,
       Action::Forward, "forward_always", "carol", {}, std::nullopt},
      {"forwarding to voicemail is a voicemail decision", "003", kAvailable, Activity::Available,
       CallNow::None, kDesk, with(forwarding(ForwardMode::Always, "voicemail")),
       CallType::Direct, Action::Voicemail, "forward_always", "", {}, std::nullopt},
      {"direct calls only: a group call rings as usual", "003", kAvailable, Activity::Available,
       CallNow::None, kDesk, with(forwarding(ForwardMode::Always, "+49891234")), CallType::Group,
       Action::Ring, "available", "", {{"desk", 0}}, std::nullopt},
      {"forward group calls too when the user chose so", "003", kAvailable, Activity::Available,
       CallNow::None, kDesk, forward_all_calls(), CallType::Group, Action::Forward,
       "forward_always", "carol", {}, std::nullopt},
      {"DND blocks before any forwarding", "004", Availability::DoNotDisturb,
       Activity::DoNotDisturb, CallNow::None, kDesk,
       with(forwarding(ForwardMode::Always, "+49891234")), CallType::Direct, Action::Voicemail,
       "do_not_disturb", "", {}, std::nullopt},
      {"failover rings first and forwards after the no-answer time", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk,
       with(forwarding(ForwardMode::Failover, "+49891234")), CallType::Direct, Action::Ring,
       "available", "", {{"desk", 0}},
       NoAnswer{20, Action::Forward, "+49891234", "forward_no_answer"}},
      {"failover forwards at once when the callee is busy on a call", "003", kBusy,
       Activity::InACall, CallNow::Connected, kDesk, [] {
         CalleeSettings s = with(forwarding(ForwardMode::Failover, "+49891234"));
         s.busy_on_busy = true;
         return s;
       }(), CallType::Direct, Action::Forward, "forward_busy", "+49891234", {}, std::nullopt},
      {"failover forwards when no device can be reached", "003", Availability::Offline,
       Activity::Offline, CallNow::None, {}, with(forwarding(ForwardMode::Failover, "carol")),
       CallType::Direct, Action::Forward, "forward_unreachable", "carol", {}, std::nullopt},
      {"failover without 'on busy' answers busy-on-busy itself", "003", kBusy,
       Activity::InACall, CallNow::Connected, kDesk, [] {
         CalleeSettings s = failover_except_busy();
         s.busy_on_busy = true;
         return s;
       }(), CallType::Direct, Action::Busy, "busy_on_busy", "", {}, std::nullopt},
      {"without call waiting a second direct call gets busy", "004", kBusy, Activity::InACall,
       CallNow::Connected, kDesk, no_call_waiting(), CallType::Direct, Action::Busy,
       "busy_no_call_waiting", "", {}, std::nullopt},
      {"with call waiting (the default) a second direct call is signalled", "004", kBusy,
       Activity::InACall, CallNow::Connected, kDesk, CalleeSettings{}, CallType::Direct,
       Action::Ring, "busy", "", {{"desk", 0}}, std::nullopt},
      {"no call waiting does not apply while the first call only rings", "004", kBusy,
       Activity::InACall, CallNow::Ringing, kDesk, no_call_waiting(), CallType::Direct,
       Action::Ring, "busy", "", {{"desk", 0}}, std::nullopt},
      {"staggered ringing: each device after its delay, earliest first", "003", kAvailable,
       Activity::Available, CallNow::None, kDeskAndMobile,
       staggered({{"desk", 10}, {"mobile", 0}}, std::nullopt), CallType::Direct, Action::Ring,
       "available", "", {{"mobile", 0}, {"desk", 10}}, std::nullopt},
      {"staggered ringing: unlisted devices ring at once", "003", kAvailable,
       Activity::Available, CallNow::None, kDeskAndMobile, staggered({{"mobile", 15}}, 40),
       CallType::Direct, Action::Ring, "available", "", {{"desk", 0}, {"mobile", 15}},
       NoAnswer{40, Action::Voicemail, "", "voicemail_no_answer"}},
      {"voicemail after N seconds only for a user with voicemail", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk, [] {
         CalleeSettings s = staggered({}, 30);
         s.has_voicemail = false;
         return s;
       }(), CallType::Direct, Action::Ring, "available", "", {{"desk", 0}}, std::nullopt},
      {"out of office does not block; forwarding still rings first on failover", "004",
       kAvailable, Activity::OutOfOffice, CallNow::None, kDesk,
       with(forwarding(ForwardMode::Failover, "voicemail")), CallType::Direct, Action::Ring,
       "available", "", {{"desk", 0}}, NoAnswer{20, Action::Voicemail, "", "forward_no_answer"}},
      {"DND from a profile or a state's automatic action blocks like DND presence", "003",
       kAvailable, Activity::Available, CallNow::None, kDesk, dnd_set(), CallType::Direct,
       Action::Voicemail, "do_not_disturb", "", {}, std::nullopt},
      {"'accept group calls' off: a group call is refused", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk, refuses_group_calls(), CallType::Group,
       Action::Busy, "group_call_refused", "", {}, std::nullopt},
      {"'accept group calls' off: direct calls still ring", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk, refuses_group_calls(), CallType::Direct,
       Action::Ring, "available", "", {{"desk", 0}}, std::nullopt},
      {"'accept group calls' off: queue calls are the queue's business", "003", kAvailable,
       Activity::Available, CallNow::None, kDesk, refuses_group_calls(), CallType::Queue,
       Action::Ring, "available", "", {{"desk", 0}}, std::nullopt},
      {"forwarding without a destination is off", "003", kAvailable, Activity::Available,
       CallNow::None, kDesk, with(forwarding(ForwardMode::Always, "")), CallType::Direct,
       Action::Ring, "available", "", {{"desk", 0}}, std::nullopt},
  };
  return table;
}

core::Layers layers_with(CallNow call_now) {
  core::Layers layers;
  if (call_now != CallNow::None) {
    core::Call call;
    call.device = "desk";
    call.call_id = "first";
    call.state =
        call_now == CallNow::Ringing ? core::CallState::Ringing : core::CallState::Connected;
    layers.telephony.calls.push_back(call);
  }
  return layers;
}

TEST(ForwardingTest, EveryRuleOfTheTable) {
  for (const Row& row : rows()) {
    SCOPED_TRACE(std::string("seed ") + row.seed + ": " + row.rule);
    core::Presence callee;
    callee.availability = row.availability;
    callee.activity = row.activity;
    CallContext call;
    call.type = row.type;
    call.caller = "+4930555";
    const Decision d =
        decide(call, callee, layers_with(row.call_now), row.devices, row.settings);
    EXPECT_EQ(to_string(d.action), to_string(row.action));
    EXPECT_EQ(d.reason, row.reason);
    EXPECT_EQ(d.destination, row.destination);
    EXPECT_EQ(d.targets, row.targets);
    EXPECT_EQ(d.no_answer, row.no_answer);
  }
}

TEST(ForwardingTest, FindMeNumbersRingOnlyWhileAFindMeStateActionIsInForce) {
  // Seed 002: "Find Me/Follow Me" as the automatic action of a state type.
  core::Presence callee;
  callee.availability = Availability::Away;
  callee.activity = Activity::Away;
  const Decision active = decide({}, callee, {}, kDesk, find_me(true));
  EXPECT_EQ(active.action, Action::Ring);
  EXPECT_EQ(active.targets, (std::vector<Target>{{"desk", 0}}));
  EXPECT_EQ(active.find_me, (std::vector<FindMeStep>{{"+4917099", 15}}));
  EXPECT_TRUE(decide({}, callee, {}, kDesk, find_me(false)).find_me.empty());
  // DND wins over find me: nothing rings.
  CalleeSettings both = find_me(true);
  both.dnd = true;
  EXPECT_EQ(decide({}, callee, {}, kDesk, both).action, Action::Voicemail);
  EXPECT_TRUE(decide({}, callee, {}, kDesk, both).find_me.empty());
}

TEST(ForwardingTest, TheCallerShownFollowsTheForwardingOption) {
  CalleeSettings settings = with(forwarding(ForwardMode::Always, "+49891234"));
  core::Presence callee;
  callee.availability = kAvailable;
  callee.activity = Activity::Available;
  EXPECT_TRUE(decide({}, callee, {}, kDesk, settings).show_original_caller);
  settings.forwarding.show_original_caller = false;
  EXPECT_FALSE(decide({}, callee, {}, kDesk, settings).show_original_caller);
}

}  // namespace
}  // namespace presenced::routing
