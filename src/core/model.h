#pragma once

// The presence model: what each source says about a user (layers) and what watchers see
// (Presence). Pure data; no I/O. Rules live in aggregation.h, docs/presence-rules.md.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace presenced::core {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

inline TimePoint to_time_point(Clock::time_point t) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(t);
}

// A user id as the API, SIP and XMPP spell it (the part before @domain).
struct UserId {
  std::string value;
  friend bool operator==(const UserId&, const UserId&) = default;
  friend auto operator<=>(const UserId&, const UserId&) = default;
};

// Microsoft Graph availability, the lingua franca of the API.
enum class Availability : std::uint8_t {
  Available,
  AvailableIdle,
  Away,
  BeRightBack,
  Busy,
  BusyIdle,
  DoNotDisturb,
  Offline,
  PresenceUnknown,
};

// Microsoft Graph activity. Ringing is not an activity: it is a flag on InACall.
enum class Activity : std::uint8_t {
  Available,
  Away,
  BeRightBack,
  Busy,
  DoNotDisturb,
  InACall,
  InAConferenceCall,
  Inactive,
  InAMeeting,
  Offline,
  OffWork,
  OutOfOffice,
  PresenceUnknown,
  Presenting,
  UrgentInterruptionsOnly,
};

// ProCall-style flags beside the base state (ENetUC presence word).
enum class Flag : std::uint16_t {
  Ringing = 1u << 0,
  Call = 1u << 1,
  Conferencing = 1u << 2,
  Appointment = 1u << 3,
  Idle = 1u << 4,
  Offline = 1u << 5,
  Note = 1u << 6,
  AfterCallWork = 1u << 7,
  OutOfOffice = 1u << 8,
};

class Flags {
 public:
  constexpr Flags() = default;
  constexpr explicit Flags(std::uint16_t bits) : bits_(bits) {}
  constexpr bool has(Flag flag) const { return (bits_ & static_cast<std::uint16_t>(flag)) != 0; }
  constexpr void set(Flag flag) { bits_ |= static_cast<std::uint16_t>(flag); }
  constexpr void clear(Flag flag) { bits_ &= ~static_cast<std::uint16_t>(flag); }
  constexpr std::uint16_t bits() const { return bits_; }
  friend constexpr bool operator==(Flags, Flags) = default;

 private:
  std::uint16_t bits_ = 0;
};

inline constexpr Flag kAllFlags[] = {Flag::Ringing,    Flag::Call,   Flag::Conferencing,
                                     Flag::Appointment, Flag::Idle,   Flag::Offline,
                                     Flag::Note,        Flag::AfterCallWork, Flag::OutOfOffice};

// FreePBX / Asterisk presence state types; admin-defined states carry one of these.
enum class StateType : std::uint8_t { Available, Chat, Away, Dnd, ExtendedAway, Unavailable };

// ProCall reachability beside a manual state (AsnAbsentStateV2.eReachability).
enum class Reachability : std::uint8_t { Normal, Break, BusinessTrip, HomeOffice, Vacation };

// Visibility levels, ordered: a higher level sees more (ProCall rights table).
enum class VisibilityLevel : std::uint8_t { Blocked, Public, Business, Team, Personal };
inline constexpr int kVisibilityLevels = 5;

// ---- Layers: each source writes only its own. ----

// A state a user can pick: a built-in one (Graph words) or an admin-defined one.
struct StateDefinition {
  std::string id;  // "Available", "Busy", ... or the admin's id, e.g. "lunch"
  StateType type = StateType::Available;
  std::string message;  // FreePBX: shown in parentheses; empty for built-ins
  Availability availability = Availability::Available;
  Activity activity = Activity::Available;
  bool built_in = false;
  int order = 0;
};

struct ManualLayer {
  std::string state_id;  // resolved against the state catalog at aggregation
  std::string note;
  std::optional<TimePoint> from;
  std::optional<TimePoint> until;
  Reachability reachability = Reachability::Normal;
  TimePoint set_at{};
};

enum class CallState : std::uint8_t { Ringing, Connected, Held, Ended };
enum class CallDirection : std::uint8_t { Inbound, Outbound };

struct Call {
  std::string device;
  std::string call_id;
  CallState state = CallState::Ringing;
  CallDirection direction = CallDirection::Inbound;
  TimePoint started_at{};  // first event of this call
  TimePoint updated_at{};  // last event: the lease runs from here
};

struct TelephonyLayer {
  std::vector<Call> calls;  // active calls only; Ended removes the call
};

enum class CalendarKind : std::uint8_t { Busy, Tentative, OutOfOffice, Free };

struct Appointment {
  std::string id;
  std::string subject;
  std::string location;
  TimePoint start{};
  TimePoint end{};
  CalendarKind kind = CalendarKind::Busy;
  bool is_private = false;
  friend bool operator==(const Appointment&, const Appointment&) = default;
};

struct CalendarLayer {
  std::vector<Appointment> appointments;
};

