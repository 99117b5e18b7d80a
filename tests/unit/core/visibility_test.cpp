#include "core/visibility.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace presenced::core {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

constexpr TimePoint kT0{milliseconds(1'790'000'000'000)};

constexpr VisibilityLevel kAllLevels[] = {VisibilityLevel::Blocked, VisibilityLevel::Public,
                                          VisibilityLevel::Business, VisibilityLevel::Team,
                                          VisibilityLevel::Personal};

Flags flags_of(std::initializer_list<Flag> list) {
  Flags flags;
  for (Flag f : list) {
    flags.set(f);
  }
  return flags;
}

struct LevelCase {
  std::optional<VisibilityLevel> pair;
  bool is_self;
  VisibilityLevel default_level;
  VisibilityLevel minimum;
  VisibilityLevel expected;
};

// Reference §2.4: admins set a global minimum, users may only raise above it.
TEST(VisibilityTest, EffectiveLevel) {
  using enum VisibilityLevel;
  const LevelCase cases[] = {
      // A user always sees themself in full, even when blocked by policy.
      {std::nullopt, true, Business, Blocked, Personal},
      {Blocked, true, Blocked, Blocked, Personal},
      // No pair level: the default.
      {std::nullopt, false, Business, Blocked, Business},
      {std::nullopt, false, Public, Blocked, Public},
      // The default is floored by the minimum as well.
      {std::nullopt, false, Blocked, Public, Public},
      // A pair level above the minimum holds, in both directions from the default.
      {Team, false, Business, Public, Team},
      {Public, false, Business, Public, Public},
      {Blocked, false, Business, Blocked, Blocked},
      // Below the minimum it is raised to the minimum.
      {Blocked, false, Business, Public, Public},
      {Public, false, Business, Team, Team},
  };
  for (const LevelCase& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "pair=" << (c.pair ? to_string(*c.pair) : "none") << " self=" << c.is_self
                 << " default=" << to_string(c.default_level)
                 << " minimum=" << to_string(c.minimum));
    EXPECT_EQ(effective_level(c.pair, c.is_self, {c.default_level, c.minimum}), c.expected);
  }
}

TEST(VisibilityTest, DefaultPolicyIsBusinessWithNoFloor) {
  const VisibilityPolicy policy;
  EXPECT_EQ(policy.default_level, VisibilityLevel::Business);
  EXPECT_EQ(policy.minimum, VisibilityLevel::Blocked);
}

// A user on a call, in a private meeting, idle, out of office, with a note: every field set.
Presence rich_presence() {
  Presence p;
  p.availability = Availability::BusyIdle;
  p.activity = Activity::InACall;
  p.flags = flags_of({Flag::Ringing, Flag::Call, Flag::Conferencing, Flag::Appointment,
                      Flag::Idle, Flag::Note, Flag::AfterCallWork, Flag::OutOfOffice});
  p.state_id = "Away";
  p.note = "back at 3";
  p.until = kT0 + hours(2);
  p.reachability = Reachability::HomeOffice;
  Appointment a;
  a.id = "evt-17";
  a.subject = "Doctor";
  a.location = "Main St 5";
  a.start = kT0;
  a.end = kT0 + hours(1);
  a.kind = CalendarKind::Busy;
  a.is_private = true;
  p.current_appointment = a;
  p.busy_devices = {"desk", "mobile"};
  p.explanation = {Layer::Telephony, "system_overrides_manual", "on a call on desk"};
  return p;
}

Appointment masked(const Appointment& a) {
  Appointment m;
  m.subject = "appointment";
  m.start = a.start;
  m.end = a.end;
  m.kind = a.kind;
  m.is_private = true;
  return m;
}

// Seed 000: no permission shows grey; API contract: PresenceUnknown, no flags, no note or until.
TEST(VisibilityTest, BlockedSeesNothing) {
  Presence expected;
  expected.availability = Availability::PresenceUnknown;
  expected.activity = Activity::PresenceUnknown;
  EXPECT_EQ(project(rich_presence(), VisibilityLevel::Blocked), expected);

  // Not even that the user is offline.
  Presence offline;
  offline.flags = flags_of({Flag::Offline});
  EXPECT_EQ(project(offline, VisibilityLevel::Blocked), expected);
}

