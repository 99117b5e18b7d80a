#include "sip/internal/subscriptions.h"

#include "sip/internal/branch.h"
#include "sip/internal/dialog_info.h"
#include "sip/internal/grammar.h"
#include "sip/internal/pidf.h"

#include "core/visibility.h"

#include <algorithm>
#include <cctype>

namespace presenced::sip {

namespace {

// The NOTIFY body: PIDF of the presence already projected for the watcher's level, encoded by
// the engine once per level and change.
class PidfEncoder final : public core::PresenceEncoder {
 public:
  explicit PidfEncoder(std::string domain) : domain_(std::move(domain)) {}
  std::string encode(const core::UserId& user, const core::Presence& projected,
                     std::uint64_t /*sequence*/, core::VisibilityLevel /*level*/) const override {
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    return write_pidf(Presentity{user.value, domain_}, projected, now);
  }

 private:
  std::string domain_;
};

// Which calls a watcher at `level` may see: none when blocked, the state alone for Public
// (the lamp lights, nothing says who calls or which call), everything from Business up.
DialogDetail dialog_detail(core::VisibilityLevel level) {
  switch (level) {
    case core::VisibilityLevel::Blocked: return DialogDetail::None;
    case core::VisibilityLevel::Public: return DialogDetail::StateOnly;
    default: return DialogDetail::Full;
  }
}

// The NOTIFY content of the dialog package: the presentity's calls as <dialog> elements for one
// visibility level, encoded by the engine once per level and change. Each subscription wraps
// them in a document with its own version. A call that ended in this change is shown once as
// terminated (RFC 4235 §3.7.1), so a lamp sees its dialog end rather than vanish.
class DialogEncoder final : public core::PresenceEncoder {
 public:
  DialogEncoder(std::string domain, const core::Engine& engine)
      : domain_(std::move(domain)), engine_(engine) {}

  std::string encode(const core::UserId& user, const core::Presence& /*projected*/,
                     std::uint64_t sequence, core::VisibilityLevel level) const override {
    const std::optional<core::UserIndex> index = engine_.find(user.value);
    if (!index) {
      return {};
    }
    std::vector<core::Call> calls = engine_.layers(*index).telephony.calls;
    const std::vector<core::Call>& ended = ended_in(user.value, calls, sequence);
    calls.insert(calls.end(), ended.begin(), ended.end());
    return write_dialogs(Presentity{user.value, domain_}, calls, dialog_detail(level));
  }

 private:
  struct Seen {
    std::uint64_t sequence = 0;
    std::vector<core::Call> calls;
    std::vector<core::Call> ended;  // calls gone in the change at `sequence`
  };

  // The calls of the user's previous change that are gone in this one. Only the change right
  // after the one last encoded can tell (sequences grow by one per visible change); otherwise
  // the memory starts again. Users without calls are forgotten.
  const std::vector<core::Call>& ended_in(const std::string& user,
                                          const std::vector<core::Call>& calls,
                                          std::uint64_t sequence) const {
    Seen& seen = seen_[user];
    if (seen.sequence != sequence) {
      seen.ended.clear();
      if (seen.sequence + 1 == sequence) {
        for (const core::Call& before : seen.calls) {
          const bool still = std::any_of(calls.begin(), calls.end(), [&](const core::Call& c) {
            return c.device == before.device && c.call_id == before.call_id;
          });
          if (!still) {
            seen.ended.push_back(before);
            seen.ended.back().state = core::CallState::Ended;
          }
        }
      }
      seen.sequence = sequence;
      seen.calls = calls;
    }
    if (seen.calls.empty() && seen.ended.empty()) {
      seen_.erase(user);
      return kNone;
    }
    return seen.ended;
  }

  static inline const std::vector<core::Call> kNone;
  std::string domain_;
  const core::Engine& engine_;
  mutable std::unordered_map<std::string, Seen> seen_;
};

// RFC 6665 §4.2.1.1 / RFC 3856 §6.7 / RFC 4235 §3.5: no Accept means the package's format.
bool accepts(const std::optional<std::vector<MediaType>>& accept, std::string_view subtype) {
  if (!accept) {
    return true;
  }
  return std::any_of(accept->begin(), accept->end(), [subtype](const MediaType& type) {
    return (type.type == "*" && type.subtype == "*") ||
           (type.type == "application" && (type.subtype == "*" || type.subtype == subtype));
  });
}

std::string_view body_subtype(EventPackage package) {
  switch (package) {
    case EventPackage::Presence: return "pidf+xml";
    case EventPackage::Dialog: return "dialog-info+xml";
    case EventPackage::WatcherInfo: return "watcherinfo+xml";  // RFC 3858
  }
  return "pidf+xml";
}

// A numeric IPv4 or IPv6 host (brackets removed), which the transport can send to without DNS.
std::optional<std::string> numeric_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return std::string(host.substr(1, host.size() - 2));
  }
  const bool ipv4 = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '.';
  });
  return ipv4 ? std::optional<std::string>(host) : std::nullopt;
}

