#pragma once

// Outgoing webhooks (docs/webhooks.md): every presence change of a covered user is POSTed as a
// JSON event to each subscription's URL, signed with HMAC-SHA256, in order per user, retried
// with backoff and jitter, and recorded as a dead letter when it cannot be delivered. A
// subscription with a status map is the outgoing half of a two-way connector (a CRM such as
// Salesforce Omni-Channel): it sends the external status our presence maps to, and nothing the
// external system already shows (loop suppression). HTTP runs on the connector's own thread
// (libcurl); what must be stored is handed to the server's thread.
//
// Thread-safety: every public member of Connector runs on the server's thread (the engine's);
// signature_header is a pure function.

#include "core/engine.h"
#include "core/result.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::webhook {

struct WebhookConfig {
  int max_attempts = 8;                          // then a dead letter
  std::chrono::milliseconds retry_base{1'000};   // first retry after 0.5-1 x this
  std::chrono::milliseconds retry_max{300'000};  // backoff stops growing here
  std::chrono::milliseconds timeout{5'000};      // one POST, connecting included
  std::chrono::seconds retry_after_max{3'600};   // a longer 429 Retry-After is cut to this
  std::size_t dead_letters_kept = 100;           // per subscription; the oldest go first
};

// The events a subscription may ask for.
enum class EventType : std::uint8_t {
  PresenceChanged,      // every visible change
  AvailabilityChanged,  // only when the availability differs from the last one seen
  UserRemoved,
};

// A subscription as the API keeps it (docs/webhooks.md, "Subscriptions").
struct Subscription {
  std::string id;
  std::string url;
  std::string secret;
  bool all_users = false;  // neither users nor groups given
  std::set<std::string> users;
  // Its users' groups are read at each event (Connector::GroupsOf), so a user added to or
  // removed from a group later is covered, or not, from then on.
  std::set<std::string> groups;
  std::set<EventType> events;
  // Our state id or availability -> the external system's status (two-way connectors).
  std::map<std::string, std::string, std::less<>> outbound;
  bool enabled = true;
};

// The stored document body of subscription `id` (written by the API, which validated it).
core::Result<Subscription> parse_subscription(std::string id, std::string_view body);

// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>": the X-Presenced-Signature
// header of an event, and what an incoming post must carry.
std::string signature_header(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view body);

// An event given up on, for the API to list (GET /api/v1/webhooks/{id}/dead-letters).
struct DeadLetter {
  std::string id;  // "<subscription>/<unix ms>-<n>": sorts by time
  std::string subscription;
  std::string body;  // {"event", "attempts", "last_status", "last_error", "failed_at"}
};

// What the connector asks the server to store; called on the server's thread.
struct Effects {
  std::function<void(DeadLetter)> add_dead_letter;
  std::function<void(std::string id)> remove_dead_letter;
  // What a two-way subscription's system shows for a user (what it posted last, or the last
  // event of ours it accepted with a 2xx), and the status of ours on its way to it, if any.
  std::function<void(std::string subscription, std::string user, std::string shown,
                     std::optional<std::string> sending)>
      record_status;
};

class Connector {
 public:
  using Post = std::function<void(std::function<void()>)>;  // runs on the server's thread
  // The groups a user is in now, or nullptr for an unknown user; called on the server's thread
  // for each event of a user that a subscription with groups may cover. The pointer is read
  // at once, never kept.
  using GroupsOf = std::function<const std::vector<std::string>*(const std::string& user)>;
  // `engine` must outlive the connector; `post` must accept tasks until stop() returned.
  static std::unique_ptr<Connector> create(WebhookConfig config, core::Engine& engine, Post post,
                                           Effects effects, GroupsOf groups_of);
  virtual ~Connector() = default;

  // Queues the current presence of every covered user once (type presence.snapshot): events
  // not delivered before a restart are not stored, so receivers catch up from these.
  virtual void start() = 0;
  // Ends the delivery thread; events still queued are dropped (see start()).
  virtual void stop() = 0;
  virtual void put_subscription(Subscription subscription) = 0;
  // Drops its queued events too.
  virtual void remove_subscription(const std::string& id) = 0;
  // The status the external system shows for a user, as it told us or as stored at start.
  virtual void put_status(const std::string& subscription, const std::string& user,
                          std::string status) = 0;
  // A stored dead letter, at start (so the oldest can be dropped past the limit).
  virtual void restore_dead_letter(const std::string& subscription, std::string id) = 0;
  // Prometheus text for GET /metrics.
  virtual void render_metrics(std::string& out) const = 0;
};

}  // namespace presenced::connectors::webhook