enum class InputState : std::uint8_t { Active, Idle, Locked };

// One logged-in client (a WebSocket connection, a desktop client, later a SIP registration).
struct Session {
  std::string client_id;
  std::string kind;  // "websocket", "api", "sip"
  TimePoint since{};
  std::optional<TimePoint> lease_until;  // reported sessions must be refreshed; connections need not
  InputState input = InputState::Active;
  TimePoint input_since{};  // when `input` last changed (idle since / locked since)
};

struct SessionLayer {
  std::vector<Session> sessions;
};

// Per-user settings that the rules read.
struct UserSettings {
  std::chrono::minutes idle_after{5};  // ProCall: "Inactive" after 5 minutes by default
  std::string login_state;             // FreePBX start-session status; empty: do nothing
  std::string logout_state;            // FreePBX end-session status / Unaric logout state
  // DND call protection (seed 001): while a call is connected or held on any device, show
  // DoNotDisturb / InACall; it ends with the call (rule call_protection).
  bool dnd_protection = false;
};

// A presence document a SIP client published (RFC 3903), read into our words. RFC 4479: the
// activities and the note describe the person, <basic> only the device.
struct Publication {
  std::string etag;  // the entity tag the client refreshes, modifies or removes it by
  bool open = false;  // <basic>open</basic>: the device is online and counts as a session
  // An RPID activity we map (core::person_from_pidf) gives the pair; without one the pair stays
  // Available/Available and only a note (on an open device) says something.
  bool has_activity = false;
  Availability availability = Availability::Available;
  Activity activity = Activity::Available;
  std::string note;
  TimePoint set_at{};      // when the client last published a body (a refresh keeps it)
  TimePoint expires_at{};  // RFC 3903 §4: gone after this unless refreshed

  // Whether it says something about the person, and so competes with the manual layer.
  bool speaks() const { return has_activity || (open && !note.empty()); }
  friend bool operator==(const Publication&, const Publication&) = default;
};

struct PublishedLayer {
  std::vector<Publication> publications;  // live ones; the engine drops them at expires_at
};

// The presence another server reports for one of its users (a remote presentity seen over
// SIP or XMPP federation). That server has already applied its own visibility rules.
struct RemotePresence {
  std::string address;  // "sip:bob@example.org", "xmpp:bob@example.org": where it comes from
  bool known = false;   // false until the peer has said anything, or once it stops answering
  Availability availability = Availability::Offline;
  Activity activity = Activity::Offline;
  std::string note;
  TimePoint updated_at{};
  friend bool operator==(const RemotePresence&, const RemotePresence&) = default;
};

// What Microsoft Teams shows for the user (Graph presence), a channel of its own beside ours
// (seed 001). Not durable: the Teams connector reads it again at start.
struct TeamsLayer {
  Availability availability = Availability::PresenceUnknown;
  Activity activity = Activity::PresenceUnknown;
  // Teams shows what our own session or mirrored preference set there: it is shown, but never
  // comes back into our presence (loop suppression).
  bool from_us = false;
  TimePoint since{};  // when Teams began to show this pair
  friend bool operator==(const TeamsLayer&, const TeamsLayer&) = default;
};

struct Layers {
  std::optional<ManualLayer> manual;
  TelephonyLayer telephony;
  CalendarLayer calendar;
  SessionLayer sessions;
  PublishedLayer published;
  // Set only for a remote presentity: then it is the whole presence (rule remote_presence).
  std::optional<RemotePresence> remote;
  std::optional<TeamsLayer> teams;
};

// ---- What watchers see. ----

enum class Layer : std::uint8_t { None, Manual, Telephony, Calendar, Idle, Sessions, Sip, Remote, Teams };

// Why the user shows what they show: which layer won and by which rule.
struct Explanation {
  Layer layer = Layer::None;
  std::string rule;    // machine code, see docs/presence-rules.md
  std::string detail;  // for people, e.g. "connected on desk"
  friend bool operator==(const Explanation&, const Explanation&) = default;
};

// Another system's own presence of the user, shown beside ours (the Teams icon of seed 001).
struct ExternalPresence {
  Availability availability = Availability::PresenceUnknown;
  Activity activity = Activity::PresenceUnknown;
  friend bool operator==(const ExternalPresence&, const ExternalPresence&) = default;
};

struct Presence {
  Availability availability = Availability::Offline;
  Activity activity = Activity::Offline;
  Flags flags;
  std::string state_id;  // manual state in force, if any
  std::string note;
  std::optional<TimePoint> until;
  Reachability reachability = Reachability::Normal;
  std::optional<Appointment> current_appointment;
  // The next to start (busy, tentative or out of office): ProCall shows it beside the current.
  std::optional<Appointment> next_appointment;
  std::vector<std::string> busy_devices;  // devices with a call
  Explanation explanation;
  std::optional<ExternalPresence> teams;

  friend bool operator==(const Presence&, const Presence&) = default;
};

}  // namespace presenced::core
