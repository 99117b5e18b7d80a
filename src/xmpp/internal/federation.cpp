#include "xmpp/internal/federation.h"

#include "core/mappings.h"
#include "core/visibility.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace presenced::xmpp {
namespace {

class PayloadEncoder final : public core::PresenceEncoder {
 public:
  std::string encode(const core::UserId&, const core::Presence& projected, std::uint64_t,
                     core::VisibilityLevel level) const override {
    return presence_payload(projected, level);
  }
};

std::string record_id(const core::UserId& user, const std::string& jid) {
  return user.value + " " + jid;
}

}  // namespace

std::string presence_payload(const core::Presence& projected, core::VisibilityLevel level) {
  const core::XmppPresence xmpp = core::to_xmpp(projected);
  const bool with_status = level >= core::VisibilityLevel::Team && !xmpp.status.empty();
  if (!xmpp.available) {
    return " type='unavailable'/>";
  }
  std::string out = ">";
  if (xmpp.show != core::XmppShow::None) {
    out += fmt::format("<show>{}</show>", core::to_string(xmpp.show));
  }
  if (with_status) {
    out += "<status>";
    append_escaped(out, xmpp.status);
    out += "</status>";
  }
  out += "</presence>";
  return out;
}

// A stanza's routing attributes, checked once.
struct Federation::Incoming {
  std::string kind;  // presence, message, iq
  std::string type;
  std::string id;
  std::string from_text;
  std::string to_text;
  Jid from;
  Jid to;
  const Element* element = nullptr;
};

// One remote domain: its level, its engine peer watcher and who of it watches whom.
struct Federation::Domain {
  std::string name;
  core::VisibilityLevel level = core::VisibilityLevel::Blocked;
  core::WatcherId watcher = 0;
  std::unique_ptr<DomainSink> sink;
  std::map<core::UserIndex, std::set<std::string>> subscribers;  // local user -> bare JIDs
  double tokens = 0;
  core::TimePoint refilled{};
};

class Federation::DomainSink final : public core::WatcherSink {
 public:
  DomainSink(Federation& federation, Domain& domain) : federation_(federation), domain_(domain) {}
  void wake() override { federation_.drain(domain_); }

 private:
  Federation& federation_;
  Domain& domain_;
};

Federation::Federation(XmppConfig config, Directory& directory, Send send)
    : config_(std::move(config)),
      directory_(directory),
      send_(std::move(send)),
      engine_(directory.engine()),
      format_(engine_.add_format(std::make_unique<PayloadEncoder>())),
      remote_(
          config_.domain, [this](std::string bytes) { emit(std::move(bytes)); },
          [&directory](core::RemotePresence presence) {
            directory.set_remote_presence(std::move(presence));
          }) {
  engine_.add_listener(this);
}

Federation::~Federation() {
  *alive_ = false;
  engine_.remove_listener(this);
  for (auto& [name, domain] : domains_) {
    engine_.remove_watcher(domain->watcher);
  }
}

std::optional<core::UserIndex> Federation::local_user(const Jid& jid) const {
  if (jid.local.empty()) {
    return std::nullopt;
  }
  return engine_.find(jid.local);
}

// "xmpp:user@domain" of another domain; the resource, if any, is dropped.
std::optional<Jid> Federation::remote_jid(std::string_view address) const {
  if (!address.starts_with("xmpp:")) {
    return std::nullopt;
  }
  auto jid = parse_jid(address.substr(5));
  if (!jid || jid->local.empty() || jid->domain == config_.domain) {
    return std::nullopt;
  }
  return jid;
}

std::optional<core::Error> Federation::refuse_remote(std::string_view address) const {
  const auto jid = remote_jid(address);
  if (!jid) {
    return core::Error::invalid_argument(
        fmt::format("address: \"{}\" is not xmpp:user@domain of another domain", address));
  }
  if (level_of(jid->domain) == core::VisibilityLevel::Blocked) {
    return core::Error::failed_precondition(
        fmt::format("address: domain {} is blocked for XMPP federation", jid->domain));
  }
  return std::nullopt;
}