// Public sees the state and what phone and PC do, not the note or the calendar.
TEST(VisibilityTest, PublicSeesStateAndActivityFlags) {
  const Presence in = rich_presence();
  Presence expected;
  expected.availability = in.availability;
  expected.activity = in.activity;
  expected.flags = flags_of(
      {Flag::Ringing, Flag::Call, Flag::Conferencing, Flag::Idle, Flag::OutOfOffice});
  EXPECT_EQ(project(in, VisibilityLevel::Public), expected);

  Presence offline;
  offline.flags = flags_of({Flag::Offline, Flag::Note});
  EXPECT_EQ(project(offline, VisibilityLevel::Public).flags, flags_of({Flag::Offline}));
}

// Reference §2.4: Business sees public appointments, not private ones; the note is shown.
TEST(VisibilityTest, BusinessSeesNoteUntilAndMaskedPrivateAppointment) {
  const Presence in = rich_presence();
  Presence expected = in;
  expected.current_appointment = masked(*in.current_appointment);
  expected.busy_devices.clear();
  expected.explanation = {};
  EXPECT_EQ(project(in, VisibilityLevel::Business), expected);
}

TEST(VisibilityTest, BusinessSeesAPublicAppointmentInFull) {
  Presence in = rich_presence();
  in.current_appointment->is_private = false;
  EXPECT_EQ(project(in, VisibilityLevel::Business).current_appointment, in.current_appointment);
}

// Team members also see the busy devices (reference §2.4: numbers and lines).
TEST(VisibilityTest, TeamSeesDevicesButNotPrivateAppointments) {
  const Presence in = rich_presence();
  Presence expected = in;
  expected.current_appointment = masked(*in.current_appointment);
  expected.explanation = {};
  EXPECT_EQ(project(in, VisibilityLevel::Team), expected);
}

TEST(VisibilityTest, NextAppointmentIsMaskedLikeTheCurrentOne) {
  Presence in = rich_presence();
  in.next_appointment = in.current_appointment;
  in.next_appointment->subject = "Therapy";
  EXPECT_EQ(project(in, VisibilityLevel::Business).next_appointment, masked(*in.next_appointment));
  EXPECT_EQ(project(in, VisibilityLevel::Personal).next_appointment, in.next_appointment);
  EXPECT_FALSE(project(in, VisibilityLevel::Public).next_appointment.has_value());
  in.next_appointment->is_private = false;
  EXPECT_EQ(project(in, VisibilityLevel::Business).next_appointment, in.next_appointment);
}

TEST(VisibilityTest, PersonalSeesEverything) {
  const Presence in = rich_presence();
  EXPECT_EQ(project(in, VisibilityLevel::Personal), in);
}

// Each level sees at least what the level below it sees (the levels are ordered).
TEST(VisibilityTest, HigherLevelsNeverSeeFewerFlags) {
  const Presence in = rich_presence();
  std::uint16_t below = 0;
  for (VisibilityLevel level : kAllLevels) {
    SCOPED_TRACE(to_string(level));
    const std::uint16_t bits = project(in, level).flags.bits();
    EXPECT_EQ(bits & below, below);
    below = bits;
  }
  EXPECT_EQ(below, in.flags.bits());
}

TEST(VisibilityTest, LevelNamesRoundTrip) {
  const std::vector<std::string> names = {"blocked", "public", "business", "team", "personal"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(to_string(kAllLevels[i]), names[i]);
    EXPECT_EQ(parse_visibility_level(names[i]), kAllLevels[i]);
  }
}

TEST(VisibilityTest, UnknownLevelNamesDoNotParse) {
  for (const char* text : {"", "Business", "PUBLIC", "admin", "team ", "blocked\n"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parse_visibility_level(text), std::nullopt);
  }
}

}  // namespace
}  // namespace presenced::core
