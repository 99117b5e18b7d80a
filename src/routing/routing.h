#pragma once

// Call routing from presence (pure): given a call and the callee's presence, devices and
// settings, decide whom to ring when, where to forward, or whether to answer busy or send to
// voicemail. Every decision carries a machine reason (docs/routing.md).

#include "core/model.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::routing {

enum class CallType : std::uint8_t { Direct, Group, Queue };
enum class Action : std::uint8_t { Ring, Forward, Voicemail, Busy };

std::string_view to_string(CallType type);
std::optional<CallType> parse_call_type(std::string_view text);
std::string_view to_string(Action action);

struct Target {
  std::string device;
  int delay_s = 0;
  friend bool operator==(const Target&, const Target&) = default;
};

struct Decision {
  Action action = Action::Ring;
  std::vector<Target> targets;
  std::string destination;  // forward target, when action is Forward
  std::string reason;       // available, do_not_disturb, busy_on_busy, offline, ...
  friend bool operator==(const Decision&, const Decision&) = default;
};

// What the callee has configured for calls (profiles and forwarding grow this in the routing
// issue; the defaults are the behaviour of a user with nothing set).
struct CalleeSettings {
  bool has_voicemail = true;
  bool busy_on_busy = false;  // cross-device busy-on-busy (seed 001): busy once a call is connected
};

struct CallContext {
  CallType type = CallType::Direct;
  std::string caller;
};

// `devices` are the callee's known devices in ring order.
Decision decide(const CallContext& call, const core::Presence& callee,
                const core::Layers& callee_layers, const std::vector<std::string>& devices,
                const CalleeSettings& settings);

}  // namespace presenced::routing