// NOTIFY CSeqs are stored only every this many (and at each SUBSCRIBE): after a restart they go
// on above the stored bound.
constexpr std::uint32_t kCSeqReserve = 1000;

WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::uint32_t seconds_left(TimePoint expires_at, TimePoint now) {
  if (expires_at <= now) {
    return 0;
  }
  return static_cast<std::uint32_t>(
      std::chrono::ceil<std::chrono::seconds>(expires_at - now).count());
}

}  // namespace

// One dialog (RFC 3261 §12, RFC 6665 §4.1.2) and its engine watcher, kept compact: the dialog
// as the header text of its NOTIFYs, the subscriber as its engine index. The engine calls wake()
// when the watcher's queue goes from empty to non-empty.
struct Subscriptions::Subscription final : core::WatcherSink {
  Subscription(Subscriptions& subscriptions, SubscriptionId subscription_id)
      : owner(subscriptions), id(subscription_id) {}
  void wake() override { owner.wake(id); }

  Subscriptions& owner;
  SubscriptionId id;
  // Our side is From with our tag, the subscriber's To; the remote target is its Contact, the
  // route set the SUBSCRIBE's Record-Route as received (§12.1.1).
  DialogText dialog;
  Peer peer;         // where the SUBSCRIBE came from, on which transport
  Peer destination;  // where NOTIFYs go: destination(), kept
  TimePoint created_at;  // for the watcher list's duration-subscribed
  TimePoint expires_at;
  WallTime expires_wall;  // expires_at and created_at on the wall clock, as stored
  WallTime created_wall;
  std::shared_ptr<const std::string> pending;  // newest content not yet sent
  core::WatcherId watcher = 0;
  core::UserIndex presentity = 0;
  core::UserIndex subscriber = 0;  // meaningless for a peer's subscription
  std::optional<std::uint16_t> peer_domain;  // a federated domain's: its index in peer_levels
  std::uint32_t version = 0;  // of the next dialog-info or watcherinfo document
  std::uint32_t local_cseq = 0;
  std::uint32_t local_cseq_bound = kCSeqReserve;  // as stored
  std::uint32_t remote_cseq = 0;
  EventPackage package = EventPackage::Presence;
  bool stored = false;  // has a record in the store
  bool in_flight = false;
  bool not_started = false;  // its last NOTIFY found no client transaction: retried
};

// Hears of user removals from the engine.
class Subscriptions::Removals final : public core::ChangeListener {
 public:
  explicit Removals(Subscriptions& owner) : owner_(owner) {}
  void on_change(core::UserIndex, const core::Presence&, std::uint64_t) override {}
  void on_remove(core::UserIndex user) override { owner_.on_user_removed(user); }

 private:
  Subscriptions& owner_;
};

Subscriptions::Subscriptions(SubscriptionConfig config, core::Engine& engine, Directory* durable)
    : config_(std::move(config)),
      engine_(engine),
      durable_(durable),
      removals_(std::make_unique<Removals>(*this)) {
  engine_.add_listener(removals_.get());
  set_local(local_host_, local_port_);
  pidf_format_ = engine_.add_format(std::make_unique<PidfEncoder>(config_.domain));
  dialog_format_ = engine_.add_format(std::make_unique<DialogEncoder>(config_.domain, engine_));
}

Subscriptions::~Subscriptions() {
  engine_.remove_listener(removals_.get());
  for (auto& [id, s] : subscriptions_) {
    if (s->package != EventPackage::WatcherInfo) {
      engine_.remove_watcher(s->watcher);
    }
  }
}

void Subscriptions::set_local(std::string host, std::uint16_t port) {
  local_host_ = std::move(host);
  local_port_ = port;
  const std::string sent_by = serialize(contact().uri).substr(4);  // after "sip:"
  via_udp_ = "Via: SIP/2.0/UDP " + sent_by + ";branch=";
  via_tcp_ = "Via: SIP/2.0/TCP " + sent_by + ";branch=";
  contact_line_ = "Contact: " + serialize(contact()) + "\r\n";
}

void Subscriptions::set_on_wake(std::function<void()> on_wake) {
  on_wake_ = std::move(on_wake);
}

std::optional<EventPackage> parse_event_package(std::string_view name) {
  if (name == "presence") return EventPackage::Presence;
  if (name == "dialog") return EventPackage::Dialog;
  if (name == "presence.winfo") return EventPackage::WatcherInfo;
  return std::nullopt;
}

std::string_view to_string(EventPackage package) {
  switch (package) {
    case EventPackage::Presence: return "presence";
    case EventPackage::Dialog: return "dialog";
    case EventPackage::WatcherInfo: return "presence.winfo";
  }
  return "presence";
}

