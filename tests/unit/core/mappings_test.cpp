#include "core/mappings.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presenced::core {

// Readable failure messages for the mapping results (internal linkage: found by ADL, private to
// this file).
static void PrintTo(const GraphPresence& p, std::ostream* os) {
  *os << to_string(p.availability) << "/" << to_string(p.activity);
}
static void PrintTo(const PidfStatus& s, std::ostream* os) {
  *os << (s.open ? "open" : "closed") << " [";
  for (const std::string& a : s.activities) {
    *os << " " << a;
  }
  *os << " ] note='" << s.note << "'";
}
static void PrintTo(const AsteriskPresence& p, std::ostream* os) {
  *os << to_string(p.type) << "," << p.subtype << "," << p.message;
}
static void PrintTo(const XmppPresence& p, std::ostream* os) {
  *os << (p.available ? "available" : "unavailable") << " show='" << to_string(p.show)
      << "' status='" << p.status << "'";
}
static void PrintTo(const Display& d, std::ostream* os) { *os << d.color << "/" << d.icon; }

namespace {

// Every table below is written out from the vocabulary it stands for (docs/mappings.md), never
// computed from the code under test.

Flags flags_of(std::initializer_list<Flag> list) {
  Flags flags;
  for (Flag f : list) {
    flags.set(f);
  }
  return flags;
}

Presence presence(Availability availability, Activity activity, Flags flags = {},
                  std::string note = {}) {
  Presence p;
  p.availability = availability;
  p.activity = activity;
  p.flags = flags;
  p.note = std::move(note);
  return p;
}

template <typename E>
struct NameCase {
  E value;
  std::string_view name;
};

// Checks a name table lists every enumerator once, in enum order, with its name.
template <typename E, std::size_t N>
void expect_names(const NameCase<E> (&cases)[N]) {
  for (std::size_t i = 0; i < N; ++i) {
    const NameCase<E>& c = cases[i];
    SCOPED_TRACE(c.name);
    EXPECT_EQ(static_cast<std::size_t>(c.value), i) << "table out of enum order";
    EXPECT_EQ(to_string(c.value), c.name);
  }
  // One past the last enumerator has no name.
  EXPECT_EQ(to_string(static_cast<E>(N)), "unknown");
}

// The same, and that each name parses back to its enumerator.
template <typename E, std::size_t N, typename Parse>
void expect_names(const NameCase<E> (&cases)[N], Parse parse) {
  expect_names(cases);
  for (const NameCase<E>& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parse(c.name), std::optional<E>(c.value));
  }
}

template <typename Parse>
void expect_unparsed(std::initializer_list<const char*> texts, Parse parse) {
  for (const char* text : texts) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse(text).has_value());
  }
}

// ---- Names: Microsoft Graph presence resource (availability, activity). ----

TEST(MappingsNamesTest, AvailabilityIsGraphsWord) {
  const NameCase<Availability> cases[] = {
      {Availability::Available, "Available"},
      {Availability::AvailableIdle, "AvailableIdle"},
      {Availability::Away, "Away"},
      {Availability::BeRightBack, "BeRightBack"},
      {Availability::Busy, "Busy"},
      {Availability::BusyIdle, "BusyIdle"},
      {Availability::DoNotDisturb, "DoNotDisturb"},
      {Availability::Offline, "Offline"},
      {Availability::PresenceUnknown, "PresenceUnknown"},
  };
  expect_names(cases, parse_availability);
}

TEST(MappingsNamesTest, UnknownAvailabilityDoesNotParse) {
  // Case matters (Graph spells PascalCase); activities and Teams UI words are not availabilities;
  // AvailableInactive is a timeout fade Graph shows but not a member of the enumeration.
  expect_unparsed({"", "available", "AVAILABLE", " Available", "Available ", "Available\n", "DND",
                   "Do not disturb", "OutOfOffice", "InACall", "AvailableInactive", "Unknown",
                   "unknown", "Focusing"},
                  parse_availability);
}

TEST(MappingsNamesTest, ActivityIsGraphsWord) {
  const NameCase<Activity> cases[] = {
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
  };
  expect_names(cases, parse_activity);
}

TEST(MappingsNamesTest, UnknownActivityDoesNotParse) {
  expect_unparsed({"", "inacall", "InaCall", "In a call", "Ringing", "AvailableIdle", "BusyIdle",
                   "Focusing", "Presenting ", "on-the-phone"},
                  parse_activity);
}

// ---- Names: the API's snake_case words (ENetUC flags, FreePBX types, ProCall reachability). ----

