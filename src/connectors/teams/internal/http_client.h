#pragma once

// A blocking HTTP/1.1 client over libcurl for the connector's thread. One connection is kept
// alive per host. Thread-safety: one thread at a time.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::teams {

struct HttpAnswer {
  int status = 0;  // 0: no answer (connection failed or timed out)
  std::string body;
  std::optional<std::chrono::seconds> retry_after;  // 429 and 503 (RFC 9110 §10.2.3)
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpAnswer request(std::string_view method, const std::string& url,
                     const std::vector<std::string>& headers, const std::string& body);

 private:
  void* curl_;  // CURL*, kept out of the header
};

}  // namespace presenced::connectors::teams