void Subscriptions::subscribe(const Message& request, const Peer& source,
                              std::string_view subscriber, TimePoint now, Answer answer) {
  last_now_ = now;
  const std::optional<EventPackage> package =
      request.event ? parse_event_package(request.event->package) : std::nullopt;
  if (!package) {
    Message response = make_response(request, 489, "Bad Event");
    response.allow_events = {"presence", "dialog", "presence.winfo"};
    answer(std::move(response));
    return;
  }
  // RFC 3856 §6.7, RFC 4235 §3.5: the package's format is the one we write; a subscriber that
  // accepts none gets 406.
  const std::string_view subtype = body_subtype(*package);
  if (!accepts(request.accept, subtype)) {
    Message response = make_response(request, 406, "Not Acceptable");
    response.accept = std::vector<MediaType>{MediaType{"application", std::string(subtype), {}}};
    answer(std::move(response));
    return;
  }
  if (request.to.tag()) {
    answer_refresh(request, source, subscriber, now, std::move(answer));
    return;
  }
  answer_new(request, source, subscriber, now, std::move(answer));
}

// Expires as granted (RFC 6665 §4.2.1.1): the default when absent, cut to the maximum; 423 with
// Min-Expires below the minimum (0, the unsubscribe or fetch, is always allowed).
std::optional<Message> Subscriptions::check_expires(const Message& request,
                                                    std::uint32_t& seconds) const {
  const auto max = static_cast<std::uint32_t>(config_.max_expires.count());
  const auto min = static_cast<std::uint32_t>(config_.min_expires.count());
  seconds = request.expires.value_or(static_cast<std::uint32_t>(config_.default_expires.count()));
  if (seconds != 0 && seconds < min) {
    Message response = make_response(request, 423, "Interval Too Brief");
    response.min_expires = min;
    return response;
  }
  seconds = std::min(seconds, max);
  return std::nullopt;
}

void Subscriptions::answer_new(const Message& request, const Peer& source,
                               std::string_view subscriber, TimePoint now, Answer answer) {
  // RFC 3856 §6.6: the presentity is the Request-URI's user.
  const std::optional<core::UserIndex> presentity =
      request.request_uri.is_sip() ? engine_.find(request.request_uri.user) : std::nullopt;
  if (!presentity) {
    answer(make_response(request, 404, "Not Found"));
    return;
  }
  const std::optional<std::uint16_t> peer = peer_index(subscriber);
  const std::optional<core::UserIndex> watcher_user =
      peer ? std::optional<core::UserIndex>(0) : engine_.find(subscriber);
  if (!watcher_user) {
    answer(make_response(request, 403, "Forbidden"));
    return;
  }
  const EventPackage package = *parse_event_package(request.event->package);
  if (package == EventPackage::WatcherInfo && (peer || *watcher_user != *presentity)) {
    // RFC 3857 §5.1: the watcher list is the presentity's own business.
    answer(make_response(request, 403, "Forbidden"));
    return;
  }
  // RFC 6665 §4.1.2.1 / RFC 3261 §12.1.1: the Contact is the remote target of the dialog.
  if (request.contacts.star || request.contacts.addresses.size() != 1 ||
      !request.contacts.addresses.front().uri.is_sip()) {
    answer(make_response(request, 400, "Missing or Bad Contact"));
    return;
  }
  std::uint32_t seconds = 0;
  if (auto refused = check_expires(request, seconds)) {
    answer(std::move(*refused));
    return;
  }
  if (subscriptions_.size() + unsaved_.size() >= config_.max_subscriptions) {
    Message response = make_response(request, 503, "Too Many Subscriptions");
    response.other_headers.push_back(Header{"Retry-After", "60"});
    answer(std::move(response));
    return;
  }
  const SubscriptionId id = next_id_++;
  auto owned = std::make_unique<Subscription>(*this, id);
  Subscription& s = *owned;
  s.package = package;
  s.created_at = now;
  s.presentity = *presentity;
  s.subscriber = *watcher_user;
  s.peer_domain = peer;
  const std::string local_tag = make_tag();
  s.dialog = DialogText(request.contacts.addresses.front().uri, request.record_routes, request.to,
                        local_tag, request.from, request.call_id, to_string(package),
                        request.event->id);
  s.remote_cseq = request.cseq.number;
  s.peer = source;
  s.destination = destination(s);
  s.expires_at = now + std::chrono::seconds(seconds);
  s.created_wall = wall_now();
  s.expires_wall = s.created_wall + std::chrono::seconds(seconds);

  Message response = make_response(request, 200, "OK", local_tag);
  // RFC 3261 §12.1.1: the 2xx that makes the dialog carries the Record-Route, so that the
  // subscriber's requests in it pass the same proxies as our NOTIFYs.
  response.record_routes = request.record_routes;
  response.expires = seconds;
  response.contacts.addresses.push_back(contact());
  if (seconds == 0) {
    // RFC 6665 §4.4.3: a fetch: the current state in a NOTIFY that ends the subscription.
    const std::string fetched = body(s, current_content(s, now));
    answer(std::move(response));
    notify(s, "terminated", "timeout", std::nullopt, fetched);
    return;
  }
  if (durable_ == nullptr) {
    subscriptions_.emplace(id, std::move(owned));
    answer(std::move(response));
    activate(s, now);
    return;
  }
  // Nothing acknowledged may be lost: the 200 goes once the dialog is stored.
  unsaved_.emplace(id, std::move(owned));
  Message failed = make_response(request, 500, "Server Internal Error");
  persist(s,
          [this, alive = std::weak_ptr<bool>(alive_), id, now, response = std::move(response),
           failed = std::move(failed), answer = std::move(answer)](bool durable) mutable {
            if (alive.expired()) {
              return;
            }
            const auto it = unsaved_.find(id);
            if (it == unsaved_.end()) {
              return;
            }
            std::unique_ptr<Subscription> saved = std::move(it->second);
            unsaved_.erase(it);
            if (!durable) {
              answer(std::move(failed));
              return;
            }
            Subscription& added = *saved;
            added.stored = true;
            subscriptions_.emplace(id, std::move(saved));
            answer(std::move(response));
            activate(added, now);
            outbox_ready();
          });
}

