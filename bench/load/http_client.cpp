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

Pacer::Pacer(asio::any_io_executor executor, std::optional<double> rate, std::size_t connections,
             std::size_t index)
    : timer_(std::move(executor)),
      interval_ns_(rate ? 1e9 * static_cast<double>(connections) / *rate : 0),
      next_(static_cast<double>(monotonic_ns()) +
            interval_ns_ * static_cast<double>(index) / static_cast<double>(connections)) {}

asio::awaitable<std::uint64_t> Pacer::next_slot() {
  const std::uint64_t now = monotonic_ns();
  if (interval_ns_ == 0) {
    co_return now;
  }
  if (static_cast<double>(now) < next_) {
    timer_.expires_after(
        std::chrono::nanoseconds(static_cast<std::int64_t>(next_ - static_cast<double>(now))));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  const auto slot = static_cast<std::uint64_t>(next_);
  next_ += interval_ns_;
  co_return slot;
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
