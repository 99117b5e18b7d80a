#include "core/mappings.h"

#include <array>
#include <utility>

namespace presenced::core {
namespace {

// One table per enum, shared by to_string and parse so the two can never disagree.
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

template <typename E, std::size_t N>
constexpr std::string_view name_of(const Names<E, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) {
      return name;
    }
  }
  return "unknown";
}

template <typename E, std::size_t N>
constexpr std::optional<E> value_of(const Names<E, N>& table, std::string_view text) {
  for (const auto& [v, name] : table) {
    if (name == text) {
      return v;
    }
  }
  return std::nullopt;
}

constexpr Names<Availability, 9> kAvailability{{
    {Availability::Available, "Available"},
    {Availability::AvailableIdle, "AvailableIdle"},
    {Availability::Away, "Away"},
    {Availability::BeRightBack, "BeRightBack"},
    {Availability::Busy, "Busy"},
    {Availability::BusyIdle, "BusyIdle"},
    {Availability::DoNotDisturb, "DoNotDisturb"},
    {Availability::Offline, "Offline"},
    {Availability::PresenceUnknown, "PresenceUnknown"},
}};

constexpr Names<Activity, 15> kActivity{{
    {Activity::Available, "Available"},
    {Activity::Away, "Away"},
    {Activity::BeRightBack, "BeRightBack"},
    {Activity::Busy, "Busy"},
    {Activity::DoNotDisturb, "DoNotDisturb"},
    {Activity::InACall, "InACall"},
    {Activity::InAConferenceCall, "InAConferenceCall"},
    {Activity::Inactive, "Inactive"},
    {Activity::InAMeeting, "InAMeeting"},
    {Activity::Offline, "Offline"},
    {Activity::OffWork, "OffWork"},
    {Activity::OutOfOffice, "OutOfOffice"},
    {Activity::PresenceUnknown, "PresenceUnknown"},
    {Activity::Presenting, "Presenting"},
    {Activity::UrgentInterruptionsOnly, "UrgentInterruptionsOnly"},
}};

constexpr Names<Flag, 9> kFlags{{
    {Flag::Ringing, "ringing"},
    {Flag::Call, "call"},
    {Flag::Conferencing, "conferencing"},
    {Flag::Appointment, "appointment"},
    {Flag::Idle, "idle"},
    {Flag::Offline, "offline"},
    {Flag::Note, "note"},
    {Flag::AfterCallWork, "after_call_work"},
    {Flag::OutOfOffice, "out_of_office"},
}};

constexpr Names<StateType, 6> kStateTypes{{
    {StateType::Available, "available"},
    {StateType::Chat, "chat"},
    {StateType::Away, "away"},
    {StateType::Dnd, "dnd"},
    {StateType::ExtendedAway, "xa"},
    {StateType::Unavailable, "unavailable"},
}};

constexpr Names<Reachability, 5> kReachability{{
    {Reachability::Normal, "normal"},
    {Reachability::Break, "break"},
    {Reachability::BusinessTrip, "business_trip"},
    {Reachability::HomeOffice, "home_office"},
    {Reachability::Vacation, "vacation"},
}};

constexpr Names<CallState, 4> kCallStates{{
    {CallState::Ringing, "ringing"},
    {CallState::Connected, "connected"},
    {CallState::Held, "held"},
    {CallState::Ended, "ended"},
}};

constexpr Names<CallDirection, 2> kCallDirections{{
    {CallDirection::Inbound, "inbound"},
    {CallDirection::Outbound, "outbound"},
}};

constexpr Names<CalendarKind, 4> kCalendarKinds{{
    {CalendarKind::Busy, "busy"},
    {CalendarKind::Tentative, "tentative"},
    {CalendarKind::OutOfOffice, "out_of_office"},
    {CalendarKind::Free, "free"},
}};

constexpr Names<InputState, 3> kInputStates{{
    {InputState::Active, "active"},
    {InputState::Idle, "idle"},
    {InputState::Locked, "locked"},
}};

constexpr Names<Layer, 9> kLayers{{
    {Layer::None, "none"},
    {Layer::Manual, "manual"},
    {Layer::Telephony, "telephony"},
    {Layer::Calendar, "calendar"},
    {Layer::Idle, "idle"},
    {Layer::Sessions, "sessions"},
    {Layer::Sip, "sip"},
    {Layer::Remote, "remote"},
    {Layer::Teams, "teams"},
}};

constexpr Names<DialogState, 5> kDialogStates{{
    {DialogState::Trying, "trying"},
    {DialogState::Proceeding, "proceeding"},
    {DialogState::Early, "early"},
    {DialogState::Confirmed, "confirmed"},
    {DialogState::Terminated, "terminated"},
}};

constexpr Names<XmppShow, 5> kXmppShows{{
    {XmppShow::None, ""},
    {XmppShow::Chat, "chat"},
    {XmppShow::Away, "away"},
    {XmppShow::Dnd, "dnd"},
    {XmppShow::Xa, "xa"},
}};