void Subscriptions::answer_refresh(const Message& request, const Peer& source,
                                   std::string_view subscriber, TimePoint now, Answer answer) {
  Subscription* found =
      find_dialog(request.call_id, request.from.tag().value_or(""), request.to.tag().value_or(""),
                  request.event->id);
  if (found == nullptr) {
    // RFC 6665 §4.2.1.2: a refresh of a subscription we do not (or no longer) hold.
    answer(make_response(request, 481, "Subscription Does Not Exist"));
    return;
  }
  Subscription& s = *found;
  if (to_string(s.package) != request.event->package) {
    answer(make_response(request, 481, "Subscription Does Not Exist"));  // another package
    return;
  }
  if (subscriber != subscriber_id(s)) {
    answer(make_response(request, 403, "Forbidden"));
    return;
  }
  // RFC 3261 §12.2.2: a CSeq not above the last one is out of order.
  if (request.cseq.number <= s.remote_cseq) {
    answer(make_response(request, 500, "CSeq Out of Order"));
    return;
  }
  std::uint32_t seconds = 0;
  if (auto refused = check_expires(request, seconds)) {
    answer(std::move(*refused));
    return;
  }
  s.remote_cseq = request.cseq.number;
  s.peer = source;
  // RFC 6665 §4.1.2.2: a SUBSCRIBE in the dialog is a target refresh request.
  if (request.contacts.addresses.size() == 1 && request.contacts.addresses.front().uri.is_sip()) {
    s.dialog.set_remote_target(request.contacts.addresses.front().uri);
  }
  s.destination = destination(s);
  Message response = make_response(request, 200, "OK");
  response.expires = seconds;
  response.contacts.addresses.push_back(contact());
  if (seconds == 0) {
    // RFC 6665 §4.1.2.3 and §4.2.2: the unsubscribe ends it at once, with a final NOTIFY; the
    // 200 waits until the record is gone from the store, so that no restart brings it back.
    terminate(s, "timeout", now,
              [answer = std::move(answer), response = std::move(response)](bool) mutable {
                answer(std::move(response));
              });
    return;
  }
  const TimePoint old_expiry = s.expires_at;
  const WallTime old_expiry_wall = s.expires_wall;
  expiries_.erase({s.expires_at, s.id});
  s.expires_at = now + std::chrono::seconds(seconds);
  s.expires_wall = wall_now() + std::chrono::seconds(seconds);
  expiries_.emplace(s.expires_at, s.id);
  if (durable_ == nullptr) {
    answer(std::move(response));
    resend(s, now);
    return;
  }
  // The new expiry, CSeq and target are stored before the 200; a failed write is a 500, and
  // the subscription keeps the expiry it had (as the subscriber does, RFC 6665 §4.1.2.2).
  Message failed = make_response(request, 500, "Server Internal Error");
  persist(s,
          [this, alive = std::weak_ptr<bool>(alive_), id = s.id, now, old_expiry,
           old_expiry_wall, response = std::move(response), failed = std::move(failed),
           answer = std::move(answer)](bool durable) mutable {
            if (alive.expired()) {
              return;
            }
            if (!durable) {
              if (const auto it = subscriptions_.find(id); it != subscriptions_.end()) {
                Subscription& kept = *it->second;
                expiries_.erase({kept.expires_at, id});
                kept.expires_at = old_expiry;
                kept.expires_wall = old_expiry_wall;
                expiries_.emplace(kept.expires_at, id);
              }
              answer(std::move(failed));
              return;
            }
            answer(std::move(response));
            // RFC 6665 §4.2.1.2: a successful refresh gets a NOTIFY with the current state.
            if (const auto it = subscriptions_.find(id); it != subscriptions_.end()) {
              resend(*it->second, now);
            }
            outbox_ready();
          });
}

void Subscriptions::activate(Subscription& s, TimePoint now) {
  index(s);
  start(s, now);
  if (s.package == EventPackage::Presence) {
    watchers_changed(s.presentity, nullptr, WatcherEvent::Subscribe, now);
  }
}