void Federation::watch_remote(std::string_view address) {
  if (const auto jid = remote_jid(address)) {
    remote_.watch(*jid);
  }
}

void Federation::unwatch_remote(std::string_view address) {
  if (const auto jid = remote_jid(address)) {
    remote_.unwatch(*jid);
  }
}

core::VisibilityLevel Federation::level_of(std::string_view domain) const {
  auto it = config_.domain_levels.find(std::string(domain));
  return it == config_.domain_levels.end() ? config_.default_level : it->second;
}

Federation::Domain& Federation::domain(const std::string& name, core::VisibilityLevel level) {
  auto& slot = domains_[name];
  if (!slot) {
    slot = std::make_unique<Domain>();
    slot->name = name;
    slot->level = level;
    slot->tokens = static_cast<double>(config_.subscribe_burst);
    slot->sink = std::make_unique<DomainSink>(*this, *slot);
    slot->watcher = engine_.add_peer_watcher(level, format_, slot->sink.get());
  }
  return *slot;
}

void Federation::restore() {
  std::vector<StoredRecord> dropped;
  for (StoredRecord& record : directory_.stored(kSubscriptionKind)) {
    const auto user = engine_.find(record.owner);
    const auto jid = parse_jid(record.body);
    const core::VisibilityLevel level =
        jid ? level_of(jid->domain) : core::VisibilityLevel::Blocked;
    if (!user || !jid || jid->local.empty() || level == core::VisibilityLevel::Blocked) {
      record.erase = true;
      dropped.push_back(std::move(record));
      continue;
    }
    add_subscriber(domain(jid->domain, level), *user, jid->bare());
  }
  if (!dropped.empty()) {
    directory_.save(std::move(dropped), [](bool) {});
  }
}

void Federation::on_ready() {
  ready_ = true;
  remote_.on_ready();
  for (auto& [name, domain] : domains_) {
    for (const auto& [user, jids] : domain->subscribers) {
      for (const std::string& jid : jids) {
        send_presence(*domain, user, jid);
      }
    }
  }
}

void Federation::emit(std::string bytes) {
  if (ready_) {
    send_(std::move(bytes));
  }
}

void Federation::drain(Domain& domain) {
  for (core::Delivery& delivery : engine_.queue(domain.watcher).take()) {
    auto it = domain.subscribers.find(delivery.user);
    if (it == domain.subscribers.end() || !engine_.exists(delivery.user)) {
      continue;
    }
    const std::string from = engine_.id_of(delivery.user).value + "@" + config_.domain;
    for (const std::string& jid : it->second) {
      std::string stanza = presence_head(from, jid);
      stanza += *delivery.payload;
      ++presence_out_;
      emit(std::move(stanza));
    }
  }
}

void Federation::send_presence(const Domain& domain, core::UserIndex user, const std::string& jid) {
  std::string stanza = presence_head(engine_.id_of(user).value + "@" + config_.domain, jid);
  stanza += presence_payload(core::project(engine_.presence(user), domain.level), domain.level);
  ++presence_out_;
  emit(std::move(stanza));
}

void Federation::send_type(std::string_view from, std::string_view to, std::string_view type) {
  emit(typed_presence(from, to, type));
}

void Federation::send_error(const Incoming& in, std::string_view type, std::string_view condition) {
  ++errors_out_[std::string(condition)];
  std::string stanza = fmt::format("<{} type='error' from='", in.kind);
  append_escaped(stanza, in.to_text);
  stanza += "' to='";
  append_escaped(stanza, in.from_text);
  stanza += "'";
  if (!in.id.empty()) {
    stanza += " id='";
    append_escaped(stanza, in.id);
    stanza += "'";
  }
  stanza += fmt::format("><error type='{}'><{} xmlns='{}'/></error></{}>", type, condition,
                        kStanzaErrorNs, in.kind);
  emit(std::move(stanza));
}

