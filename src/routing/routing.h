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

// What the PBX does if nobody answers the ringing targets within `after_s` seconds.
struct NoAnswer {
  int after_s = 0;
  Action action = Action::Voicemail;  // Forward or Voicemail
  std::string destination;            // when action is Forward
  std::string reason;                 // forward_no_answer, voicemail_no_answer
  friend bool operator==(const NoAnswer&, const NoAnswer&) = default;
};

struct Decision {
  Action action = Action::Ring;
  std::vector<Target> targets;
  std::string destination;  // forward target, when action is Forward
  std::string reason;       // available, do_not_disturb, busy_on_busy, offline, ...
  std::optional<NoAnswer> no_answer;  // only with Ring
  bool show_original_caller = true;   // with Forward: the caller's number, or the callee's own
  friend bool operator==(const Decision&, const Decision&) = default;
};

// Call forwarding as Connect Desktop offers it (seed 003): off, on failure, or always.
enum class ForwardMode : std::uint8_t { Off, Failover, Always };

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

// What the callee has configured for calls; the defaults are a user who set nothing.
struct CalleeSettings {
  bool has_voicemail = true;
  bool busy_on_busy = false;  // cross-device busy-on-busy (seed 001): busy once a call is connected
  bool call_waiting = true;   // a second call during a connected one rings (seed 004)
  Forwarding forwarding;
  PersonalRouting personal;
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
};

struct QueueDecision {
  std::vector<std::string> agents;  // in the order to offer the call; all at once for RingAll
  std::string reason;               // queue, or queue_no_agent when nobody may take it
  friend bool operator==(const QueueDecision&, const QueueDecision&) = default;
};

// `rotation` counts the queue's calls so far; round robin starts at that member.
QueueDecision decide_queue(const std::vector<QueueMember>& members, const QueuePolicy& policy,
                           std::size_t rotation);

}  // namespace presenced::routing