TEST(MappingsNamesTest, FlagNames) {
  const NameCase<Flag> cases[] = {
      {Flag::Ringing, "ringing"},
      {Flag::Call, "call"},
      {Flag::Conferencing, "conferencing"},
      {Flag::Appointment, "appointment"},
      {Flag::Idle, "idle"},
      {Flag::Offline, "offline"},
      {Flag::Note, "note"},
      {Flag::AfterCallWork, "after_call_work"},
      {Flag::OutOfOffice, "out_of_office"},
  };
  for (const NameCase<Flag>& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_string(c.value), c.name);
    EXPECT_EQ(parse_flag(c.name), c.value);
  }
  // Not a single flag: two bits together, or a bit past the last flag.
  EXPECT_EQ(to_string(static_cast<Flag>(0x3)), "unknown");
  EXPECT_EQ(to_string(static_cast<Flag>(0x200)), "unknown");
  expect_unparsed({"", "Ringing", "RINGING", "after-call-work", "afterCallWork", "workingaftercall",
                   "outofoffice", "notset", "mobile_availability"},
                  parse_flag);
}

TEST(MappingsNamesTest, FlagNamesListSetFlagsInOrder) {
  struct Case {
    Flags flags;
    std::vector<std::string_view> names;
  };
  const Case cases[] = {
      {Flags(), {}},
      {flags_of({Flag::Call}), {"call"}},
      // Order is kAllFlags order, not the order they were set in.
      {flags_of({Flag::OutOfOffice, Flag::Ringing}), {"ringing", "out_of_office"}},
      {flags_of({Flag::Note, Flag::Idle, Flag::Appointment}), {"appointment", "idle", "note"}},
      {Flags(0x1ff),
       {"ringing", "call", "conferencing", "appointment", "idle", "offline", "note",
        "after_call_work", "out_of_office"}},
      // Bits that are not flags are not named.
      {Flags(0xfe00 | 0x2), {"call"}},
      {Flags(0xfe00), {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flags.bits());
    EXPECT_EQ(flag_names(c.flags), c.names);
  }
}

TEST(MappingsNamesTest, StateTypeIsFreePbxsWord) {
  const NameCase<StateType> cases[] = {
      {StateType::Available, "available"}, {StateType::Chat, "chat"},
      {StateType::Away, "away"},           {StateType::Dnd, "dnd"},
      {StateType::ExtendedAway, "xa"},     {StateType::Unavailable, "unavailable"},
  };
  expect_names(cases, parse_state_type);
  // Asterisk's not_set is not a state a user can be in; there is no "busy" presence type.
  expect_unparsed({"", "Available", "DND", "extended_away", "Extended Away", "busy", "not_set",
                   "invalid", "xa "},
                  parse_state_type);
}

TEST(MappingsNamesTest, ReachabilityNames) {
  const NameCase<Reachability> cases[] = {
      {Reachability::Normal, "normal"},
      {Reachability::Break, "break"},
      {Reachability::BusinessTrip, "business_trip"},
      {Reachability::HomeOffice, "home_office"},
      {Reachability::Vacation, "vacation"},
  };
  expect_names(cases, parse_reachability);
  // The ASN.1 spellings (PAUSE, BUSINESSTRIP) are not the API's.
  expect_unparsed({"", "Normal", "pause", "businesstrip", "business-trip", "homeoffice", "holiday"},
                  parse_reachability);
}

TEST(MappingsNamesTest, CallStateNames) {
  const NameCase<CallState> cases[] = {
      {CallState::Ringing, "ringing"},
      {CallState::Connected, "connected"},
      {CallState::Held, "held"},
      {CallState::Ended, "ended"},
  };
  expect_names(cases, parse_call_state);
  // Dialog-info and device-state words are not call states of the API.
  expect_unparsed({"", "Ringing", "early", "confirmed", "terminated", "onhold", "inuse", "hold"},
                  parse_call_state);
}

TEST(MappingsNamesTest, CallDirectionNames) {
  const NameCase<CallDirection> cases[] = {
      {CallDirection::Inbound, "inbound"},
      {CallDirection::Outbound, "outbound"},
  };
  expect_names(cases, parse_call_direction);
  expect_unparsed({"", "in", "out", "incoming", "outgoing", "Inbound", "recipient", "initiator"},
                  parse_call_direction);
}

TEST(MappingsNamesTest, CalendarKindNames) {
  const NameCase<CalendarKind> cases[] = {
      {CalendarKind::Busy, "busy"},
      {CalendarKind::Tentative, "tentative"},
      {CalendarKind::OutOfOffice, "out_of_office"},
      {CalendarKind::Free, "free"},
  };
  expect_names(cases, parse_calendar_kind);
  // Graph's showAs spellings are not the API's.
  expect_unparsed(
      {"", "oof", "outOfOffice", "workingElsewhere", "working_elsewhere", "Busy", "unknown"},
      parse_calendar_kind);
}

TEST(MappingsNamesTest, InputStateNames) {
  const NameCase<InputState> cases[] = {
      {InputState::Active, "active"},
      {InputState::Idle, "idle"},
      {InputState::Locked, "locked"},
  };
  expect_names(cases, parse_input_state);
  expect_unparsed({"", "Idle", "away", "inactive", "unlocked", "screen_locked"}, parse_input_state);
}

TEST(MappingsNamesTest, LayerNames) {
  const NameCase<Layer> cases[] = {
      {Layer::None, "none"},         {Layer::Manual, "manual"}, {Layer::Telephony, "telephony"},
      {Layer::Calendar, "calendar"}, {Layer::Idle, "idle"},     {Layer::Sessions, "sessions"},
      {Layer::Sip, "sip"},           {Layer::Remote, "remote"}, {Layer::Teams, "teams"},
  };
  expect_names(cases);
}

// ---- Microsoft Graph ----

struct GraphCase {
  Presence in;
  GraphPresence expected;
};

// Our availability and activity are Graph's own words: the pair passes through unchanged, and
// flags or the note never change it.
TEST(MappingsGraphTest, ToGraphPassesThePairThrough) {
  const GraphCase cases[] = {
      {presence(Availability::Available, Activity::Available),
       {Availability::Available, Activity::Available}},
      {presence(Availability::AvailableIdle, Activity::Inactive, flags_of({Flag::Idle})),
       {Availability::AvailableIdle, Activity::Inactive}},
      {presence(Availability::Available, Activity::OutOfOffice, flags_of({Flag::OutOfOffice})),
       {Availability::Available, Activity::OutOfOffice}},
      {presence(Availability::Away, Activity::OutOfOffice),
       {Availability::Away, Activity::OutOfOffice}},
      {presence(Availability::Away, Activity::Away, {}, "lunch"),
       {Availability::Away, Activity::Away}},
      {presence(Availability::BeRightBack, Activity::BeRightBack),
       {Availability::BeRightBack, Activity::BeRightBack}},
      {presence(Availability::Busy, Activity::Busy), {Availability::Busy, Activity::Busy}},
      {presence(Availability::Busy, Activity::InACall, flags_of({Flag::Ringing})),
       {Availability::Busy, Activity::InACall}},
      {presence(Availability::Busy, Activity::InAMeeting, flags_of({Flag::Appointment})),
       {Availability::Busy, Activity::InAMeeting}},
      {presence(Availability::BusyIdle, Activity::InACall, flags_of({Flag::Call, Flag::Idle})),
       {Availability::BusyIdle, Activity::InACall}},
      {presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       {Availability::DoNotDisturb, Activity::DoNotDisturb}},
      {presence(Availability::DoNotDisturb, Activity::Presenting),
       {Availability::DoNotDisturb, Activity::Presenting}},
      {presence(Availability::Offline, Activity::OffWork, flags_of({Flag::Offline})),
       {Availability::Offline, Activity::OffWork}},
      {presence(Availability::Offline, Activity::Offline),
       {Availability::Offline, Activity::Offline}},
      {presence(Availability::PresenceUnknown, Activity::PresenceUnknown),
       {Availability::PresenceUnknown, Activity::PresenceUnknown}},
  };
  for (const GraphCase& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.expected));
    EXPECT_EQ(to_graph(c.in), c.expected);
  }
}

