#include "http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>

#include <time.h>

#include <thread>

namespace presenced::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(now.tv_nsec);
}

void sleep_until_ns(std::uint64_t t) {
  const std::uint64_t now = monotonic_ns();
  if (t > now) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(t - now));
  }
}

HttpClient::HttpClient(asio::any_io_executor executor, tcp::endpoint server)
    : stream_(std::move(executor)),
      server_(server),
      host_(server.address().to_string() + ":" + std::to_string(server.port())) {}

void HttpClient::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  buffer_.clear();
  connected_ = false;
}

asio::awaitable<HttpAnswer> HttpClient::request(http::verb verb, std::string target,
                                                std::string token, std::string body) {
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host, host_);
  request.keep_alive(true);
  if (!token.empty()) {
    request.set(http::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::move(body);
  }
  request.prepare_payload();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connected_) {
      stream_.expires_after(kTimeout);
      auto [ec] = co_await stream_.async_connect(server_, kAsTuple);
      if (ec) {
        close();
        continue;
      }
      stream_.socket().set_option(tcp::no_delay(true), ec);
      connected_ = true;
    }
    stream_.expires_after(kTimeout);
    auto [write_error, written] = co_await http::async_write(stream_, request, kAsTuple);
    if (write_error) {
      close();
      continue;
    }
    http::response<http::string_body> response;
    auto [read_error, read] = co_await http::async_read(stream_, buffer_, response, kAsTuple);
    if (read_error) {
      close();
      continue;
    }
    stream_.expires_never();
    if (!response.keep_alive()) {
      close();
    }
    co_return HttpAnswer{static_cast<int>(response.result_int()), std::move(response.body())};
  }
  co_return HttpAnswer{};
}

}  // namespace presenced::load