std::uint64_t Subscriptions::dialog_hash_of(const Subscription& s) {
  return dialog_hash(s.dialog.call_id(), s.dialog.remote_tag(), s.dialog.local_tag(),
                     s.dialog.event_id());
}

Subscriptions::Subscription* Subscriptions::find_dialog(
    std::string_view call_id, std::string_view remote_tag, std::string_view local_tag,
    const std::optional<std::string>& event_id) {
  const auto [first, last] = by_dialog_.equal_range(dialog_hash(
      call_id, remote_tag, local_tag,
      event_id ? std::optional<std::string_view>(*event_id) : std::nullopt));
  for (auto it = first; it != last; ++it) {
    Subscription& s = *subscriptions_.at(it->second);
    if (s.dialog.same_dialog(call_id, remote_tag, local_tag, event_id)) {
      return &s;
    }
  }
  return nullptr;
}

std::optional<std::uint16_t> Subscriptions::peer_index(std::string_view subscriber) const {
  if (!subscriber.starts_with(kPeerSubscriberPrefix)) {
    return std::nullopt;
  }
  const std::string_view domain = subscriber.substr(kPeerSubscriberPrefix.size());
  for (std::size_t i = 0; i < config_.peer_levels.size(); ++i) {
    if (config_.peer_levels[i].first == domain) {
      return static_cast<std::uint16_t>(i);
    }
  }
  return std::nullopt;
}

std::string Subscriptions::subscriber_id(const Subscription& s) const {
  return s.peer_domain
             ? std::string(kPeerSubscriberPrefix) + config_.peer_levels[*s.peer_domain].first
             : engine_.id_of(s.subscriber).value;
}

core::VisibilityLevel Subscriptions::level_of(const Subscription& s) const {
  return s.peer_domain ? config_.peer_levels[*s.peer_domain].second
                       : engine_.level_for(s.presentity, s.subscriber);
}

void Subscriptions::index(Subscription& s) {
  by_dialog_.emplace(dialog_hash_of(s), s.id);
  by_presentity_.emplace(s.presentity, s.id);
  if (s.package == EventPackage::WatcherInfo) {
    ++winfo_subscriptions_[s.presentity];
  }
  expiries_.emplace(s.expires_at, s.id);
}

void Subscriptions::start(Subscription& s, TimePoint now) {
  if (s.package != EventPackage::WatcherInfo) {
    const core::FormatId format =
        s.package == EventPackage::Dialog ? dialog_format_ : pidf_format_;
    s.watcher = s.peer_domain ? engine_.add_peer_watcher(level_of(s), format, &s)
                       : engine_.add_watcher(s.subscriber, format, &s);
  }
  resend(s, now);
}

void Subscriptions::persist(const Subscription& s, std::function<void(bool)> done) {
  StoredSubscription stored;
  stored.package = std::string(to_string(s.package));
  stored.subscriber = subscriber_id(s);
  stored.presentity = engine_.id_of(s.presentity).value;
  stored.call_id = std::string(s.dialog.call_id());
  stored.local = s.dialog.local();
  stored.remote = s.dialog.remote();
  if (const auto event_id = s.dialog.event_id()) {
    stored.event_id = std::string(*event_id);
  }
  stored.remote_target = s.dialog.remote_target();
  stored.route_set = s.dialog.route_set();
  stored.remote_cseq = s.remote_cseq;
  stored.local_cseq_bound = s.local_cseq_bound;
  stored.expires_at = s.expires_wall;
  stored.created_at = s.created_wall;
  stored.transport = s.peer.transport;
  stored.address = s.peer.address;
  stored.port = s.peer.port;
  StoredRecord record;
  record.kind = std::string(kSubscriptionKind);
  record.id = std::string(s.dialog.local_tag());
  record.owner = s.peer_domain ? std::string() : stored.subscriber;  // a peer is no user to delete
  record.body = encode_subscription(stored);
  durable_->save({std::move(record)}, std::move(done));
}

