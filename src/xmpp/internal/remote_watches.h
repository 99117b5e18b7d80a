#pragma once

// Watching remote XMPP users for presenced's users (docs/xmpp.md, "Watching remote users"):
// one RFC 6121 subscription from our domain's JID per remote bare JID, however many local users
// watch it, and what its resources send folded into the engine's remote presentity
// (Engine::set_remote, rule remote_presence). Private to src/xmpp.
// Thread-safety: none; used on the engine's thread.

#include "core/engine.h"
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
  RemoteWatches(std::string our_jid, core::Engine& engine, Emit emit);

  // Shows `jid`'s presence as the engine user `presentity` (a remote presentity).
  void watch(core::UserIndex presentity, const Jid& jid, core::TimePoint now);
  // Ends the subscription; the presentity goes back to unknown.
  void unwatch(core::UserIndex presentity, core::TimePoint now);
  // Ends the subscription of a presentity being removed from the engine.
  void forget(core::UserIndex presentity);
  // Presence sent to our domain's JID. False when it is not from a watched JID.
  bool on_presence(const Jid& from, std::string_view type, const Element& stanza,
                   core::TimePoint now);
  // The link is up: ask again (a subscription already approved is approved again at once) and
  // probe, since changes may have been missed.
  void on_ready();
  std::size_t size() const { return by_jid_.size(); }

 private:
  struct Watched {
    core::UserIndex presentity = 0;
    bool approved = false;
    std::map<std::string, core::XmppPresence> resources;  // available resources only
  };
  void show(const std::string& jid, Watched& watched, bool known, core::TimePoint now);
  void send(std::string_view to, std::string_view type);

  std::string our_jid_;
  core::Engine& engine_;
  Emit emit_;
  std::map<std::string, Watched> by_jid_;                 // bare JID -> watch
  std::map<core::UserIndex, std::string> by_presentity_;  // presentity -> bare JID
};

}  // namespace presenced::xmpp
