// presence-load: drives presence changes into presenced over keep-alive HTTP and measures what
// its WebSocket watchers receive. Every change carries its send time (CLOCK_MONOTONIC ns) in the
// note, so the receiving side computes publish-to-notify latency on the one clock of this host.
// With --mode decide it measures call-routing decisions instead (decide_load.h).
// Loopback only; every phase has a deadline. How the figures in docs/benchmarks.md were taken
// is written there.

#include "decide_load.h"
#include "http_client.h"
#include "load_options.h"
#include "load_report.h"
#include "load_setup.h"

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include <sys/resource.h>

#include <atomic>
#include <charconv>
#include <memory>
#include <thread>
#include <vector>

namespace presenced::load {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kHandshakesInFlight = 64;  // per thread
constexpr std::string_view kStates[] = {"Busy", "Away", "DoNotDisturb", "BeRightBack", "Available"};

// Read by every thread; the window bounds are set before the first change is sent.
struct Shared {
  const Options* options = nullptr;
  tcp::endpoint server;
  Credentials credentials;
  std::size_t targets = 0;  // users 0..targets-1 are watched by someone
  std::atomic<std::uint64_t> connected{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> subscribed{0};     // watchers that sent their subscribe
  std::atomic<std::uint64_t> subscriptions{0};  // users they asked for
  std::atomic<std::uint64_t> drivers_done{0};
  std::atomic<std::uint64_t> window_start{~std::uint64_t{0}};
  std::atomic<std::uint64_t> window_end{~std::uint64_t{0}};
  std::atomic<std::uint64_t> drive_until{0};
  std::atomic<bool> stopping{false};

  bool in_window(std::uint64_t t) const {
    return t >= window_start.load(std::memory_order_relaxed) &&
           t < window_end.load(std::memory_order_relaxed);
  }
};

// One client thread and what it counted. Counters other than the atomics are read only after
// the thread has ended.
struct Worker {
  asio::io_context ioc{1};
  asio::steady_timer subscribe_gate{ioc, asio::steady_timer::time_point::max()};
  asio::steady_timer handshake_slot{ioc, asio::steady_timer::time_point::max()};
  bool subscribe_open = false;
  std::size_t handshakes = 0;
  std::atomic<std::uint64_t> presence_events{0};
  std::uint64_t notifications = 0;
  std::uint64_t changes_sent = 0;
  std::uint64_t changes_accepted = 0;
  std::uint64_t http_errors = 0;
  std::uint64_t ws_errors = 0;
  std::uint64_t disconnects = 0;
  Histogram latency;
  Histogram ack;
  std::thread thread;
};

std::string subscribe_message(const Options& options, std::size_t watcher, std::size_t& count) {
  const std::size_t team = watcher / options.watch * options.watch;
  std::string out = R"({"op":"subscribe","users":[)";
  count = 0;
  for (std::size_t k = team; k < team + options.watch && k < options.users; ++k) {
    out += count++ == 0 ? "\"" : ",\"";
    out += user_id(options, k);
    out += '"';
  }
  out += "]}";
  return out;
}

void on_message(const Shared& shared, Worker& worker, std::string_view text, std::uint64_t now) {
  const std::string_view head = text.substr(0, 40);
  if (head.find(R"("type":"presence")") != std::string_view::npos) {
    worker.presence_events.fetch_add(1, std::memory_order_relaxed);
    if (shared.in_window(now)) {
      ++worker.notifications;
    }
    constexpr std::string_view kStamp = R"("note":"t=)";
    const auto at = text.find(kStamp);
    if (at == std::string_view::npos) {
      return;
    }
    std::uint64_t sent = 0;
    const char* begin = text.data() + at + kStamp.size();
    const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), sent);
    if (ec == std::errc() && sent <= now && shared.in_window(sent)) {
      worker.latency.record(now - sent);
    }
  } else if (head.find(R"("type":"error")") != std::string_view::npos) {
    ++worker.ws_errors;
  }
}