void Subscriptions::restore(TimePoint now, WallTime wall) {
  if (durable_ == nullptr) {
    return;
  }
  std::vector<StoredRecord> gone;
  std::vector<Subscription*> restored;
  for (StoredRecord& record : durable_->stored(kSubscriptionKind)) {
    const std::optional<StoredSubscription> stored = decode_subscription(record.body);
    const std::optional<EventPackage> package =
        stored ? parse_event_package(stored->package) : std::nullopt;
    const auto presentity = stored ? engine_.find(stored->presentity) : std::nullopt;
    const auto peer = stored ? peer_index(stored->subscriber) : std::nullopt;
    // A peer's subscription has no local subscriber: index 0 stands in (peer_domain says so).
    // (A plain flag, not an optional: GCC 12 at -O2 warns that such an optional may be unset.)
    core::UserIndex subscriber = 0;
    bool subscriber_known = stored && peer;
    if (stored && !peer) {
      if (const auto found = engine_.find(stored->subscriber)) {
        subscriber = *found;
        subscriber_known = true;
      }
    }
    if (!package || !presentity || !subscriber_known || stored->expires_at <= wall ||
        subscriptions_.size() >= config_.max_subscriptions) {
      record.erase = true;
      gone.push_back(std::move(record));
      continue;
    }
    const SubscriptionId id = next_id_++;
    auto owned = std::make_unique<Subscription>(*this, id);
    Subscription& s = *owned;
    s.package = *package;
    s.presentity = *presentity;
    s.subscriber = subscriber;
    s.peer_domain = peer;
    NameAddr local = stored->local;
    const std::string local_tag(local.tag().value_or(""));
    std::erase_if(local.params, [](const Param& p) { return grammar::iequals(p.name, "tag"); });
    s.dialog = DialogText(stored->remote_target, stored->route_set, local, local_tag,
                          stored->remote, stored->call_id, stored->package, stored->event_id);
    s.remote_cseq = stored->remote_cseq;
    // Every NOTIFY so far had a CSeq (and a version) at or below the bound.
    s.local_cseq = stored->local_cseq_bound;
    s.local_cseq_bound = stored->local_cseq_bound;
    s.version = stored->local_cseq_bound;
    s.expires_at = now + (stored->expires_at - wall);
    s.created_at = now - (wall - stored->created_at);
    s.expires_wall = stored->expires_at;
    s.created_wall = stored->created_at;
    s.peer.transport = stored->transport;
    s.peer.address = stored->address;
    s.peer.port = stored->port;
    s.peer.connection = 0;  // a TCP connection of the earlier run is gone
    s.destination = destination(s);
    s.stored = true;
    if (find_dialog(s.dialog.call_id(), s.dialog.remote_tag(), s.dialog.local_tag(),
                    stored->event_id) != nullptr) {
      continue;
    }
    subscriptions_.emplace(id, std::move(owned));
    index(s);
    restored.push_back(&s);
  }
  // Watcher lists are whole once every subscription is back.
  for (Subscription* s : restored) {
    start(*s, now);
  }
  if (!gone.empty()) {
    durable_->save(std::move(gone), [](bool) {});
  }
}

void Subscriptions::resend(Subscription& s, TimePoint now) {
  if (s.package == EventPackage::WatcherInfo) {
    send_state(s, std::make_shared<const std::string>(current_content(s, now)), now);
    return;
  }
  // Queues the current state (RFC 6665 §4.2.1.2: a NOTIFY at once) and wakes us.
  engine_.subscribe(s.watcher, s.presentity);
  drain(now);
}

void Subscriptions::watchers_changed(core::UserIndex presentity, const Subscription* ended,
                                     WatcherEvent why, TimePoint now) {
  if (!winfo_subscriptions_.contains(presentity)) {
    return;
  }
  std::shared_ptr<const std::string> content;
  const auto [first, last] = by_presentity_.equal_range(presentity);
  for (auto it = first; it != last; ++it) {
    Subscription& s = *subscriptions_.at(it->second);
    if (s.package != EventPackage::WatcherInfo) {
      continue;
    }
    if (!content) {
      content = std::make_shared<const std::string>(watcher_list(presentity, ended, why, now));
    }
    send_state(s, content, now);
  }
}

// RFC 3858: the presence subscriptions to the presentity, active, and the one that just ended
// as terminated (full state: it is gone from the next document).
std::string Subscriptions::watcher_list(core::UserIndex presentity, const Subscription* ended,
                                        WatcherEvent why, TimePoint now) const {
  std::vector<Watcher> watchers;
  const auto entry = [now](const Subscription& s, WatcherStatus status, WatcherEvent event) {
    Watcher w;
    NameAddr remote = s.dialog.remote();
    w.id = std::string(s.dialog.local_tag());
    w.uri = serialize(remote.uri);
    w.display_name = std::move(remote.display_name);
    w.status = status;
    w.event = event;
    w.duration_subscribed = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now - s.created_at).count());
    return w;
  };
  const auto [first, last] = by_presentity_.equal_range(presentity);
  for (auto it = first; it != last; ++it) {
    const Subscription& s = *subscriptions_.at(it->second);
    if (s.package == EventPackage::Presence && &s != ended) {
      watchers.push_back(entry(s, WatcherStatus::Active, WatcherEvent::Subscribe));
    }
  }
  if (ended != nullptr) {
    watchers.push_back(entry(*ended, WatcherStatus::Terminated, why));
  }
  return write_watchers(watchers);
}

void Subscriptions::wake(SubscriptionId id) {
  const bool first = woken_.empty();
  woken_.push_back(id);
  if (first && on_wake_) {
    on_wake_();
  }
}

// A store callback queued NOTIFYs outside any call of the transport's: ask it to come.
void Subscriptions::outbox_ready() {
  if (!outbox_.empty() && on_wake_) {
    on_wake_();
  }
}

