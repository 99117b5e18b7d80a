#pragma once

// The calendar connector's flags and its wiring to the API server (docs/calendar.md).

#include "api/api.h"
#include "connectors/calendar/calendar.h"

#include <CLI/CLI.hpp>

#include <memory>

namespace presenced::cluster {
class Node;
}

namespace presenced::app {

struct CalendarOptions {
  int interval_s = 60;
  int timeout_s = 10;
  int sync_workers = 8;
  int keep_stale_s = 60 * 60;
  int past_hours = 24;
  int ahead_hours = 7 * 24;
  std::string service_username;
  std::string tentative = "tentative";
  std::string all_day = "out_of_office_only";
  std::string out_of_office_category = "Out of Office";
  std::string timezone = "UTC";
};

void add_calendar_flags(CLI::App& app, CalendarOptions& options);

// Starts the connector on its own threads, fed by the server's calendar sources and reporting
// to it; its figures join GET /metrics. The service account's password comes from
// PRESENCED_CALENDAR_PASSWORD, not a flag (flags show in ps). Stop it before the server goes.
// With a cluster `node`, this node syncs only the sources whose user it owns among the live
// nodes (cluster/partition.h), and takes or releases sources as nodes die and join; the node
// must outlive the connector.
std::unique_ptr<connectors::calendar::Connector> start_calendar(const CalendarOptions& options,
                                                                api::Server& server,
                                                                cluster::Node* node = nullptr);

}  // namespace presenced::app