awaitable<bool> open_websocket(const Shared& shared, websocket::stream<beast::tcp_stream>& ws,
                               std::size_t index) {
  auto& stream = beast::get_lowest_layer(ws);
  if (shared.options->watchers > kConnectionsPerSource) {
    const auto host = static_cast<std::uint32_t>(2 + index % shared.options->source_addresses);
    const asio::ip::address_v4 source((127u << 24) | host);
    beast::error_code ec;
    stream.socket().open(tcp::v4(), ec);
    if (!ec) {
      stream.socket().bind(tcp::endpoint(source, 0), ec);
    }
    if (ec) {
      co_return false;
    }
  }
  stream.expires_after(std::chrono::seconds(30));
  auto [connect_error] = co_await stream.async_connect(shared.server, kAsTuple);
  if (connect_error) {
    co_return false;
  }
  stream.expires_never();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  const std::string host =
      shared.server.address().to_string() + ":" + std::to_string(shared.server.port());
  auto [handshake_error] = co_await ws.async_handshake(
      host, "/api/v1/ws?access_token=" + shared.credentials.watcher_tokens[index], kAsTuple);
  co_return !handshake_error;
}

// One watcher: connect, wait for the subscribe gate, subscribe to the own team, then read.
awaitable<void> watcher(Shared* shared, Worker* worker, std::size_t index) {
  websocket::stream<beast::tcp_stream> ws(worker->ioc);
  const bool open = co_await open_websocket(*shared, ws, index);
  --worker->handshakes;
  worker->handshake_slot.cancel();
  if (!open) {
    ++shared->connect_failures;
    co_return;
  }
  ++shared->connected;
  if (!worker->subscribe_open) {
    co_await worker->subscribe_gate.async_wait(kAsTuple);
  }
  std::size_t count = 0;
  const std::string subscribe = subscribe_message(*shared->options, index, count);
  auto [write_error, written] = co_await ws.async_write(asio::buffer(subscribe), kAsTuple);
  if (write_error) {
    ++worker->disconnects;
    co_return;
  }
  shared->subscriptions += count;
  ++shared->subscribed;
  beast::flat_buffer buffer;
  for (;;) {
    auto [read_error, n] = co_await ws.async_read(buffer, kAsTuple);
    if (read_error) {
      if (!shared->stopping) {
        ++worker->disconnects;
      }
      co_return;
    }
    const auto data = buffer.cdata();
    on_message(*shared, *worker,
               std::string_view(static_cast<const char*>(data.data()), data.size()),
               monotonic_ns());
    buffer.consume(buffer.size());
  }
}

// Starts this thread's watchers with a bounded number of handshakes in flight.
awaitable<void> launch_watchers(Shared* shared, Worker* worker, std::size_t first,
                                std::size_t step) {
  for (std::size_t index = first; index < shared->options->watchers; index += step) {
    while (worker->handshakes >= kHandshakesInFlight) {
      co_await worker->handshake_slot.async_wait(kAsTuple);
    }
    ++worker->handshakes;
    asio::co_spawn(worker->ioc, watcher(shared, worker, index), asio::detached);
  }
}

// One keep-alive connection sending changes: paced at its share of --rate, or back to back.
awaitable<void> driver(Shared* shared, Worker* worker, std::size_t d) {
  const Options& options = *shared->options;
  HttpClient client(worker->ioc.get_executor(), shared->server);
  Pacer pacer(worker->ioc.get_executor(), options.rate, options.connections, d);
  for (std::uint64_t k = 0;; ++k) {
    co_await pacer.next_slot();
    const std::uint64_t sent = monotonic_ns();  // WebSocket latency counts from the send
    if (sent >= shared->drive_until.load(std::memory_order_relaxed)) {
      break;
    }
    const std::size_t user = (d + k * options.connections) % shared->targets;
    std::string body = fmt::format(R"({{"state":"{}","note":"t={}"}})",
                                   kStates[(k + d) % std::size(kStates)], sent);
    HttpAnswer answer = co_await client.request(
        http::verb::put, fmt::format("/api/v1/users/{}/presence/manual", user_id(options, user)),
        shared->credentials.admin_token, std::move(body));
    const bool counted = shared->in_window(sent);
    worker->changes_sent += counted ? 1 : 0;
    if (answer.status == 200) {
      if (counted) {
        ++worker->changes_accepted;
        worker->ack.record(monotonic_ns() - sent);
      }
    } else if (++worker->http_errors <= 5) {
      fmt::print(stderr, "change {}: HTTP {} {}\n", user_id(options, user), answer.status,
                 std::string_view(answer.body).substr(0, 200));
    }
  }
  ++shared->drivers_done;
}

