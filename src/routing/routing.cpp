#include "routing/routing.h"

#include "core/aggregation.h"

#include <algorithm>

namespace presenced::routing {

namespace {

// The value among `values` whose to_string() is `text`.
template <typename Enum, std::size_t N>
std::optional<Enum> parse_named(std::string_view text, const Enum (&values)[N]) {
  for (const Enum value : values) {
    if (to_string(value) == text) {
      return value;
    }
  }
  return std::nullopt;
}

constexpr CallType kCallTypes[] = {CallType::Direct, CallType::Group, CallType::Queue};
constexpr StateAction kStateActions[] = {StateAction::None, StateAction::Dnd,
                                         StateAction::FindMe};
constexpr QueueStrategy kStrategies[] = {QueueStrategy::RingAll, QueueStrategy::LongestIdle,
                                         QueueStrategy::RoundRobin};
constexpr ForwardMode kForwardModes[] = {ForwardMode::Off, ForwardMode::Failover,
                                         ForwardMode::Always};

}  // namespace

std::string_view to_string(CallType type) {
  switch (type) {
    case CallType::Direct: return "direct";
    case CallType::Group: return "group";
    case CallType::Queue: return "queue";
  }
  return "direct";
}

std::optional<CallType> parse_call_type(std::string_view text) {
  return parse_named(text, kCallTypes);
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

std::string_view to_string(StateAction action) {
  switch (action) {
    case StateAction::None: return "none";
    case StateAction::Dnd: return "dnd";
    case StateAction::FindMe: return "find_me";
  }
  return "none";
}

std::optional<StateAction> parse_state_action(std::string_view text) {
  return parse_named(text, kStateActions);
}

std::string_view to_string(QueueStrategy strategy) {
  switch (strategy) {
    case QueueStrategy::RingAll: return "ring_all";
    case QueueStrategy::LongestIdle: return "longest_idle";
    case QueueStrategy::RoundRobin: return "round_robin";
  }
  return "ring_all";
}

std::optional<QueueStrategy> parse_queue_strategy(std::string_view text) {
  return parse_named(text, kStrategies);
}

std::string_view to_string(ForwardMode mode) {
  switch (mode) {
    case ForwardMode::Off: return "off";
    case ForwardMode::Failover: return "failover";
    case ForwardMode::Always: return "always";
  }
  return "off";
}

std::optional<ForwardMode> parse_forward_mode(std::string_view text) {
  return parse_named(text, kForwardModes);
}

namespace {

constexpr std::string_view kVoicemailDestination = "voicemail";

// DND and the like: voicemail if the user has it, else busy (seeds 003, 004).
Decision refuse(const CalleeSettings& settings, std::string reason) {
  Decision d;
  d.action = settings.has_voicemail ? Action::Voicemail : Action::Busy;
  d.reason = std::move(reason);
  return d;
}

// To the forwarding destination: a number or colleague, or the voicemail box (seed 003).
Decision forward(const Forwarding& forwarding, std::string reason) {
  Decision d;
  if (forwarding.destination == kVoicemailDestination) {
    d.action = Action::Voicemail;
  } else {
    d.action = Action::Forward;
    d.destination = forwarding.destination;
  }
  d.reason = std::move(reason);
  d.show_original_caller = forwarding.show_original_caller;
  return d;
}

Decision busy(std::string reason) {
  Decision d;
  d.action = Action::Busy;
  d.reason = std::move(reason);
  return d;
}

// Busy-on-busy starts once a call is connected, not while it rings (seed 001).
// A call on any of the user's devices, or in Teams (cross-device busy-on-busy, issue 7): a
// Teams call or meeting call counts, our own call mirrored into Teams is already counted here.
bool has_connected_call(const core::Layers& layers) {
  const bool teams_call =
      layers.teams && core::teams_effect(*layers.teams) == core::TeamsEffect::InACall;
  return teams_call || std::any_of(layers.telephony.calls.begin(), layers.telephony.calls.end(),
                                   [](const core::Call& c) {
                                     return c.state == core::CallState::Connected ||
                                            c.state == core::CallState::Held;
                                   });
}

std::string ring_reason(core::Availability availability) {
  switch (availability) {
    case core::Availability::Away:
    case core::Availability::BeRightBack:
      return "away";  // presence alone does not block: the PBX sees why
    case core::Availability::Busy:
    case core::Availability::BusyIdle:
      return "busy";
    case core::Availability::Offline:
    case core::Availability::PresenceUnknown:
      return "offline";
    default:
      return "available";
  }
}

// Every known device, at once or after its personal-routing delay, earliest first.
std::vector<Target> ring_targets(const std::vector<std::string>& devices,
                                 const PersonalRouting& personal) {
  std::vector<Target> targets;
  for (const std::string& device : devices) {
    auto staggered = std::find_if(personal.staggered.begin(), personal.staggered.end(),
                                  [&](const DeviceDelay& d) { return d.device == device; });
    targets.push_back({device, staggered == personal.staggered.end() ? 0 : staggered->delay_s});
  }
  std::stable_sort(targets.begin(), targets.end(),
                   [](const Target& a, const Target& b) { return a.delay_s < b.delay_s; });
  return targets;
}

}  // namespace

CalleeSettings effective_settings(CalleeSettings own, const ProfileRouting* profile,
                                  StateAction state_action) {
  if (profile != nullptr) {
    if (profile->dnd) {
      own.dnd = *profile->dnd;
    }
    if (profile->forwarding) {
      own.forwarding = *profile->forwarding;
      if (own.forwarding.destination.empty()) {
        own.forwarding.destination = profile->destination;  // Connect Desktop: asked at selection
      }
    }
    if (profile->personal) {
      own.personal = *profile->personal;
    }
  }
  switch (state_action) {
    case StateAction::None:
      break;
    case StateAction::Dnd:
      own.dnd = true;
      break;
    case StateAction::FindMe:
      own.find_me_active = true;
      break;
  }
  return own;
}

Decision decide(const CallContext& call, const core::Presence& callee,
                const core::Layers& callee_layers, const std::vector<std::string>& devices,
                const CalleeSettings& settings) {
  using core::Availability;
  // DND and Presenting block calls, before any forwarding (seeds 003, 004; seed 001: DND call
  // protection).
  if (callee.availability == Availability::DoNotDisturb ||
      callee.activity == core::Activity::Presenting || settings.dnd) {
    return refuse(settings, "do_not_disturb");
  }
  // Connect Desktop's "accept group calls" off: hunt groups skip this user (seed 003).
  if (call.type == CallType::Group && !settings.accept_group_calls) {
    return busy("group_call_refused");
  }
  const Forwarding& forwarding = settings.forwarding;
  const bool forwards = forwarding.mode != ForwardMode::Off && !forwarding.destination.empty() &&
                        (!forwarding.direct_calls_only || call.type == CallType::Direct);
  if (forwards && forwarding.mode == ForwardMode::Always) {
    return forward(forwarding, "forward_always");
  }
  const bool failover = forwards && forwarding.mode == ForwardMode::Failover;
  // A second direct call while one is connected (seeds 001, 004).
  if (call.type == CallType::Direct && has_connected_call(callee_layers) &&
      (settings.busy_on_busy || !settings.call_waiting)) {
    if (failover && forwarding.on_busy) {
      return forward(forwarding, "forward_busy");
    }
    return busy(settings.busy_on_busy ? "busy_on_busy" : "busy_no_call_waiting");
  }
  if ((callee.availability == Availability::Offline ||
       callee.availability == Availability::PresenceUnknown) &&
      devices.empty()) {
    if (failover && forwarding.on_unreachable) {
      return forward(forwarding, "forward_unreachable");
    }
    return refuse(settings, "offline");
  }
  Decision d;
  d.action = Action::Ring;
  d.targets = ring_targets(devices, settings.personal);
  d.reason = ring_reason(callee.availability);
  if (settings.find_me_active) {
    d.find_me = settings.find_me;  // seed 002: find me/follow me for this state type
  }
  if (failover && forwarding.on_no_answer) {
    const Decision then = forward(forwarding, "forward_no_answer");
    d.no_answer = NoAnswer{forwarding.no_answer_s, then.action, then.destination, then.reason};
    d.show_original_caller = forwarding.show_original_caller;
  } else if (settings.personal.voicemail_after_s && settings.has_voicemail) {
    d.no_answer = NoAnswer{*settings.personal.voicemail_after_s, Action::Voicemail, {},
                           "voicemail_no_answer"};
  }
  return d;
}

namespace {

bool may_take_queue_call(const QueueMember& member, const QueuePolicy& policy) {
  using core::Availability;
  const core::Presence& p = member.presence;
  auto listed = [](const auto& list, auto value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  // Never: DND, offline or unknown; on a call unless the queue admits InACall (seed 004).
  if (p.availability == Availability::DoNotDisturb || p.availability == Availability::Offline ||
      p.availability == Availability::PresenceUnknown || p.activity == core::Activity::Presenting) {
    return false;
  }
  if (member.on_call && !listed(policy.activities, core::Activity::InACall)) {
    return false;
  }
  if (!policy.presence_based) {
    return true;
  }
  return listed(policy.availabilities, p.availability) || listed(policy.activities, p.activity);
}

}  // namespace

QueueDecision decide_queue(const std::vector<QueueMember>& members, const QueuePolicy& policy,
                           std::size_t rotation) {
  std::vector<const QueueMember*> eligible;
  for (const QueueMember& member : members) {
    if (may_take_queue_call(member, policy)) {
      eligible.push_back(&member);
    }
  }
  switch (policy.strategy) {
    case QueueStrategy::RingAll:
      break;
    case QueueStrategy::LongestIdle:
      // Never called first, then the earliest end of the last call; ties keep member order.
      std::stable_sort(eligible.begin(), eligible.end(),
                       [](const QueueMember* a, const QueueMember* b) {
                         if (!a->last_call_end || !b->last_call_end) {
                           return !a->last_call_end && b->last_call_end;
                         }
                         return *a->last_call_end < *b->last_call_end;
                       });
      break;
    case QueueStrategy::RoundRobin:
      if (!eligible.empty()) {
        std::rotate(eligible.begin(),
                    eligible.begin() + static_cast<std::ptrdiff_t>(rotation % eligible.size()),
                    eligible.end());
      }
      break;
  }
  QueueDecision d;
  for (const QueueMember* member : eligible) {
    d.agents.push_back(member->user);
  }
  d.reason = d.agents.empty() ? "queue_no_agent" : "queue";
  return d;
}

std::vector<AgentTarget> queue_targets(
    const QueueDecision& decision, const QueuePolicy& policy,
    const std::function<std::vector<std::string>(const std::string&)>& devices_of) {
  std::vector<AgentTarget> out;
  int delay_s = 0;
  for (const std::string& agent : decision.agents) {
    for (std::string& device : devices_of(agent)) {
      out.push_back({agent, {std::move(device), delay_s}});
    }
    if (policy.strategy != QueueStrategy::RingAll) {
      delay_s += policy.agent_ring_s;
    }
  }
  return out;
}

}  // namespace presenced::routing
