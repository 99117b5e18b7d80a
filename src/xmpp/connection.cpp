// The network side of XMPP federation: one TCP connection to the XMPP server's component port
// on the server's io_context, reconnected with backoff. This is the only translation unit of
// src/xmpp that includes Asio; the stream, handshake and presence logic are pure and live in
// internal/. docs/xmpp.md, "The link".

#include "xmpp/xmpp.h"
#include "xmpp/internal/federation.h"
#include "xmpp/internal/session.h"

#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <string>

namespace presenced::xmpp {

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
// A connection that has not finished its handshake by then is given up and tried again.
constexpr std::chrono::seconds kHandshakeTimeout{10};

std::shared_ptr<spdlog::logger> make_logger() {
  auto logger = spdlog::get("xmpp");
  if (!logger) {
    logger = spdlog::default_logger()->clone("xmpp");
  }
  return logger;
}

class ComponentImpl final : public Component {
 public:
  ComponentImpl(asio::io_context& io_context, XmppConfig config, Directory& directory)
      : ioc_(io_context),
        config_(std::move(config)),
        socket_(ioc_),
        pause_(ioc_),
        deadline_(ioc_),
        federation_(config_, directory, [this](std::string bytes) { send(std::move(bytes)); }),
        log_(make_logger()) {}

  ~ComponentImpl() override { stop(); }

  void start() override {
    federation_.restore();
    asio::co_spawn(ioc_, run(), asio::detached);
  }

  void stop() override {
    stopping_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
    pause_.cancel();
    deadline_.cancel();
  }

  std::optional<core::Error> refuse(std::string_view address) const override {
    return federation_.refuse_remote(address);
  }
  void watch(std::string_view address) override { federation_.watch_remote(address); }
  void unwatch(std::string_view address) override { federation_.unwatch_remote(address); }

  ComponentStats stats() const override {
    ComponentStats stats;
    federation_.fill(stats);
    stats.connected = ready_;
    stats.connects = connects_;
    stats.stream_failures = stream_failures_;
    return stats;
  }

 private:
  awaitable<void> run() {
    auto backoff = config_.reconnect_min;
    while (!stopping_) {
      co_await connect_and_serve();
      if (stopping_) {
        break;
      }
      if (was_ready_) {
        backoff = config_.reconnect_min;
      }
      pause_.expires_after(backoff);
      co_await pause_.async_wait(kAsTuple);
      backoff = std::min(backoff * 2, config_.reconnect_max);
    }
  }

  awaitable<void> connect_and_serve() {
    was_ready_ = false;
    tcp::resolver resolver(ioc_);
    auto [resolve_error, endpoints] =
        co_await resolver.async_resolve(config_.host, std::to_string(config_.port), kAsTuple);
    if (resolve_error) {
      log_->warn("{}:{}: {}", config_.host, config_.port, resolve_error.message());
      co_return;
    }
    socket_ = tcp::socket(ioc_);
    arm_deadline();
    auto [connect_error, endpoint] = co_await asio::async_connect(socket_, endpoints, kAsTuple);
    if (connect_error || stopping_) {
      log_->debug("connect {}:{}: {}", config_.host, config_.port, connect_error.message());
      co_return;
    }
    ++connects_;
    ComponentSession session(config_.domain, config_.secret, config_.limits);
    connected_ = true;
    write_now(session.open());
    std::array<char, 16 * 1024> buffer{};
    std::vector<StreamEvent> stanzas;
    while (!stopping_) {
      auto [read_error, n] = co_await socket_.async_read_some(asio::buffer(buffer), kAsTuple);
      if (read_error) {
        log_->warn("link to {}:{} lost: {}", config_.host, config_.port, read_error.message());
        break;
      }
      std::string out;
      stanzas.clear();
      session.feed(std::string_view(buffer.data(), n), stanzas, out);
      if (!out.empty()) {
        write_now(std::move(out));
      }
      if (session.state() == ComponentSession::State::Ready && !ready_) {
        ready_ = true;
        was_ready_ = true;
        deadline_.cancel();
        log_->info("component {} connected to {}:{}", config_.domain, config_.host, config_.port);
        federation_.on_ready();
      }
      const auto now = core::to_time_point(core::Clock::now());
      for (const StreamEvent& stanza : stanzas) {
        federation_.on_stanza(stanza, now);
      }
      if (session.state() == ComponentSession::State::Closed) {
        ++stream_failures_;
        log_->warn("stream to {}:{} closed: {}", config_.host, config_.port,
                   session.closed_because());
        break;
      }
    }
    // What is queued is written before the close only when the socket is still writable; a
    // lost link drops it, and the next link sends every subscriber the current state anyway.
    while (writing_ && socket_.is_open() && !stopping_) {
      pause_.expires_after(std::chrono::milliseconds(10));
      co_await pause_.async_wait(kAsTuple);
    }
    close_link();
  }

  void arm_deadline() {
    deadline_.expires_after(kHandshakeTimeout);
    deadline_.async_wait([this](boost::system::error_code error) {
      if (!error && !ready_) {
        log_->warn("no handshake from {}:{} within {} s", config_.host, config_.port,
                   kHandshakeTimeout.count());
        boost::system::error_code ignored;
        socket_.close(ignored);
      }
    });
  }

  void close_link() {
    ready_ = false;
    connected_ = false;
    federation_.on_link_down();
    pending_.clear();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  // Federation output: only while the handshake is done.
  void send(std::string bytes) {
    if (ready_) {
      write_now(std::move(bytes));
    }
  }

  void write_now(std::string bytes) {
    if (!connected_) {
      return;
    }
    pending_ += bytes;
    if (pending_.size() > config_.max_queued_bytes) {
      log_->warn("{} bytes unwritten to {}:{}, limit {}: closing the link", pending_.size(),
                 config_.host, config_.port, config_.max_queued_bytes);
      boost::system::error_code ignored;
      socket_.close(ignored);
      return;
    }
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ioc_, write_loop(), asio::detached);
    }
  }

  awaitable<void> write_loop() {
    std::string sending;
    while (!pending_.empty() && socket_.is_open()) {
      sending.swap(pending_);
      pending_.clear();
      auto [error, n] = co_await asio::async_write(socket_, asio::buffer(sending), kAsTuple);
      sending.clear();
      if (error) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        break;
      }
    }
    writing_ = false;
  }

  asio::io_context& ioc_;
  XmppConfig config_;
  tcp::socket socket_;
  asio::steady_timer pause_;
  asio::steady_timer deadline_;
  Federation federation_;
  std::shared_ptr<spdlog::logger> log_;
  std::string pending_;
  bool writing_ = false;
  bool connected_ = false;
  bool ready_ = false;
  bool was_ready_ = false;
  bool stopping_ = false;
  std::uint64_t connects_ = 0;
  std::uint64_t stream_failures_ = 0;
};

}  // namespace

std::unique_ptr<Component> Component::create(asio::io_context& io_context, XmppConfig config,
                                             Directory& directory) {
  return std::make_unique<ComponentImpl>(io_context, std::move(config), directory);
}

}  // namespace presenced::xmpp
