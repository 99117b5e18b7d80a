// What one call-routing decision costs: routing::decide for the direct-call cases a PBX asks
// about (docs/routing.md, rules 1-5) and routing::decide_queue for queues of 10, 50 and 200
// members under each strategy. Release build, pinned like the server (taskset -c 0); figures
// and the < 1 ms p99 target are in docs/benchmarks.md.
//
// Each case runs twice: `sampled:0` is Google Benchmark's own loop (time per decision, mean of
// the batch); `sampled:1` reads the steady clock around every single decision, the Decision's
// destruction included, and reports p50, p99, p99.9 and max of those times as counters in ns,
// with `clock_ns`, the p50 of two back-to-back clock reads, which every sample includes once.

#include "routing/routing.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace presenced;
using core::Activity;
using core::Availability;
using routing::QueueStrategy;
using SteadyClock = std::chrono::steady_clock;

constexpr core::TimePoint kNow{std::chrono::milliseconds(1'790'000'000'000)};

// ---- Timing ----

std::uint32_t elapsed_ns(SteadyClock::time_point from, SteadyClock::time_point to) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count();
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ns, 0, UINT32_MAX));
}

double quantile(std::vector<std::uint32_t>& samples, double q) {
  if (samples.empty()) {
    return 0;
  }
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(samples.size() - 1));
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(rank),
                   samples.end());
  return samples[rank];
}