// Graph setPresence accepts exactly five pairs; every other one of the 9 x 15 is refused.
TEST(MappingsGraphTest, SetPresenceAcceptsOnlyItsFivePairs) {
  const GraphPresence allowed[] = {
      {Availability::Available, Activity::Available},     {Availability::Busy, Activity::InACall},
      {Availability::Busy, Activity::InAConferenceCall},  {Availability::Away, Activity::Away},
      {Availability::DoNotDisturb, Activity::Presenting},
  };
  int accepted = 0;
  for (int a = 0; a <= static_cast<int>(Availability::PresenceUnknown); ++a) {
    for (int b = 0; b <= static_cast<int>(Activity::UrgentInterruptionsOnly); ++b) {
      const GraphPresence pair{static_cast<Availability>(a), static_cast<Activity>(b)};
      bool expected = false;
      for (const GraphPresence& ok : allowed) {
        expected =
            expected || (ok.availability == pair.availability && ok.activity == pair.activity);
      }
      SCOPED_TRACE(::testing::PrintToString(pair));
      EXPECT_EQ(graph_set_presence_allows(pair), expected);
      accepted += graph_set_presence_allows(pair) ? 1 : 0;
    }
  }
  EXPECT_EQ(accepted, 5);
}

TEST(MappingsGraphTest, SetPresenceRefusesPreferredPresencePairs) {
  // setUserPreferredPresence pairs that setPresence does not take, and what Teams sets itself.
  const GraphPresence refused[] = {
      {Availability::Busy, Activity::Busy},
      {Availability::DoNotDisturb, Activity::DoNotDisturb},
      {Availability::BeRightBack, Activity::BeRightBack},
      {Availability::Offline, Activity::OffWork},
      {Availability::Busy, Activity::InAMeeting},
      {Availability::Available, Activity::OutOfOffice},
      {Availability::AvailableIdle, Activity::Inactive},
      {Availability::Away, Activity::Available},
  };
  for (const GraphPresence& pair : refused) {
    SCOPED_TRACE(::testing::PrintToString(pair));
    EXPECT_FALSE(graph_set_presence_allows(pair));
  }
}

