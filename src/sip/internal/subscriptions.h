#pragma once

// Subscriptions (RFC 6665) to the `presence` (RFC 3856) and `dialog` (RFC 4235) event packages
// as watchers of the presence engine: a SUBSCRIBE creates a dialog and one engine watcher looking
// through the subscriber's eyes; every delivery the engine queues for it (PIDF, or the <dialog>
// elements of the presentity's calls, encoded once per visibility level and package) becomes a
// NOTIFY in that dialog. `presence.winfo` (RFC 3857) needs no engine watcher: a user's own
// watcher list changes here, when a presence subscription to them starts or ends. Unsubscribe,
// expiry and failed NOTIFYs end a subscription (docs/sip.md, "Subscriptions"). With a
// Directory, each subscription's dialog is stored: a SUBSCRIBE is answered once that is durable,
// and restore() puts them back after a restart. No sockets and no clock: the transport passes the time, sends
// what take_outbox() returns as client transactions and reports their answers.
//
// Thread-safety: none; used only on the thread that owns the engine.

#include "core/engine.h"
#include "sip/internal/dialog_info.h"
#include "sip/internal/message.h"
#include "sip/internal/notify_writer.h"
#include "sip/internal/subscription_record.h"
#include "sip/internal/transactions.h"
#include "sip/sip.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace presenced::sip {

struct SubscriptionConfig {
  std::string domain = "localhost";  // presentities are sip:user@domain
  std::chrono::seconds min_expires{60};
  std::chrono::seconds max_expires{3600};
  std::chrono::seconds default_expires{3600};  // RFC 3856 §6.4
  std::size_t max_subscriptions = 100'000;
  // Federated domains whose users subscribe as the subscriber "peer:<domain>": one engine peer
  // watcher per subscription, at the domain's level (docs/sip.md, "Federation").
  std::vector<std::pair<std::string, core::VisibilityLevel>> peer_levels;
};

// The subscriber name of a federated domain's users, as Service passes it to subscribe().
inline constexpr std::string_view kPeerSubscriberPrefix = "peer:";

using SubscriptionId = std::uint64_t;

// The event packages we serve (Event header, RFC 6665 §8.2.1).
enum class EventPackage : std::uint8_t { Presence, Dialog, WatcherInfo };
std::optional<EventPackage> parse_event_package(std::string_view name);
std::string_view to_string(EventPackage package);

// A NOTIFY to send in a new client transaction, as written; its final answer goes to
// on_response(), or on_not_started() when no transaction could take it.
struct OutgoingNotify {
  SubscriptionId subscription = 0;
  std::string bytes;
  Peer destination;
  std::string branch;  // of its Via, for the client transaction's key
};

class Subscriptions {
 public:
  // The answer to a SUBSCRIBE: at once, or once the subscription is durable.
  using Answer = std::function<void(Message)>;

  // Registers the PIDF and dialog formats with the engine once; the engine must outlive this
  // object, and so must `durable` (nullptr: nothing is stored).
  Subscriptions(SubscriptionConfig config, core::Engine& engine, Directory* durable = nullptr);
  ~Subscriptions();  // removes every watcher from the engine, without NOTIFYs
  Subscriptions(const Subscriptions&) = delete;
  Subscriptions& operator=(const Subscriptions&) = delete;

  // Where NOTIFYs say they come from (Via sent-by, Contact), once the transport is bound.
  void set_local(std::string host, std::uint16_t port);
  // Called (on the engine's thread, from inside an engine call or a store callback) when a
  // subscription has new deliveries or NOTIFYs wait in the outbox; the caller then calls
  // drain() and take_outbox() outside that call.
  void set_on_wake(std::function<void()> on_wake);

