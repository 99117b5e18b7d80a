#include "load_report.h"

#include "http_client.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace presenced::load {

// ---- Histogram ----

void Histogram::record(std::uint64_t ns) {
  constexpr std::uint64_t kSub = 1u << kSubBits;
  std::size_t index;
  if (ns < kSub) {
    index = ns;
  } else {
    const int e = std::bit_width(ns) - 1;
    index = static_cast<std::size_t>(e - kSubBits) * kSub + (ns >> (e - kSubBits));
  }
  ++buckets_[std::min(index, kBuckets - 1)];
  ++count_;
  max_ = std::max(max_, ns);
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) {
    buckets_[i] += other.buckets_[i];
  }
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

double Histogram::quantile_ms(double q) const {
  if (count_ == 0) {
    return 0;
  }
  constexpr std::uint64_t kSub = 1u << kSubBits;
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen < rank) {
      continue;
    }
    if (i < kSub) {
      return static_cast<double>(i) / 1e6;
    }
    const int shift = static_cast<int>(i / kSub) - 1;
    const std::uint64_t low = (i % kSub + kSub) << shift;
    const double mid =
        static_cast<double>(low) + static_cast<double>(std::uint64_t{1} << shift) / 2;
    return std::min(mid, static_cast<double>(max_)) / 1e6;
  }
  return max_ms();
}

// ---- /proc ----

std::optional<long> read_rss(int pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) {
      return std::stol(line.substr(6)) * 1024;
    }
  }
  return std::nullopt;
}

std::optional<double> read_cpu_seconds(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat;
  std::getline(in, stat);
  // The command name may hold spaces; fields count from after its closing parenthesis.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::stoull(field);
    } else if (i == 15) {
      stime = std::stoull(field);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double read_own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double read_host_busy_seconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;  // the first line sums every core
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;  // steal: the hypervisor ran someone else, not us
  in >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + system + irq + softirq) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

CpuWindow measure_cpu_window(std::uint64_t start_ns, std::uint64_t end_ns, int server_pid) {
  sleep_until_ns(start_ns);
  const double self_before = read_own_cpu_seconds();
  const double host_before = read_host_busy_seconds();
  const auto server_before = server_pid > 0 ? read_cpu_seconds(server_pid) : std::nullopt;
  sleep_until_ns(end_ns);
  CpuWindow out;
  out.generator_s = read_own_cpu_seconds() - self_before;
  out.host_s = read_host_busy_seconds() - host_before;
  if (server_before) {
    if (auto server_after = read_cpu_seconds(server_pid)) {
      out.server_s = *server_after - *server_before;
    }
  }
  return out;
}

// ---- Printing ----

namespace {

double per_second(std::uint64_t n, double seconds) {
  return seconds > 0 ? static_cast<double>(n) / seconds : 0;
}

std::optional<double> per_unit(const std::optional<long>& from, const std::optional<long>& to,
                               std::uint64_t units) {
  if (!from || !to || units == 0) {
    return std::nullopt;
  }
  return static_cast<double>(*to - *from) / static_cast<double>(units);
}

std::string mb(const std::optional<long>& bytes) {
  return bytes ? fmt::format("{:.1f} MB", static_cast<double>(*bytes) / 1e6) : "-";
}

std::string bytes_each(const std::optional<double>& bytes) {
  return bytes ? fmt::format("{:.0f} B", *bytes) : "-";
}

std::string latencies(const Histogram& h) {
  return fmt::format("p50 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  (n={})", h.quantile_ms(0.5),
                     h.quantile_ms(0.99), h.quantile_ms(0.999), h.max_ms(), h.count());
}

}  // namespace

void print_text(const Summary& s) {
  const double changes = per_second(s.changes_accepted, s.duration_s);
  const double notifications = per_second(s.notifications, s.duration_s);
  std::string rate = s.rate ? fmt::format("{:.0f}/s", *s.rate) : std::string("max");
  fmt::print(
      "presence-load: {} users, {} watchers x {} users, {} HTTP connections, rate {}, "
      "{} threads, {:.0f} s measured after {:.0f} s warm-up\n",
      s.users, s.watchers, s.watch, s.connections, rate, s.threads, s.duration_s, s.warmup_s);
  fmt::print(
      "  set-up             {} connected in {:.1f} s, {} subscriptions answered in {:.1f} s\n",
      s.connected, s.connect_s, s.subscriptions, s.subscribe_s);
  fmt::print("  changes/s          {:.0f} accepted, {:.0f} sent\n", changes,
             per_second(s.changes_sent, s.duration_s));
  fmt::print("  notifications/s    {:.0f} ({:.2f} per accepted change)\n", notifications,
             s.changes_accepted > 0
                 ? static_cast<double>(s.notifications) / static_cast<double>(s.changes_accepted)
                 : 0.0);
  fmt::print("  publish->notify ms {}\n", latencies(s.latency));
  fmt::print("  HTTP ack ms        {}\n", latencies(s.ack));
  fmt::print("  errors             http {}, websocket {}, disconnects {}, connect failures {}\n",
             s.http_errors, s.ws_errors, s.disconnects, s.connect_failures);
  fmt::print("  generator CPU      {:.0f} % of one core\n", 100 * s.generator_cpu_s / s.duration_s);
  if (s.server_cpu_s) {
    fmt::print("  server CPU         {:.0f} % of one core, {:.0f} notifications per CPU-second\n",
               100 * *s.server_cpu_s / s.duration_s,
               *s.server_cpu_s > 0 ? static_cast<double>(s.notifications) / *s.server_cpu_s : 0);
  }
  fmt::print("  host CPU           {:.0f} % of one core, all processes\n",
             100 * s.host_cpu_s / s.duration_s);
  if (s.rss_before) {
    fmt::print(
        "  server RSS         {} before, {} connected ({} per idle connection), {} "
        "subscribed ({} per subscription)\n",
        mb(s.rss_before), mb(s.rss_connected),
        bytes_each(per_unit(s.rss_before, s.rss_connected, s.connected)), mb(s.rss_subscribed),
        bytes_each(per_unit(s.rss_connected, s.rss_subscribed, s.subscriptions)));
  }
}

