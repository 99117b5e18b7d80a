// sip-load: SIP presence subscribers over UDP against presenced, driven by REST changes.
//
// Each subscriber is one dialog: SUBSCRIBE, 401 (the MD5 challenge of the two offered is
// answered), SUBSCRIBE with digest credentials, 200, then every NOTIFY is answered 200 at once.
// Changes go to the watched users as `PUT /api/v1/users/{id}/presence/manual` with the send
// time (CLOCK_MONOTONIC ns) in the note, so the NOTIFY's PIDF <note> gives the REST-change to
// NOTIFY-received latency on this host's one clock. It reports NOTIFYs received per second and
// per server CPU-second, the latency, and the server's RSS and PSS before and after the
// subscriptions. docs/benchmarks.md, "SIP NOTIFY fan-out", says how the figures were taken.
//
// Why not sipp: sipp 3.6 (Debian 12) answers only the first WWW-Authenticate and only MD5, and
// presenced offers SHA-256 first (RFC 8760 §2.4), so a sipp SUBSCRIBE never authenticates.
//
// One receiver thread owns the UDP sockets (dialogs spread over them, so the server sends to
// several ports); one thread drives the REST changes. Loopback only.

#include "http_client.h"
#include "load_report.h"
#include "sip_text.h"

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/beast/http/verb.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace presenced::load {
namespace {

namespace asio = boost::asio;
using http_verb = boost::beast::http::verb;

struct SipOptions {
  std::string http = "127.0.0.1:18082";
  std::string sip = "127.0.0.1:15060";
  std::string admin = "admin";
  std::string admin_password;
  std::string sip_password;  // every load user's (make-store --sip-password)
  std::string user_prefix = "load";
  std::string domain = "localhost";
  std::size_t subscribers = 10'000;
  std::size_t presentities = 100;  // subscriber i watches user i % presentities
  std::size_t sockets = 16;
  std::size_t in_flight = 200;    // SUBSCRIBE exchanges at once during set-up
  std::size_t connections = 16;   // REST keep-alive connections
  std::string rate = "max";       // changes/s, or max (closed loop)
  double warmup_s = 3;
  double duration_s = 15;
  double settle_s = 0;  // idle after subscribing, before the second memory reading
  int server_pid = 0;
};

std::string load_user(const SipOptions& o, std::size_t i) {
  return fmt::format("{}{:05}", o.user_prefix, i);
}

// Datagrams the kernel dropped on a full receive buffer of the UDP socket bound to
// 127.0.0.1:port (/proc/net/udp, last column).
std::uint64_t udp_drops(std::uint16_t port) {
  std::ifstream in("/proc/net/udp");
  const std::string local = fmt::format("0100007F:{:04X}", port);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot;
    std::string address;
    fields >> slot >> address;
    if (address == local) {
      std::string field;
      std::string last;
      while (fields >> field) last = field;
      return std::stoull(last);
    }
  }
  return 0;
}

// ---- subscribers ----

enum class Phase : std::uint8_t { Idle, Challenged, Authenticating, Active, Failed };

struct Dialog {
  Phase phase = Phase::Idle;
  std::uint32_t cseq = 0;
  std::uint32_t last_notify_cseq = 0;
  std::uint64_t sent_at = 0;
  std::uint64_t last_notify_at = 0;
  std::size_t socket = 0;
  int tries = 0;
};

struct Counts {
  std::atomic<std::uint64_t> active{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> notifies{0};  // NOTIFYs received (retransmissions not counted)
  std::atomic<std::uint64_t> retransmissions{0};
  std::atomic<std::uint64_t> in_window{0};
  std::atomic<std::uint64_t> window_start{~std::uint64_t{0}};
  std::atomic<std::uint64_t> window_end{~std::uint64_t{0}};
  std::atomic<bool> stopping{false};
  Histogram latency;  // receiver thread only; read after it ends
  // The longest time the receiver went between two passes over its sockets in the window: a
  // stall here delays the 200s and then sends them in one burst.
  std::uint64_t longest_gap_ns = 0;
};

class Subscribers {
 public:
  Subscribers(const SipOptions& options, sockaddr_in server, Counts& counts)
      : options_(options), server_(server), counts_(counts), dialogs_(options.subscribers) {
    for (std::size_t i = 0; i < options_.sockets; ++i) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      sockaddr_in local{};
      local.sin_family = AF_INET;
      local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int size = 8 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
      socklen_t length = sizeof local;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length);
      fds_.push_back(fd);
      ports_.push_back(ntohs(local.sin_port));
    }
    for (std::size_t i = 0; i < dialogs_.size(); ++i) {
      dialogs_[i].socket = i % fds_.size();
    }
  }
  ~Subscribers() {
    for (const int fd : fds_) ::close(fd);
  }

  // Runs until counts.stopping: set-up first (the SUBSCRIBE exchanges, `in_flight` at a time),
  // answering NOTIFYs all along.
  void run() {
    std::vector<pollfd> polls;
    for (const int fd : fds_) polls.push_back(pollfd{fd, POLLIN, 0});
    std::vector<char> buffer(65536);
    std::size_t next = 0;
    while (!counts_.stopping.load(std::memory_order_relaxed)) {
      const std::uint64_t now = monotonic_ns();
      if (now >= counts_.window_start.load(std::memory_order_relaxed) &&
          now < counts_.window_end.load(std::memory_order_relaxed)) {
        counts_.longest_gap_ns = std::max(counts_.longest_gap_ns, now - last_pass_);
      }
      last_pass_ = now;
      while (next < dialogs_.size() && pending_ < options_.in_flight) {
        start(next++, now);
      }
      if (now - last_sweep_ > 500'000'000) {
        sweep(now);
        last_sweep_ = now;
      }
      if (::poll(polls.data(), polls.size(), 50) <= 0) continue;
      for (std::size_t s = 0; s < polls.size(); ++s) {
        if ((polls[s].revents & POLLIN) == 0) continue;
        for (int burst = 0; burst < 64; ++burst) {
          const ssize_t n = ::recv(fds_[s], buffer.data(), buffer.size(), 0);
          if (n <= 0) break;
          received(s, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
        }
      }
    }
  }

  // Active dialogs without a NOTIFY since `t`: the server ended them without a word (or they
  // saw no change); call after run() has returned.
  std::uint64_t drops() const {
    std::uint64_t sum = 0;
    for (const std::uint16_t port : ports_) sum += udp_drops(port);
    return sum;
  }

  std::size_t silent_since(std::uint64_t t) const {
    std::size_t silent = 0;
    for (const Dialog& d : dialogs_) {
      silent += d.phase == Phase::Active && d.last_notify_at < t ? 1 : 0;
    }
    return silent;
  }

 private:
  std::string call_id(std::size_t i) const {
    return fmt::format("sl{}-{}@127.0.0.1", i, ::getpid());
  }

  void send(std::size_t socket, std::string_view bytes) {
    ::sendto(fds_[socket], bytes.data(), bytes.size(), 0,
             reinterpret_cast<const sockaddr*>(&server_), sizeof server_);
  }

  std::string subscribe_text(std::size_t i, std::string_view authorization) {
    Dialog& d = dialogs_[i];
    const std::string user = load_user(options_, i);
    const std::string target = load_user(options_, i % options_.presentities);
    const std::uint16_t port = ports_[d.socket];
    std::string text = fmt::format(
        "SUBSCRIBE sip:{1}@{2} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{3};branch=z9hG4bK{4}x{5};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:{0}@{2}>;tag=f{4}\r\n"
        "To: <sip:{1}@{2}>\r\n"
        "Call-ID: {6}\r\n"
        "CSeq: {5} SUBSCRIBE\r\n"
        "Contact: <sip:{0}@127.0.0.1:{3}>\r\n"
        "Event: presence\r\n"
        "Accept: application/pidf+xml\r\n"
        "Expires: 3600\r\n",
        user, target, options_.domain, port, i, d.cseq, call_id(i));
    if (!authorization.empty()) {
      text.append("Authorization: ").append(authorization).append("\r\n");
    }
    text.append("Content-Length: 0\r\n\r\n");
    return text;
  }

  void start(std::size_t i, std::uint64_t now) {
    Dialog& d = dialogs_[i];
    d.phase = Phase::Challenged;
    d.cseq += 1;
    d.sent_at = now;
    ++d.tries;
    ++pending_;
    send(d.socket, subscribe_text(i, {}));
  }

  // Exchanges unanswered for 2 s start again (UDP loss, or a full socket buffer); 5 tries.
  void sweep(std::uint64_t now) {
    for (std::size_t i = 0; i < dialogs_.size(); ++i) {
      Dialog& d = dialogs_[i];
      if ((d.phase != Phase::Challenged && d.phase != Phase::Authenticating) ||
          now - d.sent_at < 2'000'000'000) {
        continue;
      }
      --pending_;
      if (d.tries >= 5) {
        d.phase = Phase::Failed;
        counts_.failed.fetch_add(1);
        continue;
      }
      start(i, now);
    }
  }

  std::optional<std::size_t> dialog_of(std::string_view message) const {
    const auto index = number_after(header(message, "Call-ID"), "sl");
    if (!index || *index >= dialogs_.size()) {
      return std::nullopt;
    }
    return static_cast<std::size_t>(*index);
  }

  void received(std::size_t socket, std::string_view message) {
    if (message.starts_with("SIP/2.0 ")) {
      response(message);
    } else if (message.starts_with("NOTIFY ")) {
      notify(socket, message);
    }
  }

  void response(std::string_view message) {
    const auto index = dialog_of(message);
    const auto status = number_after(message, "SIP/2.0 ");
    if (!index || !status) return;
    Dialog& d = dialogs_[*index];
    const auto cseq = number_after(header(message, "CSeq"), "");
    if (!cseq || *cseq != d.cseq) return;  // a retransmitted answer to an earlier try
    if (*status == 401 && d.phase == Phase::Challenged) {
      for (const std::string_view line : headers(message, "WWW-Authenticate")) {
        if (param(line, "algorithm") == "MD5") {
          authenticate(*index, line);
          return;
        }
      }
    } else if (*status == 200 && d.phase == Phase::Authenticating) {
      d.phase = Phase::Active;
      --pending_;
      counts_.active.fetch_add(1);
    } else if (*status >= 300) {
      if (d.phase == Phase::Challenged || d.phase == Phase::Authenticating) --pending_;
      if (d.phase != Phase::Failed) counts_.failed.fetch_add(1);
      d.phase = Phase::Failed;
      if (counts_.failed.load() <= 5) {
        fmt::print(stderr, "subscriber {}: {}\n", *index,
                   message.substr(0, message.find("\r\n")));
      }
    }
  }

  // RFC 3261 §22.4 with qop=auth (RFC 2617 §3.2.2).
  void authenticate(std::size_t i, std::string_view challenge) {
    Dialog& d = dialogs_[i];
    const std::string user = load_user(options_, i);
    const std::string realm(param(challenge, "realm"));
    const std::string nonce(param(challenge, "nonce"));
    const std::string opaque(param(challenge, "opaque"));
    const std::string uri =
        fmt::format("sip:{}@{}", load_user(options_, i % options_.presentities), options_.domain);
    const std::string cnonce = fmt::format("c{:x}", monotonic_ns());
    const std::string ha1 = md5_hex(fmt::format("{}:{}:{}", user, realm, options_.sip_password));
    const std::string ha2 = md5_hex(fmt::format("SUBSCRIBE:{}", uri));
    const std::string answer =
        md5_hex(fmt::format("{}:{}:00000001:{}:auth:{}", ha1, nonce, cnonce, ha2));
    std::string authorization = fmt::format(
        "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", response=\"{}\", "
        "algorithm=MD5, cnonce=\"{}\", qop=auth, nc=00000001",
        user, realm, nonce, uri, answer, cnonce);
    if (!opaque.empty()) {
      authorization += fmt::format(", opaque=\"{}\"", opaque);
    }
    d.phase = Phase::Authenticating;
    d.cseq += 1;
    d.sent_at = monotonic_ns();
    send(d.socket, subscribe_text(i, authorization));
  }

  // Answers 200 (RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied) and counts it.
  void notify(std::size_t socket, std::string_view message) {
    const std::uint64_t now = monotonic_ns();
    const std::string ok = ok_response(message);
    send(socket, ok);

    const auto index = dialog_of(message);
    const auto cseq = number_after(header(message, "CSeq"), "");
    if (!index || !cseq) return;
    Dialog& d = dialogs_[*index];
    if (*cseq <= d.last_notify_cseq) {
      counts_.retransmissions.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    d.last_notify_cseq = static_cast<std::uint32_t>(*cseq);
    d.last_notify_at = now;
    counts_.notifies.fetch_add(1, std::memory_order_relaxed);
    if (now >= counts_.window_start.load(std::memory_order_relaxed) &&
        now < counts_.window_end.load(std::memory_order_relaxed)) {
      counts_.in_window.fetch_add(1, std::memory_order_relaxed);
      if (const auto sent = number_after(message, "<note>t=")) {
        counts_.latency.record(now - *sent);
      }
    }
  }

  const SipOptions& options_;
  sockaddr_in server_;
  Counts& counts_;
  std::vector<Dialog> dialogs_;
  std::vector<int> fds_;
  std::vector<std::uint16_t> ports_;
  std::size_t pending_ = 0;
  std::uint64_t last_sweep_ = 0;
  std::uint64_t last_pass_ = 0;
};

// ---- REST changes ----

struct Driver {
  std::atomic<std::uint64_t> sent{0};       // in the window
  std::atomic<std::uint64_t> accepted{0};   // 200, in the window
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> next_user{0};
};

asio::awaitable<std::optional<std::string>> login(HttpClient& client, const SipOptions& o) {
  const std::string body = fmt::format(R"({{"username":"{}","password":"{}"}})", o.admin,
                                       o.admin_password);
  HttpAnswer answer = co_await client.request(http_verb::post, "/api/v1/auth/token", "", body);
  const std::string_view text = answer.body;
  const std::size_t at = text.find("\"token\":\"");
  if (answer.status != 200 || at == std::string_view::npos) {
    fmt::print(stderr, "login as {}: HTTP {} {}\n", o.admin, answer.status, answer.body);
    co_return std::nullopt;
  }
  const std::size_t start = at + 9;
  co_return std::string(text.substr(start, text.find('"', start) - start));
}

asio::awaitable<void> drive(const SipOptions& o, tcp::endpoint server, std::string token,
                            std::optional<double> rate, std::size_t index, Driver& driver,
                            Counts& counts, std::uint64_t until) {
  auto executor = co_await asio::this_coro::executor;
  HttpClient client(executor, server);
  Pacer pacer(executor, rate, o.connections, index);
  while (true) {
    const std::uint64_t slot = co_await pacer.next_slot();
    if (slot >= until) break;
    const std::uint64_t n = driver.next_user.fetch_add(1);
    const std::size_t user = n % o.presentities;
    const std::uint64_t sent = monotonic_ns();
    const std::string body =
        fmt::format(R"({{"state":"{}","note":"t={}"}})",
                    (n / o.presentities) % 2 == 0 ? "Busy" : "Available", sent);
    HttpAnswer answer =
        co_await client.request(http_verb::put,
                                fmt::format("/api/v1/users/{}/presence/manual", load_user(o, user)),
                                token, body);
    const bool counted = sent >= counts.window_start.load() && sent < counts.window_end.load();
    driver.sent += counted ? 1 : 0;
    if (answer.status == 200) {
      driver.accepted += counted ? 1 : 0;
    } else if (++driver.errors <= 5) {
      fmt::print(stderr, "change {}: HTTP {} {}\n", load_user(o, user), answer.status,
                 std::string_view(answer.body).substr(0, 200));
    }
  }
}

// ---- /proc ----

std::optional<long> smaps_rollup(int pid, std::string_view field) {
  std::ifstream in(fmt::format("/proc/{}/smaps_rollup", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
      return std::stol(line.substr(field.size() + 1)) * 1024;
    }
  }
  return std::nullopt;
}

struct Memory {
  std::optional<long> rss;
  std::optional<long> pss;
};

Memory memory_of(int pid) {
  if (pid <= 0) return {};
  return Memory{smaps_rollup(pid, "Rss"), smaps_rollup(pid, "Pss")};
}

std::optional<tcp::endpoint> endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(text.substr(0, colon), ec);
  if (ec) return std::nullopt;
  return tcp::endpoint(address, static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
}

void print_memory_delta(const char* what, const Memory& before, const Memory& after,
                        std::uint64_t subscriptions) {
  if (!before.rss || !after.rss || subscriptions == 0) return;
  const auto n = static_cast<double>(subscriptions);
  fmt::print("  {:<22} RSS {:+.1f} MB ({:.0f} B/subscription), "
             "PSS {:+.1f} MB ({:.0f} B/subscription)\n",
             what, static_cast<double>(*after.rss - *before.rss) / 1e6,
             static_cast<double>(*after.rss - *before.rss) / n,
             static_cast<double>(after.pss.value_or(0) - before.pss.value_or(0)) / 1e6,
             static_cast<double>(after.pss.value_or(0) - before.pss.value_or(0)) / n);
}

int run(const SipOptions& o) {
  const auto http = endpoint(o.http);
  const auto sip = endpoint(o.sip);
  if (!http || !sip) {
    fmt::print(stderr, "--http and --sip take IPv4:PORT\n");
    return 2;
  }
  std::optional<double> rate;
  if (o.rate != "max") rate = std::stod(o.rate);

  sockaddr_in server{};
  server.sin_family = AF_INET;
  server.sin_port = htons(sip->port());
  server.sin_addr.s_addr = htonl(sip->address().to_v4().to_uint());

  const Memory before = memory_of(o.server_pid);
  Counts counts;
  Subscribers subscribers(o, server, counts);
  std::thread receiver([&] { subscribers.run(); });

  // Set-up: every dialog active or failed, within a minute.
  const std::uint64_t set_up_start = monotonic_ns();
  while (counts.active.load() + counts.failed.load() < o.subscribers &&
         monotonic_ns() - set_up_start < 60'000'000'000ull) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // The first NOTIFYs follow their 200s; give the last ones a moment.
  while (counts.notifies.load() < counts.active.load() &&
         monotonic_ns() - set_up_start < 65'000'000'000ull) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double set_up_s = static_cast<double>(monotonic_ns() - set_up_start) / 1e9;
  const Memory subscribed = memory_of(o.server_pid);
  Memory settled;
  if (o.settle_s > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(o.settle_s));
    settled = memory_of(o.server_pid);
  }
  const std::uint64_t initial_notifies = counts.notifies.load();

  // Changes: warm-up, then the measured window.
  Driver driver;
  std::uint64_t start = monotonic_ns() + 200'000'000;
  const std::uint64_t window_start = start + static_cast<std::uint64_t>(o.warmup_s * 1e9);
  const std::uint64_t window_end = window_start + static_cast<std::uint64_t>(o.duration_s * 1e9);
  counts.window_start = window_start;
  counts.window_end = window_end;
  asio::io_context ioc{1};
  std::optional<std::string> token;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    HttpClient client(co_await asio::this_coro::executor, *http);
    token = co_await login(client, o);
  }, asio::detached);
  ioc.run();
  if (!token) {
    counts.stopping = true;
    receiver.join();
    return 1;
  }
  ioc.restart();
  for (std::size_t c = 0; c < o.connections; ++c) {
    asio::co_spawn(ioc, drive(o, *http, *token, rate, c, driver, counts, window_end),
                   asio::detached);
  }
  std::thread driver_thread([&] { ioc.run(); });
  const CpuWindow cpu = measure_cpu_window(window_start, window_end, o.server_pid);
  driver_thread.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last NOTIFYs in flight
  counts.stopping = true;
  receiver.join();
  const std::uint64_t server_drops = udp_drops(sip->port());
  const std::uint64_t subscriber_drops = subscribers.drops();

  const auto in_window = static_cast<double>(counts.in_window.load());
  const double seconds = o.duration_s;
  fmt::print("sip-load: {} subscribers over {} presentities, {} UDP sockets, rate {}\n",
             o.subscribers, o.presentities, o.sockets, o.rate);
  fmt::print("  subscribed           {} active, {} failed, in {:.1f} s; {} first NOTIFYs\n",
             counts.active.load(), counts.failed.load(), set_up_s, initial_notifies);
  fmt::print("  changes              {} sent, {} answered 200 in {:.0f} s ({:.0f}/s); "
             "{} HTTP errors\n",
             driver.sent.load(), driver.accepted.load(), seconds,
             static_cast<double>(driver.accepted.load()) / seconds, driver.errors.load());
  fmt::print("  NOTIFYs              {:.0f} received in the window: {:.0f}/s, {:.1f} per change; "
             "{} retransmissions seen (whole run)\n",
             in_window, in_window / seconds,
             driver.accepted.load() == 0 ? 0.0
                                         : in_window / static_cast<double>(driver.accepted.load()),
             counts.retransmissions.load());
  fmt::print("  UDP drops            {} at the server's socket, {} at the subscribers' (full "
             "receive buffers, whole run)\n", server_drops, subscriber_drops);
  fmt::print("  receiver             longest pause between passes {:.1f} ms (window)\n",
             static_cast<double>(counts.longest_gap_ns) / 1e6);
  fmt::print("  silent dialogs       {} of {} had no NOTIFY in the last 2 s of the window\n",
             subscribers.silent_since(window_end - 2'000'000'000), counts.active.load());
  fmt::print("  change -> NOTIFY     p50 {:.2f} ms, p99 {:.2f} ms, p99.9 {:.2f} ms, "
             "max {:.2f} ms\n",
             counts.latency.quantile_ms(0.5), counts.latency.quantile_ms(0.99),
             counts.latency.quantile_ms(0.999), counts.latency.max_ms());
  if (cpu.server_s) {
    fmt::print("  server CPU           {:.0f} % of one core; "
               "{:.0f} NOTIFYs per server CPU-second\n",
               *cpu.server_s / seconds * 100, in_window / *cpu.server_s);
  }
  fmt::print("  generator CPU        {:.0f} % of one core (both threads)\n",
             cpu.generator_s / seconds * 100);
  fmt::print("  host CPU             {:.0f} % of one core, all processes\n",
             cpu.host_s / seconds * 100);
  print_memory_delta("memory, subscribed", before, subscribed, counts.active.load());
  print_memory_delta("memory, settled", before, settled, counts.active.load());
  return counts.failed.load() == 0 && driver.errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace presenced::load

int main(int argc, char** argv) {
  presenced::load::SipOptions o;
  CLI::App app{"sip-load: SIP presence subscribers over UDP, changes over REST"};
  app.add_option("--http", o.http, "presenced HTTP, IPv4:PORT")->capture_default_str();
  app.add_option("--sip", o.sip, "presenced SIP (UDP), IPv4:PORT")->capture_default_str();
  app.add_option("--admin", o.admin, "Admin user")->capture_default_str();
  app.add_option("--admin-password", o.admin_password, "Admin password")->required();
  app.add_option("--sip-password", o.sip_password, "Every load user's sip_password")->required();
  app.add_option("--user-prefix", o.user_prefix, "Load user ids: PREFIX00000...")
      ->capture_default_str();
  app.add_option("--domain", o.domain, "presenced --domain (the digest realm)")
      ->capture_default_str();
  app.add_option("--subscribers", o.subscribers, "Subscriptions, one user and dialog each")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
      ->capture_default_str();
  app.add_option("--presentities", o.presentities, "Users watched; subscriber i watches i % N")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))
      ->capture_default_str();
  app.add_option("--sockets", o.sockets, "UDP sockets the dialogs spread over")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->capture_default_str();
  app.add_option("--in-flight", o.in_flight, "SUBSCRIBE exchanges at once while setting up")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000}))
      ->capture_default_str();
  app.add_option("--connections", o.connections, "REST keep-alive connections")
      ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "REST changes per second, or max")->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "Seconds of changes before the window")
      ->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds measured")->capture_default_str();
  app.add_option("--settle", o.settle_s,
                 "Seconds idle after subscribing before a second memory reading (server "
                 "transactions live 32 s)")
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid, "presenced's pid, for its CPU and memory");
  CLI11_PARSE(app, argc, argv);
  return presenced::load::run(o);
}
