#include "connectors/teams/internal/http_client.h"

#include <curl/curl.h>

#include <charconv>
#include <mutex>

namespace presenced::connectors::teams {

namespace {

constexpr long kTimeoutMs = 10'000;
constexpr long kConnectTimeoutMs = 3'000;
constexpr std::size_t kBodyLimit = 4 * 1024 * 1024;  // 650 presences are ~150 KB

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* out) {
  auto& body = *static_cast<std::string*>(out);
  if (body.size() + size * count > kBodyLimit) {
    return 0;  // curl fails the transfer: an answer this big is not Graph's
  }
  body.append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* out) {
  const std::string_view line(data, size * count);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size() && match; ++i) {
      match = static_cast<char>(std::tolower(static_cast<unsigned char>(line[i]))) == kName[i];
    }
    if (match) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      long long seconds = 0;
      // Only delay-seconds; an HTTP-date falls back to the caller's default.
      if (std::from_chars(value.data(), value.data() + value.size(), seconds).ec == std::errc{}) {
        *static_cast<std::optional<std::chrono::seconds>*>(out) = std::chrono::seconds(seconds);
      }
    }
  }
  return size * count;
}

}  // namespace

HttpClient::HttpClient() {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

HttpAnswer HttpClient::request(std::string_view method, const std::string& url,
                               const std::vector<std::string>& headers, const std::string& body) {
  CURL* curl = static_cast<CURL*>(curl_);
  HttpAnswer answer;
  if (curl == nullptr) {
    return answer;
  }
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  for (const std::string& header : headers) {
    list = curl_slist_append(list, header.c_str());
  }
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  const std::string verb(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, verb.c_str());
  if (verb != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &answer.retry_after);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, kConnectTimeoutMs);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (curl_easy_perform(curl) == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    answer.status = static_cast<int>(status);
  } else {
    answer.body.clear();
  }
  curl_slist_free_all(list);
  return answer;
}

}  // namespace presenced::connectors::teams
