#include "compare_driver.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace presenced::load::compare {
namespace {

namespace json = boost::json;

constexpr std::uint64_t kQuietNs = 2'000'000'000;        // no delivery for 2 s: the phase is over
constexpr std::uint64_t kPhaseDeadlineNs = 120'000'000'000;  // after the last publish
constexpr double kGateRate = 2000;                       // final publishes per second

double number(const json::object& command, std::string_view key, double fallback) {
  const auto* value = command.if_contains(key);
  if (value == nullptr) {
    return fallback;
  }
  if (value->is_int64()) {
    return static_cast<double>(value->as_int64());
  }
  if (value->is_double()) {
    return value->as_double();
  }
  throw std::runtime_error(fmt::format("{}: not a number", key));
}

double positive(const json::object& command, std::string_view key) {
  const double value = number(command, key, 0);
  if (!(value > 0)) {
    throw std::runtime_error(fmt::format("{}: must be given and positive", key));
  }
  return value;
}

json::object latency_json(const Histogram& h) {
  return {{"p50", h.quantile_ms(0.50)},
          {"p99", h.quantile_ms(0.99)},
          {"p999", h.quantile_ms(0.999)},
          {"max", h.max_ms()}};
}

// One command's run: publishes made, deliveries the data set asks for, and where it stood
// before, so the answer reports only this phase.
class Phase {
 public:
  Phase(const Dataset& dataset, Receipts& receipts, Transport& transport,
        std::vector<std::uint64_t>& seq, std::vector<char> excluded)
      : dataset_(dataset), receipts_(receipts), transport_(transport), seq_(seq) {
    receipts_.open_window(monotonic_ns(), std::move(excluded));
    accepted_before_ = transport_.accepted();
    errors_before_ = transport_.errors();
  }

  void publish(AccountId user) {
    const auto next = ++seq_[user];
    transport_.publish(user, dataset_.states[next % dataset_.states.size()], next);
    ++offered_;
    for (AccountId watcher : dataset_.watchers[user]) {
      expected_ += receipts_.excluded(watcher) ? 0 : 1;
    }
    last_publish_ns_ = monotonic_ns();
  }