void Federation::on_stanza(const StreamEvent& event, core::TimePoint now) {
  const Element& element = event.element;
  Incoming in;
  in.element = &element;
  in.kind = element.name;
  in.type = element.attribute_or_empty("type");
  in.id = element.attribute_or_empty("id");
  in.from_text = element.attribute_or_empty("from");
  in.to_text = element.attribute_or_empty("to");
  const bool known_kind = element.ns == kComponentNs &&
                          (in.kind == "presence" || in.kind == "message" || in.kind == "iq");
  ++stanzas_in_[known_kind ? in.kind : std::string("other")];
  auto from = parse_jid(in.from_text);
  auto to = parse_jid(in.to_text);
  // Errors are never answered with errors (RFC 6120 §8.3.1); without a sender nobody can be.
  if (!known_kind || !from || in.type == "error") {
    return;
  }
  in.from = std::move(*from);
  if (event.oversized) {
    ++oversized_;
    send_error(in, "modify", "policy-violation");
    return;
  }
  if (!to || to->domain != config_.domain) {
    send_error(in, "cancel", "item-not-found");
    return;
  }
  in.to = std::move(*to);
  if (in.kind == "presence") {
    on_presence(in, now);
    return;
  }
  if (in.kind == "iq" && (in.type == "result")) {
    return;
  }
  // RFC 6121 §8.5.2: no such user -> item-not-found (not revealed to blocked domains: the same
  // answer either way); a user's messages and queries are not ours to serve.
  const bool exists = !in.to.local.empty() && engine_.find(in.to.local).has_value();
  send_error(in, "cancel",
             exists || in.to.local.empty() ? "service-unavailable" : "item-not-found");
}

void Federation::on_presence(const Incoming& in, core::TimePoint now) {
  // Presence for our domain's own JID comes from remote users we watch.
  if (in.to.local.empty() && remote_.on_presence(in.from, in.type, *in.element)) {
    return;
  }
  if (in.type == "subscribe") {
    on_subscribe(in, now);
  } else if (in.type == "unsubscribe") {
    on_unsubscribe(in);
  } else if (in.type == "probe") {
    on_probe(in);
  }
  // Available and unavailable presence, subscribed and unsubscribed for a user: presenced
  // subscribes to remote users from the domain's JID only (RemoteWatches).
}

bool Federation::take_token(Domain& domain, core::TimePoint now) {
  const auto elapsed = now - domain.refilled;
  domain.refilled = now;
  if (elapsed.count() > 0 && config_.subscribe_refill.count() > 0) {
    domain.tokens =
        std::min(static_cast<double>(config_.subscribe_burst),
                 domain.tokens + static_cast<double>(elapsed.count()) /
                                     static_cast<double>(config_.subscribe_refill.count()));
  }
  if (domain.tokens < 1) {
    return false;
  }
  domain.tokens -= 1;
  return true;
}

void Federation::on_subscribe(const Incoming& in, core::TimePoint now) {
  const core::VisibilityLevel level = level_of(in.from.domain);
  const std::optional<core::UserIndex> user = local_user(in.to);
  const std::string contact = in.to.bare();
  const std::string jid = in.from.bare();
  // RFC 6121 §3.1.3: no such contact, or not authorised -> unsubscribed. A blocked domain gets
  // no more than that, so it cannot tell who exists.
  if (level == core::VisibilityLevel::Blocked || !user || in.from.local.empty()) {
    send_type(contact, jid, "unsubscribed");
    return;
  }
  Domain& remote = domain(in.from.domain, level);
  if (!take_token(remote, now)) {
    ++subscribe_limited_;
    send_error(in, "wait", "resource-constraint");
    return;
  }
  if (subscribed(&remote, *user, jid)) {
    // Already approved: approve again at once (RFC 6121 §3.1.3 step 2).
    send_type(contact, jid, "subscribed");
    send_presence(remote, *user, jid);
    return;
  }
  if (subscriptions_ >= config_.max_subscriptions) {
    send_error(in, "wait", "resource-constraint");
    return;
  }
  // Approved by the domain's authorisation (docs/xmpp.md); answered once the store holds it.
  const core::UserId owner = engine_.id_of(*user);
  std::vector<StoredRecord> records{
      {std::string(kSubscriptionKind), record_id(owner, jid), owner.value, jid, false}};
  std::weak_ptr<bool> alive = alive_;
  directory_.save(std::move(records), [this, alive, owner, jid, contact, in](bool durable) {
    if (alive.expired()) {
      return;
    }
    const auto found = engine_.find(owner.value);
    const core::VisibilityLevel now_level = level_of(in.from.domain);
    if (!durable || !found || now_level == core::VisibilityLevel::Blocked) {
      send_error(in, "wait", "internal-server-error");
      return;
    }
    Domain& target = domain(in.from.domain, now_level);
    send_type(contact, jid, "subscribed");
    if (!subscribed(&target, *found, jid)) {
      add_subscriber(target, *found, jid);
    } else {
      send_presence(target, *found, jid);
    }
  });
}

