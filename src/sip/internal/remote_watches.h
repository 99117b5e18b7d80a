#pragma once

// The client half of SIP federation (docs/sip.md, "Federation"): presenced subscribes to the
// `presence` of presentities on a peer presence server (RFC 6665, RFC 3856), one dialog per
// remote presentity however many local users watch it, keeps each dialog refreshed, and turns
// every NOTIFY into an update for the caller to show. Pure: no sockets, no clock, no engine; the
// transport sends what take_outbox() returns as client transactions and reports their answers.
//
// Thread-safety: none; used only on the thread that owns the listener.

#include "core/model.h"
#include "core/result.h"
#include "sip/internal/message.h"
#include "sip/internal/pidf.h"
#include "sip/internal/transactions.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace presenced::sip {

// A peer presence server: the domain its users live in and where to send to them. Requests go
// to that address whatever the dialog's remote target says (the peer is our next hop).
struct PresencePeer {
  std::string domain;
  Peer address;
};

struct RemoteWatchConfig {
  std::string local_domain = "localhost";  // we subscribe as sip:presenced@local_domain
  std::chrono::seconds expires{3600};      // asked for; the peer may grant less
  std::chrono::seconds retry_min{5};       // after a failure, doubling up to retry_max
  std::chrono::seconds retry_max{300};
  std::size_t max_watches = 10'000;
  PidfLimits pidf;
};

using RemoteWatchId = std::uint64_t;

// What a remote presentity shows, from its last NOTIFY. `reachable` is false while there is no
// live subscription (refused, failed, terminated): show it as unknown then.
struct RemoteUpdate {
  std::string uri;  // sip:user@domain, as watched
  bool reachable = false;
  std::optional<PidfDocument> document;  // the last body; nullopt while pending or unreachable
};

// A SUBSCRIBE to send in a new client transaction; its final answer goes to on_response().
struct OutgoingSubscribe {
  RemoteWatchId watch = 0;
  Message request;
  Peer destination;
};

// What the engine shows of a remote presentity for an update (rule remote_presence): the
// document's Graph pair and first note, or unknown while unreachable or pending.
core::RemotePresence to_remote_presence(const RemoteUpdate& update);

class RemoteWatches {
 public:
  RemoteWatches(RemoteWatchConfig config, std::vector<PresencePeer> peers);

  // Where our requests say they come from (Via sent-by, Contact), once the transport is bound.
  void set_local(std::string host, std::uint16_t port);

  // The peer serving `domain`, if one is configured.
  const PresencePeer* peer_for(std::string_view domain) const;

  // Starts watching `uri` (sip:user@domain of a configured peer); a second watch of the same
  // URI adds a reference. Errors: not a sip URI, no peer for its domain, too many watches.
  [[nodiscard]] core::Result<void> watch(std::string_view uri, TimePoint now);
  // Drops one reference; the last one ends the dialog (SUBSCRIBE with Expires: 0) and forgets
  // the presentity at once: its final NOTIFY then gets 481, which the peer takes in its stride.
  void unwatch(std::string_view uri, TimePoint now);

  // The final answer to a SUBSCRIBE (408 for timer F, 503 for a transport error).
  void on_response(RemoteWatchId watch, const Message& response, TimePoint now);
  // The answer to a NOTIFY; what it brings waits in take_updates(). A NOTIFY for no dialog of
  // ours gets 481 (RFC 6665 §4.1.3).
  Message on_notify(const Message& notify, TimePoint now);
  // Whether a NOTIFY belongs to a dialog we started (the caller routes it here then).
  bool owns(const Message& notify) const;

  // Sends the refreshes and retries that are due.
  void advance(TimePoint now);
  std::optional<TimePoint> next_deadline() const;
  std::vector<OutgoingSubscribe> take_outbox();
  // What changed for remote presentities since the last call (NOTIFY bodies, subscriptions
  // refused, failed or ended), oldest first; only changes of what is shown.
  std::vector<RemoteUpdate> take_updates();

  std::size_t size() const { return watches_.size(); }
  const RemoteUpdate* last(std::string_view uri) const;

 private:
  enum class Phase : std::uint8_t { Subscribing, Active, Waiting };
  struct Watch {
    RemoteWatchId id = 0;
    std::string uri;
    const PresencePeer* peer = nullptr;
    std::size_t references = 0;
    Phase phase = Phase::Subscribing;
    std::string call_id;
    std::string local_tag;
    std::string remote_tag;  // empty until the 2xx or the first NOTIFY
    Uri remote_target;
    std::vector<NameAddr> route_set;
    std::uint32_t cseq = 0;
    std::uint32_t remote_cseq = 0;  // the last NOTIFY's, to drop old ones
    bool request_in_flight = false;
    std::chrono::seconds asked{0};  // the Expires of the next SUBSCRIBE
    std::chrono::seconds backoff{0};
    TimePoint deadline{};  // refresh or retry at; meaningless while a request is in flight
    RemoteUpdate shown;
  };

  Message subscribe_request(Watch& w, std::chrono::seconds expires) const;
  void send_subscribe(Watch& w, TimePoint now);
  void fail(Watch& w, std::optional<std::chrono::seconds> retry_after, TimePoint now);
  void new_dialog(Watch& w);
  void schedule(Watch& w, TimePoint at);
  void unschedule(Watch& w);
  void show(Watch& w, bool reachable, std::optional<PidfDocument> document);
  Watch* find_dialog(const Message& notify);

  RemoteWatchConfig config_;
  std::vector<PresencePeer> peers_;
  std::string local_host_ = "127.0.0.1";
  std::uint16_t local_port_ = 5060;
  RemoteWatchId next_id_ = 1;
  std::unordered_map<RemoteWatchId, Watch> watches_;
  std::unordered_map<std::string, RemoteWatchId> by_uri_;
  std::unordered_map<std::string, RemoteWatchId> by_dialog_;  // Call-ID + local tag
  std::set<std::pair<TimePoint, RemoteWatchId>> deadlines_;
  std::vector<OutgoingSubscribe> outbox_;
  std::vector<RemoteUpdate> updates_;
};

}  // namespace presenced::sip
