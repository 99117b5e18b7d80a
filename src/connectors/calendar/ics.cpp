// iCalendar (RFC 5545) to appointments: libical parses, we map each VEVENT and expand its
// recurrences inside a bounded window.

#include "connectors/calendar/calendar.h"

#include "core/utf8.h"

#include <fmt/format.h>
#include <libical/ical.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>

namespace presenced::connectors::calendar {
namespace {

using core::Appointment;
using core::CalendarKind;
using core::Error;
using core::Result;

struct FreeComponent {
  void operator()(icalcomponent* c) const { icalcomponent_free(c); }
};
using ComponentPtr = std::unique_ptr<icalcomponent, FreeComponent>;

struct FreeIterator {
  void operator()(icalrecur_iterator* i) const { icalrecur_iterator_free(i); }
};
using IteratorPtr = std::unique_ptr<icalrecur_iterator, FreeIterator>;

std::int64_t seconds_of(core::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Well-formed UTF-8 without control characters, cut at a character boundary to `limit` bytes:
// subjects come from anyone who can send an invitation.
std::string clean_text(const char* raw, std::size_t limit) {
  std::string out;
  std::string_view in(raw == nullptr ? "" : raw);
  while (!in.empty()) {
    const std::size_t n = core::utf8_sequence_length(in);
    if (n == 0) {
      in.remove_prefix(1);
      continue;
    }
    if (out.size() + n > limit) {
      break;
    }
    if (n == 1 && static_cast<unsigned char>(in[0]) < 0x20) {
      out += ' ';
    } else {
      out.append(in.substr(0, n));
    }
    in.remove_prefix(n);
  }
  return out;
}

// libical 3.0 looks for a rule's next instance step by step, up to the year 2582, with no limit
// of its own: a sub-daily rule whose BY parts never match (FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30,
// or BYHOUR=5 with an INTERVAL that never lands on 5) spins for hours inside one call. The rules
// walked are those whose every call ends soon; the others give their first instance only.
template <std::size_t N>
std::span<const short> values(const short (&by_part)[N]) {
  return {by_part, static_cast<std::size_t>(std::find(by_part, by_part + N,
                                                      ICAL_RECURRENCE_ARRAY_MAX) - by_part)};
}

template <std::size_t N>
bool has_values(const short (&by_part)[N]) {
  return !values(by_part).empty();
}

int days_in_month(int month) {
  static constexpr int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return days[month - 1];
}

// A BYMONTHDAY value (from the start, or from the end when negative) in a month of `days`.
bool is_day_of_month(short day, int days) {
  return day != 0 && day <= days && day >= -days;
}

// Whether some month of BYMONTH has some day of BYMONTHDAY: FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30
// would otherwise be searched day by day up to 2582 (a second of CPU).
bool month_days_exist(const icalrecurrencetype& rule) {
  if (!has_values(rule.by_month_day)) {
    return true;
  }
  int longest = 0;
  if (!has_values(rule.by_month)) {
    longest = 31;
  }
  for (short m : values(rule.by_month)) {
    if (m >= 1 && m <= 12) {
      longest = std::max(longest, days_in_month(m));
    }
  }
  const auto days = values(rule.by_month_day);
  return std::any_of(days.begin(), days.end(), [&](short d) { return is_day_of_month(d, longest); });
}

bool walk_ends_soon(const icalrecurrencetype& rule, const icaltimetype& dtstart) {
  switch (rule.freq) {
    case ICAL_SECONDLY_RECURRENCE:
    case ICAL_MINUTELY_RECURRENCE:
    case ICAL_HOURLY_RECURRENCE:
      // Without BY parts every step is an instance, and instances are counted.
      if (has_values(rule.by_second) || has_values(rule.by_minute) || has_values(rule.by_hour) ||
          has_values(rule.by_day) || has_values(rule.by_month_day) ||
          has_values(rule.by_year_day) || has_values(rule.by_week_no) ||
          has_values(rule.by_month) || has_values(rule.by_set_pos)) {
        return false;
      }
      break;
    case ICAL_DAILY_RECURRENCE:
    case ICAL_WEEKLY_RECURRENCE:
    case ICAL_MONTHLY_RECURRENCE:
    case ICAL_YEARLY_RECURRENCE:
      // At most a step a day up to 2582. A COUNT must be walked from DTSTART, so a very old
      // one would add centuries of days.
      break;
    default:
      return false;
  }
  return month_days_exist(rule) && (rule.count == 0 || dtstart.year >= 1900);
}

// A VTIMEZONE from the calendar is used only when libical can expand it quickly: real zones
// change on a fixed day of a fixed month each year (RFC 5545 §3.6.5). An observance with
// another kind of rule (FREQ=SECONDLY is expanded to one change per second since its DTSTART;
// FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30 is searched up to the year 2582) makes the zone be
// resolved by its name instead.
bool zone_rule_is_plain(const icalrecurrencetype& rule) {
  if (rule.freq != ICAL_YEARLY_RECURRENCE || has_values(rule.by_second) ||
      has_values(rule.by_minute) || has_values(rule.by_hour) || has_values(rule.by_year_day) ||
      has_values(rule.by_week_no) || has_values(rule.by_set_pos)) {
    return false;
  }
  std::size_t months = 0;
  int month = 0;
  for (short m : values(rule.by_month)) {
    if (m < 1 || m > 12 || ++months > 1) {
      return false;
    }
    month = m;
  }
  for (short d : values(rule.by_month_day)) {
    // A day every month has, or one the given month has.
    if (!is_day_of_month(d, month == 0 ? 28 : days_in_month(month))) {
      return false;
    }
  }
  for (short d : values(rule.by_day)) {
    const int position = icalrecurrencetype_day_position(d);
    if (position < -5 || position > 5) {
      return false;
    }
  }
  return true;
}

// What expanding a zone costs libical: a step per year of each rule, from the observance's
// DTSTART to a few years ahead (Outlook's zones start in 1601: ~850 for a two-rule zone).
// nullopt for a zone with a rule that is not plain.
std::optional<std::size_t> zone_rule_years(icalcomponent* vtimezone) {
  constexpr int kExpandedUntil = 2040;
  std::size_t years = 0;
  for (icalcomponent* o = icalcomponent_get_first_component(vtimezone, ICAL_ANY_COMPONENT);
       o != nullptr; o = icalcomponent_get_next_component(vtimezone, ICAL_ANY_COMPONENT)) {
    icalproperty* dtstart = icalcomponent_get_first_property(o, ICAL_DTSTART_PROPERTY);
    const int from = dtstart != nullptr ? icalproperty_get_dtstart(dtstart).year : 0;
    for (icalproperty* p = icalcomponent_get_first_property(o, ICAL_RRULE_PROPERTY); p != nullptr;
         p = icalcomponent_get_next_property(o, ICAL_RRULE_PROPERTY)) {
      if (!zone_rule_is_plain(icalproperty_get_rrule(p))) {
        return std::nullopt;
      }
      years += static_cast<std::size_t>(std::max(1, kExpandedUntil - std::max(0, from)));
    }
  }
  return years;
}

std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The events of one calendar, with what resolves their TZIDs.
struct Calendar {
  icalcomponent* root = nullptr;  // the VCALENDAR holding the VTIMEZONEs
  std::vector<icalcomponent*> events;
};

class Expander {
 public:
  Expander(const MappingConfig& mapping, const ExpansionBounds& bounds)
      : mapping_(mapping), bounds_(bounds), window_from_(seconds_of(bounds.from)),
        window_to_(seconds_of(bounds.to)),
        cpu_deadline_ns_(thread_cpu_ns() +
                         std::chrono::nanoseconds(bounds.max_cpu_time).count()) {
    fallback_ = mapping.default_timezone == "UTC"
                    ? nullptr
                    : icaltimezone_get_builtin_timezone(mapping.default_timezone.c_str());
    if (fallback_ == nullptr) {
      fallback_ = icaltimezone_get_utc_timezone();
    }
  }

  void add(const Calendar& calendar) {
    // Group by UID: the master (no RECURRENCE-ID) and its overridden instances (RFC 5545
    // §3.8.4.4).
    std::map<std::string, std::pair<icalcomponent*, std::vector<icalcomponent*>>> by_uid;
    std::size_t anonymous = 0;
    for (icalcomponent* event : calendar.events) {
      const char* uid = icalcomponent_get_uid(event);
      std::string key = uid != nullptr ? uid : fmt::format("\x01{}", anonymous++);
      auto& entry = by_uid[std::move(key)];
      if (icalcomponent_get_first_property(event, ICAL_RECURRENCEID_PROPERTY) != nullptr) {
        entry.second.push_back(event);
      } else if (entry.first == nullptr) {
        entry.first = event;
      }
    }
    for (const auto& [uid, group] : by_uid) {
      if (out_of_time()) {
        ++out_.truncated_events;
        continue;
      }
      expand_group(calendar.root, uid, group.first, group.second);
    }
  }

  Expanded finish() && {
    std::sort(out_.appointments.begin(), out_.appointments.end(),
              [](const Appointment& a, const Appointment& b) {
                return a.start != b.start ? a.start < b.start : a.id < b.id;
              });
    if (out_.appointments.size() > bounds_.max_instances_per_calendar) {
      out_.appointments.resize(bounds_.max_instances_per_calendar);
      ++out_.truncated_events;
    }
    return std::move(out_);
  }

 private:
  // The zone of a DATE-TIME property value: UTC when it says so, else its TZID resolved by the
  // system's zones, then the calendar's VTIMEZONEs; nullptr for a floating time. libical may
  // already have attached the calendar's VTIMEZONE to the value; that one is not trusted, as
  // expanding it is not bounded.
  const icaltimezone* zone_of(icalcomponent* root, icalproperty* property,
                              const icaltimetype& t) const {
    if (icaltime_is_utc(t)) {
      return icaltimezone_get_utc_timezone();
    }
    icalparameter* p = property != nullptr && !t.is_date
                           ? icalproperty_get_first_parameter(property, ICAL_TZID_PARAMETER)
                           : nullptr;
    const char* tzid = p != nullptr ? icalparameter_get_tzid(p) : nullptr;
    if (tzid == nullptr) {
      return nullptr;
    }
    // A zone the system knows by name first: its rules are current, and libical expands them
    // once per process rather than once per calendar text.
    const icaltimezone* zone = icaltimezone_get_builtin_timezone_from_tzid(tzid);
    if (zone == nullptr) {
      zone = icaltimezone_get_builtin_timezone(tzid);
    }
    if (zone == nullptr) {
      zone = usable(icalcomponent_get_timezone(root, tzid));
    }
    return zone;
  }

  // The absolute time of a DATE-TIME or DATE property value; floating times and dates are in
  // the default zone.
  std::int64_t absolute(icalcomponent* root, icalproperty* property, icaltimetype t) const {
    return seconds_in(zone_of(root, property, t), t);
  }

  // The absolute time of local time `t` in `zone` (the default zone when nullptr).
  std::int64_t seconds_in(const icaltimezone* zone, icaltimetype t) const {
    t.is_date = 0;
    t.zone = nullptr;
    return icaltime_as_timet_with_zone(t, const_cast<icaltimezone*>(zone != nullptr ? zone
                                                                                   : fallback_));
  }

  // The calendar's own zone, or nullptr when it is not plain enough to expand or when the
  // calendar's zones already cost their share (a calendar holding hundreds of zones).
  const icaltimezone* usable(icaltimezone* zone) const {
    // About eleven zones as Outlook writes them (two rules from 1601): ~0.35 s of libical.
    constexpr std::size_t kRuleYearsPerCalendar = 10000;
    if (zone == nullptr) {
      return nullptr;
    }
    auto [it, inserted] = usable_zones_.try_emplace(zone, false);
    if (inserted) {
      icalcomponent* vtimezone = icaltimezone_get_component(zone);
      const auto years = vtimezone != nullptr ? zone_rule_years(vtimezone) : std::nullopt;
      it->second = years && zone_rule_years_ + *years <= kRuleYearsPerCalendar;
      if (it->second) {
        zone_rule_years_ += *years;
      }
    }
    return it->second ? zone : nullptr;
  }

  bool out_of_time() {
    out_of_time_ = out_of_time_ || thread_cpu_ns() >= cpu_deadline_ns_;
    return out_of_time_;
  }

  std::string x_property(icalcomponent* event, std::string_view name) const {
    for (icalproperty* p = icalcomponent_get_first_property(event, ICAL_X_PROPERTY); p != nullptr;
         p = icalcomponent_get_next_property(event, ICAL_X_PROPERTY)) {
      const char* x_name = icalproperty_get_x_name(p);
      const char* value = icalproperty_get_x(p);
      if (x_name != nullptr && value != nullptr && iequals(x_name, name)) {
        return std::string(trim(value));
      }
    }
    return {};
  }

  bool has_category(icalcomponent* event, std::string_view wanted) const {
    if (wanted.empty()) {
      return false;
    }
    for (icalproperty* p = icalcomponent_get_first_property(event, ICAL_CATEGORIES_PROPERTY);
         p != nullptr; p = icalcomponent_get_next_property(event, ICAL_CATEGORIES_PROPERTY)) {
      std::string_view list(icalproperty_get_categories(p) ? icalproperty_get_categories(p) : "");
      while (!list.empty()) {
        const std::size_t comma = std::min(list.find(','), list.size());
        if (iequals(trim(list.substr(0, comma)), wanted)) {
          return true;
        }
        list.remove_prefix(std::min(comma + 1, list.size()));
      }
    }
    return false;
  }

  // docs/calendar.md, "Mapping": nullopt for events that make no presence.
  std::optional<CalendarKind> kind_of(icalcomponent* event) const {
    if (icalcomponent_get_status(event) == ICAL_STATUS_CANCELLED) {
      return std::nullopt;
    }
    const std::string busy_status = x_property(event, "X-MICROSOFT-CDO-BUSYSTATUS");
    if (iequals(busy_status, "OOF") || has_category(event, mapping_.out_of_office_category)) {
      return CalendarKind::OutOfOffice;
    }
    if (iequals(busy_status, "FREE") || iequals(busy_status, "WORKINGELSEWHERE")) {
      return std::nullopt;
    }
    if (busy_status.empty()) {
      icalproperty* transp = icalcomponent_get_first_property(event, ICAL_TRANSP_PROPERTY);
      if (transp != nullptr && icalproperty_get_transp(transp) != ICAL_TRANSP_OPAQUE &&
          icalproperty_get_transp(transp) != ICAL_TRANSP_OPAQUENOCONFLICT) {
        return std::nullopt;
      }
    }
    const bool tentative = iequals(busy_status, "TENTATIVE") ||
                           (busy_status.empty() &&
                            icalcomponent_get_status(event) == ICAL_STATUS_TENTATIVE);
    if (!tentative) {
      return CalendarKind::Busy;
    }
    switch (mapping_.tentative) {
      case TentativeAs::Tentative:
        return CalendarKind::Tentative;
      case TentativeAs::Busy:
        return CalendarKind::Busy;
      case TentativeAs::Free:
        break;
    }
    return std::nullopt;
  }

  bool is_private(icalcomponent* event) const {
    icalproperty* p = icalcomponent_get_first_property(event, ICAL_CLASS_PROPERTY);
    if (p == nullptr) {
      return false;
    }
    const icalproperty_class c = icalproperty_get_class(p);
    return c == ICAL_CLASS_PRIVATE || c == ICAL_CLASS_CONFIDENTIAL;
  }

  // An event's own start and length; nullopt without a usable DTSTART.
  struct Span {
    icaltimetype start;
    std::int64_t start_s = 0;
    std::int64_t length_s = 0;
  };
  std::optional<Span> span_of(icalcomponent* root, icalcomponent* event) const {
    icalproperty* dtstart = icalcomponent_get_first_property(event, ICAL_DTSTART_PROPERTY);
    if (dtstart == nullptr) {
      return std::nullopt;
    }
    const icaltimetype start = icalproperty_get_dtstart(dtstart);
    if (icaltime_is_null_time(start) || !icaltime_is_valid_time(start)) {
      return std::nullopt;
    }
    Span s{start, absolute(root, dtstart, start), 0};
    if (icalproperty* dtend = icalcomponent_get_first_property(event, ICAL_DTEND_PROPERTY)) {
      const icaltimetype end = icalproperty_get_dtend(dtend);
      if (!icaltime_is_null_time(end) && icaltime_is_valid_time(end)) {
        s.length_s = absolute(root, dtend, end) - s.start_s;
      }
    } else if (icalproperty* d = icalcomponent_get_first_property(event, ICAL_DURATION_PROPERTY)) {
      s.length_s = icaldurationtype_as_int(icalproperty_get_duration(d));
    } else if (start.is_date) {
      s.length_s = 24 * 60 * 60;  // RFC 5545 §3.6.1: a DATE without DTEND lasts the day
    }
    s.length_s = std::clamp<std::int64_t>(s.length_s, 0, 366LL * 24 * 60 * 60);
    return s;
  }

  bool overlaps_window(std::int64_t start, std::int64_t length) const {
    return start < window_to_ && start + length > window_from_;
  }

  void emit(icalcomponent* event, std::string_view uid, CalendarKind kind, bool all_day,
            std::int64_t start, std::int64_t length) {
    if (length <= 0 || !overlaps_window(start, length)) {
      return;
    }
    if (all_day && (mapping_.all_day == AllDayAs::Ignore ||
                    (mapping_.all_day == AllDayAs::OutOfOfficeOnly &&
                     kind != CalendarKind::OutOfOffice))) {
      return;
    }
    Appointment a;
    // The id names the instance, so overlapping instances of one series stay apart.
    a.id = fmt::format("{}/{}", clean_text(std::string(uid.substr(0, 96)).c_str(), 96), start);
    a.subject = clean_text(icalcomponent_get_summary(event), mapping_.text_bytes);
    a.location = clean_text(icalcomponent_get_location(event), mapping_.text_bytes);
    a.start = core::TimePoint(std::chrono::seconds(start));
    a.end = core::TimePoint(std::chrono::seconds(start + length));
    a.kind = kind;
    a.is_private = is_private(event);
    out_.appointments.push_back(std::move(a));
  }

  // The instants RECURRENCE-ID overrides and EXDATEs take out of a series: absolute times, and
  // local dates for DATE-valued EXDATEs.
  struct Exclusions {
    std::set<std::int64_t> instants;
    std::set<int> dates;
    bool has(const icaltimetype& local, std::int64_t instant) const {
      return instants.contains(instant) ||
             dates.contains(local.year * 10000 + local.month * 100 + local.day);
    }
  };

  void expand_group(icalcomponent* root, std::string_view uid, icalcomponent* master,
                    const std::vector<icalcomponent*>& overrides) {
    Exclusions excluded;
    for (icalcomponent* o : overrides) {
      icalproperty* rid = icalcomponent_get_first_property(o, ICAL_RECURRENCEID_PROPERTY);
      excluded.instants.insert(absolute(root, rid, icalproperty_get_recurrenceid(rid)));
      const auto span = span_of(root, o);
      const auto kind = kind_of(o);
      if (span && kind) {
        emit(o, uid, *kind, span->start.is_date, span->start_s, span->length_s);
      }
    }
    if (master == nullptr) {
      return;
    }
    const auto span = span_of(root, master);
    const auto kind = kind_of(master);
    if (!span || !kind) {
      return;
    }
    for (icalproperty* p = icalcomponent_get_first_property(master, ICAL_EXDATE_PROPERTY);
         p != nullptr; p = icalcomponent_get_next_property(master, ICAL_EXDATE_PROPERTY)) {
      const icaltimetype t = icalproperty_get_exdate(p);
      if (t.is_date) {
        excluded.dates.insert(t.year * 10000 + t.month * 100 + t.day);
      } else {
        excluded.instants.insert(absolute(root, p, t));
      }
    }
    icalproperty* rrule = icalcomponent_get_first_property(master, ICAL_RRULE_PROPERTY);
    std::size_t kept = 0;
    auto add_instance = [&](const icaltimetype& local, std::int64_t start) {
      if (!excluded.has(local, start)) {
        const std::size_t before = out_.appointments.size();
        emit(master, uid, *kind, span->start.is_date, start, span->length_s);
        kept += out_.appointments.size() - before;
      }
    };
    if (rrule == nullptr) {
      add_instance(span->start, span->start_s);
    } else {
      expand_rule(root, master, *span, icalproperty_get_rrule(rrule), add_instance, kept);
    }
    for (icalproperty* p = icalcomponent_get_first_property(master, ICAL_RDATE_PROPERTY);
         p != nullptr && kept < bounds_.max_instances_per_event;
         p = icalcomponent_get_next_property(master, ICAL_RDATE_PROPERTY)) {
      const icaldatetimeperiodtype rdate = icalproperty_get_rdate(p);
      if (!icaltime_is_null_time(rdate.time) && icaltime_is_valid_time(rdate.time)) {
        add_instance(rdate.time, absolute(root, p, rdate.time));
      }
    }
  }

  template <typename AddInstance>
  void expand_rule(icalcomponent* root, icalcomponent* master, const Span& span,
                   icalrecurrencetype rule, AddInstance& add_instance, const std::size_t& kept) {
    icalproperty* dtstart_property = icalcomponent_get_first_property(master, ICAL_DTSTART_PROPERTY);
    icaltimetype dtstart = span.start;
    // The iterator converts a UTC UNTIL into the series' zone: the vetted one.
    dtstart.zone = zone_of(root, dtstart_property, dtstart);
    IteratorPtr it(walk_ends_soon(rule, dtstart) ? icalrecur_iterator_new(rule, dtstart) : nullptr);
    if (!it) {
      // A rule libical cannot walk, or not in bounded time: the first instance only.
      add_instance(span.start, span.start_s);
      ++out_.truncated_events;
      return;
    }
    // Without COUNT the walk may start near the window instead of at DTSTART (years ago); a
    // day early, so a change of UTC offset cannot skip an instance.
    const std::int64_t jump = window_from_ - span.length_s - 24 * 60 * 60;
    if (rule.count == 0 && jump > span.start_s) {
      const std::int64_t offset = jump - span.start_s;
      icaltimetype from = icaltime_add(dtstart, icaldurationtype_from_int(
                                                    static_cast<int>(std::min<std::int64_t>(
                                                        offset, 0x7fffffff))));
      (void)icalrecur_iterator_set_start(it.get(), from);
    }
    for (std::size_t steps = 0;; ++steps) {
      if (steps >= bounds_.max_steps_per_event || kept >= bounds_.max_instances_per_event ||
          (steps % 64 == 63 && out_of_time())) {
        ++out_.truncated_events;
        return;
      }
      icaltimetype local = icalrecur_iterator_next(it.get());
      if (icaltime_is_null_time(local)) {
        return;
      }
      const std::int64_t start = seconds_in(dtstart.zone, local);  // resolved once, above
      if (start >= window_to_) {
        return;
      }
      if (start + span.length_s > window_from_) {
        add_instance(local, start);
      }
    }
  }

  const MappingConfig& mapping_;
  const ExpansionBounds& bounds_;
  const std::int64_t window_from_;
  const std::int64_t window_to_;
  const std::int64_t cpu_deadline_ns_;
  bool out_of_time_ = false;
  const icaltimezone* fallback_ = nullptr;
  mutable std::map<const icaltimezone*, bool> usable_zones_;
  mutable std::size_t zone_rule_years_ = 0;
  Expanded out_;
};

void collect(icalcomponent* component, std::vector<Calendar>& out) {
  switch (icalcomponent_isa(component)) {
    case ICAL_VCALENDAR_COMPONENT: {
      Calendar c{component, {}};
      for (icalcomponent* e = icalcomponent_get_first_component(component, ICAL_VEVENT_COMPONENT);
           e != nullptr; e = icalcomponent_get_next_component(component, ICAL_VEVENT_COMPONENT)) {
        c.events.push_back(e);
      }
      out.push_back(std::move(c));
      break;
    }
    case ICAL_XROOT_COMPONENT:
      for (icalcomponent* c =
               icalcomponent_get_first_component(component, ICAL_VCALENDAR_COMPONENT);
           c != nullptr; c = icalcomponent_get_next_component(component, ICAL_VCALENDAR_COMPONENT)) {
        collect(c, out);
      }
      break;
    default:
      break;
  }
}

}  // namespace

Result<Expanded> expand_ics(std::string_view text, const MappingConfig& mapping,
                            const ExpansionBounds& bounds) {
  if (text.size() > bounds.max_bytes) {
    return Error::resource_exhausted(
        fmt::format("iCalendar: {} bytes, limit {}", text.size(), bounds.max_bytes));
  }
  if (text.find('\0') != std::string_view::npos) {
    return Error::invalid_argument("iCalendar: contains a NUL byte");
  }
  const std::string copy(text);  // libical reads C strings
  ComponentPtr root(icalparser_parse_string(copy.c_str()));
  std::vector<Calendar> calendars;
  if (root) {
    collect(root.get(), calendars);
  }
  if (calendars.empty()) {
    return Error::invalid_argument("iCalendar: no VCALENDAR (BEGIN:VCALENDAR ... END:VCALENDAR)");
  }
  Expander expander(mapping, bounds);
  for (const Calendar& c : calendars) {
    expander.add(c);
  }
  return std::move(expander).finish();
}

std::size_t merge_appointments(std::vector<Appointment>& into, std::vector<Appointment> more,
                               std::size_t max) {
  into.insert(into.end(), std::make_move_iterator(more.begin()),
              std::make_move_iterator(more.end()));
  std::sort(into.begin(), into.end(), [](const Appointment& a, const Appointment& b) {
    return a.start != b.start ? a.start < b.start : a.id < b.id;
  });
  into.erase(std::unique(into.begin(), into.end(),
                         [](const Appointment& a, const Appointment& b) { return a.id == b.id; }),
             into.end());
  if (into.size() <= max) {
    return 0;
  }
  const std::size_t dropped = into.size() - max;
  into.resize(max);
  return dropped;
}

}  // namespace presenced::connectors::calendar
