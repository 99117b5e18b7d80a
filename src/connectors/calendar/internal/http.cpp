#include "connectors/calendar/internal/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace presenced::connectors::calendar {
namespace {

using core::Error;

struct Sink {
  std::string body;
  std::string etag;
  std::size_t max_body = 0;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  Sink& sink = *static_cast<Sink*>(user);
  const std::size_t n = size * count;
  if (sink.body.size() + n > sink.max_body) {
    sink.too_large = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  sink.body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  Sink& sink = *static_cast<Sink*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view kEtag = "etag:";
  if (line.size() > kEtag.size() &&
      std::equal(kEtag.begin(), kEtag.end(), line.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    std::string_view value = line.substr(kEtag.size());
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
      value.remove_prefix(1);
    }
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
      value.remove_suffix(1);
    }
    sink.etag = std::string(value);
  }
  return size * count;
}

struct FreeList {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

HttpClient::HttpClient(std::chrono::seconds timeout, std::size_t max_body)
    : handle_(curl_easy_init()), timeout_(timeout), max_body_(max_body) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

core::Result<HttpAnswer> HttpClient::perform(const HttpCall& call) {
  CURL* curl = static_cast<CURL*>(handle_);
  if (curl == nullptr) {
    return Error::internal("http: curl_easy_init failed");
  }
  curl_easy_reset(curl);
  Sink sink;
  sink.max_body = max_body_;
  std::unique_ptr<curl_slist, FreeList> headers;
  for (const std::string& h : call.headers) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  }
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count() * 1000));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever curl can decode
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "presenced-calendar");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &sink);
  if (headers) {
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  }
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
        fmt::format("{} {}: answer above {} bytes", call.method, call.url, max_body_));
  }
  if (code != CURLE_OK) {
    return Error::unavailable(
        fmt::format("{} {}: {}", call.method, call.url, curl_easy_strerror(code)));
  }
  HttpAnswer answer;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  answer.body = std::move(sink.body);
  answer.etag = std::move(sink.etag);
  return answer;
}

}  // namespace presenced::connectors::calendar