bool Federation::subscribed(const Domain* domain, core::UserIndex user,
                            const std::string& jid) const {
  if (domain == nullptr) {
    return false;
  }
  auto it = domain->subscribers.find(user);
  return it != domain->subscribers.end() && it->second.count(jid) != 0;
}

void Federation::add_subscriber(Domain& domain, core::UserIndex user, const std::string& jid) {
  auto& jids = domain.subscribers[user];
  const bool first = jids.empty();
  if (!jids.insert(jid).second) {
    return;
  }
  ++subscriptions_;
  if (first) {
    // The engine queues the current state, which drain() sends to this JID.
    engine_.subscribe(domain.watcher, user);
  } else {
    send_presence(domain, user, jid);
  }
}

void Federation::remove_subscriber(Domain& domain, core::UserIndex user, const std::string& jid) {
  auto it = domain.subscribers.find(user);
  if (it == domain.subscribers.end() || it->second.erase(jid) == 0) {
    return;
  }
  --subscriptions_;
  if (it->second.empty()) {
    domain.subscribers.erase(it);
    engine_.unsubscribe(domain.watcher, user);
  }
}

void Federation::on_unsubscribe(const Incoming& in) {
  const std::optional<core::UserIndex> user = local_user(in.to);
  auto it = domains_.find(in.from.domain);
  const std::string jid = in.from.bare();
  if (!user || it == domains_.end() || !subscribed(it->second.get(), *user, jid)) {
    return;
  }
  Domain& remote = *it->second;
  remove_subscriber(remote, *user, jid);
  const core::UserId owner = engine_.id_of(*user);
  // RFC 6121 §3.3.3: the former subscriber gets our unavailable presence.
  send_type(in.to.bare(), jid, "unavailable");
  directory_.save({{std::string(kSubscriptionKind), record_id(owner, jid), owner.value, jid, true}},
                  [](bool) {});
}

void Federation::on_probe(const Incoming& in) {
  const std::optional<core::UserIndex> user = local_user(in.to);
  auto it = domains_.find(in.from.domain);
  const std::string jid = in.from.bare();
  const bool allowed = level_of(in.from.domain) != core::VisibilityLevel::Blocked;
  if (user && allowed && it != domains_.end() && subscribed(it->second.get(), *user, jid)) {
    send_presence(*it->second, *user, jid);
    return;
  }
  // RFC 6121 §4.3.2: no subscription (or no such user) -> unsubscribed, revealing nothing.
  send_type(in.to.bare(), jid, "unsubscribed");
}

void Federation::on_remove(core::UserIndex user) {
  const std::string contact = engine_.id_of(user).value + "@" + config_.domain;
  for (auto& [name, domain] : domains_) {
    auto it = domain->subscribers.find(user);
    if (it == domain->subscribers.end()) {
      continue;
    }
    for (const std::string& jid : it->second) {
      send_type(contact, jid, "unavailable");
      send_type(contact, jid, "unsubscribed");
      --subscriptions_;
    }
    // The engine drops its own subscriptions of a removed user; the store its records.
    domain->subscribers.erase(it);
  }
}

void Federation::fill(ComponentStats& stats) const {
  stats.stanzas_in.assign(stanzas_in_.begin(), stanzas_in_.end());
  stats.errors_out.assign(errors_out_.begin(), errors_out_.end());
  stats.presence_out = presence_out_;
  stats.subscribe_limited = subscribe_limited_;
  stats.oversized = oversized_;
  stats.subscriptions = subscriptions_;
}

}  // namespace presenced::xmpp
