#include "compare_gen.h"

#include "http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

namespace presenced::load::compare {

namespace asio = boost::asio;
namespace json = boost::json;

std::optional<Dataset> load_dataset(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value value = json::parse(text.str(), ec);
  if (ec || !value.is_object()) {
    fmt::print(stderr, "--dataset {}: not a JSON object\n", path);
    return std::nullopt;
  }
  const json::object& root = value.as_object();
  Dataset d;
  d.password = json::value_to<std::string>(root.at("password"));
  for (const auto& name : root.at("users").as_array()) {
    d.accounts.push_back(json::value_to<std::string>(name));
  }
  d.users = d.accounts.size();
  for (const auto& name : root.at("consoles").as_array()) {
    d.accounts.push_back(json::value_to<std::string>(name));
  }
  for (const auto& state : root.at("states").as_array()) {
    d.states.push_back(json::value_to<std::string>(state));
  }
  for (std::uint32_t i = 0; i < d.accounts.size(); ++i) {
    d.index.emplace(d.accounts[i], i);
  }
  d.hottest = d.index.at(json::value_to<std::string>(root.at("hottest")));
  std::unordered_map<std::uint64_t, bool> denied;
  for (const auto& pair : root.at("denied").as_array()) {
    const auto& both = pair.as_array();
    const std::uint64_t w = d.index.at(json::value_to<std::string>(both.at(0)));
    const std::uint64_t p = d.index.at(json::value_to<std::string>(both.at(1)));
    denied[w << 32 | p] = true;
  }
  d.watching.resize(d.accounts.size());
  d.allowed.assign(d.users, 0);
  for (const auto& [name, list] : root.at("watches").as_object()) {
    const std::uint32_t w = d.index.at(std::string(name));
    for (const auto& target : list.as_array()) {
      const std::uint32_t p = d.index.at(json::value_to<std::string>(target));
      const bool is_denied = denied.contains(std::uint64_t{w} << 32 | p);
      d.watching[w].push_back(static_cast<std::uint32_t>(d.pairs.size()));
      d.pairs.push_back(Pair{w, p, is_denied});
      d.allowed[p] += is_denied ? 0 : 1;
    }
  }
  return d;
}

std::optional<HostPort> endpoint_address(const json::object& endpoint, std::string_view key) {
  const json::value* value = endpoint.if_contains(key);
  const std::string text = value != nullptr && value->is_string()
                               ? std::string(value->as_string()) : std::string();
  const auto colon = text.rfind(':');
  unsigned port = 0;
  const char* end = text.data() + text.size();
  if (colon == std::string::npos ||
      std::from_chars(text.data() + colon + 1, end, port).ec != std::errc() || port == 0 ||
      port > 65535) {
    fmt::print(stderr, "endpoint {}: \"{}\" is not IPv4:PORT\n", key, text);
    return std::nullopt;
  }
  return HostPort{text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

std::string stamp_text(std::string_view state, Stamp stamp) {
  return fmt::format("{} q={} t={}", state, stamp.serial, stamp.sent_ns);
}

std::optional<Stamp> read_stamp(std::string_view text) {
  const std::size_t q = text.find(" q=");
  if (q == std::string_view::npos) {
    return std::nullopt;
  }
  Stamp stamp;
  const char* end = text.data() + text.size();
  auto [after_serial, serial_ec] = std::from_chars(text.data() + q + 3, end, stamp.serial);
  if (serial_ec != std::errc() || end - after_serial < 4 ||
      std::string_view(after_serial, 3) != " t=") {
    return std::nullopt;
  }
  auto [after_time, time_ec] = std::from_chars(after_serial + 3, end, stamp.sent_ns);
  if (time_ec != std::errc()) {
    return std::nullopt;
  }
  return stamp;
}

namespace {

std::mt19937_64& random_engine() {
  static std::mt19937_64 engine(20261201);
  return engine;
}

double number(const json::object& request, std::string_view key, double fallback) {
  const json::value* v = request.if_contains(key);
  if (v == nullptr) {
    return fallback;
  }
  return v->is_double() ? v->as_double() : static_cast<double>(v->to_number<std::int64_t>());
}

double seconds_between(std::uint64_t from_ns, std::uint64_t to_ns) {
  return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

}  // namespace

Driver::Driver(asio::io_context& ioc, const Dataset& dataset)
    : ioc_(ioc),
      dataset_(dataset),
      cycle_(dataset.users, 0),
      last_serial_(dataset.pairs.size(), 0),
      last_sent_(dataset.users, 0),
      unanswered_(dataset.users, 0),
      in_doubt_(dataset.users, false),
      seen_(dataset.pairs.size(), false),
      denied_seen_(dataset.pairs.size(), false),
      paused_(dataset.accounts.size(), false) {}

asio::awaitable<void> Driver::run() {
  asio::posix::stream_descriptor input(ioc_, ::dup(STDIN_FILENO));
  asio::streambuf buffer;
  for (;;) {
    auto [ec, n] = co_await asio::async_read_until(input, buffer, '\n',
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) {
      break;
    }
    std::string line(static_cast<const char*>(buffer.data().data()), n);
    buffer.consume(n);
    boost::system::error_code parse_error;
    json::value request = json::parse(line, parse_error);
    Json answer;
    if (parse_error || !request.is_object() || !request.as_object().contains("cmd")) {
      answer = {{"cmd", ""}, {"ok", false}, {"error", "not a JSON command"}};
    } else {
      answer = co_await command(request.as_object());
    }
    answer["generator_cpu_s"] = read_own_cpu_seconds();
    std::cout << json::serialize(answer) << '\n' << std::flush;
    if (answer["cmd"] == "quit") {
      break;
    }
  }
  protocol_->close();
  ioc_.stop();
}

asio::awaitable<Driver::Json> Driver::command(const Json& request) {
  const std::string cmd = json::value_to<std::string>(request.at("cmd"));
  Json answer;
  if (cmd == "login") {
    answer = co_await login(number(request, "rate", 500),
                            static_cast<std::uint64_t>(number(request, "window", 256)));
  } else if (cmd == "publish" || cmd == "burst" || cmd == "hot" || cmd == "churn" ||
             cmd == "slow") {
    answer = co_await publish(request, cmd);
  } else if (cmd == "gate") {
    answer = co_await gate(number(request, "rate", 2000), number(request, "sample", 0.01));
  } else if (cmd == "quit") {
    answer = {{"ok", true}};
  } else {
    answer = {{"ok", false}, {"error", "unknown command " + cmd}};
  }
  answer["cmd"] = cmd;
  co_return answer;
}

void Driver::start_command() {
  first_serial_ = next_serial_;
  offered_ = accepted_ = errors_ = expected_ = delivered_ = 0;
  last_delivery_ns_ = last_publish_ns_ = last_answer_ns_ = monotonic_ns();
  latency_ = Histogram{};
}

asio::awaitable<void> Driver::sleep(double seconds) {
  asio::steady_timer timer(ioc_, std::chrono::nanoseconds(static_cast<std::int64_t>(seconds * 1e9)));
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Driver::pace(double rate, double duration_s, std::function<void()> each) {
  if (rate <= 0) {
    co_return;
  }
  std::exponential_distribution<double> gap(rate);
  const std::uint64_t start = monotonic_ns();
  const auto end = start + static_cast<std::uint64_t>(duration_s * 1e9);
  double next = static_cast<double>(start);
  asio::steady_timer timer(ioc_);
  for (;;) {
    next += gap(random_engine()) * 1e9;
    if (next >= static_cast<double>(end)) {
      break;
    }
    const std::uint64_t now = monotonic_ns();
    if (next > static_cast<double>(now)) {
      timer.expires_after(std::chrono::nanoseconds(static_cast<std::int64_t>(next - now)));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    each();
  }
  const std::uint64_t now = monotonic_ns();
  if (now < end) {
    co_await sleep(static_cast<double>(end - now) / 1e9);
  }
}

asio::awaitable<void> Driver::settle(double quiet_s, double timeout_s) {
  const std::uint64_t start = monotonic_ns();
  const auto quiet = static_cast<std::uint64_t>(quiet_s * 1e9);
  const auto timeout = static_cast<std::uint64_t>(timeout_s * 1e9);
  for (;;) {
    const std::uint64_t now = monotonic_ns();
    const bool answered_all = accepted_ + errors_ >= offered_;
    if (answered_all && delivered_ >= expected_) {
      co_return;
    }
    // Quiet counts only once every publish is answered: a server still working through a
    // queue of them is not done, and the protocol gives each one up on its own timer.
    const std::uint64_t last = std::max({last_delivery_ns_, last_answer_ns_, start});
    if ((answered_all && now - last > quiet) || now - start > timeout) {
      co_return;
    }
    co_await sleep(0.01);
  }
}

void Driver::publish_one(std::uint32_t user) {
  cycle_[user] = (cycle_[user] + 1) % dataset_.states.size();
  const Stamp stamp{next_serial_++, monotonic_ns()};
  ++offered_;
  in_flight_.emplace(stamp.serial, user);
  if (unanswered_[user]++ > 0) {
    in_doubt_[user] = true;
  }
  last_sent_[user] = stamp.serial;
  last_publish_ns_ = stamp.sent_ns;
  protocol_->publish(user, dataset_.states[cycle_[user]], stamp);
}

void Driver::answered(std::uint64_t serial, bool ok, std::string_view error) {
  const auto it = in_flight_.find(serial);
  if (it == in_flight_.end()) {
    return;
  }
  const std::uint32_t user = it->second;
  in_flight_.erase(it);
  --unanswered_[user];
  if (!ok) {
    in_doubt_[user] = true;
  }
  last_answer_ns_ = monotonic_ns();
  if (serial < first_serial_) {
    return;
  }
  if (ok) {
    ++accepted_;
    expected_ += dataset_.allowed[user];
  } else {
    ++errors_;
    failure(fmt::format("publish {}: {}", dataset_.accounts[user], error));
  }
}

void Driver::received(std::uint32_t pair, std::optional<Stamp> stamp, std::uint64_t now_ns) {
  ++notifications_;
  seen_[pair] = true;
  if (!stamp) {
    return;
  }
  if (dataset_.pairs[pair].denied) {
    denied_seen_[pair] = true;
    return;
  }
  if (stamp->serial <= last_serial_[pair]) {
    return;  // an older state again (a refresh's or a reconnect's first notification)
  }
  last_serial_[pair] = stamp->serial;
  if (stamp->serial < first_serial_) {
    return;
  }
  ++delivered_;
  last_delivery_ns_ = now_ns;
  if (!paused_[dataset_.pairs[pair].watcher] && now_ns >= stamp->sent_ns) {
    latency_.record(now_ns - stamp->sent_ns);
  }
}

void Driver::logged_in(std::uint32_t, bool ok, std::uint64_t subscriptions) {
  last_login_ns_ = monotonic_ns();
  if (ok) {
    ++logged_in_;
    subscriptions_ += subscriptions;
  } else {
    ++login_failures_;
  }
}

void Driver::failure(std::string_view what) {
  if (first_error_lines_++ < 20) {
    fmt::print(stderr, "{}\n", what);
  }
}

asio::awaitable<Driver::Json> Driver::login(double rate, std::uint64_t window) {
  logged_in_ = login_failures_ = subscriptions_ = 0;
  const std::uint64_t notifications_before = notifications_;
  const std::uint64_t start = monotonic_ns();
  const std::size_t accounts = dataset_.accounts.size();
  const std::size_t pairs = dataset_.pairs.size();
  // Arms without authorisation (NATS) leave denied pairs unsubscribed.
  const std::size_t allowed = static_cast<std::size_t>(
      std::count_if(dataset_.pairs.begin(), dataset_.pairs.end(), [](const Pair& p) { return !p.denied; }));
  asio::steady_timer timer(ioc_);
  for (std::uint32_t a = 0; a < accounts; ++a) {
    const auto due = start + static_cast<std::uint64_t>(static_cast<double>(a) / rate * 1e9);
    const std::uint64_t now = monotonic_ns();
    if (due > now) {
      timer.expires_after(std::chrono::nanoseconds(due - now));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    // The rate is a ceiling: a server that answers more slowly than that gets at most `window`
    // logins at once, so a storm it cannot take measures its pace rather than its time-outs.
    while (a >= logged_in_ + login_failures_ + std::max<std::uint64_t>(window, 1)) {
      co_await sleep(0.005);
    }
    protocol_->login(a);
  }
  // Every account answered, and a first notification for every subscription (or 5 s quiet).
  std::uint64_t seen = notifications_;
  std::uint64_t seen_at = monotonic_ns();
  const std::uint64_t deadline = monotonic_ns() + 120'000'000'000ull;
  while (monotonic_ns() < deadline) {
    if (notifications_ != seen) {
      seen = notifications_;
      seen_at = monotonic_ns();
    }
    const bool answered_all = logged_in_ + login_failures_ >= accounts;
    if (answered_all && notifications_ - notifications_before >= allowed) {
      break;
    }
    if (answered_all && monotonic_ns() - seen_at > 5'000'000'000ull) {
      break;
    }
    co_await sleep(0.01);
  }
  const std::uint64_t initial = notifications_ - notifications_before;
  const bool ok = login_failures_ == 0 && logged_in_ == accounts && subscriptions_ >= allowed &&
                  subscriptions_ <= pairs;
  Json out{{"ok", ok},
           {"accounts", logged_in_},
           {"subscriptions", subscriptions_},
           {"elapsed_s", seconds_between(start, std::max({seen_at, last_login_ns_, start}))},
           {"failures", login_failures_ + (accounts - logged_in_ - login_failures_)},
           {"initial_notifications", initial}};
  if (!ok) {
    out["error"] = fmt::format("{} of {} accounts logged in, {} subscriptions of {} pairs ({} not "
                               "denied)", logged_in_, accounts, subscriptions_, pairs, allowed);
  }
  co_return out;
}

asio::awaitable<Driver::Json> Driver::publish(const Json& request, const std::string& kind) {
  if (kind != "burst" && !request.contains("rate")) {
    co_return Json{{"ok", false}, {"error", kind + " needs a rate"}};
  }
  start_command();
  const double rate = number(request, "rate", 100);
  const double duration = number(request, "duration_s", 10);
  auto& rng = random_engine();
  std::uniform_int_distribution<std::uint32_t> any_user(0, dataset_.users - 1);
  Json out;
  if (kind == "burst") {
    const auto count = static_cast<std::size_t>(number(request, "count", 100));
    const double within = number(request, "within_s", 1);
    std::vector<std::uint32_t> users(dataset_.users);
    std::iota(users.begin(), users.end(), 0);
    std::shuffle(users.begin(), users.end(), rng);
    users.resize(std::min(count, users.size()));
    asio::steady_timer timer(ioc_);
    const std::uint64_t start = monotonic_ns();
    for (std::size_t k = 0; k < users.size(); ++k) {
      const auto due = start + static_cast<std::uint64_t>(within * 1e9 * static_cast<double>(k) /
                                                          static_cast<double>(users.size()));
      const std::uint64_t now = monotonic_ns();
      if (due > now) {
        timer.expires_after(std::chrono::nanoseconds(due - now));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      publish_one(users[k]);
    }
  } else if (kind == "hot") {
    co_await pace(rate, duration, [&] { publish_one(dataset_.hottest); });
  } else if (kind == "churn") {
    std::uint64_t refreshes = 0;
    std::uint64_t reconnects = 0;
    bool refresh_supported = true;
    bool reconnect_supported = true;
    const double refresh_rate = number(request, "refresh_per_s", 0);
    const double reconnect_rate =
        number(request, "reconnect_share_per_min", 0) * static_cast<double>(dataset_.accounts.size()) / 60;
    std::uniform_int_distribution<std::uint32_t> any_pair(0, dataset_.pairs.size() - 1);
    std::uniform_int_distribution<std::uint32_t> any_account(0, dataset_.accounts.size() - 1);
    int running = 3;
    auto spawn = [&](asio::awaitable<void> task) {
      asio::co_spawn(ioc_, std::move(task), [&running](std::exception_ptr) { --running; });
    };
    spawn(pace(rate, duration, [&] { publish_one(any_user(rng)); }));
    spawn(pace(refresh_rate, duration, [&] {
      refresh_supported = protocol_->refresh(any_pair(rng)) && refresh_supported;
      refreshes += refresh_supported ? 1 : 0;
    }));
    spawn(pace(reconnect_rate, duration, [&] {
      // Until a first notification arrives again, the gate cannot tell what these watchers see.
      const std::uint32_t account = any_account(rng);
      for (const std::uint32_t pair : dataset_.watching[account]) {
        seen_[pair] = false;
      }
      reconnect_supported = protocol_->reconnect(account) && reconnect_supported;
      reconnects += reconnect_supported ? 1 : 0;
    }));
    while (running > 0) {
      co_await sleep(0.01);
    }
    out["refreshes"] = refreshes;
    out["reconnects"] = reconnects;
    if (!refresh_supported || !reconnect_supported) {
      out["unsupported"] = !refresh_supported ? "refresh" : "reconnect";
    }
  } else if (kind == "slow") {
    const double share = number(request, "share", 0.01);
    std::vector<std::uint32_t> accounts(dataset_.accounts.size());
    std::iota(accounts.begin(), accounts.end(), 0);
    std::shuffle(accounts.begin(), accounts.end(), rng);
    accounts.resize(static_cast<std::size_t>(share * static_cast<double>(accounts.size())));
    bool supported = true;
    for (const std::uint32_t a : accounts) {
      paused_[a] = true;
      supported = protocol_->set_reading(a, false) && supported;
    }
    if (supported) {
      co_await pace(rate, duration, [&] { publish_one(any_user(rng)); });
    }
    for (const std::uint32_t a : accounts) {
      protocol_->set_reading(a, true);
    }
    if (!supported) {
      out = {{"ok", false}, {"error", "this protocol cannot stop reading one watcher"}};
      co_await settle(2, 30);
      std::fill(paused_.begin(), paused_.end(), false);
      co_return out;
    }
    out["slow_accounts"] = accounts.size();
  } else {
    co_await pace(rate, duration, [&] { publish_one(any_user(rng)); });
  }
  co_await settle(2, 120);
  std::fill(paused_.begin(), paused_.end(), false);
  if (kind == "burst") {
    out["drain_s"] = seconds_between(last_publish_ns_, last_delivery_ns_);
  }
  add_results(out);
  out["ok"] = errors_ == 0 && accepted_ == offered_;
  if (errors_ > 0 || accepted_ != offered_) {
    out["error"] = fmt::format("{} of {} publishes accepted, {} errors", accepted_, offered_,
                               errors_);
  }
  co_return out;
}

void Driver::add_results(Json& out) const {
  out["offered"] = offered_;
  out["accepted"] = accepted_;
  out["delivered"] = delivered_;
  out["expected"] = expected_;
  out["errors"] = errors_;
  out["latency_ms"] = Json{{"p50", latency_.quantile_ms(0.5)},
                           {"p99", latency_.quantile_ms(0.99)},
                           {"p999", latency_.quantile_ms(0.999)},
                           {"max", latency_.max_ms()}};
}

std::vector<std::uint32_t> Driver::users_to_republish(double sample_share, Json& out) const {
  const std::size_t users = dataset_.users;
  std::vector<bool> chosen(users, false);
  std::uint64_t in_doubt = 0;
  for (std::uint32_t u = 0; u < users; ++u) {
    if (in_doubt_[u] || unanswered_[u] > 0) {
      chosen[u] = true;
      ++in_doubt;
    }
  }
  // The sample proves the subscriptions still live at the end: a watcher whose state was
  // already right would pass with a dead subscription. Drawn at random, plus the hottest.
  std::vector<std::uint32_t> all(users);
  std::iota(all.begin(), all.end(), 0);
  const auto sample = std::clamp<std::size_t>(
      static_cast<std::size_t>(sample_share * static_cast<double>(users)), 1, users);
  std::vector<std::uint32_t> drawn;
  std::sample(all.begin(), all.end(), std::back_inserter(drawn), sample, random_engine());
  drawn.push_back(dataset_.hottest);
  for (const std::uint32_t u : drawn) {
    chosen[u] = true;
  }
  // A watcher that got nothing since it last logged in cannot be checked: a protocol without
  // a first notification (NATS) leaves it on nothing until the next publish, which tells.
  std::uint64_t unseen = 0;
  for (std::size_t p = 0; p < dataset_.pairs.size(); ++p) {
    const Pair& pair = dataset_.pairs[p];
    if (!pair.denied && !seen_[p] && !chosen[pair.presentity]) {
      chosen[pair.presentity] = true;
      ++unseen;
    }
  }
  std::vector<std::uint32_t> result;
  for (std::uint32_t u = 0; u < users; ++u) {
    if (chosen[u]) {
      result.push_back(u);
    }
  }
  out["republished"] = result.size();
  out["republished_in_doubt"] = in_doubt;
  out["republished_sample"] = sample;
  out["republished_unseen"] = unseen;
  return result;
}

asio::awaitable<Driver::Json> Driver::gate(double rate, double sample_share) {
  Json out;
  // Before anything is published again: how many watchers already sit on their presentity's
  // last state (for the record; the verdict below is on the state after the republish).
  const auto converged_now = [&](std::size_t p) {
    const Pair& pair = dataset_.pairs[p];
    const std::uint64_t last = last_sent_[pair.presentity];
    return last == 0 ? seen_[p] && last_serial_[p] == 0 : last_serial_[p] == last;
  };
  std::uint64_t converged_before = 0;
  for (std::size_t p = 0; p < dataset_.pairs.size(); ++p) {
    converged_before += !dataset_.pairs[p].denied && converged_now(p) ? 1 : 0;
  }
  const std::vector<std::uint32_t> republish = users_to_republish(sample_share, out);
  start_command();
  // `rate` counts publishes of a user with the mean number of watchers: one of the hottest,
  // with twenty times as many, waits twenty times as long, so the gate stays within what the
  // arm delivers instead of leaving a backlog that times out.
  const double mean_watchers =
      std::max(1.0, static_cast<double>(std::accumulate(dataset_.allowed.begin(),
                                                        dataset_.allowed.end(), std::uint64_t{0})) /
                        static_cast<double>(dataset_.users));
  double weight_sent = 0;
  asio::steady_timer timer(ioc_);
  const std::uint64_t start = monotonic_ns();
  for (std::size_t k = 0; k < republish.size(); ++k) {
    const auto due = start + static_cast<std::uint64_t>(weight_sent / rate * 1e9);
    weight_sent += static_cast<double>(dataset_.allowed[republish[k]]) / mean_watchers;
    const std::uint64_t now = monotonic_ns();
    if (due > now) {
      timer.expires_after(std::chrono::nanoseconds(due - now));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    in_doubt_[republish[k]] = false;
    publish_one(republish[k]);
  }
  co_await settle(3, 600);
  std::uint64_t allowed = 0;
  std::uint64_t converged = 0;
  std::uint64_t violations = 0;
  for (std::size_t p = 0; p < dataset_.pairs.size(); ++p) {
    if (dataset_.pairs[p].denied) {
      violations += denied_seen_[p] ? 1 : 0;
      continue;
    }
    ++allowed;
    converged += converged_now(p) ? 1 : 0;
  }
  const bool ok = converged == allowed && violations == 0 && errors_ == 0;
  out.insert({{"ok", ok},
              {"pairs", dataset_.pairs.size()},
              {"allowed_pairs", allowed},
              {"converged", converged},
              {"converged_before_republish", converged_before},
              {"denied_violations", violations},
              {"expected_deliveries", expected_},
              {"deliveries", delivered_}});
  add_results(out);
  if (!ok) {
    out["error"] = fmt::format("{} of {} pairs converged, {} denied pairs saw a state, {} errors",
                               converged, allowed, violations, errors_);
  }
  co_return out;
}

int generator_main(int argc, char** argv,
                   const std::function<std::unique_ptr<Protocol>(
                       asio::io_context&, Driver&, const json::object&)>& make) {
  std::string dataset_path;
  std::string endpoint_text;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--dataset") {
      dataset_path = argv[i + 1];
    } else if (flag == "--endpoint") {
      endpoint_text = argv[i + 1];
    } else if (flag == "--threads") {
      if (std::string_view(argv[i + 1]) != "1") {
        fmt::print(stderr, "--threads: the generator is one thread on its pinned core\n");
        return 2;
      }
    } else {
      fmt::print(stderr, "unknown option {}\n", flag);
      return 2;
    }
  }
  if (dataset_path.empty() || endpoint_text.empty()) {
    fmt::print(stderr, "usage: {} --dataset FILE --endpoint JSON [--threads 1]\n", argv[0]);
    return 2;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  const auto dataset = load_dataset(dataset_path);
  boost::system::error_code ec;
  const json::value endpoint = json::parse(endpoint_text, ec);
  if (!dataset || ec || !endpoint.is_object()) {
    fmt::print(stderr, "--endpoint: not a JSON object\n");
    return 2;
  }
  asio::io_context ioc{1};
  Driver driver(ioc, *dataset);
  auto protocol = make(ioc, driver, endpoint.as_object());
  if (!protocol) {
    return 2;
  }
  driver.set_protocol(*protocol);
  asio::co_spawn(ioc, driver.run(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& error) {
        fmt::print(stderr, "generator: {}\n", error.what());
      }
    }
  });
  ioc.run();
  return 0;
}

}  // namespace presenced::load::compare