bool on_the_phone(const Presence& p) {
  return p.flags.has(Flag::Ringing) || p.flags.has(Flag::Call) ||
         p.activity == Activity::InACall || p.activity == Activity::InAConferenceCall;
}

bool out_of_office(const Presence& p) {
  return p.activity == Activity::OutOfOffice || p.activity == Activity::OffWork;
}

}  // namespace

std::string_view to_string(Availability v) { return name_of(kAvailability, v); }
std::string_view to_string(Activity v) { return name_of(kActivity, v); }
std::string_view to_string(Flag v) { return name_of(kFlags, v); }
std::string_view to_string(StateType v) { return name_of(kStateTypes, v); }
std::string_view to_string(Reachability v) { return name_of(kReachability, v); }
std::string_view to_string(CallState v) { return name_of(kCallStates, v); }
std::string_view to_string(CallDirection v) { return name_of(kCallDirections, v); }
std::string_view to_string(CalendarKind v) { return name_of(kCalendarKinds, v); }
std::string_view to_string(InputState v) { return name_of(kInputStates, v); }
std::string_view to_string(Layer v) { return name_of(kLayers, v); }
std::string_view to_string(DialogState v) { return name_of(kDialogStates, v); }
std::string_view to_string(XmppShow v) { return name_of(kXmppShows, v); }

std::optional<Availability> parse_availability(std::string_view t) {
  return value_of(kAvailability, t);
}
std::optional<Activity> parse_activity(std::string_view t) { return value_of(kActivity, t); }
std::optional<Flag> parse_flag(std::string_view t) { return value_of(kFlags, t); }
std::optional<StateType> parse_state_type(std::string_view t) {
  return value_of(kStateTypes, t);
}
std::optional<Reachability> parse_reachability(std::string_view t) {
  return value_of(kReachability, t);
}
std::optional<CallState> parse_call_state(std::string_view t) {
  return value_of(kCallStates, t);
}
std::optional<CallDirection> parse_call_direction(std::string_view t) {
  return value_of(kCallDirections, t);
}
std::optional<CalendarKind> parse_calendar_kind(std::string_view t) {
  return value_of(kCalendarKinds, t);
}
std::optional<InputState> parse_input_state(std::string_view t) {
  return value_of(kInputStates, t);
}

std::vector<std::string_view> flag_names(Flags flags) {
  std::vector<std::string_view> out;
  for (const auto& [flag, name] : kFlags) {
    if (flags.has(flag)) {
      out.push_back(name);
    }
  }
  return out;
}

// ---- Microsoft Graph ----

GraphPresence to_graph(const Presence& presence) {
  return {presence.availability, presence.activity};
}

// The pairs setPresence accepts (reference §1.4, Graph presence-setpresence).
bool graph_set_presence_allows(GraphPresence pair) {
  static constexpr GraphPresence kAllowed[] = {
      {Availability::Available, Activity::Available},
      {Availability::Busy, Activity::InACall},
      {Availability::Busy, Activity::InAConferenceCall},
      {Availability::Away, Activity::Away},
      {Availability::DoNotDisturb, Activity::Presenting},
  };
  for (const GraphPresence& allowed : kAllowed) {
    if (allowed == pair) {
      return true;
    }
  }
  return false;
}

// ---- PIDF + RPID ----

// RFC 4480 has no "do not disturb": "busy" is the closest activity; DND callers also get the
// note. Out of office maps to "vacation" (RFC 4480 §3.2: absent for a longer period).
PidfStatus to_pidf(const Presence& presence) {
  PidfStatus out;
  out.open = presence.availability != Availability::Offline &&
             presence.availability != Availability::PresenceUnknown;
  out.note = presence.note;
  if (!out.open) {
    return out;
  }
  auto add = [&](std::string_view activity) { out.activities.emplace_back(activity); };
  if (on_the_phone(presence)) {
    add("on-the-phone");
  } else if (presence.activity == Activity::InAMeeting) {
    add("meeting");
  } else if (presence.activity == Activity::Presenting) {
    add("presentation");
  } else if (presence.availability == Availability::DoNotDisturb ||
             presence.availability == Availability::Busy ||
             presence.availability == Availability::BusyIdle) {
    add("busy");
  } else if (out_of_office(presence)) {
    add("vacation");
  } else if (presence.availability == Availability::Away ||
             presence.availability == Availability::BeRightBack) {
    add("away");
  }
  if (presence.flags.has(Flag::Appointment) && presence.activity != Activity::InAMeeting) {
    add("appointment");
  }
  return out;
}

GraphPresence from_pidf(const PidfStatus& status) {
  if (!status.open) {
    return {Availability::Offline, Activity::Offline};
  }
  auto has = [&](std::string_view activity) {
    for (const std::string& a : status.activities) {
      if (a == activity) {
        return true;
      }
    }
    return false;
  };
  if (has("on-the-phone")) return {Availability::Busy, Activity::InACall};
  if (has("meeting")) return {Availability::Busy, Activity::InAMeeting};
  if (has("presentation")) return {Availability::DoNotDisturb, Activity::Presenting};
  if (has("busy") || has("appointment")) return {Availability::Busy, Activity::Busy};
  if (has("vacation") || has("holiday") || has("permanent-absence")) {
    return {Availability::Away, Activity::OutOfOffice};
  }
  if (has("away") || has("lunch") || has("meal") || has("breakfast") || has("dinner") ||
      has("travel") || has("in-transit") || has("shopping") || has("sleeping")) {
    return {Availability::Away, Activity::Away};
  }
  return {Availability::Available, Activity::Available};
}

