// What one presence change costs inside the engine, from set_manual() to every watcher's queue,
// and what one subscription costs in memory. Release build, pinned like the server
// (taskset -c 0); figures and targets are in docs/benchmarks.md.
//
// The encoder writes the WebSocket event's shape (~200 bytes of JSON) with plain appends: core
// may not depend on the API's codec, and a free encoder would flatter the fan-out.

#include "core/aggregation.h"
#include "core/engine.h"

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace presenced::core;

constexpr std::array<std::string_view, 9> kAvailabilityNames = {
    "Available", "AvailableIdle", "Away",    "BeRightBack",    "Busy",
    "BusyIdle",  "DoNotDisturb",  "Offline", "PresenceUnknown"};
constexpr std::array<std::string_view, 15> kActivityNames = {"Available",
                                                             "Away",
                                                             "BeRightBack",
                                                             "Busy",
                                                             "DoNotDisturb",
                                                             "InACall",
                                                             "InAConferenceCall",
                                                             "Inactive",
                                                             "InAMeeting",
                                                             "Offline",
                                                             "OffWork",
                                                             "OutOfOffice",
                                                             "PresenceUnknown",
                                                             "Presenting",
                                                             "UrgentInterruptionsOnly"};
constexpr std::array<std::string_view, 9> kFlagNames = {
    "ringing", "call", "conferencing",    "appointment",  "idle",
    "offline", "note", "after_call_work", "out_of_office"};
// Colour and icon per availability, as the display object of the event carries them.
constexpr std::array<std::string_view, 9> kColors = {
    "green", "yellow_green", "yellow", "yellow", "red", "red", "red_bar", "grey", "grey"};
constexpr std::array<std::string_view, 9> kIcons = {"available",      "inactive", "away",
                                                    "away",           "busy",     "busy",
                                                    "do_not_disturb", "unknown",  "unknown"};

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

// The WebSocket event's members in its order, written straight into one string.
class EventEncoder final : public PresenceEncoder {
 public:
  std::string encode(const UserId& user, const Presence& presence, std::uint64_t sequence,
                     VisibilityLevel) const override {
    std::string out;
    out.reserve(256 + user.value.size() + presence.note.size() + presence.state_id.size());
    out += R"({"type":"presence","user":)";
    append_json_string(out, user.value);
    const auto availability = static_cast<std::size_t>(presence.availability);
    out += R"(,"availability":")";
    out += kAvailabilityNames[availability];
    out += R"(","activity":")";
    out += kActivityNames[static_cast<std::size_t>(presence.activity)];
    out += '"';
    if (!presence.note.empty()) {
      out += R"(,"note":)";
      append_json_string(out, presence.note);
    }
    out += R"(,"flags":[)";
    bool first = true;
    for (std::size_t i = 0; i < std::size(kAllFlags); ++i) {
      if (presence.flags.has(kAllFlags[i])) {
        out += first ? "\"" : ",\"";
        out += kFlagNames[i];
        out += '"';
        first = false;
      }
    }
    out += R"(],"sequence":)";
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, sequence).ptr;
    out.append(digits, end);
    if (!presence.state_id.empty()) {
      out += R"(,"state":)";
      append_json_string(out, presence.state_id);
    }
    out += R"(,"display":{"color":")";
    out += kColors[availability];
    out += R"(","icon":")";
    out += kIcons[availability];
    out += R"("}})";
    return out;
  }
};

// A connection's side of a watcher: counts wake-ups, as the server's writer arms its timer.
class CountingSink final : public WatcherSink {
 public:
  void wake() override { ++wakes_; }
  std::uint64_t wakes() const { return wakes_; }

 private:
  std::uint64_t wakes_ = 0;
};

const TimePoint kNow = to_time_point(Clock::time_point(std::chrono::seconds(1795000000)));

std::string user_name(std::size_t i) {
  char name[24];
  std::snprintf(name, sizeof name, "u%07zu", i);
  return name;
}

// One presentity (index 0) watched by `watcher_count` users, each through one watcher; with
// `spread_levels` the watchers see it at Public, Business and Team in turn.
class FanOut {
 public:
  FanOut(std::size_t watcher_count, bool spread_levels)
      : engine_(EngineConfig{}, std::uint64_t{1} << 32), sinks_(watcher_count) {
    const FormatId format = engine_.add_format(std::make_unique<EventEncoder>());
    hot_ = engine_.add_user(UserId{user_name(0)}, UserSettings{}, kNow).value();
    constexpr VisibilityLevel kLevels[] = {VisibilityLevel::Public, VisibilityLevel::Business,
                                           VisibilityLevel::Team};
    for (std::size_t i = 0; i < watcher_count; ++i) {
      const UserIndex user =
          engine_.add_user(UserId{user_name(i + 1)}, UserSettings{}, kNow).value();
      if (spread_levels) {
        engine_.set_visibility(hot_, user, kLevels[i % std::size(kLevels)]);
      }
      const WatcherId watcher = engine_.add_watcher(user, format, &sinks_[i]);
      engine_.subscribe(watcher, hot_);
      watchers_.push_back(watcher);
    }
    drain();
  }

  // What each connection's writer does when woken: take the whole queue.
  std::size_t drain() {
    std::size_t taken = 0;
    for (const WatcherId watcher : watchers_) {
      std::vector<Delivery> batch = engine_.queue(watcher).take();
      taken += batch.size();
      benchmark::DoNotOptimize(batch.data());
    }
    return taken;
  }

  Engine& engine() { return engine_; }
  UserIndex hot() const { return hot_; }

