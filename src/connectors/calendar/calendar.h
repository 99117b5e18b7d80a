#pragma once

// The calendar connector (docs/calendar.md): reads users' calendars from CalDAV servers or ICS
// URLs, expands them into appointments of the core's calendar layer and hands each user's layer
// to a callback. iCalendar is read with libical, HTTP goes through libcurl; no Asio here.
//
// Thread-safety: expand_ics() is a pure function, safe from any thread. A Connector runs its
// syncs on `sync_workers` threads of its own, one user on one worker at a time; set_source(),
// stats() and stop() may be called from any thread, and the delivery callback runs on the
// workers, for different users at once.

#include "core/model.h"
#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::calendar {

// How an event becomes an appointment (docs/calendar.md, "Mapping").
enum class TentativeAs : std::uint8_t { Tentative, Busy, Free };
enum class AllDayAs : std::uint8_t { OutOfOfficeOnly, Keep, Ignore };

struct MappingConfig {
  TentativeAs tentative = TentativeAs::Tentative;
  AllDayAs all_day = AllDayAs::OutOfOfficeOnly;
  // An event with this CATEGORIES value (case-insensitive) is out of office; empty: none.
  std::string out_of_office_category = "Out of Office";
  // The zone of floating times and all-day dates (an IANA name); UTC when unknown.
  std::string default_timezone = "UTC";
  std::size_t text_bytes = 256;  // subject and location are cut to this (the API's name limit)
};

// The work one calendar may cost: only instances overlapping [from, to) are kept.
struct ExpansionBounds {
  core::TimePoint from{};
  core::TimePoint to{};
  std::size_t max_instances_per_event = 1000;
  std::size_t max_instances_per_calendar = 5000;
  // Recurrence instances walked per event, kept or not: FREQ=MINUTELY from years ago stops here.
  std::size_t max_steps_per_event = 100'000;
  std::size_t max_bytes = 8 * 1024 * 1024;  // one iCalendar text
  // CPU time one calendar's expansion may take; the events left when it runs out are truncated.
  // A safety net: the rules that would make libical search for centuries are refused up front
  // (docs/calendar.md, "Bounds").
  std::chrono::milliseconds max_cpu_time{2000};
};

struct Expanded {
  std::vector<core::Appointment> appointments;  // sorted by start
  std::size_t truncated_events = 0;  // events whose expansion stopped at a bound
};

// Expands one iCalendar text (a VCALENDAR, as in a CalDAV resource or an ICS export). Malformed
// input is an InvalidArgument error naming what is wrong; it never crashes.
core::Result<Expanded> expand_ics(std::string_view text, const MappingConfig& mapping,
                                  const ExpansionBounds& bounds);

// Keeps the earliest `max` appointments of several calendars merged; returns how many went.
std::size_t merge_appointments(std::vector<core::Appointment>& into,
                               std::vector<core::Appointment> more, std::size_t max);

// ---- Sync ----

enum class SourceMode : std::uint8_t { CalDav, Ics };

// One user's calendar: a CalDAV collection, a CalDAV account to discover calendars in, or an
// ICS URL. Empty credentials: the connector's service account, if any.
struct Source {
  SourceMode mode = SourceMode::CalDav;
  std::string url;
  std::string username;
  std::string password;
  bool discover = false;  // url is a server or principal: find the calendars (RFC 6764, 4791)
  friend bool operator==(const Source&, const Source&) = default;
};

struct ConnectorConfig {
  std::chrono::seconds interval{60};
  std::chrono::seconds timeout{10};  // one HTTP request, connection included
  // Users synced at once, each worker with its own HTTP connections: a slow or unreachable
  // server holds one worker, not everyone's sync.
  std::size_t sync_workers = 8;
  // After this long without a good sync the last calendar is dropped, so an unreachable server
  // never leaves a user busy on stale data.
  std::chrono::seconds keep_stale{60 * 60};
  std::chrono::hours past{24};        // the window: now - past ..
  std::chrono::hours ahead{7 * 24};   //            .. now + ahead
  std::size_t max_resources = 5000;   // CalDAV resources per calendar
  std::string service_username;       // used when a source has no credentials
  std::string service_password;
  MappingConfig mapping;
  ExpansionBounds bounds;  // from/to are set per sync from past/ahead
};

// What one sync of one user gives: a new layer, or an error and maybe the layer to fall back to.
struct SyncReport {
  std::string user;
  // Set when the layer changes: after a good sync, or empty once the last good one is too old.
  std::optional<core::CalendarLayer> layer;
  bool ok = true;
  std::string error;  // what went wrong, for logs and the admin view
  core::TimePoint at{};
};

// Counters for GET /metrics.
struct ConnectorStats {
  std::uint64_t syncs_ok = 0;
  std::uint64_t syncs_unchanged = 0;  // 304 or the same sync token / ctag
  std::uint64_t errors_unauthorized = 0;
  std::uint64_t errors_unreachable = 0;  // connection refused, DNS, timeouts
  std::uint64_t errors_http = 0;         // other 4xx/5xx
  std::uint64_t errors_parse = 0;        // malformed iCalendar or WebDAV XML
  std::uint64_t stale_dropped = 0;       // calendars dropped after keep_stale
  std::uint64_t truncated_events = 0;
  std::size_t sources = 0;
  std::size_t appointments = 0;  // in the last layers delivered
};

// Prometheus text for ConnectorStats.
void render_metrics(const ConnectorStats& stats, std::string& out);

class Connector {
 public:
  using Deliver = std::function<void(SyncReport)>;
  using Clock = std::function<core::TimePoint()>;

  static std::unique_ptr<Connector> create(ConnectorConfig config, Deliver deliver, Clock clock);
  virtual ~Connector() = default;

  // Adds, changes (nullopt: removes) a user's source; the next sync of that user runs at once.
  virtual void set_source(const std::string& user, std::optional<Source> source) = 0;
  // Stops syncing a user's source without reporting an empty layer: another node of a cluster
  // syncs it now, and the calendar it showed stays until that node reports.
  virtual void release_source(const std::string& user) = 0;
  virtual void start() = 0;
  // Stops the workers; waits for the requests in flight, each at most `timeout`.
  virtual void stop() = 0;
  virtual ConnectorStats stats() const = 0;
};

}  // namespace presenced::connectors::calendar
