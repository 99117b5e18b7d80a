// iCalendar expansion for many users (docs/benchmarks.md, "Calendar"): one typical working
// calendar, and 10,000 distinct ones expanded as the connector does after a sync, with the
// memory the resulting appointments and the texts take.

#include "connectors/calendar/calendar.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <string>
#include <vector>

namespace {

namespace cal = presenced::connectors::calendar;
using presenced::core::TimePoint;

// 2026-03-02 (a Monday) 00:00 UTC.
constexpr std::int64_t kMonday = 1772409600;

cal::ExpansionBounds window() {
  cal::ExpansionBounds b;
  b.from = TimePoint(std::chrono::seconds(kMonday - 24 * 3600));
  b.to = TimePoint(std::chrono::seconds(kMonday + 7 * 24 * 3600));
  return b;
}

std::string stamp(std::int64_t day, int hour, int minute = 0) {
  // Days from 2026-03-02; enough for the window and a year back.
  const std::chrono::sys_days d = std::chrono::sys_days(std::chrono::year(2026) /
                                                        std::chrono::March / 2) +
                                  std::chrono::days(day);
  const std::chrono::year_month_day ymd(d);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}00", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), hour, minute);
}

// A working calendar: a daily standup (a year old, one moved and one excluded instance), three
// weekly series, 15 single meetings over the week, a private appointment and a vacation day,
// all in Europe/Berlin with its VTIMEZONE, as Outlook and Nextcloud write them.
std::string user_calendar(int user) {
  std::string out =
      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
      "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
      "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
      "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
      "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
      "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
  auto event = [&](const std::string& uid, const std::string& start, const std::string& end,
                   const std::string& extra) {
    out += fmt::format(
        "BEGIN:VEVENT\r\nUID:{}-{}@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:{}\r\nDTEND;TZID=Europe/Berlin:{}\r\n"
        "SUMMARY:Meeting {} of user {}\r\nLOCATION:Room {}\r\n{}END:VEVENT\r\n",
        uid, user, start, end, uid, user, user % 40, extra);
  };
  event("standup", stamp(-365, 9), stamp(-365, 9, 15),
        fmt::format("RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR\r\nEXDATE;TZID=Europe/Berlin:{}\r\n",
                    stamp(2, 9)));
  out += fmt::format(
      "BEGIN:VEVENT\r\nUID:standup-{}@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
      "RECURRENCE-ID;TZID=Europe/Berlin:{}\r\nDTSTART;TZID=Europe/Berlin:{}\r\n"
      "DTEND;TZID=Europe/Berlin:{}\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\n",
      user, stamp(1, 9), stamp(1, 14), stamp(1, 14, 15));
  for (int w = 0; w < 3; ++w) {
    event(fmt::format("weekly{}", w), stamp(-7 * (10 + w) + w, 11 + w), stamp(-7 * (10 + w) + w, 12 + w),
          "RRULE:FREQ=WEEKLY\r\n");
  }
  for (int m = 0; m < 15; ++m) {
    event(fmt::format("single{}", m), stamp(m % 5, 13 + m % 4), stamp(m % 5, 14 + m % 4),
          m % 7 == 0 ? "STATUS:TENTATIVE\r\n" : "");
  }
  event("private", stamp(3, 16), stamp(3, 17), "CLASS:PRIVATE\r\n");
  out += fmt::format(
      "BEGIN:VEVENT\r\nUID:vacation-{}@example.com\r\nDTSTAMP:20260201T000000Z\r\n"
      "DTSTART;VALUE=DATE:20260306\r\nSUMMARY:Vacation\r\n"
      "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\nEND:VEVENT\r\n",
      user);
  return out + "END:VCALENDAR\r\n";
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

void BM_ExpandOneCalendar(benchmark::State& state) {
  const std::string text = user_calendar(1);
  const cal::ExpansionBounds bounds = window();
  std::size_t appointments = 0;
  for (auto _ : state) {
    auto expanded = cal::expand_ics(text, {}, bounds);
    appointments = expanded->appointments.size();
    benchmark::DoNotOptimize(expanded);
  }
  state.counters["appointments"] = static_cast<double>(appointments);
  state.counters["bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_ExpandOneCalendar)->Unit(benchmark::kMicrosecond);

// The same calendar with floating times (no VTIMEZONE, no TZID): what the zone costs.
void BM_ExpandOneCalendarWithoutZones(benchmark::State& state) {
  std::string text = user_calendar(1);
  const std::size_t begin = text.find("BEGIN:VTIMEZONE");
  const std::string end_marker = "END:VTIMEZONE\r\n";
  text.erase(begin, text.find(end_marker) + end_marker.size() - begin);
  for (std::size_t at = text.find(";TZID=Europe/Berlin"); at != std::string::npos;
       at = text.find(";TZID=Europe/Berlin")) {
    text.erase(at, std::string_view(";TZID=Europe/Berlin").size());
  }
  const cal::ExpansionBounds bounds = window();
  for (auto _ : state) {
    auto expanded = cal::expand_ics(text, {}, bounds);
    benchmark::DoNotOptimize(expanded);
  }
}
BENCHMARK(BM_ExpandOneCalendarWithoutZones)->Unit(benchmark::kMicrosecond);

// 10,000 users: every calendar expanded once, the layers kept as the engine would hold them.
void BM_TenThousandUsers(benchmark::State& state) {
  constexpr int kUsers = 10'000;
  std::vector<std::string> texts;
  texts.reserve(kUsers);
  for (int u = 0; u < kUsers; ++u) {
    texts.push_back(user_calendar(u));
  }
  const cal::ExpansionBounds bounds = window();
  std::size_t appointments = 0;
  long rss_before = 0;
  long rss_after = 0;
  for (auto _ : state) {
    rss_before = max_rss_kib();
    std::vector<std::vector<presenced::core::Appointment>> layers;
    layers.reserve(kUsers);
    appointments = 0;
    for (const std::string& text : texts) {
      auto expanded = cal::expand_ics(text, {}, bounds);
      appointments += expanded->appointments.size();
      layers.push_back(std::move(expanded->appointments));
    }
    rss_after = max_rss_kib();
    benchmark::DoNotOptimize(layers);
  }
  std::size_t text_bytes = 0;
  for (const std::string& t : texts) {
    text_bytes += t.size();
  }
  state.counters["users"] = kUsers;
  state.counters["appointments"] = static_cast<double>(appointments);
  state.counters["ics_MiB"] = static_cast<double>(text_bytes) / (1 << 20);
  state.counters["peak_rss_growth_MiB"] = static_cast<double>(rss_after - rss_before) / 1024;
  state.counters["peak_rss_MiB"] = static_cast<double>(rss_after) / 1024;
}
BENCHMARK(BM_TenThousandUsers)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
