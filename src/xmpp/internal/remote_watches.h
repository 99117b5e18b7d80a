#pragma once

// Watching remote XMPP users for presenced's users (docs/xmpp.md, "Watching remote users"):
// one RFC 6121 subscription from our domain's JID per remote bare JID, however many local users
// watch it, and what its resources send folded into one core::RemotePresence for the API's
// remote presentity (rule remote_presence). Private to src/xmpp.
// Thread-safety: none; used on the engine's thread.

#include "core/mappings.h"
#include "xmpp/internal/stanza.h"

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace presenced::xmpp {

class RemoteWatches {
 public:
  using Emit = std::function<void(std::string bytes)>;
  using Report = std::function<void(core::RemotePresence presence)>;
  RemoteWatches(std::string our_jid, Emit emit, Report report);

  // Subscribes to the bare JID; its presence is reported as address "xmpp:<bare JID>".
  void watch(const Jid& jid);
  // Ends the subscription.
  void unwatch(const Jid& jid);
  // Presence sent to our domain's JID. False when it is not from a watched JID.
  bool on_presence(const Jid& from, std::string_view type, const Element& stanza);
  // The link is up: ask again (a subscription already approved is approved again at once) and
  // probe, since changes may have been missed.
  void on_ready();
  std::size_t size() const { return by_jid_.size(); }

 private:
  struct Watched {
    std::map<std::string, core::XmppPresence> resources;  // available resources only
  };
  void show(const std::string& jid, const Watched& watched, bool known);
  void send(std::string_view to, std::string_view type);

  std::string our_jid_;
  Emit emit_;
  Report report_;
  std::map<std::string, Watched> by_jid_;  // bare JID -> what its resources said
};

}  // namespace presenced::xmpp
