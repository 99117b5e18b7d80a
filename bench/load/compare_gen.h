#pragma once

// The shared half of the side-by-side generators (bench/compare/README.md, "Generator line
// protocol"): the data set, the stamps, the commands read from stdin and what they count. A
// generator adds a Protocol (WebSocket in compare_ws.cpp, SIP in compare_sip.cpp, XMPP and NATS
// through compare_stream.h) that logs in, publishes and reports what its watchers read.
// Everything runs on one thread, on one io_context: the generator is pinned to one core.

#include "load_report.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::load::compare {

struct Pair {
  std::uint32_t watcher = 0;     // account index
  std::uint32_t presentity = 0;  // user index
  bool denied = false;
};

struct Dataset {
  std::string password;
  std::size_t users = 0;              // accounts 0..users-1 are users, then the consoles
  std::vector<std::string> accounts;
  std::vector<std::string> states;
  std::uint32_t hottest = 0;
  std::vector<Pair> pairs;
  std::vector<std::vector<std::uint32_t>> watching;  // account -> its pairs
  std::vector<std::uint32_t> allowed;                // user -> watchers not denied
  std::unordered_map<std::string, std::uint32_t> index;  // account name -> index
};

std::optional<Dataset> load_dataset(const std::string& path);

// "127.0.0.1:5060" from the endpoint's member `key`; nullopt (and a message) when it is not
// IPv4:PORT.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
std::optional<HostPort> endpoint_address(const boost::json::object& endpoint, std::string_view key);

// "busy q=42 t=123456789": the state, the publish's serial and its send time (CLOCK_MONOTONIC
// ns), in the protocol's free-text field.
struct Stamp {
  std::uint64_t serial = 0;
  std::uint64_t sent_ns = 0;
};
std::string stamp_text(std::string_view state, Stamp stamp);
std::optional<Stamp> read_stamp(std::string_view text);

class Driver;

// What a protocol does for the driver. Each call returns at once and reports through the driver.
class Protocol {
 public:
  virtual ~Protocol() = default;
  // Connects and authenticates account `a`, subscribes to its pairs; then driver.logged_in.
  virtual void login(std::uint32_t a) = 0;
  // Publishes `state` for user `u`; then driver.answered.
  virtual void publish(std::uint32_t u, std::string_view state, Stamp stamp) = 0;
  // Refreshes one subscription; false when the protocol has no such thing.
  virtual bool refresh(std::uint32_t pair) = 0;
  // Drops account `a`'s connection and logs it in again; false when unsupported.
  virtual bool reconnect(std::uint32_t a) = 0;
  // Stops or resumes reading account `a`'s notifications; false when unsupported.
  virtual bool set_reading(std::uint32_t a, bool reading) = 0;
  virtual void close() = 0;
};

// Runs the commands of the line protocol against a Protocol.
class Driver {
 public:
  Driver(boost::asio::io_context& ioc, const Dataset& dataset);
  void set_protocol(Protocol& protocol) { protocol_ = &protocol; }
  // Reads stdin until quit or end of input, answering each command on stdout.
  boost::asio::awaitable<void> run();

  // Reports from the protocol.
  void logged_in(std::uint32_t account, bool ok, std::uint64_t subscriptions);
  void answered(std::uint64_t serial, bool ok, std::string_view error = {});
  // A notification on `pair`; `stamp` when it carried one (a real state).
  void received(std::uint32_t pair, std::optional<Stamp> stamp, std::uint64_t now_ns);
  void failure(std::string_view what);

  const Dataset& dataset() const { return dataset_; }

 private:
  using Json = boost::json::object;
  boost::asio::awaitable<Json> command(const Json& request);
  // At `rate` accounts a second, with at most `window` of them unanswered at a time.
  boost::asio::awaitable<Json> login(double rate, std::uint64_t window);
  boost::asio::awaitable<Json> publish(const Json& request, const std::string& kind);
  boost::asio::awaitable<Json> gate(double rate, double sample_share);
  // The users the gate publishes again: those whose last state is in doubt, a random sample
  // (`sample_share` of the users, and the hottest), and those with a watcher that received
  // nothing since it last logged in. The counts go into `out`.
  std::vector<std::uint32_t> users_to_republish(double sample_share, Json& out) const;
  void start_command();
  void publish_one(std::uint32_t user);
  // Calls `each` at Poisson times of `rate` per second for `duration_s`.
  boost::asio::awaitable<void> pace(double rate, double duration_s, std::function<void()> each);
  boost::asio::awaitable<void> sleep(double seconds);
  // Until every answer is in and every expected delivery arrived, or nothing arrived for
  // `quiet_s`, or `timeout_s`.
  boost::asio::awaitable<void> settle(double quiet_s, double timeout_s);
  void add_results(Json& out) const;

  boost::asio::io_context& ioc_;
  const Dataset& dataset_;
  Protocol* protocol_ = nullptr;
  std::uint64_t next_serial_ = 1;
  std::vector<std::uint32_t> cycle_;        // user -> index of its last state
  std::vector<std::uint64_t> last_serial_;  // pair -> newest serial received
  // What the gate compares against: user -> serial of its newest publish (0: never published),
  // its publishes still unanswered, and whether its final state is in doubt (two publishes in
  // flight at once, whose order the server may have swapped, or one that failed or timed out).
  std::vector<std::uint64_t> last_sent_;
  std::vector<std::uint32_t> unanswered_;
  std::vector<bool> in_doubt_;
  std::vector<bool> seen_;                  // pair -> a notification since the watcher's login
  std::vector<bool> denied_seen_;           // pair -> a denied pair received a real state
  std::vector<bool> paused_;                // account -> not reading (slow consumers)
  std::unordered_map<std::uint64_t, std::uint32_t> in_flight_;  // serial -> user, unanswered
  std::uint64_t notifications_ = 0;         // every notification read, with or without stamp
  // The running command's counts: serials from `first_serial_` on belong to it.
  std::uint64_t first_serial_ = 1;
  std::uint64_t offered_ = 0;
  std::uint64_t accepted_ = 0;
  std::uint64_t errors_ = 0;
  std::uint64_t expected_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t last_delivery_ns_ = 0;
  std::uint64_t last_publish_ns_ = 0;
  std::uint64_t last_answer_ns_ = 0;
  Histogram latency_;
  // Login.
  std::uint64_t logged_in_ = 0;
  std::uint64_t login_failures_ = 0;
  std::uint64_t last_login_ns_ = 0;
  std::uint64_t subscriptions_ = 0;
  std::uint32_t first_error_lines_ = 0;
};

// The generators' common main: --dataset FILE --endpoint JSON [--threads N]; `make` builds the
// protocol from the endpoint object.
int generator_main(int argc, char** argv,
                   const std::function<std::unique_ptr<Protocol>(
                       boost::asio::io_context&, Driver&, const boost::json::object&)>& make);

}  // namespace presenced::load::compare
