#pragma once

// The delivery thread: one slot per (subscription, user) holds the newest event not yet
// delivered, so events of one user go out in order, one in flight at a time, and a change made
// while an earlier one is in flight or waiting to be retried replaces the waiting one
// (coalescing: the receiver gets the newest state, not every step). Retries back off
// exponentially with jitter; a 429's Retry-After is honoured; after max_attempts, or at once on
// a 4xx that is not 408 or 429, the event is given up.
//
// Thread-safety: push, set_target, remove_target and queued may be called from any thread.

#include "connectors/http/http.h"
#include "connectors/webhook/webhook.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>

namespace presenced::connectors::webhook {

using Steady = std::chrono::steady_clock;

struct Event {
  std::string subscription;
  std::string user;
  std::string id;    // X-Presenced-Delivery
  std::string type;  // X-Presenced-Event
  std::string body;
  std::string status;  // two-way: the external status it sends; else empty
};

struct Target {
  std::string url;
  std::string secret;
  bool enabled = true;
};

struct DeliveryCounters {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> retried{0};
  std::atomic<std::uint64_t> throttled{0};  // 429 answers
  std::atomic<std::uint64_t> given_up{0};
  std::atomic<std::uint64_t> coalesced{0};
};

// Why an event was given up: its last attempt's status (0: no answer) and error.
struct Failure {
  Event event;
  int attempts = 0;
  long last_status = 0;
  std::string last_error;
};

// The wait before the next attempt: Retry-After when the receiver gave one (at most
// retry_after_max), else retry_base * 2^(attempts-1), at most retry_max, times a random factor
// in [0.5, 1) from `unit_random` in [0, 1) (jitter: receivers that come back are not hit by
// every sender at once).
std::chrono::milliseconds retry_delay(const WebhookConfig& config, int attempts,
                                      std::optional<std::chrono::seconds> retry_after,
                                      double unit_random);

class Delivery {
 public:
  // Called on the delivery thread, with a lock held: post the work elsewhere.
  using Delivered = std::function<void(Event)>;  // a 2xx came
  using GiveUp = std::function<void(Failure)>;
  Delivery(WebhookConfig config, DeliveryCounters& counters, Delivered delivered,
           GiveUp give_up);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  void start();
  void stop();
  void set_target(const std::string& subscription, Target target);
  void remove_target(const std::string& subscription);
  void push(Event event);
  std::size_t queued() const;

 private:
  struct Slot {
    Event event;
    std::uint64_t version = 0;  // grows with each push
    std::optional<std::uint64_t> in_flight;  // the version being sent
    int attempts = 0;
    Steady::time_point ready_at{};
  };
  using Key = std::pair<std::string, std::string>;  // subscription, user

  struct Answer {
    long status = 0;  // 0: none came
    std::string error;
    std::optional<std::chrono::seconds> retry_after;
  };

  void run();
  std::map<Key, Slot>::iterator next_ready(Steady::time_point now, Steady::time_point& wake_at);
  Answer send(const Event& event, const Target& target, int attempt);
  // Called with the lock held, after attempt `attempt` of `event` (slot version `version`).
  void settle(const Key& key, std::uint64_t version, const Event& event, int attempt,
              const Answer& answer);

  WebhookConfig config_;
  DeliveryCounters& counters_;
  Delivered delivered_;
  GiveUp give_up_;
  http::HttpClient http_;  // the delivery thread's only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Target> targets_;
  std::map<Key, Slot> slots_;
  bool stopping_ = false;
  std::thread thread_;
  std::mt19937_64 random_{std::random_device{}()};  // jitter; the delivery thread's only
};

}  // namespace presenced::connectors::webhook
