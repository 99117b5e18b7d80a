#pragma once

// The protocol-neutral half of the side-by-side generators (bench/compare/README.md): the data
// set, the stamps published states carry, what the watchers received, and the line protocol
// read on stdin. A generator adds a Transport that speaks its server's protocol.

#include "load_report.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::load {
// From http_client.cpp: CLOCK_MONOTONIC, the clock the stamps use.
std::uint64_t monotonic_ns();
void sleep_until_ns(std::uint64_t t);
}  // namespace presenced::load

namespace presenced::load::compare {

using AccountId = std::uint32_t;

struct Dataset {
  std::vector<std::string> accounts;  // the users first, then the consoles
  std::size_t users = 0;
  std::string password;
  std::vector<std::string> states;
  AccountId hottest = 0;
  // Per account, the presentities it subscribes to, sorted, denied ones included.
  std::vector<std::vector<AccountId>> watches;
  // Per account, where its relations start in the flat per-pair arrays.
  std::vector<std::size_t> pair_offset;
  std::vector<char> pair_denied;  // per pair
  // Per presentity, the watchers that may see it (denied pairs left out).
  std::vector<std::vector<AccountId>> watchers;
  std::unordered_map<std::string, AccountId> index;
  std::size_t pairs = 0;

  std::optional<std::size_t> pair(AccountId watcher, AccountId presentity) const;
};

// Reads the JSON data set; throws std::runtime_error naming what is wrong.
Dataset read_dataset(const std::string& path);


// "<state> <seq> <ns>": ns is the send time, or 0 in the presence a client sends when it logs in
// (the server's replay of a known state, not a new publish).
struct Stamp {
  std::string_view state;
  std::uint64_t seq = 0;
  std::uint64_t ns = 0;
};
std::string format_stamp(std::string_view state, std::uint64_t seq, std::uint64_t ns);
std::optional<Stamp> parse_stamp(std::string_view text);

// What the watchers received. received() runs on the transports' threads; every watcher's
// deliveries come from one thread, so its per-pair slots have one writer.
class Receipts {
 public:
  Receipts(const Dataset& dataset, std::size_t threads);

  void received(std::size_t thread, AccountId watcher, AccountId presentity,
                std::string_view status);

  // A phase counts deliveries of stamps sent from `start_ns` on, to watchers not excluded.
  void open_window(std::uint64_t start_ns, std::vector<char> excluded_watchers);
  std::uint64_t delivered() const { return delivered_.load(std::memory_order_relaxed); }
  std::uint64_t initial() const { return initial_.load(std::memory_order_relaxed); }
  std::uint64_t violations() const { return violations_.load(std::memory_order_relaxed); }
  // The last counted delivery, and the last stamped presence of any kind.
  std::uint64_t last_receipt_ns() const { return last_receipt_ns_.load(std::memory_order_relaxed); }
  std::uint64_t last_any_receipt_ns() const {
    return last_any_receipt_ns_.load(std::memory_order_relaxed);
  }
  bool excluded(AccountId watcher) const { return !excluded_.empty() && excluded_[watcher] != 0; }
  Histogram latency() const;  // of the window's deliveries
  // The last sequence number each pair received, or nullopt if none arrived.
  std::optional<std::uint64_t> last_seq(std::size_t pair) const;

 private:
  struct PerThread {
    std::mutex mutex;  // uncontended: only the main thread reads, between phases
    Histogram latency;
  };
  const Dataset& dataset_;
  std::vector<std::atomic<std::uint64_t>> last_seq_plus_one_;
  std::vector<std::unique_ptr<PerThread>> threads_;
  std::vector<char> excluded_;
  std::atomic<std::uint64_t> window_start_ns_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> initial_{0};
  std::atomic<std::uint64_t> violations_{0};
  std::atomic<std::uint64_t> last_receipt_ns_{0};
  std::atomic<std::uint64_t> last_any_receipt_ns_{0};
};

// What a generator's protocol side does; every call but login is asynchronous and may come from
// the main thread while the transport's threads run.
class Transport {
 public:
  struct Login {
    std::uint64_t accounts = 0;  // logged in
    std::uint64_t failures = 0;
    std::uint64_t subscriptions = 0;
  };
  virtual ~Transport() = default;
  // Connects and authenticates every account at `rate` per second and subscribes to its
  // relations; returns once each has succeeded or failed.
  virtual Login login(double rate) = 0;
  // Sends `user`'s new state, stamped with the time it is written.
  virtual void publish(AccountId user, std::string state, std::uint64_t seq) = 0;
  virtual void set_reading(AccountId account, bool reading) = 0;
  // Drops the connection and logs in again (an XMPP client announces its last state again;
  // NATS keeps no state to announce).
  virtual void reconnect(AccountId account) = 0;
  virtual void close() = 0;
  // Running totals: publishes the server confirmed, and protocol errors or lost connections.
  virtual std::uint64_t accepted() const = 0;
  virtual std::uint64_t errors() const = 0;
  // Why "refresh" does nothing for this protocol, or empty when it refreshes subscriptions.
  virtual std::string refresh_note() const = 0;
  virtual std::uint64_t refresh(AccountId account) = 0;  // subscriptions refreshed
};

// Answers the line protocol's commands from `in` until "quit" or end of input.
int run_commands(const Dataset& dataset, Receipts& receipts, Transport& transport,
                 std::istream& in, std::ostream& out);

// The number of cores this process may run on: one transport thread each.
std::size_t usable_cores();

// A generator's main: reads --dataset, --endpoint (JSON, handed to `make` as text) and
// --threads, then answers the line protocol. Returns the process's exit code.
using MakeTransport = std::function<std::unique_ptr<Transport>(
    const Dataset& dataset, Receipts& receipts, const std::string& endpoint, std::size_t threads)>;
int generator_main(int argc, char** argv, std::string_view description, const MakeTransport& make);

}  // namespace presenced::load::compare
