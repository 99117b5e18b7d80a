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

// What the clients count, read by the transport.
struct Counters {
  std::atomic<LoginTally*> tally{nullptr};  // of the login command running, if any
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<int> logged_failures{0};  // the first few are written to stderr
};

// One account's connection: a socket on one worker thread, a write queue, and a read side that
// can be paused (slow consumers). Other threads only post to it.
class StreamClient : public std::enable_shared_from_this<StreamClient> {
 public:
  StreamClient(asio::io_context& context, std::size_t thread, AccountId account,
               Counters& counters)
      : context_(context), thread_(thread), account_(account), counters_(counters),
        socket_(context), resume_(context, asio::steady_timer::time_point::max()) {}
  virtual ~StreamClient() = default;

  asio::io_context& context() { return context_; }

  // Logs in, then reads until the connection ends.
  void start() { asio::co_spawn(context_, session(shared_from_this()), asio::detached); }

  // Drops the connection and logs in again.
  void reconnect() {
    if (online_) {
      relogin_ = true;
      drop();
    }
  }

  void set_reading(bool reading) {
    reading_ = reading;
    if (reading) {
      resume_.cancel();
    }
  }

 protected:
  // The protocol: log in (and set online_), then read what the server sends.
  virtual asio::awaitable<bool> log_in() = 0;
  virtual asio::awaitable<void> read_loop() = 0;
  virtual void login_failed() {}

  // Opens a fresh socket from the account's source address to the server.
  asio::awaitable<bool> connect(const ServerAddress& address) {
    boost::system::error_code ec;
    socket_ = tcp::socket(context_);
    outbox_.clear();
    pending_publishes_ = 0;
    socket_.open(address.server.protocol(), ec);
    if (!ec) {
      socket_.bind(tcp::endpoint(address.sources[account_ % address.sources.size()], 0), ec);
    }
    if (ec) {
      co_return false;
    }
    std::tie(ec) = co_await socket_.async_connect(address.server,
                                                  asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return false;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    co_return true;
  }

  // Returns once reading is allowed (at once unless a "slow" command stopped this watcher).
  asio::awaitable<void> wait_reading() {
    while (!reading_) {
      resume_.expires_at(asio::steady_timer::time_point::max());
      co_await resume_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Queues bytes; `counted` publishes are accepted once written to the open connection.
  void send(std::string_view bytes, bool counted) {
    outbox_ += bytes;
    pending_publishes_ += counted ? 1 : 0;
    if (!writing_) {
      flush();
    }
  }

  // Closes once everything queued is written.
  void close_after_writes() {
    closing_ = true;
    if (!writing_) {
      drop();
    }
  }

  void drop() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  asio::io_context& context_;
  const std::size_t thread_;
  const AccountId account_;
  Counters& counters_;
  tcp::socket socket_;
  bool online_ = false;
  bool closing_ = false;

 private:
  static asio::awaitable<void> session(std::shared_ptr<StreamClient> self) {
    const bool logged_in = co_await self->log_in();
    if (!logged_in) {
      self->login_failed();
      if (auto* tally = self->counters_.tally.load()) {
        ++tally->failed;
      }
      self->drop();
      co_return;
    }
    co_await self->read_loop();
    self->online_ = false;
    if (!self->closing_ && !self->relogin_) {
      ++self->counters_.errors;  // the server closed the connection
    }
    if (std::exchange(self->relogin_, false)) {
      self->start();
    }
  }

  void flush() {
    if (outbox_.empty()) {
      if (closing_) {
        drop();
      }
      return;
    }
    writing_ = true;
    inflight_.swap(outbox_);
    outbox_.clear();
    const auto publishes = std::exchange(pending_publishes_, 0);
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = shared_from_this(), publishes](boost::system::error_code ec,
                                                             std::size_t) {
                        self->writing_ = false;
                        if (ec) {
                          self->outbox_.clear();
                          self->pending_publishes_ = 0;
                          return;
                        }
                        self->counters_.accepted += publishes;
                        self->flush();
                      });
  }

  asio::steady_timer resume_;
  std::string outbox_;
  std::string inflight_;
  std::uint64_t pending_publishes_ = 0;
  bool writing_ = false;
  bool reading_ = true;
  bool relogin_ = false;
};

// The Transport calls every protocol answers the same way: post to the account's client.
// `ClientT` has start(), publish(state, seq), set_reading(bool), reconnect() and close().
template <typename ClientT>
class PooledTransport : public Transport {
 public:
  explicit PooledTransport(std::size_t threads) : pool_(threads) {}
  ~PooledTransport() override { close(); }

  Login login(double rate) override {
    LoginTally tally;
    counters_.tally = &tally;
    auto result = paced_login(clients_.size(), rate, tally, [this](std::size_t i) {
      asio::post(clients_[i]->context(), [client = clients_[i]] { client->start(); });
    });
    counters_.tally = nullptr;
    return result;
  }

  void publish(AccountId user, std::string state, std::uint64_t seq) override {
    auto& client = clients_[user];
    asio::post(client->context(),
               [client, state = std::move(state), seq] { client->publish(state, seq); });
  }

  void set_reading(AccountId account, bool reading) override {
    auto& client = clients_[account];
    asio::post(client->context(), [client, reading] { client->set_reading(reading); });
  }

  void reconnect(AccountId account) override {
    auto& client = clients_[account];
    asio::post(client->context(), [client] { client->reconnect(); });
  }

  void close() override {
    if (std::exchange(closed_, true)) {
      return;
    }
    for (auto& client : clients_) {
      asio::post(client->context(), [client] {
        client->close();
        client->set_reading(true);
      });
    }
    pool_.stop();
  }

  std::uint64_t refresh(AccountId) override { return 0; }
  std::uint64_t accepted() const override { return counters_.accepted; }
  std::uint64_t errors() const override { return counters_.errors; }

 protected:
  // One client per account, spread round robin over the threads.
  template <typename Shared>
  void make_clients(Shared& shared, std::size_t accounts) {
    for (AccountId account = 0; account < accounts; ++account) {
      clients_.push_back(std::make_shared<ClientT>(shared, pool_.context(account),
                                                   account % pool_.size(), account));
    }
  }

  Counters counters_;
  ClientPool pool_;
  std::vector<std::shared_ptr<ClientT>> clients_;

 private:
  bool closed_ = false;
};

// generator_main for a transport built from (dataset, receipts, endpoint object, threads).
template <typename TransportT>
int run_generator(int argc, char** argv, std::string_view description) {
  return generator_main(argc, argv, description,
                        [](const Dataset& dataset, Receipts& receipts, const std::string& endpoint,
                           std::size_t threads) -> std::unique_ptr<Transport> {
                          return std::make_unique<TransportT>(
                              dataset, receipts, boost::json::parse(endpoint).as_object(), threads);
                        });
}

}  // namespace presenced::load::compare