double clock_cost_ns() {
  std::vector<std::uint32_t> samples(100'000);
  for (auto& s : samples) {
    const auto t0 = SteadyClock::now();
    const auto t1 = SteadyClock::now();
    s = elapsed_ns(t0, t1);
  }
  return quantile(samples, 0.5);
}

// Runs `decide` once per iteration; with `sampled`, times every decision on its own.
template <typename Decide>
void measure(benchmark::State& state, bool sampled, Decide decide) {
  if (!sampled) {
    for (auto _ : state) {
      auto decision = decide();
      benchmark::DoNotOptimize(decision);
    }
    state.SetItemsProcessed(state.iterations());
    return;
  }
  std::vector<std::uint32_t> samples;
  samples.reserve(1 << 20);
  for (auto _ : state) {
    const auto t0 = SteadyClock::now();
    {
      auto decision = decide();
      benchmark::DoNotOptimize(decision);
    }
    samples.push_back(elapsed_ns(t0, SteadyClock::now()));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["p50_ns"] = quantile(samples, 0.5);
  state.counters["p99_ns"] = quantile(samples, 0.99);
  state.counters["p999_ns"] = quantile(samples, 0.999);
  state.counters["max_ns"] = *std::max_element(samples.begin(), samples.end());
  state.counters["clock_ns"] = clock_cost_ns();
}

// ---- Direct calls ----

// The callee's known devices in ring order, as the API keeps them.
const std::vector<std::string> kDevices = {"desk-phone", "softphone", "mobile"};

core::Presence presence(Availability availability, Activity activity, std::string state_id) {
  core::Presence p;
  p.availability = availability;
  p.activity = activity;
  p.state_id = std::move(state_id);
  p.explanation = {core::Layer::Manual, "manual_state", "set by the user"};
  return p;
}

core::Layers logged_in() {
  core::Layers layers;
  layers.sessions.sessions.push_back({"desktop-1", "websocket", kNow - std::chrono::hours(2),
                                      std::nullopt, core::InputState::Active,
                                      kNow - std::chrono::minutes(1)});
  return layers;
}

// A callee with personal routing: desk phone at once, softphone after 5 s, mobile after 15 s,
// voicemail after 30 s.
routing::CalleeSettings staggered() {
  routing::CalleeSettings settings;
  settings.personal.staggered = {{"softphone", 5}, {"mobile", 15}};
  settings.personal.voicemail_after_s = 30;
  return settings;
}

routing::CalleeSettings failover() {
  routing::CalleeSettings settings = staggered();
  settings.forwarding.mode = routing::ForwardMode::Failover;
  settings.forwarding.destination = "+498912345678";
  settings.forwarding.no_answer_s = 20;
  return settings;
}

struct DirectCase {
  core::Presence callee;
  core::Layers layers;
  routing::CalleeSettings settings;
  const char* expected_reason = "";
  std::vector<std::string> devices = kDevices;
  routing::CallContext call{routing::CallType::Direct, "+4930123456789"};
};

// Rule 5: Available, logged in, three devices staggered by personal routing.
DirectCase available_staggered() {
  return {presence(Availability::Available, Activity::Available, "Available"), logged_in(),
          staggered(), "available"};
}

// Rule 1: DoNotDisturb sends the call to voicemail.
DirectCase dnd_voicemail() {
  return {presence(Availability::DoNotDisturb, Activity::DoNotDisturb, "DoNotDisturb"), logged_in(),
          staggered(), "do_not_disturb"};
}

core::Layers on_a_call() {
  core::Layers layers = logged_in();
  layers.telephony.calls.push_back({"desk-phone", "c-7f3a9e21", core::CallState::Connected,
                                    core::CallDirection::Inbound, kNow - std::chrono::minutes(3),
                                    kNow - std::chrono::minutes(3)});
  return layers;
}

// Rule 3: a connected call on the desk phone and busy-on-busy on.
DirectCase busy_on_busy() {
  DirectCase c{presence(Availability::Busy, Activity::InACall, ""), on_a_call(), staggered(),
               "busy_on_busy"};
  c.callee.explanation = {core::Layer::Telephony, "call_connected", "connected on desk-phone"};
  c.callee.busy_devices = {"desk-phone"};
  c.settings.busy_on_busy = true;
  return c;
}

// Rule 3 with failover forwarding "on busy": forwarded instead of busy.
DirectCase failover_busy() {
  DirectCase c = busy_on_busy();
  c.settings = failover();
  c.settings.busy_on_busy = true;
  c.expected_reason = "forward_busy";
  return c;
}

// Rule 5 with failover forwarding: rings, then forwards when nobody answers in 20 s.
DirectCase failover_no_answer() {
  DirectCase c = available_staggered();
  c.settings = failover();
  return c;
}

// Rule 4 with failover forwarding: offline, no device can ring, forwarded at once.
DirectCase failover_unreachable() {
  DirectCase c{presence(Availability::Offline, Activity::Offline, ""), {}, failover(),
               "forward_unreachable"};
  c.devices.clear();
  return c;
}

void BM_Decide(benchmark::State& state, DirectCase (*make)()) {
  const DirectCase c = make();
  const auto check = routing::decide(c.call, c.callee, c.layers, c.devices, c.settings);
  if (check.reason != c.expected_reason) {
    state.SkipWithError(("reason " + check.reason + ", expected " + c.expected_reason).c_str());
    return;
  }
  measure(state, state.range(0) != 0,
          [&] { return routing::decide(c.call, c.callee, c.layers, c.devices, c.settings); });
}

#define DIRECT_CASE(name) \
  BENCHMARK_CAPTURE(BM_Decide, name, &name)->ArgName("sampled")->Arg(0)->Arg(1)

DIRECT_CASE(available_staggered);
DIRECT_CASE(dnd_voicemail);
DIRECT_CASE(busy_on_busy);
DIRECT_CASE(failover_busy);
DIRECT_CASE(failover_no_answer);
DIRECT_CASE(failover_unreachable);

// ---- Queues ----

// A queue team in a working day's mix, repeating every 20 members: 10 Available (half of them
// never called yet), 3 Busy in a call, 2 Busy in a meeting, 2 Away or BeRightBack, 2 in DND and
// 1 offline. User ids are short (fit std::string's inline buffer), as most are.
std::vector<routing::QueueMember> queue_members(std::size_t count) {
  struct Slot {
    Availability availability;
    Activity activity;
    bool on_call;
  };
  constexpr Slot kSlots[20] = {
      {Availability::Available, Activity::Available, false},
      {Availability::Busy, Activity::InACall, true},
      {Availability::Available, Activity::Available, false},
      {Availability::Away, Activity::Away, false},
      {Availability::Available, Activity::Available, false},
      {Availability::DoNotDisturb, Activity::DoNotDisturb, false},
      {Availability::Available, Activity::Available, false},
      {Availability::Busy, Activity::InAMeeting, false},
      {Availability::Available, Activity::Available, false},
      {Availability::Busy, Activity::InACall, true},
      {Availability::Available, Activity::Available, false},
      {Availability::Offline, Activity::Offline, false},
      {Availability::Available, Activity::Available, false},
      {Availability::BeRightBack, Activity::BeRightBack, false},
      {Availability::Available, Activity::Available, false},
      {Availability::Busy, Activity::InACall, true},
      {Availability::Available, Activity::Available, false},
      {Availability::DoNotDisturb, Activity::Presenting, false},
      {Availability::Available, Activity::Available, false},
      {Availability::Busy, Activity::InAMeeting, false},
  };
  std::vector<routing::QueueMember> members;
  for (std::size_t i = 0; i < count; ++i) {
    const Slot& slot = kSlots[i % 20];
    routing::QueueMember m;
    m.user = "agent-" + std::to_string(10000 + i);
    m.presence = presence(slot.availability, slot.activity, "");
    m.on_call = slot.on_call;
    // Every other member has had a call, ended 1-60 minutes ago in scattered order.
    if (i % 2 == 0) {
      m.last_call_end = kNow - std::chrono::minutes(1 + (i * 37) % 60);
    }
    members.push_back(std::move(m));
  }
  return members;
}

// Args: members, strategy (0 ring all, 1 longest idle, 2 round robin), sampled. Presence-based
// policy admitting Available and the InAMeeting activity; rotation advances by one per call.
void BM_DecideQueue(benchmark::State& state) {
  const auto members = queue_members(static_cast<std::size_t>(state.range(0)));
  routing::QueuePolicy policy;
  policy.presence_based = true;
  policy.availabilities = {Availability::Available, Availability::AvailableIdle};
  policy.activities = {Activity::InAMeeting};
  policy.strategy = static_cast<QueueStrategy>(state.range(1));
  std::size_t rotation = 0;
  const auto check = routing::decide_queue(members, policy, rotation);
  if (check.reason != "queue") {
    state.SkipWithError("no agent admitted");
    return;
  }
  constexpr const char* kStrategies[] = {"ring_all", "longest_idle", "round_robin"};
  state.SetLabel(kStrategies[state.range(1)]);
  state.counters["agents"] = static_cast<double>(check.agents.size());
  measure(state, state.range(2) != 0,
          [&] { return routing::decide_queue(members, policy, rotation++); });
}
BENCHMARK(BM_DecideQueue)
    ->ArgNames({"members", "strategy", "sampled"})
    ->ArgsProduct({{10, 50, 200}, {0, 1, 2}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