// ---- PIDF basic status + RPID activities ----

struct PidfCase {
  const char* name;
  Presence in;
  PidfStatus expected;
};

TEST(MappingsPidfTest, ToPidf) {
  const PidfCase cases[] = {
      // Basic status: closed only when offline or unknown.
      {"available", presence(Availability::Available, Activity::Available), {true, {}, ""}},
      {"available idle",
       presence(Availability::AvailableIdle, Activity::Inactive, flags_of({Flag::Idle})),
       {true, {}, ""}},
      {"offline",
       presence(Availability::Offline, Activity::Offline, flags_of({Flag::Offline})),
       {false, {}, ""}},
      {"appear offline keeps the note",
       presence(Availability::Offline, Activity::OffWork, flags_of({Flag::Offline, Flag::Note}),
                "back Monday"),
       {false, {}, "back Monday"}},
      {"unknown",
       presence(Availability::PresenceUnknown, Activity::PresenceUnknown),
       {false, {}, ""}},
      // RFC 4480 has no do-not-disturb: busy is the nearest activity.
      {"busy", presence(Availability::Busy, Activity::Busy), {true, {"busy"}, ""}},
      {"busy idle",
       presence(Availability::BusyIdle, Activity::Busy, flags_of({Flag::Idle})),
       {true, {"busy"}, ""}},
      {"do not disturb",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       {true, {"busy"}, ""}},
      {"away", presence(Availability::Away, Activity::Away), {true, {"away"}, ""}},
      {"be right back",
       presence(Availability::BeRightBack, Activity::BeRightBack),
       {true, {"away"}, ""}},
      // A call, ringing or connected, on any device, or a call activity: on-the-phone.
      {"ringing",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Ringing})),
       {true, {"on-the-phone"}, ""}},
      {"call",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call})),
       {true, {"on-the-phone"}, ""}},
      {"call while idle",
       presence(Availability::BusyIdle, Activity::InACall, flags_of({Flag::Call, Flag::Idle})),
       {true, {"on-the-phone"}, ""}},
      {"conference call activity",
       presence(Availability::Busy, Activity::InAConferenceCall),
       {true, {"on-the-phone"}, ""}},
      {"call activity without a flag",
       presence(Availability::Busy, Activity::InACall),
       {true, {"on-the-phone"}, ""}},
      {"call under do not disturb",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb, flags_of({Flag::Call})),
       {true, {"on-the-phone"}, ""}},
      {"ringing under a manual away",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Ringing})),
       {true, {"on-the-phone"}, ""}},
      // Meetings and presentations.
      {"meeting",
       presence(Availability::Busy, Activity::InAMeeting, flags_of({Flag::Appointment})),
       {true, {"meeting"}, ""}},
      {"presenting",
       presence(Availability::DoNotDisturb, Activity::Presenting),
       {true, {"presentation"}, ""}},
      // Out of office: absent for a longer period, vacation.
      {"available out of office",
       presence(Availability::Available, Activity::OutOfOffice, flags_of({Flag::OutOfOffice})),
       {true, {"vacation"}, ""}},
      {"away out of office",
       presence(Availability::Away, Activity::OutOfOffice, flags_of({Flag::OutOfOffice})),
       {true, {"vacation"}, ""}},
      {"manual busy during out of office",
       presence(Availability::Busy, Activity::Busy, flags_of({Flag::OutOfOffice})),
       {true, {"busy"}, ""}},
      // An appointment that is not the meeting shown is added as its own activity.
      {"tentative appointment",
       presence(Availability::Available, Activity::Available, flags_of({Flag::Appointment})),
       {true, {"appointment"}, ""}},
      {"call during an appointment",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call, Flag::Appointment})),
       {true, {"on-the-phone", "appointment"}, ""}},
      {"do not disturb during an appointment",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb, flags_of({Flag::Appointment})),
       {true, {"busy", "appointment"}, ""}},
      {"away during an appointment",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Appointment})),
       {true, {"away", "appointment"}, ""}},
      {"offline hides the appointment",
       presence(Availability::Offline, Activity::Offline, flags_of({Flag::Appointment})),
       {false, {}, ""}},
      // The note always goes out as <note>.
      {"note",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Note}), "back at 3"),
       {true, {"away"}, "back at 3"}},
      {"note while available",
       presence(Availability::Available, Activity::Available, flags_of({Flag::Note}), "desk 4"),
       {true, {}, "desk 4"}},
  };
  for (const PidfCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_pidf(c.in), c.expected);
  }
}

struct FromPidfCase {
  bool open;
  std::vector<std::string> activities;
  GraphPresence expected;
};

