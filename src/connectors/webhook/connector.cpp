// The server-thread side of the webhook connector: turns the engine's changes into events for
// each covered subscription, suppresses what a two-way subscription's system already shows,
// and stores the dead letters the delivery thread reports.

#include "connectors/webhook/internal/delivery.h"
#include "connectors/webhook/webhook.h"
#include "core/mappings.h"
#include "core/metrics_text.h"

#include <boost/json.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace presenced::connectors::webhook {

namespace json = boost::json;

namespace {

std::string_view type_name(EventType type) {
  switch (type) {
    case EventType::PresenceChanged: return "presence.changed";
    case EventType::AvailabilityChanged: return "availability.changed";
    case EventType::UserRemoved: return "user.removed";
  }
  return "presence.changed";
}

std::string utc_text(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

json::value presence_json(const core::Presence& presence) {
  json::object out{{"availability", core::to_string(presence.availability)},
                   {"activity", core::to_string(presence.activity)}};
  out["state"] = presence.state_id.empty() ? json::value(nullptr) : json::value(presence.state_id);
  out["until"] = presence.until ? json::value(utc_text(*presence.until)) : json::value(nullptr);
  return out;
}

// A two-way subscription's status for `presence`: by the manual state in force, else by the
// availability; nullopt when the map has neither.
std::optional<std::string> outbound_status(const Subscription& s, const core::Presence& presence) {
  auto it = presence.state_id.empty() ? s.outbound.end() : s.outbound.find(presence.state_id);
  if (it == s.outbound.end()) {
    it = s.outbound.find(core::to_string(presence.availability));
  }
  return it == s.outbound.end() ? std::nullopt : std::optional<std::string>(it->second);
}

}  // namespace

class WebhookConnector final : public Connector, public core::ChangeListener {
 public:
  using Key = std::pair<std::string, std::string>;  // subscription, user

  WebhookConnector(WebhookConfig config, core::Engine& engine, Post post, Effects effects,
                   GroupsOf groups_of)
      : config_(config),
        engine_(engine),
        post_(std::move(post)),
        effects_(std::move(effects)),
        groups_of_(std::move(groups_of)),
        delivery_(
            config, counters_,
            [this](Event event) { post_([this, event = std::move(event)] { delivered(event); }); },
            [this](Failure failure) {
              post_([this, failure = std::move(failure)] { dead_letter(failure); });
            }) {}
  ~WebhookConnector() override { stop(); }

  void start() override {
    engine_.add_listener(this);
    listening_ = true;
    delivery_.start();
    std::size_t seen = 0;
    for (core::UserIndex user = 0; seen < engine_.user_count(); ++user) {
      if (engine_.exists(user)) {
        ++seen;
        if (!engine_.layers(user).remote) {
          snapshot(user);
        }
      }
    }
  }

  void stop() override {
    if (listening_) {
      engine_.remove_listener(this);
      listening_ = false;
    }
    delivery_.stop();
  }

  void put_subscription(Subscription subscription) override {
    delivery_.set_target(subscription.id,
                         {subscription.url, subscription.secret, subscription.enabled});
    std::string id = subscription.id;
    subscriptions_.insert_or_assign(std::move(id), std::move(subscription));
  }

  void remove_subscription(const std::string& id) override {
    subscriptions_.erase(id);
    delivery_.remove_target(id);
    std::erase_if(statuses_, [&](const auto& entry) { return entry.first.first == id; });
    std::erase_if(sending_, [&](const auto& entry) { return entry.first.first == id; });
    dead_letters_.erase(id);
  }

  void put_status(const std::string& subscription, const std::string& user,
                  std::string status) override {
    statuses_[{subscription, user}] = std::move(status);
  }

  void restore_dead_letter(const std::string& subscription, std::string id) override {
    auto& ids = dead_letters_[subscription];
    ids.insert(std::upper_bound(ids.begin(), ids.end(), id), std::move(id));
  }

