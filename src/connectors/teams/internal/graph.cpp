#include "connectors/teams/internal/graph.h"

#include "connectors/teams/internal/graph_json.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::connectors::teams {

namespace {

constexpr auto kTokenMargin = std::chrono::seconds(60);  // renewed this long before it ends
constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::milliseconds(30'000);
constexpr auto kDefaultRetryAfter = std::chrono::seconds(1);

}  // namespace

TokenBucket::TokenBucket(int capacity, std::chrono::seconds window)
    : capacity_(capacity),
      per_second_(static_cast<double>(capacity) / static_cast<double>(window.count())),
      tokens_(capacity) {}

std::optional<Steady::time_point> TokenBucket::take(Steady::time_point now) {
  if (at_ != Steady::time_point{}) {
    const double elapsed = std::chrono::duration<double>(now - at_).count();
    tokens_ = std::min(capacity_, tokens_ + elapsed * per_second_);
  }
  at_ = now;
  if (tokens_ >= 1) {
    tokens_ -= 1;
    return std::nullopt;
  }
  const auto wait = std::chrono::duration<double>((1 - tokens_) / per_second_);
  return now + std::chrono::duration_cast<Steady::duration>(wait);
}

GraphClient::GraphClient(TenantConfig tenant, const TeamsConfig& config, HttpClient& http,
                         GraphCounters& counters)
    : tenant_(std::move(tenant)),
      http_(http),
      counters_(counters),
      bucket_(config.requests_per_window, config.window) {}

void GraphClient::count(long status) {
  auto& counter = status == 0     ? counters_.requests_failed
                  : status == 429 ? counters_.requests_429
                  : status >= 500 ? counters_.requests_5xx
                  : status >= 400 ? counters_.requests_4xx
                                  : counters_.requests_2xx;
  ++counter;
}

void GraphClient::back_off(Steady::time_point now,
                           std::optional<std::chrono::seconds> retry_after) {
  if (retry_after) {
    ready_at_ = now + std::max<Steady::duration>(*retry_after, kDefaultRetryAfter);
    return;
  }
  backoff_ = std::min(kMaxBackoff, backoff_ == backoff_.zero() ? kFirstBackoff : backoff_ * 2);
  ready_at_ = now + backoff_;
}

HttpAnswer GraphClient::send(std::string method, std::string url, std::vector<std::string> headers,
                             std::string body) {
  http::HttpCall call;
  call.method = std::move(method);
  call.url = std::move(url);
  call.headers = std::move(headers);
  call.body = std::move(body);
  auto answer = http_.perform(call);
  if (!answer) {
    spdlog::debug("teams: tenant {}: {}", tenant_.name, answer.error().message);
    return HttpAnswer{};
  }
  return std::move(*answer);
}

bool GraphClient::ensure_token(Steady::time_point now) {
  if (!token_.empty() && now < token_renew_at_) {
    return true;
  }
  ++counters_.token_requests;
  const HttpAnswer answer =
      send("POST", tenant_.token_url, {"Content-Type: application/x-www-form-urlencoded"},
           token_request(tenant_.client_id, tenant_.client_secret));
  auto token = answer.status == 200 ? read_token(answer.body)
                                    : core::Result<TokenRead>(core::Error::unauthenticated(
                                          "token endpoint answered " +
                                          std::to_string(answer.status)));
  if (!token) {
    spdlog::warn("teams: tenant {}: no token: {}", tenant_.name, token.error().message);
    token_.clear();
    back_off(now, answer.retry_after);
    return false;
  }
  token_ = std::move(token->access_token);
  token_renew_at_ = now + std::max<Steady::duration>(token->expires_in - kTokenMargin,
                                                     token->expires_in / 2);
  return true;
}

std::optional<HttpAnswer> GraphClient::call(std::string_view method, std::string_view path,
                                            const std::string& body) {
  Steady::time_point now = Steady::now();
  if (now < ready_at_) {
    return std::nullopt;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!ensure_token(now)) {
      return std::nullopt;
    }
    if (auto wait = bucket_.take(now)) {
      ++counters_.bucket_waits;
      ready_at_ = *wait;
      return std::nullopt;
    }
    HttpAnswer answer =
        send(std::string(method), tenant_.graph_url + std::string(path),
             {"Authorization: Bearer " + token_, "Content-Type: application/json"}, body);
    count(answer.status);
    now = Steady::now();
    if (answer.status == 401 && attempt == 0) {
      token_.clear();  // revoked or expired early: one retry with a new token
      continue;
    }
    if (answer.status == 429 || answer.status == 503 || answer.status == 0 ||
        answer.status >= 500) {
      spdlog::debug("teams: tenant {}: {} {} answered {}", tenant_.name, method, path,
                    answer.status);
      back_off(now, answer.retry_after);
      return std::nullopt;
    }
    backoff_ = backoff_.zero();
    return answer;
  }
  back_off(now, std::nullopt);
  return std::nullopt;
}

}  // namespace presenced::connectors::teams
