#pragma once

// What a presence-load run measured, and how it is printed. No I/O but /proc reads.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace presenced::load {

// Log-linear latency histogram: 64 buckets per power of two (within 1.6 %), ns up to ~18 min.
// Thread-safety: none; each client thread fills its own and they are merged at the end.
class Histogram {
 public:
  void record(std::uint64_t ns);
  void merge(const Histogram& other);
  std::uint64_t count() const { return count_; }
  // The value at quantile q (0..1), in ms; 0 when empty.
  double quantile_ms(double q) const;
  double max_ms() const { return static_cast<double>(max_) / 1e6; }

 private:
  static constexpr int kSubBits = 6;
  static constexpr std::size_t kBuckets = (41 - kSubBits) * (1u << kSubBits) + (1u << kSubBits);
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

struct Summary {
  // What was asked.
  std::size_t users = 0;
  std::size_t watchers = 0;
  std::size_t watch = 0;
  std::size_t connections = 0;
  std::size_t threads = 0;
  std::optional<double> rate;
  double warmup_s = 0;
  double duration_s = 0;
  // Set-up.
  std::uint64_t connected = 0;
  std::uint64_t subscriptions = 0;
  double connect_s = 0;    // all watchers connected
  double subscribe_s = 0;  // every initial event received
  // In the measured window (changes by send time, notifications by receive time).
  std::uint64_t changes_sent = 0;
  std::uint64_t changes_accepted = 0;
  std::uint64_t notifications = 0;
  Histogram latency;  // publish (HTTP request sent) -> notification received
  Histogram ack;      // HTTP request sent -> 200 received
  // Whole run.
  std::uint64_t http_errors = 0;
  std::uint64_t ws_errors = 0;    // {"type":"error"} events
  std::uint64_t disconnects = 0;  // WebSockets lost before the end
  std::uint64_t connect_failures = 0;
  double generator_cpu_s = 0;  // in the window
  std::optional<double> server_cpu_s;
  double host_cpu_s = 0;               // every core's busy time in the window (/proc/stat)
  std::optional<long> rss_before;      // bytes, server, before any watcher
  std::optional<long> rss_connected;   // all watchers connected, idle
  std::optional<long> rss_subscribed;  // all subscriptions made and answered
};

// --mode decide: routing decisions over keep-alive HTTP, measured at the client.
struct DecideSummary {
  std::size_t callees = 0;
  std::size_t connections = 0;
  std::size_t threads = 0;
  std::optional<double> rate;
  double warmup_s = 0;
  double duration_s = 0;
  // In the measured window, by the time each request was due (its send time in a closed loop,
  // its slot in the schedule at a fixed rate, so a late answer also delays what queues behind).
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;  // 200 with the action expected from the callee's state
  std::uint64_t rings = 0;
  std::uint64_t voicemails = 0;
  Histogram latency;  // due -> answer received
  // Whole run.
  std::uint64_t http_errors = 0;      // no answer, or not 200
  std::uint64_t wrong_decisions = 0;  // 200 with another action
  double generator_cpu_s = 0;         // in the window
  std::optional<double> server_cpu_s;
  double host_cpu_s = 0;
};

void print_text(const Summary& s);
void print_json(const Summary& s);
void print_text(const DecideSummary& s);
void print_json(const DecideSummary& s);

// VmRSS of a process in bytes (/proc/PID/status).
std::optional<long> read_rss(int pid);
// utime + stime of a process in seconds (/proc/PID/stat).
std::optional<double> read_cpu_seconds(int pid);
// utime + stime of this process in seconds (getrusage).
double read_own_cpu_seconds();
// Busy time of all cores together in seconds (/proc/stat): what else ran shows beside the two
// processes measured.
double read_host_busy_seconds();

// CPU used between two instants by this process, the server (when `server_pid` > 0) and the
// whole host.
struct CpuWindow {
  double generator_s = 0;
  std::optional<double> server_s;
  double host_s = 0;
};
// Sleeps until `start_ns`, then until `end_ns` (steady clock, as sleep_until_ns), reading the
// CPU counters at both.
CpuWindow measure_cpu_window(std::uint64_t start_ns, std::uint64_t end_ns, int server_pid);

}  // namespace presenced::load
