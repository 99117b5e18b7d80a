#pragma once

// The I/O side the side-by-side generators share: one io_context and one thread per core with
// clients spread round robin, source addresses over 127.0.0.2-9, and the paced login. Included
// only by the generators' main files, which use Asio anyway.

#include "compare_driver.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace presenced::load::compare {

namespace asio = boost::asio;
using asio::ip::tcp;

class ClientPool {
 public:
  explicit ClientPool(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*contexts_.back()));
    }
    for (auto& context : contexts_) {
      threads_.emplace_back([&context] { context->run(); });
    }
  }
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;
  ~ClientPool() { stop(); }

  std::size_t size() const { return contexts_.size(); }
  asio::io_context& context(std::size_t i) { return *contexts_[i % contexts_.size()]; }

  // Lets the threads finish what is queued (the closing writes), then ends them.
  void stop() {
    guards_.clear();
    for (auto& thread : threads_) {
      if (thread.joinable()) {
        thread.join();
      }
    }
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

struct ServerAddress {
  tcp::endpoint server;
  std::vector<asio::ip::address> sources;  // the i-th connection binds sources[i % size]
};

// Reads "host", "port" and the optional "sources" of an arm's endpoint.
inline ServerAddress server_address(const boost::json::object& endpoint) {
  ServerAddress out;
  out.server = tcp::endpoint(asio::ip::make_address(std::string(endpoint.at("host").as_string())),
                             static_cast<unsigned short>(endpoint.at("port").to_number<int>()));
  if (const auto* sources = endpoint.if_contains("sources")) {
    for (const auto& source : sources->as_array()) {
      out.sources.push_back(asio::ip::make_address(std::string(source.as_string())));
    }
  } else {
    for (int last = 2; last <= 9; ++last) {
      out.sources.push_back(asio::ip::make_address_v4(fmt::format("127.0.0.{}", last)));
    }
  }
  return out;
}

// Counts the logins of one command; the clients report from their threads.
struct LoginTally {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> subscriptions{0};
};

// Calls start(i) for every account at `rate` per second, then waits until each has logged in or
// failed, up to `timeout_ns` after the last start.
template <typename Start>
Transport::Login paced_login(std::size_t accounts, double rate, LoginTally& tally, Start start,
                             std::uint64_t timeout_ns = 60'000'000'000) {
  const std::uint64_t begin = monotonic_ns();
  for (std::size_t i = 0; i < accounts; ++i) {
    const auto due = begin + static_cast<std::uint64_t>(static_cast<double>(i) * 1e9 / rate);
    while (monotonic_ns() < due) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(due - monotonic_ns()));
    }
    start(i);
  }
  const std::uint64_t deadline = monotonic_ns() + timeout_ns;
  while (tally.done + tally.failed < accounts && monotonic_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Transport::Login out;
  out.accounts = tally.done;
  out.failures = accounts - tally.done;
  out.subscriptions = tally.subscriptions;
  return out;
}

}  // namespace presenced::load::compare