  // Waits until every expected delivery and acknowledgement arrived, or none for a while.
  void wait_quiet() {
    const std::uint64_t deadline = last_publish_ns_ + kPhaseDeadlineNs;
    while (receipts_.delivered() < expected_ ||
           transport_.accepted() - accepted_before_ < offered_) {
      const std::uint64_t now = monotonic_ns();
      const std::uint64_t last = std::max(receipts_.last_receipt_ns(), last_publish_ns_);
      if (now > deadline || now - last > kQuietNs) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  json::object answer(std::string_view cmd) const {
    json::object out{{"cmd", cmd},
                     {"ok", true},
                     {"offered", offered_},
                     {"accepted", transport_.accepted() - accepted_before_},
                     {"delivered", receipts_.delivered()},
                     {"expected", expected_},
                     {"latency_ms", latency_json(receipts_.latency())},
                     {"errors", transport_.errors() - errors_before_}};
    return out;
  }

  double drain_s() const {
    const std::uint64_t last = receipts_.last_receipt_ns();
    return last > last_publish_ns_ ? static_cast<double>(last - last_publish_ns_) / 1e9 : 0.0;
  }

  std::uint64_t expected() const { return expected_; }

 private:
  const Dataset& dataset_;
  Receipts& receipts_;
  Transport& transport_;
  std::vector<std::uint64_t>& seq_;
  std::uint64_t offered_ = 0;
  std::uint64_t expected_ = 0;
  std::uint64_t accepted_before_ = 0;
  std::uint64_t errors_before_ = 0;
  std::uint64_t last_publish_ns_ = 0;
};

// Merged Poisson streams: each source fires at its own rate for `duration_s`.
class Schedule {
 public:
  Schedule(std::mt19937_64& rng, double duration_s) : rng_(rng), end_ns_(monotonic_ns() + static_cast<std::uint64_t>(duration_s * 1e9)) {}

  std::size_t add(double rate) {
    sources_.push_back({rate, monotonic_ns()});
    advance(sources_.size() - 1);
    return sources_.size() - 1;
  }

  // Sleeps until the next event and returns its source, or nullopt when the time is up.
  std::optional<std::size_t> next() {
    if (sources_.empty()) {
      return std::nullopt;
    }
    auto it = std::min_element(sources_.begin(), sources_.end(),
                               [](const Source& a, const Source& b) { return a.due < b.due; });
    if (it->due >= end_ns_) {
      sleep_until_ns(end_ns_);
      return std::nullopt;
    }
    sleep_until_ns(it->due);
    const auto index = static_cast<std::size_t>(it - sources_.begin());
    advance(index);
    return index;
  }

 private:
  struct Source {
    double rate;
    std::uint64_t due;
  };
  void advance(std::size_t index) {
    auto& source = sources_[index];
    if (source.rate <= 0) {
      source.due = ~std::uint64_t{0};
      return;
    }
    std::exponential_distribution<double> gap(source.rate);
    source.due += static_cast<std::uint64_t>(gap(rng_) * 1e9);
  }
  std::mt19937_64& rng_;
  std::uint64_t end_ns_;
  std::vector<Source> sources_;
};

class Commands {
 public:
  Commands(const Dataset& dataset, Receipts& receipts, Transport& transport)
      : dataset_(dataset), receipts_(receipts), transport_(transport),
        seq_(dataset.accounts.size(), 0) {}

  json::object run(std::string_view cmd, const json::object& command) {
    if (cmd == "login") {
      return login(positive(command, "rate"));
    }
    if (cmd == "publish") {
      return publish(cmd, positive(command, "rate"), positive(command, "duration_s"), {});
    }
    if (cmd == "hot") {
      return hot(positive(command, "rate"), positive(command, "duration_s"));
    }
    if (cmd == "burst") {
      return burst(static_cast<std::size_t>(positive(command, "count")),
                   positive(command, "within_s"));
    }
    if (cmd == "churn") {
      return churn(positive(command, "rate"), positive(command, "duration_s"),
                   number(command, "refresh_per_s", 0),
                   number(command, "reconnect_share_per_min", 0));
    }
    if (cmd == "slow") {
      return slow(positive(command, "rate"), positive(command, "duration_s"),
                  positive(command, "share"));
    }
    if (cmd == "gate") {
      return gate();
    }
    throw std::runtime_error(fmt::format("cmd: unknown command \"{}\"", cmd));
  }

 private:
  json::object login(double rate) {
    receipts_.open_window(monotonic_ns(), {});
    const std::uint64_t start = monotonic_ns();
    const std::uint64_t initial_before = receipts_.initial();
    const auto result = transport_.login(rate);
    const std::uint64_t logged_in = monotonic_ns();
    // Presence servers answer a login with the contacts' states; wait until those stop coming.
    std::size_t allowed = 0;
    for (const auto& w : dataset_.watchers) {
      allowed += w.size();
    }
    std::uint64_t seen = receipts_.initial() - initial_before;
    std::uint64_t last_change = monotonic_ns();
    while (seen < allowed && monotonic_ns() - last_change < kQuietNs) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::uint64_t now_seen = receipts_.initial() - initial_before;
      if (now_seen != seen) {
        seen = now_seen;
        last_change = monotonic_ns();
      }
    }
    const std::uint64_t done = seen > 0 ? std::max(logged_in, last_change) : logged_in;
    return {{"cmd", "login"},
            {"ok", result.failures == 0},
            {"accounts", result.accounts},
            {"subscriptions", result.subscriptions},
            {"elapsed_s", static_cast<double>(done - start) / 1e9},
            {"failures", result.failures},
            {"initial_notifications", seen}};
  }

  AccountId random_user() {
    return static_cast<AccountId>(
        std::uniform_int_distribution<std::size_t>(0, dataset_.users - 1)(rng_));
  }

  json::object publish(std::string_view cmd, double rate, double duration_s,
                       std::vector<char> excluded) {
    Phase phase(dataset_, receipts_, transport_, seq_, std::move(excluded));
    Schedule schedule(rng_, duration_s);
    schedule.add(rate);
    while (schedule.next()) {
      phase.publish(random_user());
    }
    phase.wait_quiet();
    return phase.answer(cmd);
  }

  json::object hot(double rate, double duration_s) {
    Phase phase(dataset_, receipts_, transport_, seq_, {});
    Schedule schedule(rng_, duration_s);
    schedule.add(rate);
    while (schedule.next()) {
      phase.publish(dataset_.hottest);
    }
    phase.wait_quiet();
    return phase.answer("hot");
  }

  json::object burst(std::size_t count, double within_s) {
    count = std::min(count, dataset_.users);
    std::vector<AccountId> users(dataset_.users);
    for (std::size_t i = 0; i < users.size(); ++i) {
      users[i] = static_cast<AccountId>(i);
    }
    std::shuffle(users.begin(), users.end(), rng_);
    Phase phase(dataset_, receipts_, transport_, seq_, {});
    const std::uint64_t start = monotonic_ns();
    const double gap_ns = within_s * 1e9 / static_cast<double>(count);
    for (std::size_t i = 0; i < count; ++i) {
      sleep_until_ns(start + static_cast<std::uint64_t>(gap_ns * static_cast<double>(i)));
      phase.publish(users[i]);
    }
    phase.wait_quiet();
    auto out = phase.answer("burst");
    out["drain_s"] = phase.drain_s();
    return out;
  }

  json::object churn(double rate, double duration_s, double refresh_per_s,
                     double reconnect_share_per_min) {
    Phase phase(dataset_, receipts_, transport_, seq_, {});
    Schedule schedule(rng_, duration_s);
    const auto publishes = schedule.add(rate);
    const auto refreshes = schedule.add(refresh_per_s);
    schedule.add(reconnect_share_per_min * static_cast<double>(dataset_.accounts.size()) / 60.0);
    std::uint64_t refreshed = 0;
    std::uint64_t reconnects = 0;
    while (auto source = schedule.next()) {
      if (*source == publishes) {
        phase.publish(random_user());
      } else if (*source == refreshes) {
        refreshed += transport_.refresh(random_user());
      } else {
        transport_.reconnect(random_user());
        ++reconnects;
      }
    }
    phase.wait_quiet();
    auto out = phase.answer("churn");
    out["refreshes"] = refreshed;
    out["reconnects"] = reconnects;
    if (const auto note = transport_.refresh_note(); !note.empty()) {
      out["refresh_note"] = note;
    }
    return out;
  }

  json::object slow(double rate, double duration_s, double share) {
    std::vector<char> stopped(dataset_.accounts.size(), 0);
    std::bernoulli_distribution pick(std::min(share, 1.0));
    for (AccountId account = 0; account < stopped.size(); ++account) {
      if (!dataset_.watches[account].empty() && pick(rng_)) {
        stopped[account] = 1;
        transport_.set_reading(account, false);
      }
    }
    const auto stopped_copy = stopped;
    auto out = publish("slow", rate, duration_s, std::move(stopped));
    for (AccountId account = 0; account < stopped_copy.size(); ++account) {
      if (stopped_copy[account] != 0) {
        transport_.set_reading(account, true);
      }
    }
    // Let the stopped watchers catch up before the next command measures anything.
    std::uint64_t last = receipts_.last_any_receipt_ns();
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    } while (receipts_.last_any_receipt_ns() != std::exchange(last, receipts_.last_any_receipt_ns()));
    return out;
  }

