#include "app/calendar_wiring.h"

#include <chrono>
#include <cstdlib>
#include <map>

namespace presenced::app {
namespace cal = connectors::calendar;

void add_calendar_flags(CLI::App& app, CalendarOptions& o) {
  app.add_option("--calendar-sync-interval", o.interval_s,
                 "Seconds between two syncs of a user's calendar")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 60 * 60));
  app.add_option("--calendar-timeout", o.timeout_s, "Seconds one CalDAV or ICS request may take")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  app.add_option("--calendar-sync-workers", o.sync_workers,
                 "Users' calendars synced at once (threads, each with its own connections)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--calendar-keep-stale", o.keep_stale_s,
                 "Seconds a calendar that cannot be synced is kept before it is dropped")
      ->capture_default_str()
      ->check(CLI::Range(0, 7 * 24 * 60 * 60));
  app.add_option("--calendar-past-hours", o.past_hours, "Expansion window: hours before now")
      ->capture_default_str()
      ->check(CLI::Range(0, 31 * 24));
  app.add_option("--calendar-ahead-hours", o.ahead_hours, "Expansion window: hours after now")
      ->capture_default_str()
      ->check(CLI::Range(1, 62 * 24));
  app.add_option("--calendar-service-username", o.service_username,
                 "CalDAV account for sources without credentials (password in "
                 "PRESENCED_CALENDAR_PASSWORD)");
  app.add_option("--calendar-tentative", o.tentative, "Tentative events: tentative, busy or free")
      ->capture_default_str()
      ->check(CLI::IsMember({"tentative", "busy", "free"}));
  app.add_option("--calendar-all-day", o.all_day,
                 "All-day events: out_of_office_only, keep or ignore")
      ->capture_default_str()
      ->check(CLI::IsMember({"out_of_office_only", "keep", "ignore"}));
  app.add_option("--calendar-ooo-category", o.out_of_office_category,
                 "CATEGORIES value that marks an event out of office (empty: none)")
      ->capture_default_str();
  app.add_option("--calendar-timezone", o.timezone,
                 "Time zone of floating times and all-day dates (IANA name)")
      ->capture_default_str();
}

std::unique_ptr<cal::Connector> start_calendar(const CalendarOptions& o, api::Server& server) {
  cal::ConnectorConfig config;
  config.interval = std::chrono::seconds(o.interval_s);
  config.timeout = std::chrono::seconds(o.timeout_s);
  config.sync_workers = static_cast<std::size_t>(o.sync_workers);
  config.keep_stale = std::chrono::seconds(o.keep_stale_s);
  config.past = std::chrono::hours(o.past_hours);
  config.ahead = std::chrono::hours(o.ahead_hours);
  config.service_username = o.service_username;
  if (const char* password = std::getenv("PRESENCED_CALENDAR_PASSWORD")) {
    config.service_password = password;
  }
  config.mapping.tentative = o.tentative == "busy"   ? cal::TentativeAs::Busy
                             : o.tentative == "free" ? cal::TentativeAs::Free
                                                     : cal::TentativeAs::Tentative;
  config.mapping.all_day = o.all_day == "keep"     ? cal::AllDayAs::Keep
                           : o.all_day == "ignore" ? cal::AllDayAs::Ignore
                                                   : cal::AllDayAs::OutOfOfficeOnly;
  config.mapping.out_of_office_category = o.out_of_office_category;
  config.mapping.default_timezone = o.timezone;
  auto connector = cal::Connector::create(
      std::move(config),
      [&server](cal::SyncReport r) {
        server.report_calendar(
            {std::move(r.user), std::move(r.layer), r.ok, std::move(r.error), r.at});
      },
      [] { return core::to_time_point(core::Clock::now()); });
  server.watch_calendar_sources([c = connector.get()](const std::string& user,
                                                      std::optional<api::CalendarSource> s) {
    if (!s) {
      c->set_source(user, std::nullopt);
      return;
    }
    c->set_source(user, cal::Source{s->mode == "ics" ? cal::SourceMode::Ics : cal::SourceMode::CalDav,
                                    s->url, s->username, s->password, s->discover});
  });
  server.add_metrics_source([c = connector.get()](std::string& out) {
    cal::render_metrics(c->stats(), out);
  });
  connector->start();
  return connector;
}

}  // namespace presenced::app