// Polls `done` every 50 ms until it holds or `timeout_s` passes.
template <typename Done>
bool wait_for(Done done, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<long>(timeout_s * 1000));
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

std::optional<long> server_rss(const Options& options) {
  return options.server_pid > 0 ? read_rss(options.server_pid) : std::nullopt;
}

std::uint64_t presence_events(const std::vector<std::unique_ptr<Worker>>& workers) {
  std::uint64_t sum = 0;
  for (const auto& w : workers) {
    sum += w->presence_events.load(std::memory_order_relaxed);
  }
  return sum;
}

// Waits until no presence event has arrived for `quiet_ms`, or the timeout.
void wait_quiet(const std::vector<std::unique_ptr<Worker>>& workers, int quiet_ms,
                double timeout_s) {
  std::uint64_t last = presence_events(workers);
  auto last_change = std::chrono::steady_clock::now();
  wait_for(
      [&] {
        const std::uint64_t now = presence_events(workers);
        if (now != last) {
          last = now;
          last_change = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - last_change >=
               std::chrono::milliseconds(quiet_ms);
      },
      timeout_s);
}

struct Run {
  const Options& options;
  Shared shared;
  std::vector<std::unique_ptr<Worker>> workers;
  Summary summary;

  void start_threads() {
    for (std::size_t t = 0; t < options.threads; ++t) {
      workers.push_back(std::make_unique<Worker>());
    }
    for (std::size_t t = 0; t < options.threads; ++t) {
      Worker* w = workers[t].get();
      asio::co_spawn(w->ioc, launch_watchers(&shared, w, t, options.threads), asio::detached);
      w->thread = std::thread([w] {
        auto guard = asio::make_work_guard(w->ioc);
        w->ioc.run();
      });
    }
  }

  bool connect() {
    const auto started = std::chrono::steady_clock::now();
    const bool all =
        wait_for([&] { return shared.connected + shared.connect_failures >= options.watchers; },
                 options.phase_timeout_s);
    summary.connect_s = seconds_since(started);
    summary.connected = shared.connected;
    if (!all || shared.connect_failures > 0) {
      fmt::print(stderr, "connect: {} of {} connected, {} failed\n", shared.connected.load(),
                 options.watchers, shared.connect_failures.load());
      return false;
    }
    wait_quiet(workers, 1000, options.phase_timeout_s);  // logins publish to nobody yet
    summary.rss_connected = server_rss(options);
    return true;
  }

  bool subscribe() {
    const auto started = std::chrono::steady_clock::now();
    const std::uint64_t before = presence_events(workers);
    for (auto& w : workers) {
      asio::post(w->ioc, [w = w.get()] {
        w->subscribe_open = true;
        w->subscribe_gate.cancel();
      });
    }
    const bool all = wait_for(
        [&] {
          return shared.subscribed >= summary.connected &&
                 presence_events(workers) - before >= shared.subscriptions;
        },
        options.phase_timeout_s);
    summary.subscribe_s = seconds_since(started);
    summary.subscriptions = shared.subscriptions;
    if (!all) {
      fmt::print(stderr, "subscribe: {} initial events of {}\n", presence_events(workers) - before,
                 shared.subscriptions.load());
      return false;
    }
    wait_quiet(workers, 1000, options.phase_timeout_s);
    summary.rss_subscribed = server_rss(options);
    return true;
  }

  void drive() {
    const std::uint64_t start = monotonic_ns();
    const auto warmup = static_cast<std::uint64_t>(options.warmup_s * 1e9);
    const auto duration = static_cast<std::uint64_t>(options.duration_s * 1e9);
    shared.window_start = start + warmup;
    shared.window_end = start + warmup + duration;
    shared.drive_until = start + warmup + duration;
    for (std::size_t d = 0; d < options.connections; ++d) {
      Worker* w = workers[d % workers.size()].get();
      asio::co_spawn(w->ioc, driver(&shared, w, d), asio::detached);
    }
    const CpuWindow cpu =
        measure_cpu_window(shared.window_start, shared.window_end, options.server_pid);
    summary.generator_cpu_s = cpu.generator_s;
    summary.host_cpu_s = cpu.host_s;
    summary.server_cpu_s = cpu.server_s;
    wait_for([&] { return shared.drivers_done >= options.connections; }, options.phase_timeout_s);
    wait_quiet(workers, 500, options.phase_timeout_s);
  }

  void stop() {
    shared.stopping = true;
    for (auto& w : workers) {
      w->ioc.stop();
    }
    for (auto& w : workers) {
      w->thread.join();
    }
    for (auto& w : workers) {
      summary.notifications += w->notifications;
      summary.changes_sent += w->changes_sent;
      summary.changes_accepted += w->changes_accepted;
      summary.http_errors += w->http_errors;
      summary.ws_errors += w->ws_errors;
      summary.disconnects += w->disconnects;
      summary.latency.merge(w->latency);
      summary.ack.merge(w->ack);
    }
    summary.connect_failures = shared.connect_failures;
  }

  static double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  }
};

