#pragma once

// The aggregation rules: layers + clock -> the one presence every watcher sees (before the
// visibility projection). Pure: same input, same output, on every node. Each rule is named in
// docs/presence-rules.md with the seed it rests on.

#include "core/model.h"

#include <optional>
#include <string_view>

namespace presenced::core {

// Resolves state ids (built-in and admin-defined). Not owned by the caller.
class StateCatalog {
 public:
  virtual ~StateCatalog() = default;
  virtual const StateDefinition* find(std::string_view state_id) const = 0;
};

struct RuleConfig {
  // A call that gets no event for this long is taken as gone (lost "ended" events leave no
  // lamp stuck on ringing).
  Duration ringing_lease = std::chrono::minutes(3);
  Duration call_lease = std::chrono::hours(8);
  // Tentative appointments make a user busy only when set.
  bool tentative_is_busy = false;
};

struct Aggregated {
  Presence presence;
  // The next instant at which the result can change with no new input (an until, a calendar
  // boundary, an idle threshold, a lease); the engine re-evaluates then.
  std::optional<TimePoint> next_change;
};

Aggregated aggregate(const Layers& layers, const UserSettings& settings,
                     const StateCatalog& states, const RuleConfig& rules, TimePoint now);

// What a Teams presence does to ours: exactly the rows of the ProCall <-> Teams table (seed
// 001): DoNotDisturb (DND, Presenting) and a call (InACall, InAConferenceCall) change it, every
// other manual Teams state changes nothing. A state we caused ourselves does nothing either.
enum class TeamsEffect : std::uint8_t { None, DoNotDisturb, InACall };
TeamsEffect teams_effect(const TeamsLayer& teams);

// The built-in states of the API contract, in display order.
const std::vector<StateDefinition>& built_in_states();

// Availability and activity an admin-defined state of this type shows.
StateDefinition definition_for_type(StateType type);

}  // namespace presenced::core
