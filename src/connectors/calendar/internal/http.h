#pragma once

// A blocking HTTP client over one libcurl easy handle (connections are reused between
// requests). Only http and https, bounded bodies, a deadline per request.
//
// Thread-safety: none; one per thread.

#include "core/result.h"

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace presenced::connectors::calendar {

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::string username;  // empty: no authentication
  std::string password;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string etag;
};

// Transport failures (refused, unresolvable, timed out) are Unavailable errors; a body past
// `max_body` is ResourceExhausted. Any HTTP status is an answer.
class HttpClient {
 public:
  HttpClient(std::chrono::seconds timeout, std::size_t max_body);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  core::Result<HttpAnswer> perform(const HttpCall& call);

 private:
  void* handle_;  // CURL*, kept out of this header
  std::chrono::seconds timeout_;
  std::size_t max_body_;
};

}  // namespace presenced::connectors::calendar
