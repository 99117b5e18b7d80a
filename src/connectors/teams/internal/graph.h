#pragma once

// Requests to one tenant's Graph within its limits: an OAuth2 client-credentials token renewed
// before it ends (and at once on a 401), a token bucket below Graph's 1,500 requests per 30 s,
// and a pause while Graph asks for one (429/503 Retry-After) or fails (backoff).
//
// Thread-safety: the connector's thread only.

#include "connectors/http/http.h"
#include "connectors/teams/teams.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::teams {

using Steady = std::chrono::steady_clock;
using http::HttpAnswer;
using http::HttpClient;

// `capacity` requests per `window`, refilled continuously.
class TokenBucket {
 public:
  TokenBucket(int capacity, std::chrono::seconds window);
  // Takes one request if there is one; otherwise returns when there will be.
  std::optional<Steady::time_point> take(Steady::time_point now);

 private:
  double capacity_;
  double per_second_;
  double tokens_;
  Steady::time_point at_{};
};

struct GraphCounters {
  std::atomic<std::uint64_t> requests_2xx{0};
  std::atomic<std::uint64_t> requests_4xx{0};
  std::atomic<std::uint64_t> requests_429{0};
  std::atomic<std::uint64_t> requests_5xx{0};
  std::atomic<std::uint64_t> requests_failed{0};  // no answer
  std::atomic<std::uint64_t> token_requests{0};
  std::atomic<std::uint64_t> bucket_waits{0};  // requests held back by our own bucket
};

class GraphClient {
 public:
  GraphClient(TenantConfig tenant, const TeamsConfig& config, HttpClient& http,
              GraphCounters& counters);

  // nullopt: not sent now (throttled, bucket empty, backing off, no token); try again at
  // ready_at(). Otherwise Graph's answer, 2xx or not.
  std::optional<HttpAnswer> call(std::string_view method, std::string_view path,
                                 const std::string& body);
  Steady::time_point ready_at() const { return ready_at_; }
  const TenantConfig& tenant() const { return tenant_; }

 private:
  bool ensure_token(Steady::time_point now);
  void back_off(Steady::time_point now, std::optional<std::chrono::seconds> retry_after);
  void count(long status);
  // The answer, or status 0 when none came (refused, timed out, too large).
  HttpAnswer send(std::string method, std::string url, std::vector<std::string> headers,
                  std::string body);

  TenantConfig tenant_;
  HttpClient& http_;
  GraphCounters& counters_;
  TokenBucket bucket_;
  std::string token_;
  Steady::time_point token_renew_at_{};
  Steady::time_point ready_at_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace presenced::connectors::teams