std::optional<GraphPresence> person_from_pidf(const PidfStatus& status) {
  PidfStatus person = status;
  person.open = true;
  const GraphPresence pair = from_pidf(person);
  if (pair == GraphPresence{Availability::Available, Activity::Available}) {
    return std::nullopt;  // no activity, or only ones we do not map ("unknown", "other", ...)
  }
  return pair;
}

// ---- dialog-info: ringing -> early, connected or held -> confirmed (Asterisk res_pjsip). ----

DialogState to_dialog_state(const Presence& presence) {
  if (presence.flags.has(Flag::Call)) {
    return DialogState::Confirmed;
  }
  if (presence.flags.has(Flag::Ringing)) {
    return DialogState::Early;
  }
  return DialogState::Terminated;
}

// ---- Asterisk / FreePBX ----

// Asterisk keeps calls in device state, not presence state, and has no "busy" presence type; a
// user who chose Busy asks not to be bothered, which FreePBX expresses as "dnd" ("I am busy, do
// not bother me", seed 002).
AsteriskPresence to_asterisk(const Presence& presence) {
  AsteriskPresence out;
  out.message = presence.note;
  if (presence.availability == Availability::Offline ||
      presence.availability == Availability::PresenceUnknown) {
    out.type = StateType::Unavailable;
  } else if (out_of_office(presence)) {
    out.type = StateType::ExtendedAway;
  } else if (presence.availability == Availability::DoNotDisturb ||
             presence.availability == Availability::Busy ||
             presence.availability == Availability::BusyIdle) {
    out.type = StateType::Dnd;
  } else if (presence.availability == Availability::Away ||
             presence.availability == Availability::BeRightBack) {
    out.type = StateType::Away;
  } else {
    out.type = StateType::Available;
  }
  return out;
}

GraphPresence from_asterisk(StateType type) {
  switch (type) {
    case StateType::Available:
    case StateType::Chat:
      return {Availability::Available, Activity::Available};
    case StateType::Away:
      return {Availability::Away, Activity::Away};
    case StateType::Dnd:
      return {Availability::DoNotDisturb, Activity::DoNotDisturb};
    case StateType::ExtendedAway:
      return {Availability::Away, Activity::OutOfOffice};
    case StateType::Unavailable:
      return {Availability::Offline, Activity::OffWork};
  }
  return {Availability::PresenceUnknown, Activity::PresenceUnknown};
}

// ---- XMPP (RFC 6121 §4.7.2.1: show is away, chat, dnd or xa; absent means available) ----

XmppPresence to_xmpp(const Presence& presence) {
  XmppPresence out;
  out.status = presence.note;
  if (presence.availability == Availability::Offline ||
      presence.availability == Availability::PresenceUnknown) {
    return out;
  }
  out.available = true;
  if (out_of_office(presence)) {
    out.show = XmppShow::Xa;
  } else if (presence.availability == Availability::Busy ||
             presence.availability == Availability::BusyIdle ||
             presence.availability == Availability::DoNotDisturb) {
    out.show = XmppShow::Dnd;
  } else if (presence.availability == Availability::Away ||
             presence.availability == Availability::BeRightBack ||
             presence.availability == Availability::AvailableIdle) {
    out.show = XmppShow::Away;
  }
  return out;
}

GraphPresence from_xmpp(const XmppPresence& presence) {
  if (!presence.available) {
    return {Availability::Offline, Activity::Offline};
  }
  switch (presence.show) {
    case XmppShow::None:
    case XmppShow::Chat:
      return {Availability::Available, Activity::Available};
    case XmppShow::Away:
      return {Availability::Away, Activity::Away};
    case XmppShow::Xa:
      return {Availability::Away, Activity::OutOfOffice};
    case XmppShow::Dnd:
      return {Availability::DoNotDisturb, Activity::DoNotDisturb};
  }
  return {Availability::Available, Activity::Available};
}

// ---- Colour and icon (seed 000: fixed colours that "correspond to a standard"). ----

Display to_display(const Presence& presence) {
  switch (presence.availability) {
    case Availability::Available:
      return {"green", "available"};
    case Availability::AvailableIdle:
      return {"yellow_green", "inactive"};
    case Availability::Busy:
    case Availability::BusyIdle:
      return {"red", "busy"};
    case Availability::DoNotDisturb:
      return {"red_bar", "do_not_disturb"};
    case Availability::Away:
    case Availability::BeRightBack:
      return {"yellow", "away"};
    case Availability::Offline:
    case Availability::PresenceUnknown:
      return {"grey", "unknown"};
  }
  return {"grey", "unknown"};
}

Display group_display() { return {"grey", "unknown"}; }

}  // namespace presenced::core