// Every RFC 4480 activity on its own, as a SIP client would publish it.
TEST(MappingsPidfTest, FromPidfEachRpidActivity) {
  const GraphPresence available{Availability::Available, Activity::Available};
  const GraphPresence away{Availability::Away, Activity::Away};
  const GraphPresence busy{Availability::Busy, Activity::Busy};
  const GraphPresence out_of_office{Availability::Away, Activity::OutOfOffice};
  const FromPidfCase cases[] = {
      {true, {"appointment"}, busy},
      {true, {"away"}, away},
      {true, {"breakfast"}, away},
      {true, {"busy"}, busy},
      {true, {"dinner"}, away},
      {true, {"holiday"}, out_of_office},
      {true, {"in-transit"}, away},
      {true, {"looking-for-work"}, available},
      {true, {"lunch"}, away},
      {true, {"meal"}, away},
      {true, {"meeting"}, {Availability::Busy, Activity::InAMeeting}},
      {true, {"on-the-phone"}, {Availability::Busy, Activity::InACall}},
      {true, {"other"}, available},
      {true, {"performance"}, available},
      {true, {"permanent-absence"}, out_of_office},
      {true, {"playing"}, available},
      {true, {"presentation"}, {Availability::DoNotDisturb, Activity::Presenting}},
      {true, {"shopping"}, away},
      {true, {"sleeping"}, away},
      {true, {"spectator"}, available},
      {true, {"steering"}, available},
      {true, {"travel"}, away},
      {true, {"tv"}, available},
      {true, {"unknown"}, available},
      {true, {"vacation"}, out_of_office},
      {true, {"working"}, available},
      {true, {"worship"}, available},
  };
  for (const FromPidfCase& c : cases) {
    SCOPED_TRACE(c.activities.front());
    EXPECT_EQ(from_pidf({c.open, c.activities, ""}), c.expected);
  }
}

TEST(MappingsPidfTest, FromPidfBasicStatusAndPrecedence) {
  const FromPidfCase cases[] = {
      // Open with no activity: available. Closed: offline, whatever the activities say.
      {true, {}, {Availability::Available, Activity::Available}},
      {false, {}, {Availability::Offline, Activity::Offline}},
      {false, {"on-the-phone"}, {Availability::Offline, Activity::Offline}},
      {false, {"busy", "meeting"}, {Availability::Offline, Activity::Offline}},
      // Several activities: phone, then meeting, presentation, busy, absence, away.
      {true, {"away", "on-the-phone"}, {Availability::Busy, Activity::InACall}},
      {true, {"appointment", "meeting"}, {Availability::Busy, Activity::InAMeeting}},
      {true, {"meeting", "presentation"}, {Availability::Busy, Activity::InAMeeting}},
      {true, {"busy", "presentation"}, {Availability::DoNotDisturb, Activity::Presenting}},
      {true, {"vacation", "busy"}, {Availability::Busy, Activity::Busy}},
      {true, {"vacation", "appointment"}, {Availability::Busy, Activity::Busy}},
      {true, {"lunch", "holiday"}, {Availability::Away, Activity::OutOfOffice}},
      {true, {"working", "travel"}, {Availability::Away, Activity::Away}},
      // Unknown or miscased element names say nothing.
      {true, {"dancing"}, {Availability::Available, Activity::Available}},
      {true, {"On-The-Phone"}, {Availability::Available, Activity::Available}},
      {true, {"on_the_phone"}, {Availability::Available, Activity::Available}},
      {true, {""}, {Availability::Available, Activity::Available}},
      {true, {"dnd"}, {Availability::Available, Activity::Available}},
  };
  for (const FromPidfCase& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << (c.open ? "open" : "closed") << " " << ::testing::PrintToString(c.activities));
    EXPECT_EQ(from_pidf({c.open, c.activities, ""}), c.expected);
  }
}

// What we publish reads back as the same or the nearest Graph pair.
TEST(MappingsPidfTest, RoundTripThroughPidf) {
  const GraphCase cases[] = {
      {presence(Availability::Available, Activity::Available),
       {Availability::Available, Activity::Available}},
      {presence(Availability::Busy, Activity::Busy), {Availability::Busy, Activity::Busy}},
      {presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call})),
       {Availability::Busy, Activity::InACall}},
      {presence(Availability::Busy, Activity::InAMeeting, flags_of({Flag::Appointment})),
       {Availability::Busy, Activity::InAMeeting}},
      {presence(Availability::DoNotDisturb, Activity::Presenting),
       {Availability::DoNotDisturb, Activity::Presenting}},
      {presence(Availability::Away, Activity::Away), {Availability::Away, Activity::Away}},
      {presence(Availability::Away, Activity::OutOfOffice),
       {Availability::Away, Activity::OutOfOffice}},
      {presence(Availability::Offline, Activity::Offline),
       {Availability::Offline, Activity::Offline}},
      // Lossy where RPID has no word: DND reads back as busy, BRB as away, idle as available.
      {presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       {Availability::Busy, Activity::Busy}},
      {presence(Availability::BeRightBack, Activity::BeRightBack),
       {Availability::Away, Activity::Away}},
      {presence(Availability::AvailableIdle, Activity::Inactive),
       {Availability::Available, Activity::Available}},
      {presence(Availability::Offline, Activity::OffWork),
       {Availability::Offline, Activity::Offline}},
  };
  for (const GraphCase& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(to_graph(c.in)));
    EXPECT_EQ(from_pidf(to_pidf(c.in)), c.expected);
  }
}

