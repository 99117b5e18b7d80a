#include "decide_load.h"

#include "load_report.h"
#include "load_setup.h"

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast/http/verb.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace presenced::load {
namespace {

namespace asio = boost::asio;
using http_verb = boost::beast::http::verb;

constexpr std::uint64_t kReportedErrors = 5;

// Read by every thread; set before the first request.
struct DecideShared {
  const Options* options = nullptr;
  tcp::endpoint server;
  std::string token;
  std::uint64_t window_start = 0;
  std::uint64_t window_end = 0;
  std::atomic<std::uint64_t> errors_reported{0};

  bool in_window(std::uint64_t t) const { return t >= window_start && t < window_end; }
};

// One client thread; its summary is read only after the thread has ended.
struct DecideWorker {
  asio::io_context ioc{1};
  DecideSummary counts;
  std::thread thread;
};

std::string_view action_of(std::string_view body) {
  constexpr std::string_view kKey = R"("action":")";
  const auto at = body.find(kKey);
  if (at == std::string_view::npos) {
    return {};
  }
  const auto begin = at + kKey.size();
  return body.substr(begin, body.find('"', begin) - begin);
}

std::size_t count_of(std::string_view body, std::string_view text) {
  std::size_t n = 0;
  for (auto at = body.find(text); at != std::string_view::npos; at = body.find(text, at + 1)) {
    ++n;
  }
  return n;
}

// DoNotDisturb: voicemail (every callee has the default settings); otherwise ring every device.
bool expected(std::size_t callee, std::string_view body) {
  const std::string_view action = action_of(body);
  if (callee_state(callee) == "DoNotDisturb") {
    return action == "voicemail";
  }
  return action == "ring" && count_of(body, R"("device":)") == std::size(kCalleeDevices);
}

// One keep-alive connection: requests paced at its share of --rate, or back to back. At a fixed
// rate a request is due at its slot, and its latency counts from there.
asio::awaitable<void> decider(DecideShared* shared, DecideWorker* worker, std::size_t d) {
  const Options& options = *shared->options;
  DecideSummary& counts = worker->counts;
  HttpClient client(worker->ioc.get_executor(), shared->server);
  Pacer pacer(worker->ioc.get_executor(), options.rate, options.connections, d);
  for (std::uint64_t k = 0;; ++k) {
    const std::uint64_t due = co_await pacer.next_slot();
    if (due >= shared->window_end) {
      break;
    }
    const std::size_t callee = (d + k * options.connections) % options.users;
    std::string body = fmt::format(R"({{"callee":"{}","caller":"+4930{:08}","type":"direct"}})",
                                   user_id(options, callee), k % 100'000'000);
    const HttpAnswer answer = co_await client.request(http_verb::post, "/api/v1/routing/decide",
                                                      shared->token, std::move(body));
    const std::uint64_t received = monotonic_ns();
    const bool counted = shared->in_window(due);
    counts.sent += counted ? 1 : 0;
    const bool ok = answer.status == 200;
    if (!ok || !expected(callee, answer.body)) {
      ++(ok ? counts.wrong_decisions : counts.http_errors);
      if (shared->errors_reported++ < kReportedErrors) {
        fmt::print(stderr, "decide {}: HTTP {} {}\n", user_id(options, callee), answer.status,
                   std::string_view(answer.body).substr(0, 200));
      }
      continue;
    }
    if (counted) {
      ++counts.answered;
      ++(action_of(answer.body) == "ring" ? counts.rings : counts.voicemails);
      counts.latency.record(received - due);
    }
  }
}

}  // namespace

int run_decide(const Options& options, tcp::endpoint server) {
  auto credentials = set_up(options, server);
  if (!credentials) {
    return 1;
  }
  DecideShared shared;
  shared.options = &options;
  shared.server = server;
  shared.token = std::move(credentials->admin_token);
  const std::uint64_t start = monotonic_ns();
  shared.window_start = start + static_cast<std::uint64_t>(options.warmup_s * 1e9);
  shared.window_end = shared.window_start + static_cast<std::uint64_t>(options.duration_s * 1e9);

  std::vector<std::unique_ptr<DecideWorker>> workers;
  for (std::size_t t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<DecideWorker>());
  }
  for (std::size_t d = 0; d < options.connections; ++d) {
    DecideWorker* w = workers[d % workers.size()].get();
    asio::co_spawn(w->ioc, decider(&shared, w, d), asio::detached);
  }
  for (auto& w : workers) {
    w->thread = std::thread([w = w.get()] { w->ioc.run(); });
  }

  DecideSummary s;
  const CpuWindow cpu =
      measure_cpu_window(shared.window_start, shared.window_end, options.server_pid);
  s.generator_cpu_s = cpu.generator_s;
  s.host_cpu_s = cpu.host_s;
  s.server_cpu_s = cpu.server_s;
  // Each decider ends after its last answer; every request has a 30 s deadline.
  for (auto& w : workers) {
    w->thread.join();
    const DecideSummary& c = w->counts;
    s.sent += c.sent;
    s.answered += c.answered;
    s.rings += c.rings;
    s.voicemails += c.voicemails;
    s.http_errors += c.http_errors;
    s.wrong_decisions += c.wrong_decisions;
    s.latency.merge(c.latency);
  }
  s.callees = options.users;
  s.connections = options.connections;
  s.threads = options.threads;
  s.rate = options.rate;
  s.warmup_s = options.warmup_s;
  s.duration_s = options.duration_s;
  if (options.json) {
    print_json(s);
  } else {
    print_text(s);
  }
  return s.http_errors == 0 && s.wrong_decisions == 0 ? 0 : 1;
}

}  // namespace presenced::load