  void on_change(core::UserIndex user, const core::Presence& presence,
                 std::uint64_t sequence) override {
    if (engine_.layers(user).remote) {
      return;  // a remote contact's presentity: its own server tells its subscribers
    }
    const std::string& id = engine_.id_of(user).value;
    const auto last = last_availability_.find(id);
    const bool availability_changed =
        last == last_availability_.end() || last->second != presence.availability;
    last_availability_[id] = presence.availability;
    for (const auto& [name, s] : subscriptions_) {
      if (!covers(s, id)) {
        continue;
      }
      if (s.events.contains(EventType::PresenceChanged)) {
        offer(s, id, presence, sequence, type_name(EventType::PresenceChanged));
      } else if (availability_changed && s.events.contains(EventType::AvailabilityChanged)) {
        offer(s, id, presence, sequence, type_name(EventType::AvailabilityChanged));
      }
    }
  }

  void on_remove(core::UserIndex user) override {
    if (engine_.layers(user).remote) {
      return;
    }
    const std::string id = engine_.id_of(user).value;
    last_availability_.erase(id);
    for (const auto& [name, s] : subscriptions_) {
      if (covers(s, id) && s.events.contains(EventType::UserRemoved)) {
        json::object event{{"id", fmt::format("{}/removed", id)}, {"type", "user.removed"},
                           {"subscription", s.id}, {"user", id},
                           {"time", utc_text(std::chrono::system_clock::now())}};
        delivery_.push({s.id, id, fmt::format("{}/removed", id), "user.removed",
                        json::serialize(event), ""});
      }
    }
  }

  void render_metrics(std::string& out) const override {
    core::metric_family(out, "presenced_webhook_events_total",
                        "Webhook events by what became of them (docs/webhooks.md)", "counter");
    const std::pair<std::string_view, std::uint64_t> results[] = {
        {"delivered", counters_.delivered.load()}, {"retried", counters_.retried.load()},
        {"throttled", counters_.throttled.load()}, {"dead_letter", counters_.given_up.load()},
        {"coalesced", counters_.coalesced.load()}, {"suppressed", suppressed_}};
    for (const auto& [result, count] : results) {
      out += fmt::format("presenced_webhook_events_total{{result=\"{}\"}} {}\n", result, count);
    }
    core::metric_family(out, "presenced_webhook_dead_letters_total",
                        "Events given up after their last attempt", "counter");
    out += fmt::format("presenced_webhook_dead_letters_total {}\n", counters_.given_up.load());
    core::metric_family(out, "presenced_webhook_queued",
                        "Users with an event waiting or in flight, per subscription", "gauge");
    out += fmt::format("presenced_webhook_queued {}\n", delivery_.queued());
    core::metric_family(out, "presenced_webhook_subscriptions", "Webhook subscriptions", "gauge");
    out += fmt::format("presenced_webhook_subscriptions {}\n", subscriptions_.size());
  }

 private:
  // Group membership as it is now: one lookup of the user's groups, only for subscriptions
  // that name groups.
  bool covers(const Subscription& s, const std::string& user) const {
    if (s.all_users || s.users.contains(user)) {
      return true;
    }
    if (s.groups.empty()) {
      return false;
    }
    const std::vector<std::string>* groups = groups_of_(user);
    return groups != nullptr && std::any_of(groups->begin(), groups->end(), [&](const auto& g) {
             return s.groups.contains(g);
           });
  }

  // After a start, whatever the subscription's events: the receiver catches up.
  void snapshot(core::UserIndex user) {
    const std::string& id = engine_.id_of(user).value;
    for (const auto& [name, s] : subscriptions_) {
      if (covers(s, id)) {
        offer(s, id, engine_.presence(user), engine_.sequence(user), "presence.snapshot");
      }
    }
  }

