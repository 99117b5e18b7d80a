#pragma once

// The connectors' HTTP client: blocking, over one libcurl easy handle (connections are reused
// between requests), for a connector's own thread. Only http and https, bounded answers, a
// deadline per request. Used by the Teams, calendar and webhook connectors.
//
// Thread-safety: none; one client per thread.

#include "core/result.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace presenced::connectors::http {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string username;  // empty: no authentication (Basic or Digest otherwise)
  std::string password;
  bool follow_redirects = false;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string etag;
  // Retry-After in delay-seconds (RFC 9110 §10.2.3); an HTTP-date leaves it empty.
  std::optional<std::chrono::seconds> retry_after;
};

struct HttpClientConfig {
  static HttpClientConfig with(std::chrono::milliseconds timeout, std::size_t max_body,
                               std::string user_agent) {
    HttpClientConfig config;
    config.timeout = timeout;
    config.connect_timeout = std::min(config.connect_timeout, timeout);
    config.max_body = max_body;
    config.user_agent = std::move(user_agent);
    return config;
  }

  std::chrono::milliseconds timeout{10'000};  // the whole request
  std::chrono::milliseconds connect_timeout{3'000};
  std::size_t max_body = 4 * 1024 * 1024;
  std::string user_agent = "presenced";
};

// Transport failures (refused, unresolvable, timed out) are Unavailable errors; an answer past
// `max_body` is ResourceExhausted. Any HTTP status is an answer.
class HttpClient {
 public:
  explicit HttpClient(HttpClientConfig config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  core::Result<HttpAnswer> perform(const HttpCall& call);

 private:
  void* handle_;  // CURL*, kept out of this header
  HttpClientConfig config_;
};

}  // namespace presenced::connectors::http