 private:
  Engine engine_;
  UserIndex hot_ = 0;
  std::vector<CountingSink> sinks_;
  std::vector<WatcherId> watchers_;
};

// Alternates two manual states on one user; every change is visible, so every change goes to
// every watcher. Args: watchers, changes between drains.
void run_fan_out(benchmark::State& state, bool spread_levels) {
  FanOut fan(static_cast<std::size_t>(state.range(0)), spread_levels);
  const auto drain_every = static_cast<std::uint64_t>(state.range(1));
  const ManualLayer busy{
      "Busy", "back at 3, call Jana for the Meier order", {}, {}, Reachability::Normal, kNow};
  const ManualLayer available{"Available", "", {}, {}, Reachability::Normal, kNow};
  const EngineStats before = fan.engine().stats();
  std::uint64_t changes = 0;
  std::uint64_t drained = 0;
  for (auto _ : state) {
    fan.engine().set_manual(fan.hot(), (changes & 1) != 0 ? available : busy, kNow);
    if (++changes % drain_every == 0) {
      drained += fan.drain();
    }
  }
  drained += fan.drain();
  const EngineStats& after = fan.engine().stats();
  const auto deliveries = static_cast<double>(after.deliveries - before.deliveries);
  if (after.changes - before.changes != changes ||
      drained != after.deliveries - before.deliveries) {
    state.SkipWithError("a change was not visible or a delivery was lost");
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(deliveries));
  state.counters["changes/s"] =
      benchmark::Counter(static_cast<double>(changes), benchmark::Counter::kIsRate);
  state.counters["time/change"] = benchmark::Counter(
      static_cast<double>(changes), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["encodings/change"] = benchmark::Counter(
      static_cast<double>(after.encodings - before.encodings) / static_cast<double>(changes));
}

void BM_FanOut(benchmark::State& state) { run_fan_out(state, false); }
void BM_FanOutThreeLevels(benchmark::State& state) { run_fan_out(state, true); }

BENCHMARK(BM_FanOut)
    ->ArgNames({"watchers", "drain_every"})
    ->Args({20, 1})
    ->Args({20, 16})
    ->Args({5000, 1})
    ->Args({5000, 16});
BENCHMARK(BM_FanOutThreeLevels)->ArgNames({"watchers", "drain_every"})->Args({20, 16});

// aggregate() alone. Arg 0: a manual state and one session; 1: also a call and a meeting.
void BM_Aggregate(benchmark::State& state) {
  Engine engine(EngineConfig{}, 0);
  Layers layers;
  layers.manual = ManualLayer{"Busy", "back at 3", {}, {}, Reachability::Normal, kNow};
  layers.sessions.sessions.push_back(
      Session{"ws-1", "websocket", kNow, std::nullopt, InputState::Active, kNow});
  if (state.range(0) == 1) {
    layers.telephony.calls.push_back(
        Call{"desk", "c-1", CallState::Connected, CallDirection::Outbound, kNow, kNow});
    layers.calendar.appointments.push_back(
        Appointment{"a-1", "Sprint review", "Room 4", kNow - std::chrono::minutes(10),
                    kNow + std::chrono::minutes(50), CalendarKind::Busy, false});
  }
  const UserSettings settings;
  const RuleConfig rules;
  for (auto _ : state) {
    Aggregated result = aggregate(layers, settings, engine.states(), rules, kNow);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Aggregate)->ArgName("layers")->Arg(0)->Arg(1);

// Resident bytes of this process (/proc/self/statm), after returning freed heap to the system
// so that reused free lists do not hide what an allocation costs.
long resident_bytes() {
  malloc_trim(0);
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) {
      resident = 0;
    }
    std::fclose(f);
  }
  return resident * sysconf(_SC_PAGESIZE);
}

// 50,000 users in teams of 20, each watching the own team through one watcher: 1,000,000
// (watcher, user) pairs. Each watcher's queue is drained after it subscribes, as its connection
// would; what stays is the index.
void BM_SubscriptionMemory(benchmark::State& state) {
  const auto users = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kTeam = 20;
  for (auto _ : state) {
    Engine engine(EngineConfig{}, 0);
    const FormatId format = engine.add_format(std::make_unique<EventEncoder>());
    for (std::size_t i = 0; i < users; ++i) {
      (void)engine.add_user(UserId{user_name(i)}, UserSettings{}, kNow);
    }
    const long before_watchers = resident_bytes();
    std::vector<WatcherId> watchers;
    watchers.reserve(users);
    for (std::size_t i = 0; i < users; ++i) {
      watchers.push_back(engine.add_watcher(static_cast<UserIndex>(i), format, nullptr));
    }
    const long before = resident_bytes();
    for (std::size_t i = 0; i < users; ++i) {
      const std::size_t team = i / kTeam * kTeam;
      for (std::size_t k = 0; k < kTeam && team + k < users; ++k) {
        engine.subscribe(watchers[i], static_cast<UserIndex>(team + k));
      }
      benchmark::DoNotOptimize(engine.queue(watchers[i]).take());
    }
    const long after = resident_bytes();
    const auto subscriptions = static_cast<double>(engine.stats().subscriptions);
    state.counters["subscriptions"] = subscriptions;
    state.counters["bytes/subscription"] = static_cast<double>(after - before) / subscriptions;
    state.counters["bytes/watcher"] =
        static_cast<double>(before - before_watchers) / static_cast<double>(users);
  }
}
BENCHMARK(BM_SubscriptionMemory)
    ->ArgName("users")
    ->Arg(50000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
