#include "routing/routing.h"

#include <algorithm>

namespace presenced::routing {

std::string_view to_string(CallType type) {
  switch (type) {
    case CallType::Direct: return "direct";
    case CallType::Group: return "group";
    case CallType::Queue: return "queue";
  }
  return "direct";
}

std::optional<CallType> parse_call_type(std::string_view text) {
  for (CallType t : {CallType::Direct, CallType::Group, CallType::Queue}) {
    if (to_string(t) == text) {
      return t;
    }
  }
  return std::nullopt;
}

std::string_view to_string(Action action) {
  switch (action) {
    case Action::Ring: return "ring";
    case Action::Forward: return "forward";
    case Action::Voicemail: return "voicemail";
    case Action::Busy: return "busy";
  }
  return "ring";
}

namespace {

Decision refuse(const CalleeSettings& settings, std::string reason) {
  Decision d;
  d.action = settings.has_voicemail ? Action::Voicemail : Action::Busy;
  d.reason = std::move(reason);
  return d;
}

// Busy-on-busy starts once a call is connected, not while it rings (seed 001).
bool has_connected_call(const core::Layers& layers) {
  return std::any_of(layers.telephony.calls.begin(), layers.telephony.calls.end(),
                     [](const core::Call& c) {
                       return c.state == core::CallState::Connected ||
                              c.state == core::CallState::Held;
                     });
}

}  // namespace

Decision decide(const CallContext& call, const core::Presence& callee,
                const core::Layers& callee_layers, const std::vector<std::string>& devices,
                const CalleeSettings& settings) {
  using core::Availability;
  // DND and Presenting block calls: voicemail if the user has it, else busy (seeds 003, 004).
  if (callee.availability == Availability::DoNotDisturb ||
      callee.activity == core::Activity::Presenting) {
    return refuse(settings, "do_not_disturb");
  }
  if (settings.busy_on_busy && call.type == CallType::Direct &&
      has_connected_call(callee_layers)) {
    Decision d;
    d.action = Action::Busy;
    d.reason = "busy_on_busy";
    return d;
  }
  if ((callee.availability == Availability::Offline ||
       callee.availability == Availability::PresenceUnknown) &&
      devices.empty()) {
    return refuse(settings, "offline");
  }
  Decision d;
  d.action = Action::Ring;
  for (const std::string& device : devices) {
    d.targets.push_back({device, 0});
  }
  switch (callee.availability) {
    case Availability::Away:
    case Availability::BeRightBack:
      d.reason = "away";  // presence alone does not block: the PBX sees why
      break;
    case Availability::Busy:
    case Availability::BusyIdle:
      d.reason = "busy";
      break;
    case Availability::Offline:
    case Availability::PresenceUnknown:
      d.reason = "offline";
      break;
    default:
      d.reason = "available";
  }
  return d;
}

}  // namespace presenced::routing
