// compare-nats: the side-by-side generator for the NATS arm, the "dumb router" upper bound
// (bench/compare/README.md). Every account is one NATS connection speaking the client protocol
// (https://docs.nats.io/reference/reference-protocols/nats-protocol); a watcher subscribes to
// one subject per presentity it may see (denied pairs are left unsubscribed: NATS has no
// authorisation here), and a publish is a message on the publisher's subject carrying the stamp.
// With JetStream the publish asks for an acknowledgement and counts as accepted when the stream
// stored it.
//
// The protocol is written here rather than through libnats: the C client runs a reader and a
// flusher thread per connection, so 10,000 connections would be 20,000 threads on the
// generator's one core, measuring the scheduler instead of the server.

#include "client_pool.h"

#include <fmt/format.h>

#include <charconv>
#include <iostream>

namespace presenced::load::compare {
namespace {

using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kLoginTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxLine = 4096;  // longer control lines (INFO) are an error

struct Shared {
  Counters& counters;
  const Dataset& dataset;
  Receipts& receipts;
  ServerAddress address;
  std::string prefix;  // subject prefix, "presence."
  bool jetstream = false;
};

class Client : public StreamClient {
 public:
  Client(Shared& shared, asio::io_context& context, std::size_t thread, AccountId account)
      : StreamClient(context, thread, account, shared.counters), shared_(shared) {}

  void publish(const std::string& state, std::uint64_t seq) {
    if (!online_) {
      return;
    }
    const auto stamp = format_stamp(state, seq, monotonic_ns());
    const auto& name = shared_.dataset.accounts[account_];
    if (shared_.jetstream) {
      send(fmt::format("PUB {}{} _INBOX.{} {}\r\n{}\r\n", shared_.prefix, name, name,
                       stamp.size(), stamp),
           false);
    } else {
      send(fmt::format("PUB {}{} {}\r\n{}\r\n", shared_.prefix, name, stamp.size(), stamp), true);
    }
  }

  void close() { close_after_writes(); }

 private:
  awaitable<bool> log_in() override {
    input_.clear();
    const bool connected = co_await connect(shared_.address);
    if (!connected) {
      co_return false;
    }
    asio::steady_timer deadline(context_, kLoginTimeout);
    deadline.async_wait([self = shared_from_this(), this](boost::system::error_code ec) {
      if (!ec) {
        drop();
      }
    });
    const auto& name = shared_.dataset.accounts[account_];
    std::string hello = fmt::format(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false,\"name\":\"{}\","
        "\"lang\":\"c++\",\"version\":\"1\",\"protocol\":1}}\r\n",
        name);
    std::size_t subscriptions = 0;
    for (AccountId presentity : shared_.dataset.watches[account_]) {
      if (const auto pair = shared_.dataset.pair(account_, presentity);
          pair && shared_.dataset.pair_denied[*pair] == 0) {
        hello += fmt::format("SUB {}{} {}\r\n", shared_.prefix, shared_.dataset.accounts[presentity],
                             presentity);
        ++subscriptions;
      }
    }
    if (shared_.jetstream) {
      hello += fmt::format("SUB _INBOX.{} ack\r\n", name);
    }
    hello += "PING\r\n";  // its PONG says every SUB before it was processed
    send(hello, false);
    pong_ = false;
    while (!pong_) {
      const bool read = co_await read_some();
      if (!read || !parse()) {
        co_return false;
      }
    }
    online_ = true;
    if (auto* tally = shared_.counters.tally.load()) {
      tally->subscriptions += subscriptions;
      ++tally->done;
    }
    co_return true;
  }

  awaitable<bool> read_some() {
    const auto size = input_.size();
    input_.resize(size + 16384);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(input_.data() + size, 16384),
                                                    kAsTuple);
    input_.resize(size + n);
    co_return !ec;
  }

  awaitable<void> read_loop() override {
    for (;;) {
      if (!parse()) {
        ++shared_.counters.errors;
        drop();
        co_return;
      }
      co_await wait_reading();
      const bool read = co_await read_some();
      if (!read) {
        co_return;
      }
    }
  }

  // Handles every complete line and message in input_; false on a protocol error.
  bool parse() {
    std::size_t at = 0;
    for (;;) {
      const auto end = input_.find("\r\n", at);
      if (end == std::string::npos) {
        if (input_.size() - at > kMaxLine && !std::string_view(input_).substr(at).starts_with("MSG ")) {
          return false;
        }
        break;
      }
      const std::string_view line(input_.data() + at, end - at);
      if (line.starts_with("MSG ")) {
        // MSG <subject> <sid> [reply-to] <#bytes>
        const auto last_space = line.rfind(' ');
        std::size_t bytes = 0;
        const auto* digits = line.data() + last_space + 1;
        if (std::from_chars(digits, line.data() + line.size(), bytes).ec != std::errc()) {
          return false;
        }
        if (input_.size() < end + 2 + bytes + 2) {
          break;  // the payload is still coming
        }
        const std::string_view payload(input_.data() + end + 2, bytes);
        message(line, payload);
        at = end + 2 + bytes + 2;
        continue;
      }
      if (line == "PING") {
        send("PONG\r\n", false);
      } else if (line == "PONG") {
        pong_ = true;
      } else if (line.starts_with("-ERR")) {
        std::cerr << shared_.dataset.accounts[account_] << ": " << line << '\n';
        ++shared_.counters.errors;
      }
      at = end + 2;
    }
    input_.erase(0, at);
    return true;
  }

  void message(std::string_view line, std::string_view payload) {
    // MSG <subject> <sid> ...: the sid is the presentity's account number, "ack" for acks.
    const auto first = line.find(' ', 4);
    const auto second = line.find(' ', first + 1);
    const auto sid = line.substr(first + 1, second - first - 1);
    if (sid == "ack") {
      if (payload.find("\"error\"") != std::string_view::npos) {
        ++shared_.counters.errors;
      } else {
        ++shared_.counters.accepted;
      }
      return;
    }
    AccountId presentity = 0;
    if (std::from_chars(sid.data(), sid.data() + sid.size(), presentity).ec == std::errc()) {
      shared_.receipts.received(thread_, account_, presentity, payload);
    }
  }

  Shared& shared_;
  std::string input_;
  bool pong_ = false;
};

class NatsTransport : public PooledTransport<Client> {
 public:
  NatsTransport(const Dataset& dataset, Receipts& receipts, const boost::json::object& endpoint,
                std::size_t threads)
      : PooledTransport(threads),
        shared_{counters_, dataset, receipts, server_address(endpoint),
                endpoint.contains("subject_prefix")
                    ? std::string(endpoint.at("subject_prefix").as_string())
                    : std::string("presence.")} {
    if (const auto* jetstream = endpoint.if_contains("jetstream")) {
      shared_.jetstream = jetstream->as_bool();
    }
    make_clients(shared_, dataset.accounts.size());
  }

  std::string refresh_note() const override {
    return "NATS subscriptions do not expire: nothing to refresh";
  }

 private:
  Shared shared_;
};

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  return presenced::load::compare::run_generator<presenced::load::compare::NatsTransport>(
      argc, argv, "compare-nats: side-by-side load over NATS (bench/compare/README.md)");
}