  // Answers a SUBSCRIBE for one of our packages from the authenticated user `subscriber` (or a
  // trusted peer domain, "peer:<domain>", which sees presence at its level only), new
  // or within a dialog: at once, or (a new subscription or a refresh, with a Directory) once
  // its dialog is durable, 500 if the store failed. NOTIFYs it causes wait in the outbox.
  void subscribe(const Message& request, const Peer& source, std::string_view subscriber,
                 TimePoint now, Answer answer);
  // Puts back the subscriptions of an earlier run that have time left (`wall` is the wall
  // clock at `now`), each with a NOTIFY of the current state in the outbox; erases the others.
  void restore(TimePoint now, WallTime wall);
  // Turns the queued deliveries of woken subscriptions into NOTIFYs (one in flight per
  // subscription; a newer state replaces one not yet sent).
  void drain(TimePoint now);
  // The final answer to a NOTIFY (408 for timer F, 503 for a transport error). A 2xx lets the
  // next NOTIFY go; anything else ends the subscription (RFC 6665 §4.2.2).
  void on_response(SubscriptionId subscription, int status, TimePoint now);
  // The NOTIFY never left: our own client-transaction table was full. The subscription stays,
  // and its newest state goes on its next change or after kRetryDelay, whichever comes first.
  void on_not_started(SubscriptionId subscription, TimePoint now);
  static constexpr std::chrono::milliseconds kRetryDelay{500};
  // Ends the subscriptions whose time ran out, with a final NOTIFY; retries NOTIFYs that did not
  // start.
  void advance(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  std::vector<OutgoingNotify> take_outbox();

  std::size_t size() const { return subscriptions_.size(); }

 private:
  struct Subscription;
  class Removals;

  // A user is being removed: subscriptions to them end with reason noresource, those looking
  // through their eyes with rejected (RFC 6665 §4.2.2), while the engine can still name them.
  void on_user_removed(core::UserIndex user);
  void answer_new(const Message& request, const Peer& source, std::string_view subscriber,
                  TimePoint now, Answer answer);
  void answer_refresh(const Message& request, const Peer& source, std::string_view subscriber,
                      TimePoint now, Answer answer);
  // Writes the subscription's dialog; `done` runs once durable (true) or failed (false).
  void persist(const Subscription& s, std::function<void(bool)> done);
  std::optional<Message> check_expires(const Message& request, std::uint32_t& seconds) const;
  void wake(SubscriptionId id);
  void outbox_ready();
  // `content` is what the engine encoded; the body wraps it in this subscription's document.
  void send_state(Subscription& s, std::shared_ptr<const std::string> content, TimePoint now);
  std::string current_content(const Subscription& s, TimePoint now) const;
  std::string body(Subscription& s, std::string_view content);
  // `erased` runs once the erase of its stored record is durable (at once when not stored).
  void terminate(Subscription& s, std::string_view reason, TimePoint now,
                 std::function<void(bool)> erased = {});
  // Ends it without a NOTIFY; `why` is what the presentity's watcher list says (RFC 3857 §5.2).
  void erase(SubscriptionId id, WatcherEvent why, TimePoint now,
             std::function<void(bool)> erased = {});
  // Indexes it, starts its engine watcher, sends the current state.
  void activate(Subscription& s, TimePoint now);
  void index(Subscription& s);
  void start(Subscription& s, TimePoint now);
  // The NOTIFY with the current state after a SUBSCRIBE or a refresh.
  void resend(Subscription& s, TimePoint now);
  // A presence subscription to `presentity` started (ended: its last entry) -> NOTIFY its owner's
  // winfo subscriptions.
  void watchers_changed(core::UserIndex presentity, const Subscription* ended, WatcherEvent why,
                        TimePoint now);
  std::string watcher_list(core::UserIndex presentity, const Subscription* ended,
                           WatcherEvent why, TimePoint now) const;
  // Writes a NOTIFY into the outbox; `expires` only with the active state.
  void notify(Subscription& s, std::string_view state, std::string_view reason,
              std::optional<std::uint32_t> expires, std::string_view body);
  Peer destination(const Subscription& s) const;
  NameAddr contact() const;
  Subscription* find_dialog(std::string_view call_id, std::string_view remote_tag,
                            std::string_view local_tag, const std::optional<std::string>& event_id);
  static std::uint64_t dialog_hash_of(const Subscription& s);
  // The index in config_.peer_levels that a "peer:<domain>" subscriber names.
  std::optional<std::uint16_t> peer_index(std::string_view subscriber) const;
  // "alice" or "peer:example.org", as subscribe() was given it.
  std::string subscriber_id(const Subscription& s) const;
  core::VisibilityLevel level_of(const Subscription& s) const;

  SubscriptionConfig config_;
  core::Engine& engine_;
  Directory* durable_;
  std::unique_ptr<Removals> removals_;
  TimePoint last_now_{};  // the latest time passed in, for ends the engine causes
  core::FormatId pidf_format_ = 0;
  core::FormatId dialog_format_ = 0;
  std::string local_host_ = "127.0.0.1";
  std::uint16_t local_port_ = 5060;
  // Written once per set_local(): every NOTIFY's Via (up to its branch) and Contact line.
  std::string via_udp_;
  std::string via_tcp_;
  std::string contact_line_;
  std::function<void()> on_wake_;
  SubscriptionId next_id_ = 1;
  std::unordered_map<SubscriptionId, std::unique_ptr<Subscription>> subscriptions_;
  // New ones waiting for their first write to be durable.
  std::unordered_map<SubscriptionId, std::unique_ptr<Subscription>> unsaved_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for store callbacks
  // By dialog_hash of the dialog's own fields; a hit is checked against them.
  std::unordered_multimap<std::uint64_t, SubscriptionId> by_dialog_;
  std::unordered_multimap<core::UserIndex, SubscriptionId> by_presentity_;
  // How many watcher-info subscriptions each presentity has: a new presence subscription to a
  // presentity nobody watches that way (nearly all) skips the walk over its watchers.
  std::unordered_map<core::UserIndex, std::uint32_t> winfo_subscriptions_;
  std::set<std::pair<TimePoint, SubscriptionId>> expiries_;
  std::vector<SubscriptionId> woken_;
  std::vector<SubscriptionId> not_started_;  // retried at retry_at_
  std::optional<TimePoint> retry_at_;
  std::vector<OutgoingNotify> outbox_;
};

}  // namespace presenced::sip