void Subscriptions::on_user_removed(core::UserIndex user) {
  std::vector<SubscriptionId> ending;
  for (const auto& [id, s] : subscriptions_) {
    if (s->presentity == user || (!s->peer_domain && s->subscriber == user)) {
      ending.push_back(id);
    }
  }
  for (const SubscriptionId id : ending) {
    const auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) {
      continue;
    }
    Subscription& s = *it->second;
    // No document: there is nobody left to describe.
    notify(s, "terminated", s.presentity == user ? "noresource" : "rejected", std::nullopt, {});
    erase(id, WatcherEvent::Rejected, last_now_);
  }
  if (!ending.empty()) {
    outbox_ready();
  }
}

void Subscriptions::drain(TimePoint now) {
  last_now_ = now;
  std::vector<SubscriptionId> woken = std::move(woken_);
  woken_.clear();
  for (const SubscriptionId id : woken) {
    const auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) {
      continue;  // ended since it was woken
    }
    Subscription& s = *it->second;
    std::vector<core::Delivery> deliveries = engine_.queue(s.watcher).take();
    if (deliveries.empty()) {
      continue;
    }
    // One user per watcher: the newest delivery is the state to show.
    send_state(s, std::move(deliveries.back().payload), now);
  }
}

void Subscriptions::send_state(Subscription& s, std::shared_ptr<const std::string> content,
                               TimePoint now) {
  if (s.in_flight) {
    s.pending = std::move(content);  // sent when the NOTIFY in flight is answered
    return;
  }
  s.in_flight = true;
  s.not_started = false;
  if (s.package == EventPackage::Presence) {
    notify(s, "active", {}, seconds_left(s.expires_at, now), *content);  // PIDF as encoded
    return;
  }
  notify(s, "active", {}, seconds_left(s.expires_at, now), body(s, *content));
}

// What the engine would encode for this subscriber now, for the NOTIFYs we write ourselves
// (fetch, termination).
std::string Subscriptions::current_content(const Subscription& s, TimePoint now) const {
  const std::string& user = engine_.id_of(s.presentity).value;
  if (s.package == EventPackage::WatcherInfo) {
    return watcher_list(s.presentity, nullptr, WatcherEvent::Subscribe, now);
  }
  if (s.package == EventPackage::Dialog) {
    return write_dialogs(Presentity{user, config_.domain},
                         engine_.layers(s.presentity).telephony.calls,
                         dialog_detail(level_of(s)));
  }
  const auto wall =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return write_pidf(Presentity{user, config_.domain},
                    s.peer_domain ? core::project(engine_.presence(s.presentity), level_of(s))
                           : engine_.presence_for(s.presentity, s.subscriber),
                    wall);
}

// The NOTIFY body: PIDF as encoded; dialog-info around the encoded dialogs, with the next
// version of this subscription (RFC 4235 §4.1.1: per subscription, from 0, one per NOTIFY).
std::string Subscriptions::body(Subscription& s, std::string_view content) {
  const Presentity presentity{engine_.id_of(s.presentity).value, config_.domain};
  if (s.package == EventPackage::Dialog) {
    return write_dialog_info_around(presentity, s.version++, content);
  }
  if (s.package == EventPackage::WatcherInfo) {
    return write_watcherinfo_around(presentity, "presence", s.version++, content);
  }
  return std::string(content);
}

void Subscriptions::on_response(SubscriptionId subscription, int status, TimePoint now) {
  last_now_ = now;
  const auto it = subscriptions_.find(subscription);
  if (it == subscriptions_.end() || status < 200) {
    return;
  }
  Subscription& s = *it->second;
  s.in_flight = false;
  if (status >= 300) {
    // RFC 6665 §4.2.2: 481 says the subscriber holds no such subscription; a timeout (408) or
    // another failure says it cannot be reached. Either way it ends, without a further NOTIFY.
    erase(subscription, WatcherEvent::Rejected, now);
    return;
  }
  if (s.pending) {
    send_state(s, std::exchange(s.pending, nullptr), now);
  }
}

void Subscriptions::on_not_started(SubscriptionId subscription, TimePoint now) {
  const auto it = subscriptions_.find(subscription);
  if (it == subscriptions_.end() || !it->second->in_flight) {
    return;
  }
  Subscription& s = *it->second;
  s.in_flight = false;
  // Never sent: the next NOTIFY takes its CSeq and document version again.
  --s.local_cseq;
  if (s.package != EventPackage::Presence) {
    --s.version;
  }
  if (!s.not_started) {
    s.not_started = true;
    not_started_.push_back(subscription);
  }
  if (!retry_at_) {
    retry_at_ = now + kRetryDelay;
  }
}

