#include "connectors/http/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>
#include <string_view>

namespace presenced::connectors::http {
namespace {

using core::Error;

struct Sink {
  HttpAnswer answer;
  std::size_t max_body = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  Sink& sink = *static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink.answer.body.size() + n > sink.max_body) {
    sink.too_large = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  sink.answer.body.append(data, n);
  return n;
}

// The value of header `name` (lower case, with the colon) when `line` is that header.
std::optional<std::string_view> header_value(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() ||
      !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  std::string_view value = line.substr(name.size());
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  return value;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  HttpAnswer& answer = static_cast<Sink*>(user)->answer;
  const std::string_view line(data, size * count);
  if (auto etag = header_value(line, "etag:")) {
    answer.etag = std::string(*etag);
  } else if (auto retry = header_value(line, "retry-after:")) {
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(retry->data(), retry->data() + retry->size(), seconds);
    if (ec == std::errc{} && end == retry->data() + retry->size() && seconds >= 0) {
      answer.retry_after = std::chrono::seconds(seconds);
    }
  }
  return size * count;
}

struct FreeList {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

HttpClient::HttpClient(HttpClientConfig config) : config_(std::move(config)) {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  handle_ = curl_easy_init();
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

core::Result<HttpAnswer> HttpClient::perform(const HttpCall& call) {
  CURL* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) {
    return Error::internal("http: curl_easy_init failed");
  }
  curl_easy_reset(curl);
  Sink sink;
  sink.max_body = config_.max_body;
  std::unique_ptr<curl_slist, FreeList> headers;
  for (const std::string& h : call.headers) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  }
  headers.reset(curl_slist_append(headers.release(), "Expect:"));  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  if (call.follow_redirects) {
    curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  }
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(config_.connect_timeout, config_.timeout).count()));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  curl_easy_setopt(curl, CURLOPT_USERAGENT, config_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  if (!call.username.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC | CURLAUTH_DIGEST);
    curl_easy_setopt(curl, CURLOPT_USERNAME, call.username.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, call.password.c_str());
  }
  if (call.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(call.body.size()));
  }
  const CURLcode code = curl_easy_perform(curl);
  if (sink.too_large) {
    return Error::resource_exhausted(
        fmt::format("{} {}: answer above {} bytes", call.method, call.url, config_.max_body));
  }
  if (code != CURLE_OK) {
    return Error::unavailable(
        fmt::format("{} {}: {}", call.method, call.url, curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &sink.answer.status);
  return std::move(sink.answer);
}

}  // namespace presenced::connectors::http