// ---- dialog-info (RFC 4235) ----

TEST(MappingsDialogTest, DialogStateNames) {
  const NameCase<DialogState> cases[] = {
      {DialogState::Trying, "trying"},         {DialogState::Proceeding, "proceeding"},
      {DialogState::Early, "early"},           {DialogState::Confirmed, "confirmed"},
      {DialogState::Terminated, "terminated"},
  };
  expect_names(cases);
}

struct DialogCase {
  const char* name;
  Presence in;
  DialogState expected;
};

// Asterisk res_pjsip: RINGING -> early; INUSE, BUSY, ONHOLD -> confirmed; INUSE+RINGING ->
// confirmed (notify_early_inuse_ringing off, its default); no call -> terminated.
TEST(MappingsDialogTest, ToDialogState) {
  const DialogCase cases[] = {
      {"idle lamp", presence(Availability::Available, Activity::Available),
       DialogState::Terminated},
      {"offline", presence(Availability::Offline, Activity::Offline, flags_of({Flag::Offline})),
       DialogState::Terminated},
      {"manual busy is no call", presence(Availability::Busy, Activity::Busy),
       DialogState::Terminated},
      {"meeting is no call",
       presence(Availability::Busy, Activity::InAMeeting, flags_of({Flag::Appointment})),
       DialogState::Terminated},
      {"do not disturb is no call", presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       DialogState::Terminated},
      {"ringing", presence(Availability::Busy, Activity::InACall, flags_of({Flag::Ringing})),
       DialogState::Early},
      {"connected or held", presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call})),
       DialogState::Confirmed},
      {"in use and ringing",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Ringing, Flag::Call})),
       DialogState::Confirmed},
      {"call while idle",
       presence(Availability::BusyIdle, Activity::InACall, flags_of({Flag::Call, Flag::Idle})),
       DialogState::Confirmed},
      {"call under do not disturb",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb, flags_of({Flag::Call})),
       DialogState::Confirmed},
      {"ringing under a manual away",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Ringing})), DialogState::Early},
  };
  for (const DialogCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_dialog_state(c.in), c.expected);
  }
}

// ---- Asterisk / FreePBX presence state ----

struct AsteriskCase {
  const char* name;
  Presence in;
  AsteriskPresence expected;
};

TEST(MappingsAsteriskTest, ToAsterisk) {
  const AsteriskCase cases[] = {
      {"available",
       presence(Availability::Available, Activity::Available),
       {StateType::Available, "", ""}},
      {"available idle",
       presence(Availability::AvailableIdle, Activity::Inactive),
       {StateType::Available, "", ""}},
      {"away", presence(Availability::Away, Activity::Away), {StateType::Away, "", ""}},
      {"be right back",
       presence(Availability::BeRightBack, Activity::BeRightBack),
       {StateType::Away, "", ""}},
      // No busy presence type: "I am busy, do not bother me" is dnd.
      {"busy", presence(Availability::Busy, Activity::Busy), {StateType::Dnd, "", ""}},
      {"busy idle", presence(Availability::BusyIdle, Activity::Busy), {StateType::Dnd, "", ""}},
      {"busy in a call",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call})),
       {StateType::Dnd, "", ""}},
      {"busy in a meeting",
       presence(Availability::Busy, Activity::InAMeeting),
       {StateType::Dnd, "", ""}},
      {"do not disturb",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       {StateType::Dnd, "", ""}},
      {"presenting",
       presence(Availability::DoNotDisturb, Activity::Presenting),
       {StateType::Dnd, "", ""}},
      // Extended away: gone for a long period, such as vacation.
      {"available out of office",
       presence(Availability::Available, Activity::OutOfOffice),
       {StateType::ExtendedAway, "", ""}},
      {"away out of office",
       presence(Availability::Away, Activity::OutOfOffice),
       {StateType::ExtendedAway, "", ""}},
      {"off work while signed in",
       presence(Availability::Away, Activity::OffWork),
       {StateType::ExtendedAway, "", ""}},
      // Offline or unknown: unavailable, before anything else.
      {"offline",
       presence(Availability::Offline, Activity::Offline),
       {StateType::Unavailable, "", ""}},
      {"appear offline",
       presence(Availability::Offline, Activity::OffWork),
       {StateType::Unavailable, "", ""}},
      {"unknown",
       presence(Availability::PresenceUnknown, Activity::PresenceUnknown),
       {StateType::Unavailable, "", ""}},
      // The note is the message; the subtype stays empty.
      {"note",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Note}), "Out to lunch"),
       {StateType::Away, "", "Out to lunch"}},
      {"note while offline",
       presence(Availability::Offline, Activity::OffWork, flags_of({Flag::Note}), "on leave"),
       {StateType::Unavailable, "", "on leave"}},
  };
  for (const AsteriskCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_asterisk(c.in), c.expected);
  }
}