  void offer(const Subscription& s, const std::string& user, const core::Presence& presence,
             std::uint64_t sequence, std::string_view type) {
    json::object event{{"id", fmt::format("{}/{}", user, sequence)}, {"type", type},
                       {"subscription", s.id}, {"user", user}, {"sequence", sequence},
                       {"time", utc_text(std::chrono::system_clock::now())},
                       {"presence", presence_json(presence)}};
    std::optional<std::string> status;
    if (!s.outbound.empty()) {
      // Two-way: only a status the external system will not show once what is on its way
      // arrives goes out, so a change that came from it is never sent back (loop suppression).
      status = outbound_status(s, presence);
      const Key key{s.id, user};
      const auto on_its_way = sending_.find(key);
      if (!status ||
          *status == (on_its_way != sending_.end() ? on_its_way->second : statuses_[key])) {
        ++suppressed_;
        return;
      }
      sending_[key] = *status;
      record_status(key);
      event["status"] = *status;
    }
    delivery_.push({s.id, user, fmt::format("{}/{}", user, sequence), std::string(type),
                    json::serialize(event), status.value_or("")});
  }

  // The system shows a status once it accepted the event (not when it was queued: an event
  // that becomes a dead letter never reached it).
  void delivered(const Event& event) {
    if (event.status.empty() || !subscriptions_.contains(event.subscription)) {
      return;
    }
    const Key key{event.subscription, event.user};
    statuses_[key] = event.status;
    if (const auto it = sending_.find(key); it != sending_.end() && it->second == event.status) {
      sending_.erase(it);
    }
    record_status(key);
  }

  void record_status(const Key& key) {
    const auto on_its_way = sending_.find(key);
    effects_.record_status(key.first, key.second, statuses_[key],
                           on_its_way == sending_.end()
                               ? std::nullopt
                               : std::optional<std::string>(on_its_way->second));
  }

  void dead_letter(const Failure& failure) {
    if (!subscriptions_.contains(failure.event.subscription)) {
      return;
    }
    const Key key{failure.event.subscription, failure.event.user};
    if (const auto it = sending_.find(key);
        it != sending_.end() && it->second == failure.event.status) {
      sending_.erase(it);  // the system still shows what it showed: the next change corrects it
      record_status(key);
    }
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    DeadLetter letter{fmt::format("{}/{:013}-{}", failure.event.subscription, ms.count(),
                                  next_dead_letter_++),
                      failure.event.subscription, ""};
    boost::system::error_code ec;
    json::object body{{"id", letter.id}, {"event", json::parse(failure.event.body, ec)},
                      {"attempts", failure.attempts}, {"last_status", failure.last_status},
                      {"last_error", failure.last_error}, {"failed_at", utc_text(now)}};
    letter.body = json::serialize(body);
    auto& ids = dead_letters_[letter.subscription];
    ids.push_back(letter.id);
    effects_.add_dead_letter(std::move(letter));
    while (ids.size() > config_.dead_letters_kept) {
      effects_.remove_dead_letter(std::move(ids.front()));
      ids.pop_front();
    }
  }

  WebhookConfig config_;
  core::Engine& engine_;
  Post post_;
  Effects effects_;
  GroupsOf groups_of_;
  DeliveryCounters counters_;
  Delivery delivery_;
  bool listening_ = false;
  std::map<std::string, Subscription> subscriptions_;
  std::map<Key, std::string> statuses_;  // what each system shows
  std::map<Key, std::string> sending_;   // the newest status on its way, until it settles
  std::unordered_map<std::string, core::Availability> last_availability_;
  std::map<std::string, std::deque<std::string>> dead_letters_;  // ids, oldest first
  std::uint64_t next_dead_letter_ = 0;
  std::uint64_t suppressed_ = 0;
};

std::unique_ptr<Connector> Connector::create(WebhookConfig config, core::Engine& engine, Post post,
                                             Effects effects, GroupsOf groups_of) {
  if (sodium_init() < 0) {
    return nullptr;
  }
  return std::make_unique<WebhookConnector>(config, engine, std::move(post), std::move(effects),
                                            std::move(groups_of));
}

}  // namespace presenced::connectors::webhook
