#pragma once

// Counters and the fan-out latency histogram, rendered in the Prometheus text format.
// Thread-safety: none; updated and rendered on the server's thread.

#include "core/engine.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

namespace presenced::api {

class LatencyHistogram {
 public:
  // Upper bounds in microseconds.
  static constexpr std::array<std::uint64_t, 12> kBoundsUs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 500000, 1000000};
  void observe(std::chrono::nanoseconds value, std::uint64_t count = 1);
  void render(std::string& out, const char* name, const char* help) const;

 private:
  std::array<std::uint64_t, kBoundsUs.size() + 1> buckets_{};
  std::uint64_t count_ = 0;
  double sum_seconds_ = 0;
};

struct Metrics {
  std::uint64_t http_requests = 0;
  std::array<std::uint64_t, 6> http_by_class{};  // 0: other, 1xx..5xx
  std::uint64_t ws_connections = 0;               // open now
  std::uint64_t ws_connections_total = 0;
  std::uint64_t ws_messages_in = 0;
  std::uint64_t ws_messages_out = 0;
  std::uint64_t ws_errors = 0;
  std::uint64_t store_commits = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t webhook_applied = 0;  // incoming statuses applied
  std::uint64_t webhook_echoes = 0;   // incoming statuses the external system already showed
  std::uint64_t webhook_refused = 0;  // unsigned or forged incoming posts
  std::uint64_t orphaned_logouts = 0;  // claimed logouts of a silent node's users
  LatencyHistogram fanout;  // change queued -> written to the socket

  std::string render(const core::EngineStats& engine, std::size_t users,
                     std::chrono::seconds uptime) const;
};

}  // namespace presenced::api