TEST(MappingsAsteriskTest, FromAsteriskEachType) {
  struct Case {
    StateType type;
    GraphPresence expected;
  };
  const Case cases[] = {
      {StateType::Available, {Availability::Available, Activity::Available}},
      {StateType::Chat, {Availability::Available, Activity::Available}},
      {StateType::Away, {Availability::Away, Activity::Away}},
      {StateType::Dnd, {Availability::DoNotDisturb, Activity::DoNotDisturb}},
      {StateType::ExtendedAway, {Availability::Away, Activity::OutOfOffice}},
      {StateType::Unavailable, {Availability::Offline, Activity::OffWork}},
      // Not a type (e.g. a corrupt value): nothing is known.
      {static_cast<StateType>(6), {Availability::PresenceUnknown, Activity::PresenceUnknown}},
      {static_cast<StateType>(255), {Availability::PresenceUnknown, Activity::PresenceUnknown}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.type));
    EXPECT_EQ(from_asterisk(c.type), c.expected);
  }
}

// A FreePBX state read in and written back keeps its type, except chat (we have no such pair).
TEST(MappingsAsteriskTest, RoundTripThroughAsterisk) {
  struct Case {
    StateType in;
    StateType out;
  };
  const Case cases[] = {
      {StateType::Available, StateType::Available},
      {StateType::Chat, StateType::Available},
      {StateType::Away, StateType::Away},
      {StateType::Dnd, StateType::Dnd},
      {StateType::ExtendedAway, StateType::ExtendedAway},
      {StateType::Unavailable, StateType::Unavailable},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.in));
    const GraphPresence pair = from_asterisk(c.in);
    EXPECT_EQ(to_asterisk(presence(pair.availability, pair.activity)).type, c.out);
  }
}

// ---- XMPP (RFC 6121) ----

TEST(MappingsXmppTest, ShowNames) {
  const NameCase<XmppShow> cases[] = {
      {XmppShow::None, ""},   {XmppShow::Chat, "chat"}, {XmppShow::Away, "away"},
      {XmppShow::Dnd, "dnd"}, {XmppShow::Xa, "xa"},
  };
  expect_names(cases);
}

struct XmppCase {
  const char* name;
  Presence in;
  XmppPresence expected;
};

TEST(MappingsXmppTest, ToXmpp) {
  const XmppCase cases[] = {
      // Available: no <show> at all.
      {"available",
       presence(Availability::Available, Activity::Available),
       {true, XmppShow::None, ""}},
      {"available idle",
       presence(Availability::AvailableIdle, Activity::Inactive),
       {true, XmppShow::Away, ""}},
      {"away", presence(Availability::Away, Activity::Away), {true, XmppShow::Away, ""}},
      {"be right back",
       presence(Availability::BeRightBack, Activity::BeRightBack),
       {true, XmppShow::Away, ""}},
      {"busy", presence(Availability::Busy, Activity::Busy), {true, XmppShow::Dnd, ""}},
      {"busy idle", presence(Availability::BusyIdle, Activity::Busy), {true, XmppShow::Dnd, ""}},
      {"in a call",
       presence(Availability::Busy, Activity::InACall, flags_of({Flag::Call})),
       {true, XmppShow::Dnd, ""}},
      {"do not disturb",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb),
       {true, XmppShow::Dnd, ""}},
      {"presenting",
       presence(Availability::DoNotDisturb, Activity::Presenting),
       {true, XmppShow::Dnd, ""}},
      {"available out of office",
       presence(Availability::Available, Activity::OutOfOffice),
       {true, XmppShow::Xa, ""}},
      {"away out of office",
       presence(Availability::Away, Activity::OutOfOffice),
       {true, XmppShow::Xa, ""}},
      // Offline or unknown: <presence type='unavailable'/>, the note still as <status>.
      {"offline", presence(Availability::Offline, Activity::Offline), {false, XmppShow::None, ""}},
      {"appear offline",
       presence(Availability::Offline, Activity::OffWork, {}, "on leave"),
       {false, XmppShow::None, "on leave"}},
      {"unknown",
       presence(Availability::PresenceUnknown, Activity::PresenceUnknown),
       {false, XmppShow::None, ""}},
      {"note",
       presence(Availability::Away, Activity::Away, flags_of({Flag::Note}), "back at 3"),
       {true, XmppShow::Away, "back at 3"}},
  };
  for (const XmppCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(to_xmpp(c.in), c.expected);
  }
}

