#include "xmpp/internal/remote_watches.h"

#include <fmt/format.h>

#include <utility>

namespace presenced::xmpp {
namespace {

// Most available first: the resource the user is most likely to answer on speaks for them.
int rank(const core::XmppPresence& presence) {
  switch (presence.show) {
    case core::XmppShow::Chat:
    case core::XmppShow::None: return 0;
    case core::XmppShow::Away: return 1;
    case core::XmppShow::Xa: return 2;
    case core::XmppShow::Dnd: return 3;
  }
  return 4;
}

core::XmppPresence read_presence(const Element& stanza) {
  core::XmppPresence presence;
  presence.available = true;
  if (const Element* show = stanza.child(kComponentNs, "show")) {
    const std::string_view text = show->text;
    presence.show = text == "chat"   ? core::XmppShow::Chat
                    : text == "away" ? core::XmppShow::Away
                    : text == "xa"   ? core::XmppShow::Xa
                    : text == "dnd"  ? core::XmppShow::Dnd
                                     : core::XmppShow::None;
  }
  if (const Element* status = stanza.child(kComponentNs, "status")) {
    presence.status = status->text;
  }
  return presence;
}

}  // namespace

RemoteWatches::RemoteWatches(std::string our_jid, core::Engine& engine, Emit emit)
    : our_jid_(std::move(our_jid)), engine_(engine), emit_(std::move(emit)) {}

void RemoteWatches::send(std::string_view to, std::string_view type) {
  std::string stanza = "<presence from='";
  append_escaped(stanza, our_jid_);
  stanza += "' to='";
  append_escaped(stanza, to);
  stanza += fmt::format("' type='{}'/>", type);
  emit_(std::move(stanza));
}

void RemoteWatches::watch(core::UserIndex presentity, const Jid& jid, core::TimePoint now) {
  const std::string bare = jid.bare();
  if (by_jid_.count(bare) != 0) {
    return;
  }
  unwatch(presentity, now);
  Watched& watched = by_jid_[bare];
  watched.presentity = presentity;
  by_presentity_[presentity] = bare;
  show(bare, watched, false, now);
  send(bare, "subscribe");
}

void RemoteWatches::unwatch(core::UserIndex presentity, core::TimePoint now) {
  auto it = by_presentity_.find(presentity);
  if (it == by_presentity_.end()) {
    return;
  }
  Watched& watched = by_jid_[it->second];
  watched.resources.clear();
  show(it->second, watched, false, now);
  forget(presentity);
}

void RemoteWatches::forget(core::UserIndex presentity) {
  auto it = by_presentity_.find(presentity);
  if (it == by_presentity_.end()) {
    return;
  }
  send(it->second, "unsubscribe");
  by_jid_.erase(it->second);
  by_presentity_.erase(it);
}

bool RemoteWatches::on_presence(const Jid& from, std::string_view type, const Element& stanza,
                                core::TimePoint now) {
  const std::string bare = from.bare();
  auto it = by_jid_.find(bare);
  if (it == by_jid_.end()) {
    return false;
  }
  Watched& watched = it->second;
  if (type.empty()) {
    watched.resources[from.resource] = read_presence(stanza);
    show(bare, watched, true, now);
  } else if (type == "unavailable") {
    watched.resources.erase(from.resource);
    show(bare, watched, true, now);
  } else if (type == "subscribed") {
    watched.approved = true;
  } else if (type == "unsubscribed") {
    // Refused or revoked (RFC 6121 §3.2): nothing more will come, so nothing is known.
    watched.approved = false;
    watched.resources.clear();
    show(bare, watched, false, now);
  } else if (type == "subscribe") {
    // The remote user asks for our domain's presence: we have none to give.
    send(bare, "unsubscribed");
  }
  return true;
}

void RemoteWatches::show(const std::string& jid, Watched& watched, bool known,
                         core::TimePoint now) {
  core::RemotePresence remote;
  remote.address = "xmpp:" + jid;
  remote.known = known;
  remote.updated_at = now;
  const core::XmppPresence* best = nullptr;
  for (const auto& [resource, presence] : watched.resources) {
    if (best == nullptr || rank(presence) < rank(*best)) {
      best = &presence;
    }
  }
  const core::XmppPresence offline;
  const core::GraphPresence pair = core::from_xmpp(best != nullptr ? *best : offline);
  remote.availability = pair.availability;
  remote.activity = pair.activity;
  remote.note = best != nullptr ? best->status : std::string();
  if (engine_.exists(watched.presentity)) {
    engine_.set_remote(watched.presentity, std::move(remote), now);
  }
}

void RemoteWatches::on_ready() {
  for (const auto& [jid, watched] : by_jid_) {
    send(jid, "subscribe");
    send(jid, "probe");
  }
}

}  // namespace presenced::xmpp
