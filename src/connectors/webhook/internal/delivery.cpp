#include "connectors/webhook/internal/delivery.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::connectors::webhook {
namespace {

// Worth another attempt: no answer, a timeout, throttling or a server error.
bool retryable(long status) { return status == 0 || status == 408 || status == 429 || status >= 500; }

std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::chrono::milliseconds retry_delay(const WebhookConfig& config, int attempts,
                                      std::optional<std::chrono::seconds> retry_after,
                                      double unit_random) {
  if (retry_after) {
    return std::min<std::chrono::milliseconds>(*retry_after, config.retry_after_max);
  }
  std::chrono::milliseconds delay = config.retry_base;
  for (int i = 1; i < attempts && delay < config.retry_max; ++i) {
    delay *= 2;
  }
  delay = std::min(delay, config.retry_max);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(delay.count()) * (0.5 + unit_random / 2)));
}

Delivery::Delivery(WebhookConfig config, DeliveryCounters& counters, Delivered delivered,
                   GiveUp give_up)
    : config_(config),
      counters_(counters),
      delivered_(std::move(delivered)),
      give_up_(std::move(give_up)),
      http_(http::HttpClientConfig::with(config.timeout, 64 * 1024, "presenced-webhook")) {}

Delivery::~Delivery() { stop(); }

void Delivery::start() {
  std::lock_guard lock(mutex_);
  if (!thread_.joinable()) {
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
  }
}

void Delivery::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Delivery::set_target(const std::string& subscription, Target target) {
  {
    std::lock_guard lock(mutex_);
    targets_[subscription] = std::move(target);
  }
  wake_.notify_all();
}

void Delivery::remove_target(const std::string& subscription) {
  std::lock_guard lock(mutex_);
  targets_.erase(subscription);
  std::erase_if(slots_, [&](const auto& entry) {
    return entry.first.first == subscription && !entry.second.in_flight;
  });
}

void Delivery::push(Event event) {
  {
    std::lock_guard lock(mutex_);
    Key key{event.subscription, event.user};
    auto [it, inserted] = slots_.try_emplace(std::move(key));
    Slot& slot = it->second;
    if (!inserted && slot.in_flight != slot.version) {
      ++counters_.coalesced;  // the waiting event is replaced by this newer one
    }
    slot.event = std::move(event);
    ++slot.version;
  }
  wake_.notify_all();
}

std::size_t Delivery::queued() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

std::map<Delivery::Key, Delivery::Slot>::iterator Delivery::next_ready(
    Steady::time_point now, Steady::time_point& wake_at) {
  auto best = slots_.end();
  wake_at = Steady::time_point::max();
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    const Slot& slot = it->second;
    const auto target = targets_.find(it->first.first);
    if (slot.in_flight || target == targets_.end() || !target->second.enabled) {
      continue;
    }
    if (slot.ready_at > now) {
      wake_at = std::min(wake_at, slot.ready_at);
    } else if (best == slots_.end() || slot.ready_at < best->second.ready_at) {
      best = it;  // the longest waiting first
    }
  }
  return best;
}

void Delivery::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    Steady::time_point wake_at;
    auto it = next_ready(Steady::now(), wake_at);
    if (it == slots_.end()) {
      if (wake_at == Steady::time_point::max()) {
        wake_.wait(lock);
      } else {
        wake_.wait_until(lock, wake_at);
      }
      continue;
    }
    const Key key = it->first;
    Slot& slot = it->second;
    slot.in_flight = slot.version;
    const std::uint64_t version = slot.version;
    const Event event = slot.event;
    const Target target = targets_.at(key.first);
    const int attempt = slot.attempts + 1;
    lock.unlock();
    const Answer answer = send(event, target, attempt);
    lock.lock();
    settle(key, version, event, attempt, answer);
  }
}

Delivery::Answer Delivery::send(const Event& event, const Target& target, int attempt) {
  http::HttpCall call;
  call.method = "POST";
  call.url = target.url;
  call.headers = {"Content-Type: application/json", "X-Presenced-Event: " + event.type,
                  "X-Presenced-Delivery: " + event.id,
                  fmt::format("X-Presenced-Attempt: {}", attempt),
                  "X-Presenced-Signature: " +
                      signature_header(target.secret, unix_seconds(), event.body)};
  call.body = event.body;
  auto answer = http_.perform(call);
  if (!answer) {
    return {0, answer.error().message, std::nullopt};
  }
  return {answer->status, "",
          answer->status == 429 ? answer->retry_after : std::nullopt};
}

void Delivery::settle(const Key& key, std::uint64_t version, const Event& event, int attempt,
                      const Answer& answer) {
  const auto found = slots_.find(key);
  if (found == slots_.end()) {
    return;
  }
  Slot& slot = found->second;
  slot.in_flight.reset();
  if (!targets_.contains(key.first)) {
    slots_.erase(found);  // the subscription was removed meanwhile
    return;
  }
  const bool newer = slot.version != version;
  if (answer.status / 100 == 2) {
    ++counters_.delivered;
    delivered_(event);
    if (!newer) {
      slots_.erase(found);
      return;
    }
    slot.attempts = 0;
    slot.ready_at = Steady::time_point{};
    return;
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto pause = retry_delay(config_, attempt, answer.retry_after, unit(random_));
  counters_.throttled += answer.status == 429 ? 1 : 0;
  if (retryable(answer.status) && attempt < config_.max_attempts) {
    ++counters_.retried;
    slot.attempts = attempt;
    slot.ready_at = Steady::now() + pause;
    return;
  }
  ++counters_.given_up;
  spdlog::warn("webhook: {}: gave up on {} after {} attempts (last status {}{}{})", key.first,
               event.id, attempt, answer.status, answer.error.empty() ? "" : ", ", answer.error);
  give_up_(Failure{event, attempt, answer.status, answer.error});
  if (!newer) {
    slots_.erase(found);
    return;
  }
  slot.attempts = 0;  // the newer event gets attempts of its own, after the same pause
  slot.ready_at = Steady::now() + pause;
}

}  // namespace presenced::connectors::webhook
