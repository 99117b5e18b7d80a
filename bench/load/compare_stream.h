#pragma once

// One TCP connection per account for the stream protocols of the side-by-side generators (XMPP
// in compare_xmpp.cpp, NATS in compare_nats.cpp), on the driver's one io_context: source
// addresses over 127.0.0.2-9, a write queue whose publishes are answered once written, and a
// read side a "slow" command can pause. Included only by those generators, which use Asio anyway.

#include "compare_gen.h"
#include "http_client.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace presenced::load::compare {

namespace asio = boost::asio;
using asio::ip::tcp;

struct ServerAddress {
  tcp::endpoint server;
  std::vector<asio::ip::address> sources;  // account a binds sources[a % size]
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

// One account's connection. The protocol logs in (and sets online_) and reads what the server
// sends; this class reports the login and the publishes to the driver.
class StreamClient : public std::enable_shared_from_this<StreamClient> {
 public:
  StreamClient(asio::io_context& context, Driver& driver, const ServerAddress& address,
               std::uint32_t account)
      : context_(context), driver_(driver), address_(address), account_(account),
        socket_(context), resume_(context, asio::steady_timer::time_point::max()) {
    const Dataset& d = driver.dataset();
    for (const std::uint32_t pair : d.watching[account]) {
      pair_of_.emplace(d.pairs[pair].presentity, pair);
    }
  }
  virtual ~StreamClient() = default;

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
  // The protocol: log in and subscribe, returning the subscriptions made (nullopt: failed,
  // `why_` says where), then read what the server sends.
  virtual asio::awaitable<std::optional<std::uint64_t>> log_in() = 0;
  virtual asio::awaitable<void> read_loop() = 0;

  // Opens a fresh socket from the account's source address to the server.
  asio::awaitable<bool> connect() {
    boost::system::error_code ec;
    socket_ = tcp::socket(context_);
    outbox_.clear();
    for (const std::uint64_t serial : std::exchange(pending_, {})) {
      driver_.answered(serial, false, "connection replaced");
    }
    socket_.open(address_.server.protocol(), ec);
    if (!ec) {
      socket_.bind(tcp::endpoint(address_.sources[account_ % address_.sources.size()], 0), ec);
    }
    if (!ec) {
      std::tie(ec) = co_await socket_.async_connect(address_.server,
                                                    asio::as_tuple(asio::use_awaitable));
    }
    if (ec) {
      why_ = "TCP connect: " + ec.message();
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

  // Queues bytes; a publish (`serial`) is answered accepted once written to the open connection.
  void send(std::string_view bytes, std::optional<std::uint64_t> serial = std::nullopt) {
    outbox_ += bytes;
    if (serial) {
      pending_.push_back(*serial);
    }
    if (!writing_) {
      flush();
    }
  }

  // The watcher's pair for a presentity, if it watches it.
  std::optional<std::uint32_t> pair_of(std::uint32_t presentity) const {
    const auto it = pair_of_.find(presentity);
    return it == pair_of_.end() ? std::nullopt : std::optional<std::uint32_t>(it->second);
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

  const std::string& name() const { return driver_.dataset().accounts[account_]; }

  asio::io_context& context_;
  Driver& driver_;
  const ServerAddress& address_;
  const std::uint32_t account_;
  tcp::socket socket_;
  std::string why_;  // where the login failed
  bool online_ = false;
  bool closing_ = false;

 private:
  static asio::awaitable<void> session(std::shared_ptr<StreamClient> self) {
    const auto subscriptions = co_await self->log_in();
    self->driver_.logged_in(self->account_, subscriptions.has_value(), subscriptions.value_or(0));
    if (!subscriptions) {
      self->driver_.failure(fmt::format("{}: login failed at {}", self->name(), self->why_));
      self->drop();
      co_return;
    }
    co_await self->read_loop();
    self->online_ = false;
    if (!self->closing_ && !self->relogin_) {
      self->driver_.failure(fmt::format("{}: the server closed the connection", self->name()));
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
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = shared_from_this(), serials = std::exchange(pending_, {})](
                          boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        for (const std::uint64_t serial : serials) {
                          self->driver_.answered(serial, !ec, ec ? ec.message() : "");
                        }
                        if (ec) {
                          self->outbox_.clear();
                          for (const std::uint64_t serial : std::exchange(self->pending_, {})) {
                            self->driver_.answered(serial, false, ec.message());
                          }
                          return;
                        }
                        self->flush();
                      });
  }

  std::unordered_map<std::uint32_t, std::uint32_t> pair_of_;  // presentity -> pair
  asio::steady_timer resume_;
  std::string outbox_;
  std::string inflight_;
  std::vector<std::uint64_t> pending_;  // serials of the publishes in outbox_
  bool writing_ = false;
  bool reading_ = true;
  bool relogin_ = false;
};

// The Protocol every stream generator answers the same way: one `ClientT` per account, which
// has start(), publish(state, stamp), set_reading(bool), reconnect() and close().
template <typename ClientT, typename Shared>
class StreamProtocol final : public Protocol {
 public:
  StreamProtocol(asio::io_context& context, Driver& driver, Shared shared)
      : shared_(std::move(shared)) {
    for (std::uint32_t a = 0; a < driver.dataset().accounts.size(); ++a) {
      clients_.push_back(std::make_shared<ClientT>(context, driver, shared_, a));
    }
  }

  void login(std::uint32_t a) override { clients_[a]->start(); }
  void publish(std::uint32_t u, std::string_view state, Stamp stamp) override {
    clients_[u]->publish(state, stamp);
  }
  // Neither XMPP roster subscriptions nor NATS subscriptions expire: nothing to refresh.
  bool refresh(std::uint32_t) override { return false; }
  bool reconnect(std::uint32_t a) override {
    clients_[a]->reconnect();
    return true;
  }
  bool set_reading(std::uint32_t a, bool reading) override {
    clients_[a]->set_reading(reading);
    return true;
  }
  void close() override {
    for (auto& client : clients_) {
      client->close();
      client->set_reading(true);
    }
  }

 private:
  Shared shared_;
  std::vector<std::shared_ptr<ClientT>> clients_;
};

// generator_main for a stream protocol whose shared settings `Shared` are built from the
// endpoint object.
template <typename ClientT, typename Shared>
int run_stream_generator(int argc, char** argv) {
  return generator_main(argc, argv, [](asio::io_context& context, Driver& driver,
                                       const boost::json::object& endpoint)
                                        -> std::unique_ptr<Protocol> {
    try {
      return std::make_unique<StreamProtocol<ClientT, Shared>>(context, driver, Shared(endpoint));
    } catch (const std::exception& error) {
      fmt::print(stderr, "--endpoint: {}\n", error.what());
      return nullptr;
    }
  });
}

}  // namespace presenced::load::compare
