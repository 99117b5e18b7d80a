// iCalendar to appointments: the mapping table of docs/calendar.md row by row, recurrence
// (RFC 5545 §3.8.5), time zones (§3.2.19, §3.6.5) and the bounds on hostile input.

#include "connectors/calendar/calendar.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace presenced::connectors::calendar {
namespace {

using core::CalendarKind;
using namespace std::chrono;
using namespace std::chrono_literals;

// 2026-03-02 (a Monday) 00:00 UTC; the window is that week.
constexpr sys_days kMonday = year(2026) / March / 2;

core::TimePoint at(sys_days day, hours h, minutes m = 0min) {
  return core::TimePoint(duration_cast<milliseconds>((day + h + m).time_since_epoch()));
}

ExpansionBounds week() {
  ExpansionBounds b;
  b.from = at(kMonday, 0h);
  b.to = at(kMonday + days(7), 0h);
  return b;
}

std::string calendar(const std::string& body) {
  return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + body + "END:VCALENDAR\r\n";
}

std::string event(const std::string& uid, const std::string& lines) {
  return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260301T000000Z\r\n" + lines +
         "END:VEVENT\r\n";
}

const std::string kTuesdayTenToEleven =
    "DTSTART:20260303T100000Z\r\nDTEND:20260303T110000Z\r\nSUMMARY:Planning\r\n";

Expanded expand(const std::string& text, const MappingConfig& mapping = {},
                const ExpansionBounds& bounds = week()) {
  auto r = expand_ics(text, mapping, bounds);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? std::move(*r) : Expanded{};
}

// ---- Mapping: one test per row of the table ----

TEST(IcsMapping, OpaqueEventIsBusyWithSubjectLocationAndTimes) {
  auto out = expand(calendar(event("a", kTuesdayTenToEleven + "LOCATION:Room 1\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  const core::Appointment& a = out.appointments[0];
  EXPECT_EQ(a.kind, CalendarKind::Busy);
  EXPECT_EQ(a.subject, "Planning");
  EXPECT_EQ(a.location, "Room 1");
  EXPECT_EQ(a.start, at(kMonday + days(1), 10h));
  EXPECT_EQ(a.end, at(kMonday + days(1), 11h));
  EXPECT_FALSE(a.is_private);
}

TEST(IcsMapping, TransparentEventMakesNothing) {
  auto out = expand(calendar(event("a", kTuesdayTenToEleven + "TRANSP:TRANSPARENT\r\n")));
  EXPECT_TRUE(out.appointments.empty());
}

TEST(IcsMapping, CancelledEventMakesNothing) {
  auto out = expand(calendar(event("a", kTuesdayTenToEleven + "STATUS:CANCELLED\r\n")));
  EXPECT_TRUE(out.appointments.empty());
}

TEST(IcsMapping, TentativeFollowsTheSetting) {
  const std::string text = calendar(event("a", kTuesdayTenToEleven + "STATUS:TENTATIVE\r\n"));
  MappingConfig m;
  EXPECT_EQ(expand(text, m).appointments.at(0).kind, CalendarKind::Tentative);
  m.tentative = TentativeAs::Busy;
  EXPECT_EQ(expand(text, m).appointments.at(0).kind, CalendarKind::Busy);
  m.tentative = TentativeAs::Free;
  EXPECT_TRUE(expand(text, m).appointments.empty());
}

TEST(IcsMapping, PrivateAndConfidentialArePrivate) {
  auto priv = expand(calendar(event("a", kTuesdayTenToEleven + "CLASS:PRIVATE\r\n")));
  auto conf = expand(calendar(event("a", kTuesdayTenToEleven + "CLASS:CONFIDENTIAL\r\n")));
  auto pub = expand(calendar(event("a", kTuesdayTenToEleven + "CLASS:PUBLIC\r\n")));
  EXPECT_TRUE(priv.appointments.at(0).is_private);
  EXPECT_TRUE(conf.appointments.at(0).is_private);
  EXPECT_FALSE(pub.appointments.at(0).is_private);
}

TEST(IcsMapping, MicrosoftBusyStatusWinsOverTransparency) {
  auto status = [](const std::string& value, const std::string& extra = "") {
    return expand(calendar(event(
        "a", kTuesdayTenToEleven + "X-MICROSOFT-CDO-BUSYSTATUS:" + value + "\r\n" + extra)));
  };
  EXPECT_EQ(status("OOF").appointments.at(0).kind, CalendarKind::OutOfOffice);
  EXPECT_EQ(status("BUSY", "TRANSP:TRANSPARENT\r\n").appointments.at(0).kind, CalendarKind::Busy);
  EXPECT_EQ(status("TENTATIVE").appointments.at(0).kind, CalendarKind::Tentative);
  EXPECT_TRUE(status("FREE").appointments.empty());
  EXPECT_TRUE(status("WORKINGELSEWHERE").appointments.empty());
}

TEST(IcsMapping, ConfiguredCategoryIsOutOfOffice) {
  const std::string text =
      calendar(event("a", kTuesdayTenToEleven + "CATEGORIES:Travel,Abwesend\r\n"));
  MappingConfig m;
  EXPECT_EQ(expand(text, m).appointments.at(0).kind, CalendarKind::Busy);
  m.out_of_office_category = "abwesend";
  EXPECT_EQ(expand(text, m).appointments.at(0).kind, CalendarKind::OutOfOffice);
}

TEST(IcsMapping, AllDayEventsFollowTheSetting) {
  const std::string busy_day =
      event("day", "DTSTART;VALUE=DATE:20260304\r\nDTEND;VALUE=DATE:20260305\r\nSUMMARY:Fair\r\n");
  const std::string vacation = event(
      "vac", "DTSTART;VALUE=DATE:20260305\r\nSUMMARY:Vacation\r\n"
             "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n");
  const std::string text = calendar(busy_day + vacation);
  MappingConfig m;  // default: only out-of-office all-day events count
  auto out = expand(text, m);
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].kind, CalendarKind::OutOfOffice);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(3), 0h));
  EXPECT_EQ(out.appointments[0].end, at(kMonday + days(4), 0h));  // no DTEND: the day
  m.all_day = AllDayAs::Keep;
  EXPECT_EQ(expand(text, m).appointments.size(), 2u);
  m.all_day = AllDayAs::Ignore;
  EXPECT_TRUE(expand(text, m).appointments.empty());
}

