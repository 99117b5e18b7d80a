#include "api/internal/metrics.h"

#include <fmt/format.h>

namespace presenced::api {

void LatencyHistogram::observe(std::chrono::nanoseconds value, std::uint64_t count) {
  const auto us = static_cast<std::uint64_t>(value.count() / 1000);
  std::size_t i = 0;
  while (i < kBoundsUs.size() && us > kBoundsUs[i]) {
    ++i;
  }
  buckets_[i] += count;
  count_ += count;
  sum_seconds_ += static_cast<double>(value.count()) * 1e-9 * static_cast<double>(count);
}

void LatencyHistogram::render(std::string& out, const char* name, const char* help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
    cumulative += buckets_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name,
                       static_cast<double>(kBoundsUs[i]) / 1e6, cumulative);
  }
  cumulative += buckets_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative,
                     name, sum_seconds_, name, count_);
}

namespace {
void counter(std::string& out, const char* name, const char* help, std::uint64_t value,
             const char* type = "counter") {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}
}  // namespace

std::string Metrics::render(const core::EngineStats& engine, std::size_t users,
                            std::chrono::seconds uptime) const {
  std::string out;
  out.reserve(4096);
  out += "# HELP presenced_http_requests_total HTTP requests by status class.\n"
         "# TYPE presenced_http_requests_total counter\n";
  static constexpr const char* kClasses[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (std::size_t i = 0; i < http_by_class.size(); ++i) {
    out += fmt::format("presenced_http_requests_total{{class=\"{}\"}} {}\n", kClasses[i],
                       http_by_class[i]);
  }
  counter(out, "presenced_websocket_connections", "Open WebSocket connections.", ws_connections,
          "gauge");
  counter(out, "presenced_websocket_connections_total", "WebSocket connections accepted.",
          ws_connections_total);
  counter(out, "presenced_websocket_messages_received_total", "WebSocket messages received.",
          ws_messages_in);
  counter(out, "presenced_websocket_messages_sent_total", "WebSocket messages sent.",
          ws_messages_out);
  counter(out, "presenced_websocket_errors_total", "Malformed WebSocket messages answered.",
          ws_errors);
  counter(out, "presenced_users", "Users known to the engine.", users, "gauge");
  counter(out, "presenced_subscriptions", "Live (watcher, user) subscriptions.",
          engine.subscriptions, "gauge");
  counter(out, "presenced_watchers", "Live watchers.", engine.watchers, "gauge");
  counter(out, "presenced_presence_changes_total", "Visible presence changes.", engine.changes);
  counter(out, "presenced_aggregations_total", "Aggregations run.", engine.aggregations);
  counter(out, "presenced_deliveries_total", "Presence events queued to watchers.",
          engine.deliveries);
  counter(out, "presenced_encodings_total", "Presence encodings (once per level and format).",
          engine.encodings);
  counter(out, "presenced_store_commits_total", "Store commits acknowledged.", store_commits);
  counter(out, "presenced_store_failures_total", "Store commits that failed.", store_failures);
  counter(out, "presenced_webhook_incoming_applied_total",
          "Incoming webhook statuses applied as manual states.", webhook_applied);
  counter(out, "presenced_webhook_incoming_echoes_total",
          "Incoming webhook statuses the external system already showed (not applied).",
          webhook_echoes);
  counter(out, "presenced_webhook_incoming_refused_total",
          "Incoming webhook posts without a valid signature.", webhook_refused);
  counter(out, "presenced_cluster_orphaned_logouts_total",
          "Logouts of users whose last session ended with a silent node, claimed by this "
          "node (their logout state applied).",
          orphaned_logouts);
  counter(out, "presenced_uptime_seconds", "Seconds since start.",
          static_cast<std::uint64_t>(uptime.count()), "gauge");
  fanout.render(out, "presenced_fanout_latency_seconds",
                "From a change being queued to its event written to the WebSocket.");
  return out;
}

}  // namespace presenced::api
