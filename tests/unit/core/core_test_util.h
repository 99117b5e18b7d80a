#pragma once

// Fixtures shared by the aggregation and rules tests: a fixed instant, a state catalog and
// builders for layer entries.

#include "core/aggregation.h"

#include <chrono>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>

namespace presenced::core::fixtures {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A fixed instant (2026-09-21); every test moves from it with durations, never the wall clock.
constexpr TimePoint kT0{milliseconds(1'790'000'000'000)};

// Built-in states plus whatever a test defines, as the engine's catalog resolves them.
class TestCatalog final : public StateCatalog {
 public:
  TestCatalog() {
    for (const StateDefinition& s : built_in_states()) {
      states_[s.id] = s;
    }
  }
  void add(StateDefinition state) { states_[state.id] = std::move(state); }
  const StateDefinition* find(std::string_view state_id) const override {
    auto it = states_.find(std::string(state_id));
    return it == states_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, StateDefinition> states_;
};

inline Flags flags_of(std::initializer_list<Flag> list) {
  Flags flags;
  for (Flag f : list) {
    flags.set(f);
  }
  return flags;
}

inline Session session(std::string client_id, InputState input = InputState::Active,
                TimePoint input_since = kT0) {
  Session s;
  s.client_id = std::move(client_id);
  s.kind = "websocket";
  s.since = kT0;
  s.input = input;
  s.input_since = input_since;
  return s;
}

inline Call call(std::string device, CallState state, TimePoint started, TimePoint updated) {
  Call c;
  c.device = std::move(device);
  c.call_id = "c-" + c.device;
  c.state = state;
  c.started_at = started;
  c.updated_at = updated;
  return c;
}

inline Call call(std::string device, CallState state, TimePoint started) {
  return call(std::move(device), state, started, started);
}

inline ManualLayer manual(std::string state_id, TimePoint set_at, std::string note = {}) {
  ManualLayer m;
  m.state_id = std::move(state_id);
  m.set_at = set_at;
  m.note = std::move(note);
  return m;
}

inline Appointment appointment(std::string id, CalendarKind kind, TimePoint start, TimePoint end) {
  Appointment a;
  a.id = std::move(id);
  a.subject = "Review " + a.id;
  a.kind = kind;
  a.start = start;
  a.end = end;
  return a;
}

inline Appointment appointment(CalendarKind kind, TimePoint start, TimePoint end) {
  Appointment a;
  a.id = "a-1";
  a.subject = "Review";
  a.location = "Room 2";
  a.kind = kind;
  a.start = start;
  a.end = end;
  return a;
}

}  // namespace presenced::core::fixtures
