#include "app/calendar_wiring.h"

#include "cluster/node.h"
#include "cluster/partition.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace presenced::app {
namespace cal = connectors::calendar;
namespace {

// Cluster mode: every node knows every source, and hands the connector only those whose user
// it owns among the live nodes. Server's thread only.
class SourceOwnership {
 public:
  SourceOwnership(cal::Connector& connector, std::string self)
      : connector_(connector), self_(std::move(self)) {}

  void set_source(const std::string& user, std::optional<cal::Source> source) {
    const bool owned = owned_.contains(user);
    if (!source) {
      sources_.erase(user);
      if (owned) {
        owned_.erase(user);
        connector_.set_source(user, std::nullopt);
      }
      return;
    }
    auto& known = sources_[user];
    if (owned && known == *source) {
      return;  // the same source again (from another node): no extra sync
    }
    known = *source;
    if (cluster::owner_of(user, live_) == self_) {
      owned_.insert(user);
      connector_.set_source(user, std::move(source));
    } else if (owned) {
      owned_.erase(user);
      connector_.release_source(user);
    }
  }

  // A node died or joined: take the sources now ours (synced at once), release the others.
  void set_live_nodes(std::vector<std::string> live) {
    live_ = std::move(live);
    for (const auto& [user, source] : sources_) {
      const bool mine = cluster::owner_of(user, live_) == self_;
      if (mine && owned_.insert(user).second) {
        connector_.set_source(user, source);
      } else if (!mine && owned_.erase(user) > 0) {
        connector_.release_source(user);
      }
    }
  }

 private:
  cal::Connector& connector_;
  const std::string self_;
  std::vector<std::string> live_;
  std::map<std::string, cal::Source> sources_;
  std::set<std::string> owned_;
};

cal::Source to_source(const api::CalendarSource& s) {
  return cal::Source{s.mode == "ics" ? cal::SourceMode::Ics : cal::SourceMode::CalDav, s.url,
                     s.username, s.password, s.discover};
}

}  // namespace

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

std::unique_ptr<cal::Connector> start_calendar(const CalendarOptions& o, api::Server& server,
                                               cluster::Node* node) {
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
  if (node != nullptr) {
    auto ownership = std::make_shared<SourceOwnership>(*connector, node->id());
    ownership->set_live_nodes(node->live_nodes());
    node->on_live_nodes([ownership](const std::vector<std::string>& live) {
      ownership->set_live_nodes(live);
    });
    server.watch_calendar_sources(
        [ownership](const std::string& user, std::optional<api::CalendarSource> s) {
          ownership->set_source(user, s ? std::optional(to_source(*s)) : std::nullopt);
        });
  } else {
    server.watch_calendar_sources([c = connector.get()](const std::string& user,
                                                        std::optional<api::CalendarSource> s) {
      c->set_source(user, s ? std::optional(to_source(*s)) : std::nullopt);
    });
  }
  server.add_metrics_source([c = connector.get()](std::string& out) {
    cal::render_metrics(c->stats(), out);
  });
  connector->start();
  return connector;
}

}  // namespace presenced::app