  json::object gate() {
    Phase phase(dataset_, receipts_, transport_, seq_, {});
    const std::uint64_t start = monotonic_ns();
    for (AccountId user = 0; user < dataset_.users; ++user) {
      sleep_until_ns(start + static_cast<std::uint64_t>(static_cast<double>(user) * 1e9 / kGateRate));
      phase.publish(user);
    }
    phase.wait_quiet();
    std::uint64_t checked = 0;
    std::uint64_t converged = 0;
    for (AccountId watcher = 0; watcher < dataset_.accounts.size(); ++watcher) {
      const auto& watched = dataset_.watches[watcher];
      for (std::size_t i = 0; i < watched.size(); ++i) {
        const std::size_t pair = dataset_.pair_offset[watcher] + i;
        if (dataset_.pair_denied[pair] != 0) {
          continue;
        }
        ++checked;
        converged += receipts_.last_seq(pair) == seq_[watched[i]] ? 1 : 0;
      }
    }
    return {{"cmd", "gate"},
            {"ok", true},
            {"passed", converged == checked && receipts_.violations() == 0},
            {"pairs", checked},
            {"converged", converged},
            {"denied_violations", receipts_.violations()},
            {"expected_deliveries", phase.expected()},
            {"deliveries", receipts_.delivered()}};
  }

