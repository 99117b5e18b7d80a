#pragma once

// Mapping tables between our presence and each ecosystem. Each is a pure function with
// table-driven tests (tests/unit/core/mappings_test.cpp); the facts they rest on are in
// docs/mappings.md.

#include "core/model.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::core {

// ---- Names as the API spells them (Graph words, snake_case flags). ----
std::string_view to_string(Availability availability);
std::string_view to_string(Activity activity);
std::string_view to_string(Flag flag);
std::string_view to_string(StateType type);  // FreePBX: available, chat, away, dnd, xa, unavailable
std::string_view to_string(Reachability reachability);
std::string_view to_string(CallState state);
std::string_view to_string(CallDirection direction);
std::string_view to_string(CalendarKind kind);
std::string_view to_string(InputState state);
std::string_view to_string(Layer layer);
std::optional<Availability> parse_availability(std::string_view text);
std::optional<Activity> parse_activity(std::string_view text);
std::optional<Flag> parse_flag(std::string_view text);
std::optional<StateType> parse_state_type(std::string_view text);
std::optional<Reachability> parse_reachability(std::string_view text);
std::optional<CallState> parse_call_state(std::string_view text);
std::optional<CallDirection> parse_call_direction(std::string_view text);
std::optional<CalendarKind> parse_calendar_kind(std::string_view text);
std::optional<InputState> parse_input_state(std::string_view text);
std::vector<std::string_view> flag_names(Flags flags);  // in kAllFlags order

// ---- Microsoft Graph ----
struct GraphPresence {
  Availability availability = Availability::PresenceUnknown;
  Activity activity = Activity::PresenceUnknown;
  friend bool operator==(const GraphPresence&, const GraphPresence&) = default;
};
// Our presence as Graph shows it (our values already are Graph's; extensions fold to the
// nearest Graph pair).
GraphPresence to_graph(const Presence& presence);
// Whether Graph's setPresence accepts the pair (Available/Available, Busy/InACall,
// Busy/InAConferenceCall, Away/Away, DoNotDisturb/Presenting).
bool graph_set_presence_allows(GraphPresence pair);

// ---- PIDF (RFC 3863) with RPID activities (RFC 4480) ----
struct PidfStatus {
  bool open = false;                    // <basic>open|closed</basic>
  std::vector<std::string> activities;  // RPID activity element names, e.g. "on-the-phone"
  std::string note;
  friend bool operator==(const PidfStatus&, const PidfStatus&) = default;
};
PidfStatus to_pidf(const Presence& presence);
// A PIDF document published by a SIP client, read back into a Graph pair.
GraphPresence from_pidf(const PidfStatus& status);
// What a published document says about the person (RFC 4479: activities describe the person
// whatever the device's <basic>): the pair from_pidf gives its activities as if open, or nullopt
// when it names no activity from_pidf maps.
std::optional<GraphPresence> person_from_pidf(const PidfStatus& status);

// ---- dialog-info (RFC 4235) for BLF lamps ----
enum class DialogState : std::uint8_t { Trying, Proceeding, Early, Confirmed, Terminated };
std::string_view to_string(DialogState state);
// Ringing -> early, connected or held -> confirmed, no call -> terminated (Asterisk res_pjsip).
DialogState to_dialog_state(const Presence& presence);

// ---- Asterisk / FreePBX presence state ----
struct AsteriskPresence {
  StateType type = StateType::Available;  // "available", "chat", "away", "dnd", "xa", "unavailable"
  std::string subtype;
  std::string message;
  friend bool operator==(const AsteriskPresence&, const AsteriskPresence&) = default;
};
AsteriskPresence to_asterisk(const Presence& presence);
GraphPresence from_asterisk(StateType type);

// ---- XMPP (RFC 6121) ----
enum class XmppShow : std::uint8_t { None, Chat, Away, Dnd, Xa };
std::string_view to_string(XmppShow show);
struct XmppPresence {
  bool available = false;  // false: <presence type='unavailable'/>
  XmppShow show = XmppShow::None;
  std::string status;
  friend bool operator==(const XmppPresence&, const XmppPresence&) = default;
};
XmppPresence to_xmpp(const Presence& presence);
GraphPresence from_xmpp(const XmppPresence& presence);

// ---- Colour and icon, as ProCall names them (seed 000), so every client draws the same. ----
struct Display {
  std::string_view color;  // green, red, red_bar, yellow, yellow_green, grey
  std::string_view icon;   // available, busy, do_not_disturb, away, inactive, unknown
  friend bool operator==(const Display&, const Display&) = default;
};
Display to_display(const Presence& presence);
// Group entries are always grey (seed 000).
Display group_display();

}  // namespace presenced::core