void Subscriptions::advance(TimePoint now) {
  last_now_ = now;
  if (retry_at_ && *retry_at_ <= now) {
    retry_at_.reset();
    for (const SubscriptionId id : std::exchange(not_started_, {})) {
      const auto it = subscriptions_.find(id);
      if (it == subscriptions_.end() || !it->second->not_started || it->second->in_flight) {
        continue;  // ended, or a newer state went out since
      }
      Subscription& s = *it->second;
      s.not_started = false;
      if (s.pending) {
        send_state(s, std::exchange(s.pending, nullptr), now);
      } else {
        resend(s, now);  // the current state
      }
    }
  }
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    const SubscriptionId id = expiries_.begin()->second;
    // RFC 6665 §4.2.2: expiry without refresh ends with terminated;reason=timeout.
    terminate(*subscriptions_.at(id), "timeout", now);
  }
}

std::optional<TimePoint> Subscriptions::next_deadline() const {
  std::optional<TimePoint> next = retry_at_;
  if (!expiries_.empty() && (!next || expiries_.begin()->first < *next)) {
    next = expiries_.begin()->first;
  }
  return next;
}

std::vector<OutgoingNotify> Subscriptions::take_outbox() {
  std::vector<OutgoingNotify> out = std::move(outbox_);
  outbox_.clear();
  return out;
}

void Subscriptions::terminate(Subscription& s, std::string_view reason, TimePoint now,
                              std::function<void(bool)> erased) {
  notify(s, "terminated", reason, std::nullopt, body(s, current_content(s, now)));
  erase(s.id, WatcherEvent::Timeout, now, std::move(erased));
}

void Subscriptions::erase(SubscriptionId id, WatcherEvent why, TimePoint now,
                          std::function<void(bool)> erased) {
  const auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) {
    return;
  }
  Subscription& s = *it->second;
  if (s.package != EventPackage::WatcherInfo) {
    engine_.remove_watcher(s.watcher);
  }
  const auto [same_hash, end] = by_dialog_.equal_range(dialog_hash_of(s));
  for (auto entry = same_hash; entry != end; ++entry) {
    if (entry->second == id) {
      by_dialog_.erase(entry);
      break;
    }
  }
  expiries_.erase({s.expires_at, s.id});
  const auto [first, last] = by_presentity_.equal_range(s.presentity);
  for (auto entry = first; entry != last; ++entry) {
    if (entry->second == id) {
      by_presentity_.erase(entry);
      break;
    }
  }
  if (s.package == EventPackage::WatcherInfo) {
    const auto count = winfo_subscriptions_.find(s.presentity);
    if (--count->second == 0) {
      winfo_subscriptions_.erase(count);
    }
  }
  if (s.package == EventPackage::Presence) {
    watchers_changed(s.presentity, &s, why, now);
  }
  if (s.stored) {
    // A record left behind by a failed write gets a NOTIFY after a restart, answered 481, and
    // goes then.
    StoredRecord record;
    record.kind = std::string(kSubscriptionKind);
    record.id = std::string(s.dialog.local_tag());
    record.erase = true;
    durable_->save({std::move(record)}, erased ? std::move(erased) : [](bool) {});
    erased = nullptr;
  }
  subscriptions_.erase(it);
  if (erased) {
    erased(true);
  }
}

// A NOTIFY within the dialog (RFC 3261 §12.2.1.1, RFC 6665 §4.2.2, RFC 3856 §6.7, RFC 4235 §3):
// loose routing only (RFC 3261 §16.12), the route set as it came, the target unchanged.
void Subscriptions::notify(Subscription& s, std::string_view state, std::string_view reason,
                           std::optional<std::uint32_t> expires, std::string_view body) {
  const std::string branch = make_branch();
  NotifyLine line;
  line.via = s.peer.transport == Transport::Udp ? via_udp_ : via_tcp_;
  line.branch = branch;
  line.cseq = ++s.local_cseq;
  line.contact = contact_line_;
  line.state = state;
  line.reason = reason;
  line.expires = expires;
  line.content_subtype = body_subtype(s.package);
  outbox_.push_back(
      OutgoingNotify{s.id, write_notify(s.dialog, line, body), s.destination, branch});
  if (s.stored && s.local_cseq + kCSeqReserve / 2 > s.local_cseq_bound) {
    // Half the reserve left: store the next bound, long before a NOTIFY needs it.
    s.local_cseq_bound += kCSeqReserve;
    persist(s, [](bool) {});
  }
}

// UDP: to the first route or the remote target when its host is numeric, else back to where the
// SUBSCRIBE came from; TCP: the connection it came on (the transport drops it once closed).
Peer Subscriptions::destination(const Subscription& s) const {
  if (s.peer.transport != Transport::Udp) {
    return s.peer;
  }
  const Uri next = s.dialog.next_hop();
  Peer peer = s.peer;
  if (const auto host = numeric_host(next.host)) {
    peer.address = *host;
    peer.port = next.port.value_or(5060);
  }
  return peer;
}

NameAddr Subscriptions::contact() const {
  NameAddr address;
  address.uri.scheme = "sip";
  address.uri.host =
      local_host_.find(':') != std::string::npos ? "[" + local_host_ + "]" : local_host_;
  address.uri.port = local_port_;
  return address;
}

}  // namespace presenced::sip
