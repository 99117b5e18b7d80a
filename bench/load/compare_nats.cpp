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

#include "compare_stream.h"

#include <fmt/format.h>

#include <charconv>

namespace presenced::load::compare {
namespace {

using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kLoginTimeout = std::chrono::seconds(30);
constexpr std::size_t kMaxLine = 4096;  // longer control lines (INFO) are an error

// What every client of one run shares, from the arm's endpoint.
struct Shared {
  explicit Shared(const boost::json::object& endpoint) : address(server_address(endpoint)) {
    if (const auto* prefix_value = endpoint.if_contains("subject_prefix")) {
      prefix = prefix_value->as_string();
    }
    if (const auto* jetstream_value = endpoint.if_contains("jetstream")) {
      jetstream = jetstream_value->as_bool();
    }
  }
  ServerAddress address;
  std::string prefix = "presence.";
  bool jetstream = false;
};

class Client : public StreamClient {
 public:
  Client(asio::io_context& context, Driver& driver, const Shared& shared, std::uint32_t account)
      : StreamClient(context, driver, shared.address, account), shared_(shared) {}

  // Core NATS: accepted once written. JetStream: accepted when the stream's ack, on the reply
  // subject that names the serial, says it stored the message.
  void publish(std::string_view state, Stamp stamp) {
    if (!online_) {
      driver_.answered(stamp.serial, false, "no open connection");
      return;
    }
    const auto text = stamp_text(state, stamp);
    if (shared_.jetstream) {
      send(fmt::format("PUB {}{} _INBOX.{}.{} {}\r\n{}\r\n", shared_.prefix, name(), name(),
                       stamp.serial, text.size(), text));
    } else {
      send(fmt::format("PUB {}{} {}\r\n{}\r\n", shared_.prefix, name(), text.size(), text),
           stamp.serial);
    }
  }

  void close() { close_after_writes(); }

 private:
  awaitable<std::optional<std::uint64_t>> log_in() override {
    input_.clear();
    const bool connected = co_await connect();
    if (!connected) {
      co_return std::nullopt;
    }
    asio::steady_timer deadline(context_, kLoginTimeout);
    deadline.async_wait([self = shared_from_this(), this](boost::system::error_code ec) {
      if (!ec) {
        drop();
      }
    });
    std::string hello = fmt::format(
        "CONNECT {{\"verbose\":false,\"pedantic\":false,\"echo\":false,\"name\":\"{}\","
        "\"lang\":\"c++\",\"version\":\"1\",\"protocol\":1}}\r\n",
        name());
    // The subscription id is the pair, so a message names the pair it belongs to.
    const Dataset& d = driver_.dataset();
    std::uint64_t subscriptions = 0;
    for (const std::uint32_t pair : d.watching[account_]) {
      if (!d.pairs[pair].denied) {
        hello += fmt::format("SUB {}{} {}\r\n", shared_.prefix,
                             d.accounts[d.pairs[pair].presentity], pair);
        ++subscriptions;
      }
    }
    if (shared_.jetstream) {
      hello += fmt::format("SUB _INBOX.{}.* ack\r\n", name());
    }
    hello += "PING\r\n";  // its PONG says every SUB before it was processed
    send(hello);
    pong_ = false;
    while (!pong_) {
      const bool read = co_await read_some();
      if (!read || !parse()) {
        why_ = "CONNECT and SUB: no PONG";
        co_return std::nullopt;
      }
    }
    online_ = true;
    co_return subscriptions;
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
        driver_.failure(fmt::format("{}: not the NATS protocol", name()));
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
        send("PONG\r\n");
      } else if (line == "PONG") {
        pong_ = true;
      } else if (line.starts_with("-ERR")) {
        driver_.failure(fmt::format("{}: {}", name(), line));
      }
      at = end + 2;
    }
    input_.erase(0, at);
    return true;
  }

  void message(std::string_view line, std::string_view payload) {
    // MSG <subject> <sid> ...: the sid is the pair, or "ack" for JetStream's acks.
    const auto first = line.find(' ', 4);
    const auto second = line.find(' ', first + 1);
    const auto sid = line.substr(first + 1, second - first - 1);
    std::uint64_t number = 0;
    if (sid == "ack") {
      const auto subject = line.substr(4, first - 4);
      const auto digits = subject.substr(subject.rfind('.') + 1);
      if (std::from_chars(digits.data(), digits.data() + digits.size(), number).ec == std::errc()) {
        const bool stored = payload.find("\"error\"") == std::string_view::npos;
        driver_.answered(number, stored, payload);
      }
      return;
    }
    if (std::from_chars(sid.data(), sid.data() + sid.size(), number).ec == std::errc()) {
      driver_.received(static_cast<std::uint32_t>(number), read_stamp(payload), monotonic_ns());
    }
  }

  const Shared& shared_;
  std::string input_;
  bool pong_ = false;
};

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  using namespace presenced::load::compare;
  return run_stream_generator<Client, Shared>(argc, argv);
}