void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::optional<tcp::endpoint> loopback_endpoint(const std::string& server) {
  const auto colon = server.rfind(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(server.substr(0, colon), ec);
  unsigned port = 0;
  const auto* end = server.data() + server.size();
  const auto parsed = std::from_chars(server.data() + colon + 1, end, port);
  if (ec || !address.is_loopback() || parsed.ec != std::errc() || parsed.ptr != end || port == 0 ||
      port > 65535) {
    return std::nullopt;
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

int run(const Options& options) {
  auto server = loopback_endpoint(options.server);
  if (!server) {
    fmt::print(stderr, "--server: \"{}\" is not a loopback HOST:PORT\n", options.server);
    return 2;
  }
  if (options.mode == Mode::Decide) {
    return run_decide(options, *server);
  }
  raise_descriptor_limit();
  auto credentials = set_up(options, *server);
  if (!credentials) {
    return 1;
  }
  Run r{options, {}, {}, {}};
  r.shared.options = &options;
  r.shared.server = *server;
  r.shared.credentials = std::move(*credentials);
  r.shared.targets = std::min(
      options.users, (options.watchers + options.watch - 1) / options.watch * options.watch);
  Summary& s = r.summary;
  s.users = options.users;
  s.watchers = options.watchers;
  s.watch = options.watch;
  s.connections = options.connections;
  s.threads = options.threads;
  s.rate = options.rate;
  s.warmup_s = options.warmup_s;
  s.duration_s = options.duration_s;
  r.summary.rss_before = server_rss(options);
  r.start_threads();
  const bool ready = r.connect() && r.subscribe();
  if (ready) {
    r.drive();
  }
  r.stop();
  if (options.json) {
    print_json(r.summary);
  } else {
    print_text(r.summary);
  }
  const bool clean =
      ready && r.summary.http_errors == 0 && r.summary.disconnects == 0 && r.summary.ws_errors == 0;
  return clean ? 0 : 1;
}

}  // namespace
}  // namespace presenced::load

int main(int argc, char** argv) {
  int exit_code = 0;
  auto options = presenced::load::parse_options(argc, argv, exit_code);
  if (!options) {
    return exit_code;
  }
  return presenced::load::run(*options);
}
