#pragma once

// A keep-alive HTTP/1.1 client for presence-load, one request at a time.
// Thread-safety: none; one coroutine uses a client at a time.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace presenced::load {

using tcp = boost::asio::ip::tcp;

// Monotonic nanoseconds (CLOCK_MONOTONIC): one clock for sender and receiver on one host.
std::uint64_t monotonic_ns();
// Sleeps the calling thread until monotonic_ns() reaches `t`.
void sleep_until_ns(std::uint64_t t);

// Spaces one connection's requests at its share of a total rate, the connections' first slots
// staggered evenly; without a rate, requests go back to back.
class Pacer {
 public:
  Pacer(boost::asio::any_io_executor executor, std::optional<double> rate,
        std::size_t connections, std::size_t index);
  // Waits for the next slot and returns its time (monotonic_ns); unpaced: now.
  boost::asio::awaitable<std::uint64_t> next_slot();

 private:
  boost::asio::steady_timer timer_;
  double interval_ns_ = 0;
  double next_ = 0;
};

struct HttpAnswer {
  int status = 0;  // 0: no answer (connect, write or read failed or timed out)
  std::string body;
};

class HttpClient {
 public:
  HttpClient(boost::asio::any_io_executor executor, tcp::endpoint server);

  // A keep-alive connection the server closed meanwhile fails at once: the request is tried once
  // more on a new connection.
  boost::asio::awaitable<HttpAnswer> request(boost::beast::http::verb verb, std::string target,
                                             std::string token, std::string body);

 private:
  void close();

  static constexpr std::chrono::seconds kTimeout{30};
  boost::beast::tcp_stream stream_;
  tcp::endpoint server_;
  std::string host_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
};

}  // namespace presenced::load
