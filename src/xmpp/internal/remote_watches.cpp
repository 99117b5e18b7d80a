#include "xmpp/internal/remote_watches.h"

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

RemoteWatches::RemoteWatches(std::string our_jid, Emit emit, Report report)
    : our_jid_(std::move(our_jid)), emit_(std::move(emit)), report_(std::move(report)) {}

void RemoteWatches::send(std::string_view to, std::string_view type) {
  emit_(typed_presence(our_jid_, to, type));
}

void RemoteWatches::watch(const Jid& jid) {
  const std::string bare = jid.bare();
  if (by_jid_.try_emplace(bare).second) {
    send(bare, "subscribe");
  }
}

void RemoteWatches::unwatch(const Jid& jid) {
  if (by_jid_.erase(jid.bare()) != 0) {
    send(jid.bare(), "unsubscribe");
  }
}

bool RemoteWatches::on_presence(const Jid& from, std::string_view type, const Element& stanza) {
  const std::string bare = from.bare();
  auto it = by_jid_.find(bare);
  if (it == by_jid_.end()) {
    return false;
  }
  Watched& watched = it->second;
  if (type.empty()) {
    watched.resources[from.resource] = read_presence(stanza);
    show(bare, watched, true);
  } else if (type == "unavailable") {
    watched.resources.erase(from.resource);
    show(bare, watched, true);
  } else if (type == "unsubscribed") {
    // Refused or revoked (RFC 6121 §3.2): nothing more will come, so nothing is known.
    watched.resources.clear();
    show(bare, watched, false);
  } else if (type == "subscribe") {
    // The remote user asks for our domain's presence: we have none to give.
    send(bare, "unsubscribed");
  }
  // subscribed: the presence that follows says more.
  return true;
}

void RemoteWatches::show(const std::string& jid, const Watched& watched, bool known) {
  core::RemotePresence remote;
  remote.address = "xmpp:" + jid;
  remote.known = known;
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
  report_(std::move(remote));
}

void RemoteWatches::on_ready() {
  for (const auto& [jid, watched] : by_jid_) {
    send(jid, "subscribe");
    send(jid, "probe");
  }
}

}  // namespace presenced::xmpp
