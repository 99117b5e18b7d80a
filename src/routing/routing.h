#pragma once

// Call routing from presence (pure): given a call and the callee's presence, devices and
// settings, decide whom to ring when, where to forward, or whether to answer busy or send to
// voicemail. Every decision carries a machine reason (docs/routing.md).

#include "core/model.h"

#include <functional>
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

// What the PBX does if nobody answers the ringing targets within `after_s` seconds.
struct NoAnswer {
  int after_s = 0;
  Action action = Action::Voicemail;  // Forward or Voicemail
  std::string destination;            // when action is Forward
  std::string reason;                 // forward_no_answer, voicemail_no_answer
  friend bool operator==(const NoAnswer&, const NoAnswer&) = default;
};

// Find me/follow me (seed 002): a number rung after a delay, beside the user's devices.
struct FindMeStep {
  std::string destination;
  int delay_s = 0;
  friend bool operator==(const FindMeStep&, const FindMeStep&) = default;
};

struct Decision {
  Action action = Action::Ring;
  std::vector<Target> targets;
  std::vector<FindMeStep> find_me;  // only with Ring, when a find-me state action is in force
  std::string destination;  // forward target, when action is Forward
  std::string reason;       // available, do_not_disturb, busy_on_busy, offline, ...
  std::optional<NoAnswer> no_answer;  // only with Ring
  bool show_original_caller = true;   // with Forward: the caller's number, or the callee's own
  friend bool operator==(const Decision&, const Decision&) = default;
};

// Call forwarding as Connect Desktop offers it (seed 003): off, on failure, or always.
enum class ForwardMode : std::uint8_t { Off, Failover, Always };
std::string_view to_string(ForwardMode mode);
std::optional<ForwardMode> parse_forward_mode(std::string_view text);

struct Forwarding {
  ForwardMode mode = ForwardMode::Off;
  std::string destination;  // a number, a colleague's user id, or "voicemail"
  // Failover: which failures forward. No answer after `no_answer_s` seconds of ringing.
  bool on_no_answer = true;
  int no_answer_s = 20;
  bool on_busy = true;
  bool on_unreachable = true;
  bool direct_calls_only = true;    // group and queue calls ring as usual
  bool show_original_caller = true;
  friend bool operator==(const Forwarding&, const Forwarding&) = default;
};

// Personal routing (seed 003): all devices at once, or one after another by delay.
struct DeviceDelay {
  std::string device;
  int delay_s = 0;
  friend bool operator==(const DeviceDelay&, const DeviceDelay&) = default;
};

struct PersonalRouting {
  // Empty: every known device at once. Otherwise these devices, each after its delay; known
  // devices not listed ring at once.
  std::vector<DeviceDelay> staggered;
  std::optional<int> voicemail_after_s;  // unanswered calls go to voicemail after N s
  friend bool operator==(const PersonalRouting&, const PersonalRouting&) = default;
};

// FreePBX's automatic action when a user enters a state of some type (seed 002).
enum class StateAction : std::uint8_t { None, Dnd, FindMe };
std::string_view to_string(StateAction action);
std::optional<StateAction> parse_state_action(std::string_view text);

// What the callee has configured for calls, with what their profile and state add; the
// defaults are a user who set nothing.
struct CalleeSettings {
  bool has_voicemail = true;
  // Do not disturb from a profile or a state's automatic action, whatever the presence shows.
  bool dnd = false;
  bool accept_group_calls = true;  // Connect Desktop: group calls alert this user
  bool busy_on_busy = false;  // cross-device busy-on-busy (seed 001): busy once a call is connected
  bool call_waiting = true;   // a second call during a connected one rings (seed 004)
  Forwarding forwarding;
  PersonalRouting personal;
  std::vector<FindMeStep> find_me;  // the user's follow-me list
  bool find_me_active = false;      // a find-me state action is in force
};

// The routing parts of a selected presence profile (seed 003); an absent part leaves the
// user's own setting alone.
struct ProfileRouting {
  std::optional<bool> dnd;  // a profile applies or removes DND
  std::optional<Forwarding> forwarding;
  std::optional<PersonalRouting> personal;
  std::string destination;  // forwarding destination given when the profile was selected
};

// The settings a decision uses: the user's own, overlaid by their selected profile (if any),
// then by the automatic action of the type of their manual state (seed 002).
CalleeSettings effective_settings(CalleeSettings own, const ProfileRouting* profile,
                                  StateAction state_action);

struct CallContext {
  CallType type = CallType::Direct;
  std::string caller;
};

// `devices` are the callee's known devices in ring order.
Decision decide(const CallContext& call, const core::Presence& callee,
                const core::Layers& callee_layers, const std::vector<std::string>& devices,
                const CalleeSettings& settings);

}  // namespace presenced::routing

namespace presenced::routing {

// Queues (seed 004): which members may receive a queue call, and in which order.
enum class QueueStrategy : std::uint8_t { RingAll, LongestIdle, RoundRobin };

struct QueueMember {
  std::string user;
  core::Presence presence;
  bool on_call = false;                     // a connected or held call on any device
  std::optional<core::TimePoint> last_call_end;  // for longest idle; none: never called
};

struct QueuePolicy {
  // Presence-based routing (seed 004's recommended setting): only members whose availability
  // or activity is listed get calls. Without it, every state but DND and offline does.
  bool presence_based = true;
  std::vector<core::Availability> availabilities = {core::Availability::Available};
  std::vector<core::Activity> activities;  // e.g. InAMeeting; InACall also admits members on a call
  QueueStrategy strategy = QueueStrategy::RingAll;
  int agent_ring_s = 15;  // hunting strategies: how long each agent rings before the next
};

std::string_view to_string(QueueStrategy strategy);
std::optional<QueueStrategy> parse_queue_strategy(std::string_view text);

struct QueueDecision {
  std::vector<std::string> agents;  // in the order to offer the call; all at once for RingAll
  std::string reason;               // queue, or queue_no_agent when nobody may take it
  friend bool operator==(const QueueDecision&, const QueueDecision&) = default;
};

// `rotation` counts the queue's calls so far; round robin starts at that member.
QueueDecision decide_queue(const std::vector<QueueMember>& members, const QueuePolicy& policy,
                           std::size_t rotation);

struct AgentTarget {
  std::string user;
  Target target;
  friend bool operator==(const AgentTarget&, const AgentTarget&) = default;
};

// The devices to ring for a queue call: ring-all offers every agent's devices at once; the
// hunting strategies offer agent after agent, `agent_ring_s` apart, in the decided order.
std::vector<AgentTarget> queue_targets(
    const QueueDecision& decision, const QueuePolicy& policy,
    const std::function<std::vector<std::string>(const std::string&)>& devices_of);

}  // namespace presenced::routing