  const Dataset& dataset_;
  Receipts& receipts_;
  Transport& transport_;
  std::vector<std::uint64_t> seq_;  // per user, the last sequence number published
  std::mt19937_64 rng_{20261201};
};

}  // namespace

std::optional<std::size_t> Dataset::pair(AccountId watcher, AccountId presentity) const {
  const auto& watched = watches[watcher];
  const auto it = std::lower_bound(watched.begin(), watched.end(), presentity);
  if (it == watched.end() || *it != presentity) {
    return std::nullopt;
  }
  return pair_offset[watcher] + static_cast<std::size_t>(it - watched.begin());
}

Dataset read_dataset(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error(fmt::format("--dataset {}: cannot be read", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  const json::object doc = json::parse(text.str()).as_object();
  Dataset d;
  for (const auto& name : doc.at("users").as_array()) {
    d.accounts.emplace_back(name.as_string());
  }
  d.users = d.accounts.size();
  for (const auto& name : doc.at("consoles").as_array()) {
    d.accounts.emplace_back(name.as_string());
  }
  for (AccountId i = 0; i < d.accounts.size(); ++i) {
    d.index.emplace(d.accounts[i], i);
  }
  auto id = [&d](const json::value& name) {
    const auto it = d.index.find(std::string(name.as_string()));
    if (it == d.index.end()) {
      throw std::runtime_error(fmt::format("dataset: unknown account {}", json::serialize(name)));
    }
    return it->second;
  };
  d.password = std::string(doc.at("password").as_string());
  for (const auto& state : doc.at("states").as_array()) {
    d.states.emplace_back(state.as_string());
  }
  d.hottest = id(doc.at("hottest"));
  d.watches.resize(d.accounts.size());
  for (const auto& [name, watched] : doc.at("watches").as_object()) {
    auto& list = d.watches[id(json::value(name))];
    for (const auto& presentity : watched.as_array()) {
      list.push_back(id(presentity));
    }
    std::sort(list.begin(), list.end());
  }
  d.pair_offset.resize(d.accounts.size());
  for (AccountId i = 0; i < d.accounts.size(); ++i) {
    d.pair_offset[i] = d.pairs;
    d.pairs += d.watches[i].size();
  }
  d.pair_denied.assign(d.pairs, 0);
  for (const auto& entry : doc.at("denied").as_array()) {
    const auto& pair = entry.as_array();
    if (const auto slot = d.pair(id(pair.at(0)), id(pair.at(1)))) {
      d.pair_denied[*slot] = 1;
    }
  }
  d.watchers.resize(d.accounts.size());
  for (AccountId watcher = 0; watcher < d.accounts.size(); ++watcher) {
    for (std::size_t i = 0; i < d.watches[watcher].size(); ++i) {
      if (d.pair_denied[d.pair_offset[watcher] + i] == 0) {
        d.watchers[d.watches[watcher][i]].push_back(watcher);
      }
    }
  }
  return d;
}

std::string format_stamp(std::string_view state, std::uint64_t seq, std::uint64_t ns) {
  return fmt::format("{} {} {}", state, seq, ns);
}

std::optional<Stamp> parse_stamp(std::string_view text) {
  const auto first = text.find(' ');
  const auto second = first == std::string_view::npos ? first : text.find(' ', first + 1);
  if (second == std::string_view::npos) {
    return std::nullopt;
  }
  Stamp stamp;
  stamp.state = text.substr(0, first);
  const char* seq_end = text.data() + second;
  if (std::from_chars(text.data() + first + 1, seq_end, stamp.seq).ptr != seq_end) {
    return std::nullopt;
  }
  const char* end = text.data() + text.size();
  if (std::from_chars(seq_end + 1, end, stamp.ns).ptr != end) {
    return std::nullopt;
  }
  return stamp;
}

Receipts::Receipts(const Dataset& dataset, std::size_t threads)
    : dataset_(dataset), last_seq_plus_one_(dataset.pairs) {
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.push_back(std::make_unique<PerThread>());
  }
}

void Receipts::received(std::size_t thread, AccountId watcher, AccountId presentity,
                        std::string_view status) {
  const auto stamp = parse_stamp(status);
  if (!stamp) {
    return;
  }
  const std::uint64_t now = monotonic_ns();
  last_any_receipt_ns_.store(now, std::memory_order_relaxed);
  const auto pair = dataset_.pair(watcher, presentity);
  if (!pair) {
    return;  // not a relation of the data set (a client's own presence, say)
  }
  if (dataset_.pair_denied[*pair] != 0) {
    violations_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto& slot = last_seq_plus_one_[*pair];
  if (stamp->seq + 1 <= slot.load(std::memory_order_relaxed)) {
    return;  // a state this watcher already had, replayed (probe answers, reconnects)
  }
  slot.store(stamp->seq + 1, std::memory_order_relaxed);
  if (stamp->ns == 0) {
    initial_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (excluded(watcher) || stamp->ns < window_start_ns_.load(std::memory_order_relaxed)) {
    return;
  }
  delivered_.fetch_add(1, std::memory_order_relaxed);
  last_receipt_ns_.store(now, std::memory_order_relaxed);
  auto& mine = *threads_[thread];
  std::lock_guard lock(mine.mutex);
  mine.latency.record(now > stamp->ns ? now - stamp->ns : 0);
}

void Receipts::open_window(std::uint64_t start_ns, std::vector<char> excluded_watchers) {
  excluded_ = std::move(excluded_watchers);
  delivered_.store(0);
  last_receipt_ns_.store(0);
  for (auto& t : threads_) {
    std::lock_guard lock(t->mutex);
    t->latency = Histogram{};
  }
  window_start_ns_.store(start_ns);
}

Histogram Receipts::latency() const {
  Histogram all;
  for (const auto& t : threads_) {
    std::lock_guard lock(t->mutex);
    all.merge(t->latency);
  }
  return all;
}

std::optional<std::uint64_t> Receipts::last_seq(std::size_t pair) const {
  const auto value = last_seq_plus_one_[pair].load(std::memory_order_relaxed);
  if (value == 0) {
    return std::nullopt;
  }
  return value - 1;
}

int run_commands(const Dataset& dataset, Receipts& receipts, Transport& transport,
                 std::istream& in, std::ostream& out) {
  Commands commands(dataset, receipts, transport);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    json::object answer;
    std::string cmd = "?";
    try {
      const json::object command = json::parse(line).as_object();
      cmd = std::string(command.at("cmd").as_string());
      if (cmd == "quit") {
        transport.close();
        answer = {{"cmd", "quit"}, {"ok", true}};
      } else {
        answer = commands.run(cmd, command);
      }
    } catch (const std::exception& e) {
      answer = {{"cmd", cmd}, {"ok", false}, {"error", e.what()}};
    }
    answer["generator_cpu_s"] = read_own_cpu_seconds();
    out << json::serialize(answer) << std::endl;
    if (cmd == "quit") {
      return 0;
    }
  }
  transport.close();
  return 0;
}

std::size_t usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return 1;
  }
  return std::max(1, CPU_COUNT(&set));
}

int generator_main(int argc, char** argv, std::string_view description, const MakeTransport& make) {
  CLI::App app{std::string(description)};
  std::string dataset_path;
  std::string endpoint;
  std::size_t threads = usable_cores();
  app.add_option("--dataset", dataset_path, "the data set (bench/compare/dataset.py)")->required();
  app.add_option("--endpoint", endpoint, "the arm's endpoint() as JSON")->required();
  app.add_option("--threads", threads, "I/O threads (default: one per usable core)")
      ->check(CLI::Range(1, 64));
  CLI11_PARSE(app, argc, argv);
  // One descriptor per account: take the hard limit, the soft one is often 1024.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  try {
    const Dataset dataset = read_dataset(dataset_path);
    Receipts receipts(dataset, threads);
    auto transport = make(dataset, receipts, endpoint, threads);
    return run_commands(dataset, receipts, *transport, std::cin, std::cout);
  } catch (const std::exception& e) {
    std::cerr << e.what() << std::endl;
    return 2;
  }
}

}  // namespace presenced::load::compare