TEST(IcsMapping, AllDayDatesAreMidnightInTheDefaultZone) {
  MappingConfig m;
  m.all_day = AllDayAs::Keep;
  m.default_timezone = "Europe/Berlin";
  auto out = expand(calendar(event("d", "DTSTART;VALUE=DATE:20260304\r\n")), m);
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 23h));  // CET is UTC+1
}

TEST(IcsMapping, DurationInsteadOfDtend) {
  auto out = expand(calendar(event("a", "DTSTART:20260303T100000Z\r\nDURATION:PT45M\r\n")));
  EXPECT_EQ(out.appointments.at(0).end, at(kMonday + days(1), 10h, 45min));
}

TEST(IcsMapping, SubjectIsCleanedAndCut) {
  MappingConfig m;
  m.text_bytes = 8;
  auto out = expand(calendar(event("a", "DTSTART:20260303T100000Z\r\nDTEND:20260303T110000Z\r\n"
                                        "SUMMARY:Caf\xc3\xa9\xff\xfe review\r\n")),
                    m);
  EXPECT_EQ(out.appointments.at(0).subject, "Caf\xc3\xa9 re");
}

TEST(IcsMapping, EventsOutsideTheWindowAreDropped) {
  auto out = expand(calendar(
      event("old", "DTSTART:20260220T100000Z\r\nDTEND:20260220T110000Z\r\n") +
      event("late", "DTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\n") +
      event("across", "DTSTART:20260301T230000Z\r\nDTEND:20260302T010000Z\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].id.substr(0, 7), "across/");
}

// ---- Recurrence ----

const std::string kDailyStandup =
    "DTSTART:20260302T090000Z\r\nDTEND:20260302T091500Z\r\nSUMMARY:Standup\r\n"
    "RRULE:FREQ=DAILY;COUNT=5\r\n";

TEST(IcsRecurrence, DailyRuleGivesOneInstancePerDay) {
  auto out = expand(calendar(event("s", kDailyStandup)));
  ASSERT_EQ(out.appointments.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out.appointments[i].start, at(kMonday + days(i), 9h));
    EXPECT_EQ(out.appointments[i].end, at(kMonday + days(i), 9h, 15min));
  }
  EXPECT_NE(out.appointments[0].id, out.appointments[1].id);
}

TEST(IcsRecurrence, ExdateRemovesAnInstance) {
  auto out = expand(calendar(event("s", kDailyStandup + "EXDATE:20260304T090000Z\r\n")));
  ASSERT_EQ(out.appointments.size(), 4u);
  for (const auto& a : out.appointments) {
    EXPECT_NE(a.start, at(kMonday + days(2), 9h));
  }
}

// An overridden instance of series "s" (RFC 5545 §3.8.4.4).
std::string instance_of_s(const std::string& recurrence_id, const std::string& start,
                          const std::string& end, const std::string& extra) {
  return event("s", "RECURRENCE-ID:" + recurrence_id + "\r\nDTSTART:" + start + "\r\nDTEND:" +
                        end + "\r\n" + extra);
}

TEST(IcsRecurrence, OverrideMovesAnInstanceAndChangesItsSubject) {
  const std::string moved = instance_of_s("20260303T090000Z", "20260303T140000Z",
                                          "20260303T143000Z", "SUMMARY:Standup (afternoon)\r\n");
  auto out = expand(calendar(event("s", kDailyStandup) + moved));
  ASSERT_EQ(out.appointments.size(), 5u);
  std::vector<std::string> tuesday;
  for (const auto& a : out.appointments) {
    if (a.start >= at(kMonday + days(1), 0h) && a.start < at(kMonday + days(2), 0h)) {
      tuesday.push_back(a.subject);
      EXPECT_EQ(a.start, at(kMonday + days(1), 14h));
      EXPECT_EQ(a.end, at(kMonday + days(1), 14h, 30min));
    }
  }
  EXPECT_EQ(tuesday, std::vector<std::string>{"Standup (afternoon)"});
}

TEST(IcsRecurrence, CancelledOverrideRemovesTheInstance) {
  const std::string cancelled = instance_of_s("20260305T090000Z", "20260305T090000Z",
                                              "20260305T091500Z", "STATUS:CANCELLED\r\n");
  auto out = expand(calendar(event("s", kDailyStandup) + cancelled));
  EXPECT_EQ(out.appointments.size(), 4u);
}

TEST(IcsRecurrence, OldWeeklySeriesStillReachesTheWindow) {
  auto out = expand(calendar(event(
      "w", "DTSTART:20160301T080000Z\r\nDTEND:20160301T090000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 8h));
}

TEST(IcsRecurrence, UntilEndsTheSeries) {
  auto out = expand(calendar(event(
      "u", "DTSTART:20260302T120000Z\r\nDTEND:20260302T130000Z\r\n"
           "RRULE:FREQ=DAILY;UNTIL=20260303T235959Z\r\n")));
  EXPECT_EQ(out.appointments.size(), 2u);
}

// ---- Time zones ----

const std::string kBerlin =
    "BEGIN:VTIMEZONE\r\nTZID:Custom/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";

TEST(IcsTimeZones, TzidResolvesAgainstTheCalendarsVtimezone) {
  auto out = expand(calendar(kBerlin + event("z", "DTSTART;TZID=Custom/Berlin:20260303T100000\r\n"
                                                  "DTEND;TZID=Custom/Berlin:20260303T110000\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 9h));  // CET = UTC+1 in March
}

TEST(IcsTimeZones, SeriesKeepsItsLocalTimeAcrossDaylightSaving) {
  // 09:00 Berlin every day from Friday 27 March: UTC+1 until Sunday 29 March 02:00, then UTC+2.
  ExpansionBounds b;
  b.from = at(year(2026) / March / 27, 0h);
  b.to = at(year(2026) / April / 1, 0h);
  auto out = expand(calendar(kBerlin + event("d", "DTSTART;TZID=Custom/Berlin:20260327T090000\r\n"
                                                  "DTEND;TZID=Custom/Berlin:20260327T093000\r\n"
                                                  "RRULE:FREQ=DAILY\r\n")),
                    {}, b);
  ASSERT_EQ(out.appointments.size(), 5u);
  EXPECT_EQ(out.appointments[0].start, at(year(2026) / March / 27, 8h));
  EXPECT_EQ(out.appointments[3].start, at(year(2026) / March / 30, 7h));
}

TEST(IcsTimeZones, UnknownToCalendarButKnownToTheSystem) {
  auto out = expand(calendar(event("z", "DTSTART;TZID=America/New_York:20260303T100000\r\n"
                                        "DTEND;TZID=America/New_York:20260303T110000\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 15h));  // EST = UTC-5
}

TEST(IcsTimeZones, ExdateInTheSeriesZone) {
  auto out = expand(calendar(kBerlin + event("x", "DTSTART;TZID=Custom/Berlin:20260302T100000\r\n"
                                                  "DTEND;TZID=Custom/Berlin:20260302T110000\r\n"
                                                  "RRULE:FREQ=DAILY;COUNT=3\r\n"
                                                  "EXDATE;TZID=Custom/Berlin:20260303T100000\r\n")));
  ASSERT_EQ(out.appointments.size(), 2u);
  EXPECT_EQ(out.appointments[1].start, at(kMonday + days(2), 9h));
}

TEST(IcsTimeZones, TheSystemsZoneWinsOverTheCalendarsCopyOfIt) {
  const std::string wrong_new_york =
      "BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
      "TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
  auto out = expand(calendar(wrong_new_york +
                             event("z", "DTSTART;TZID=America/New_York:20260303T100000\r\n"
                                        "DTEND;TZID=America/New_York:20260303T110000\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 15h));  // EST = UTC-5
}

// A zone as Outlook writes it: observances from 1601, named the Windows way.
std::string outlook_zone(const std::string& tzid) {
  return "BEGIN:VTIMEZONE\r\nTZID:" + tzid +
         "\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\n"
         "TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n"
         "BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
         "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
}

std::string ten_oclock_in(const std::string& uid, const std::string& tzid) {
  return event(uid, "DTSTART;TZID=" + tzid + ":20260303T100000\r\nDTEND;TZID=" + tzid +
                        ":20260303T110000\r\n");
}

TEST(IcsTimeZones, OutlooksZoneFrom1601IsUsed) {
  auto out = expand(calendar(outlook_zone("W. Europe Standard Time") +
                             ten_oclock_in("w", "W. Europe Standard Time")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 9h));
}

// Expanding a calendar's own zones is bounded: a zone with a rule libical would search for
// centuries, or zones past the calendar's share, are resolved by name (here: not known, so the
// default zone, UTC).
TEST(IcsTimeZones, ZoneWithAnUnboundedRuleIsResolvedByName) {
  for (const char* rule : {"FREQ=SECONDLY", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
                           "FREQ=YEARLY;BYMONTH=3;BYHOUR=2"}) {
    const std::string spin =
        "BEGIN:VTIMEZONE\r\nTZID:Custom/Spin\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0500\r\nTZOFFSETTO:+0500\r\nRRULE:" +
        std::string(rule) + "\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    auto out = expand(calendar(spin + ten_oclock_in("s", "Custom/Spin")));
    ASSERT_EQ(out.appointments.size(), 1u) << rule;
    EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 10h)) << rule;
  }
}

TEST(IcsTimeZones, ZonesPastTheCalendarsShareAreResolvedByName) {
  std::string zones;
  std::string events;
  for (int i = 0; i < 12; ++i) {
    const std::string tzid = fmt::format("Zone {:02} Standard Time", i);
    zones += outlook_zone(tzid);
    events += ten_oclock_in(fmt::format("e{:02}", i), tzid);
  }
  auto out = expand(calendar(zones + events));
  ASSERT_EQ(out.appointments.size(), 12u);
  // Eleven two-rule zones from 1601 fit the share; the twelfth is read as UTC.
  const auto in_zone = std::count_if(out.appointments.begin(), out.appointments.end(),
                                     [](const core::Appointment& a) {
                                       return a.start == at(kMonday + days(1), 9h);
                                     });
  EXPECT_EQ(in_zone, 11);
  EXPECT_EQ(out.appointments.back().start, at(kMonday + days(1), 10h));
}

// ---- Bounds and bad input ----

TEST(IcsBounds, SecondlyRuleForYearsStopsAtTheStepBound) {
  auto out = expand(calendar(event(
      "abuse", "DTSTART:20200101T000000Z\r\nDTEND:20200101T000001Z\r\nRRULE:FREQ=SECONDLY\r\n")));
  EXPECT_LE(out.appointments.size(), ExpansionBounds{}.max_instances_per_event);
  EXPECT_GE(out.truncated_events, 1u);
}

TEST(IcsBounds, SecondlyRuleWithCountStopsAtTheStepBound) {
  auto out = expand(calendar(event("abuse", "DTSTART:20200101T000000Z\r\nDTEND:20200101T000001Z\r\n"
                                            "RRULE:FREQ=SECONDLY;COUNT=2000000000\r\n")));
  EXPECT_TRUE(out.appointments.empty());  // the walk never reaches 2026
  EXPECT_EQ(out.truncated_events, 1u);
}

// libical 3.0 searches for a rule's next instance step by step up to the year 2582, with no
// limit of its own: each of these rules would keep one call busy for seconds to hours.
TEST(IcsBounds, SubDailyRuleWithByPartsGivesItsFirstInstanceOnly) {
  for (const char* rule : {"FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", "FREQ=MINUTELY;BYHOUR=5",
                           "FREQ=HOURLY;INTERVAL=2;BYHOUR=5"}) {
    auto out = expand(calendar(event("abuse", std::string("DTSTART:20260303T100000Z\r\n"
                                                          "DTEND:20260303T100100Z\r\nRRULE:") +
                                                  rule + "\r\n")));
    ASSERT_EQ(out.appointments.size(), 1u) << rule;
    EXPECT_EQ(out.appointments[0].start, at(kMonday + days(1), 10h)) << rule;
    EXPECT_EQ(out.truncated_events, 1u) << rule;
  }
}

TEST(IcsBounds, SubDailyRuleWithoutByPartsIsWalked) {
  auto out = expand(calendar(event("h", "DTSTART:20260303T100000Z\r\nDTEND:20260303T103000Z\r\n"
                                        "RRULE:FREQ=HOURLY;COUNT=3\r\n")));
  ASSERT_EQ(out.appointments.size(), 3u);
  EXPECT_EQ(out.appointments[2].start, at(kMonday + days(1), 12h));
  EXPECT_EQ(out.truncated_events, 0u);
}

TEST(IcsBounds, DayNoMonthHasIsNotSearchedFor) {
  auto out = expand(calendar(event("feb30", "DTSTART:20260303T100000Z\r\n"
                                            "DTEND:20260303T110000Z\r\n"
                                            "RRULE:FREQ=DAILY;BYMONTH=2,4;BYMONTHDAY=31,-31\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.truncated_events, 1u);
}

TEST(IcsBounds, CountedRuleFromCenturiesAgoIsNotWalked) {
  ExpansionBounds b = week();
  b.max_steps_per_event = 1'000'000;  // enough to walk from the year 1000 into the window
  auto out = expand(calendar(event("old", "DTSTART:10000101T100000Z\r\nDTEND:10000101T110000Z\r\n"
                                          "RRULE:FREQ=DAILY;COUNT=1000000\r\n")),
                    {}, b);
  EXPECT_TRUE(out.appointments.empty());
  EXPECT_EQ(out.truncated_events, 1u);
}

TEST(IcsBounds, CpuTimeBudgetTruncatesTheEventsLeft) {
  ExpansionBounds b = week();
  b.max_cpu_time = 0ms;
  auto out = expand(calendar(event("a", kTuesdayTenToEleven) + event("b", kTuesdayTenToEleven) +
                             event("s", kDailyStandup)),
                    {}, b);
  EXPECT_TRUE(out.appointments.empty());
  EXPECT_EQ(out.truncated_events, 3u);
}

TEST(IcsBounds, InstancesPerCalendarAreCapped) {
  ExpansionBounds b = week();
  b.max_instances_per_calendar = 3;
  auto out = expand(calendar(event("s", kDailyStandup)), {}, b);
  EXPECT_EQ(out.appointments.size(), 3u);
  EXPECT_EQ(out.truncated_events, 1u);
}

TEST(IcsBounds, TooLargeIsRefused) {
  ExpansionBounds b = week();
  b.max_bytes = 64;
  auto r = expand_ics(calendar(event("a", kTuesdayTenToEleven)), {}, b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, core::ErrorCode::ResourceExhausted);
}

TEST(IcsBounds, MalformedInputIsAnErrorNotACrash) {
  for (const std::string& text :
       {std::string(), std::string("hello"), std::string("<html>502</html>"),
        std::string("BEGIN:VEVENT\r\nDTSTART:x\r\n"), std::string("BEGIN:VCALENDAR\r\n\0", 18)}) {
    auto r = expand_ics(text, {}, week());
    EXPECT_FALSE(r) << text;
  }
}

TEST(IcsBounds, BrokenEventsAreSkippedOthersKept) {
  auto out = expand(calendar(event("nodate", "SUMMARY:no start\r\n") +
                             event("bad", "DTSTART:2026-03-03\r\nDTEND:junk\r\n") +
                             event("ok", kTuesdayTenToEleven) +
                             event("neg", "DTSTART:20260303T100000Z\r\nDTEND:20260303T090000Z\r\n")));
  ASSERT_EQ(out.appointments.size(), 1u);
  EXPECT_EQ(out.appointments[0].subject, "Planning");
}

TEST(IcsBounds, MergeKeepsTheEarliestAndDropsDuplicates) {
  auto a = expand(calendar(event("s", kDailyStandup))).appointments;
  auto b = expand(calendar(event("s", kDailyStandup))).appointments;
  EXPECT_EQ(merge_appointments(a, b, 3), 2u);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].start, at(kMonday, 9h));
}

}  // namespace
}  // namespace presenced::connectors::calendar