namespace {

boost::json::value optional_json(const auto& v) {
  return v ? boost::json::value(*v) : boost::json::value(nullptr);
}

boost::json::object histogram_json(const Histogram& h) {
  return {{"p50_ms", h.quantile_ms(0.5)},
          {"p99_ms", h.quantile_ms(0.99)},
          {"p999_ms", h.quantile_ms(0.999)},
          {"max_ms", h.max_ms()},
          {"count", h.count()}};
}

}  // namespace

void print_json(const Summary& s) {
  namespace json = boost::json;
  json::object out{
      {"users", s.users},
      {"watchers", s.watchers},
      {"watch", s.watch},
      {"connections", s.connections},
      {"threads", s.threads},
      {"rate", optional_json(s.rate)},
      {"warmup_s", s.warmup_s},
      {"duration_s", s.duration_s},
      {"connected", s.connected},
      {"subscriptions", s.subscriptions},
      {"connect_s", s.connect_s},
      {"subscribe_s", s.subscribe_s},
      {"changes_sent_per_s", per_second(s.changes_sent, s.duration_s)},
      {"changes_accepted_per_s", per_second(s.changes_accepted, s.duration_s)},
      {"notifications_per_s", per_second(s.notifications, s.duration_s)},
      {"latency", histogram_json(s.latency)},
      {"ack", histogram_json(s.ack)},
      {"errors", json::object{{"http", s.http_errors},
                              {"websocket", s.ws_errors},
                              {"disconnects", s.disconnects},
                              {"connect_failures", s.connect_failures}}},
      {"generator_cpu_fraction", s.generator_cpu_s / s.duration_s},
      {"server_cpu_fraction",
       s.server_cpu_s ? json::value(*s.server_cpu_s / s.duration_s) : json::value(nullptr)},
      {"host_cpu_fraction", s.host_cpu_s / s.duration_s},
      {"server_rss_bytes", json::object{{"before", optional_json(s.rss_before)},
                                        {"connected", optional_json(s.rss_connected)},
                                        {"subscribed", optional_json(s.rss_subscribed)}}},
      {"bytes_per_idle_connection",
       optional_json(per_unit(s.rss_before, s.rss_connected, s.connected))},
      {"bytes_per_subscription",
       optional_json(per_unit(s.rss_connected, s.rss_subscribed, s.subscriptions))},
  };
  std::puts(json::serialize(out).c_str());
}

void print_text(const DecideSummary& s) {
  std::string rate = s.rate ? fmt::format("{:.0f}/s", *s.rate) : std::string("max");
  fmt::print(
      "presence-load --mode decide: {} callees, {} HTTP connections, rate {}, {} threads, "
      "{:.0f} s measured after {:.0f} s warm-up\n",
      s.callees, s.connections, rate, s.threads, s.duration_s, s.warmup_s);
  fmt::print("  decisions/s        {:.0f} answered, {:.0f} sent ({} ring, {} voicemail)\n",
             per_second(s.answered, s.duration_s), per_second(s.sent, s.duration_s), s.rings,
             s.voicemails);
  fmt::print("  decide ms          {}\n", latencies(s.latency));
  fmt::print("  errors             http {}, wrong decisions {}\n", s.http_errors,
             s.wrong_decisions);
  fmt::print("  generator CPU      {:.0f} % of one core\n", 100 * s.generator_cpu_s / s.duration_s);
  if (s.server_cpu_s) {
    fmt::print("  server CPU         {:.0f} % of one core, {:.0f} decisions per CPU-second\n",
               100 * *s.server_cpu_s / s.duration_s,
               *s.server_cpu_s > 0 ? static_cast<double>(s.answered) / *s.server_cpu_s : 0);
  }
  fmt::print("  host CPU           {:.0f} % of one core, all processes\n",
             100 * s.host_cpu_s / s.duration_s);
}

void print_json(const DecideSummary& s) {
  namespace json = boost::json;
  json::object out{
      {"mode", "decide"},
      {"callees", s.callees},
      {"connections", s.connections},
      {"threads", s.threads},
      {"rate", optional_json(s.rate)},
      {"warmup_s", s.warmup_s},
      {"duration_s", s.duration_s},
      {"decisions_sent_per_s", per_second(s.sent, s.duration_s)},
      {"decisions_per_s", per_second(s.answered, s.duration_s)},
      {"actions", json::object{{"ring", s.rings}, {"voicemail", s.voicemails}}},
      {"latency", histogram_json(s.latency)},
      {"errors", json::object{{"http", s.http_errors}, {"wrong_decisions", s.wrong_decisions}}},
      {"generator_cpu_fraction", s.generator_cpu_s / s.duration_s},
      {"server_cpu_fraction",
       s.server_cpu_s ? json::value(*s.server_cpu_s / s.duration_s) : json::value(nullptr)},
      {"host_cpu_fraction", s.host_cpu_s / s.duration_s},
  };
  std::puts(json::serialize(out).c_str());
}

}  // namespace presenced::load