TEST(MappingsXmppTest, FromXmpp) {
  struct Case {
    bool available;
    XmppShow show;
    GraphPresence expected;
  };
  const GraphPresence offline{Availability::Offline, Activity::Offline};
  const Case cases[] = {
      {true, XmppShow::None, {Availability::Available, Activity::Available}},
      {true, XmppShow::Chat, {Availability::Available, Activity::Available}},
      {true, XmppShow::Away, {Availability::Away, Activity::Away}},
      {true, XmppShow::Xa, {Availability::Away, Activity::OutOfOffice}},
      {true, XmppShow::Dnd, {Availability::DoNotDisturb, Activity::DoNotDisturb}},
      // type='unavailable' wins over any <show>.
      {false, XmppShow::None, offline},
      {false, XmppShow::Chat, offline},
      {false, XmppShow::Away, offline},
      {false, XmppShow::Xa, offline},
      {false, XmppShow::Dnd, offline},
      // A show value outside the four of RFC 6121 counts as absent: available.
      {true, static_cast<XmppShow>(5), {Availability::Available, Activity::Available}},
      {true, static_cast<XmppShow>(200), {Availability::Available, Activity::Available}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.available << " " << static_cast<int>(c.show));
    EXPECT_EQ(from_xmpp({c.available, c.show, "ignored"}), c.expected);
  }
}

TEST(MappingsXmppTest, RoundTripThroughXmpp) {
  struct Case {
    XmppShow show;
    XmppShow back;
  };
  const Case cases[] = {
      {XmppShow::None, XmppShow::None}, {XmppShow::Chat, XmppShow::None},
      {XmppShow::Away, XmppShow::Away}, {XmppShow::Xa, XmppShow::Xa},
      {XmppShow::Dnd, XmppShow::Dnd},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.show));
    const GraphPresence pair = from_xmpp({true, c.show, ""});
    const XmppPresence back = to_xmpp(presence(pair.availability, pair.activity));
    EXPECT_TRUE(back.available);
    EXPECT_EQ(back.show, c.back);
  }
  const GraphPresence gone = from_xmpp({false, XmppShow::None, ""});
  EXPECT_FALSE(to_xmpp(presence(gone.availability, gone.activity)).available);
}

// ---- Colour and icon (ProCall's fixed presence colours) ----

TEST(MappingsDisplayTest, EachAvailabilityHasItsColourAndIcon) {
  struct Case {
    Availability availability;
    Display expected;
  };
  const Case cases[] = {
      {Availability::Available, {"green", "available"}},
      {Availability::AvailableIdle, {"yellow_green", "inactive"}},
      {Availability::Away, {"yellow", "away"}},
      {Availability::BeRightBack, {"yellow", "away"}},
      {Availability::Busy, {"red", "busy"}},
      {Availability::BusyIdle, {"red", "busy"}},
      {Availability::DoNotDisturb, {"red_bar", "do_not_disturb"}},
      {Availability::Offline, {"grey", "unknown"}},
      {Availability::PresenceUnknown, {"grey", "unknown"}},
      // Not an availability: grey, as for anything unknown.
      {static_cast<Availability>(9), {"grey", "unknown"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(static_cast<int>(c.availability));
    EXPECT_EQ(to_display(presence(c.availability, Activity::Available)), c.expected);
  }
}

// The colour follows availability only: activity, flags and note do not change it.
TEST(MappingsDisplayTest, ActivityAndFlagsDoNotChangeTheColour) {
  struct Case {
    Presence in;
    Display expected;
  };
  const Case cases[] = {
      {presence(Availability::Busy, Activity::InACall, flags_of({Flag::Ringing})), {"red", "busy"}},
      {presence(Availability::Busy, Activity::InAMeeting, flags_of({Flag::Appointment})),
       {"red", "busy"}},
      {presence(Availability::DoNotDisturb, Activity::Presenting), {"red_bar", "do_not_disturb"}},
      {presence(Availability::Available, Activity::OutOfOffice, flags_of({Flag::OutOfOffice})),
       {"green", "available"}},
      {presence(Availability::Away, Activity::OutOfOffice), {"yellow", "away"}},
      {presence(Availability::Offline, Activity::OffWork, flags_of({Flag::Offline}), "gone"),
       {"grey", "unknown"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.expected));
    EXPECT_EQ(to_display(c.in), c.expected);
  }
}

TEST(MappingsDisplayTest, GroupsAreAlwaysGrey) {
  EXPECT_EQ(group_display(), (Display{"grey", "unknown"}));
}

// The colours and icons are a closed set (the API's enumerations).
TEST(MappingsDisplayTest, OnlyTheDocumentedColoursAndIcons) {
  const std::string_view colours[] = {"green", "red", "red_bar", "yellow", "yellow_green", "grey"};
  const std::string_view icons[] = {"available", "busy",     "do_not_disturb",
                                    "away",      "inactive", "unknown"};
  for (int a = 0; a <= static_cast<int>(Availability::PresenceUnknown); ++a) {
    const Display d = to_display(presence(static_cast<Availability>(a), Activity::Available));
    SCOPED_TRACE(::testing::PrintToString(d));
    EXPECT_NE(std::find(std::begin(colours), std::end(colours), d.color), std::end(colours));
    EXPECT_NE(std::find(std::begin(icons), std::end(icons), d.icon), std::end(icons));
  }
}

}  // namespace
}  // namespace presenced::core
