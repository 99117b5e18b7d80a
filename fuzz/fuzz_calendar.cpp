// Feeds untrusted bytes to what reads a calendar server's answers: the iCalendar expansion
// (libical) and the WebDAV multistatus reader. Beyond "no crash, no sanitizer report", it
// checks that expansion stays inside its bounds: at most the instances allowed, sorted, each
// overlapping the window and lasting a positive time.

#include "connectors/calendar/calendar.h"
#include "connectors/calendar/internal/multistatus.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

namespace cal = presenced::connectors::calendar;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

cal::ExpansionBounds small_bounds() {
  cal::ExpansionBounds b;
  // 2026-03-02 .. 2026-03-09 UTC.
  b.from = presenced::core::TimePoint(std::chrono::seconds(1772409600));
  b.to = b.from + std::chrono::hours(7 * 24);
  b.max_instances_per_event = 50;
  b.max_instances_per_calendar = 200;
  b.max_steps_per_event = 2000;  // keeps each input fast
  b.max_cpu_time = std::chrono::milliseconds(500);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const cal::ExpansionBounds bounds = small_bounds();
  cal::MappingConfig mapping;
  mapping.all_day = cal::AllDayAs::Keep;
  mapping.default_timezone = "Europe/Berlin";
  if (auto expanded = cal::expand_ics(text, mapping, bounds)) {
    require(expanded->appointments.size() <= bounds.max_instances_per_calendar);
    for (std::size_t i = 0; i < expanded->appointments.size(); ++i) {
      const auto& a = expanded->appointments[i];
      require(a.start < a.end);
      require(a.start < bounds.to && a.end > bounds.from);
      require(a.subject.size() <= mapping.text_bytes && a.location.size() <= mapping.text_bytes);
      require(i == 0 || expanded->appointments[i - 1].start <= a.start);
    }
  }
  if (auto ms = cal::parse_multistatus(text, 100)) {
    require(ms->resources.size() <= 100);
  }
  return 0;
}
