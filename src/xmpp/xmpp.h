#pragma once

// XMPP federation of presenced (docs/xmpp.md): presenced is an XEP-0114 external component of
// an XMPP server (Prosody, ejabberd) that owns our presence domain; the server does
// server-to-server, TLS and dialback. Asio stays inside src/xmpp/connection.cpp: this header
// only forward-declares the io_context.
//
// Thread-safety: a Component and the Directory it reads are used only on the io_context's
// thread.

#include "core/engine.h"
#include "core/model.h"
#include "core/result.h"
#include "xmpp/internal/stream.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace presenced::xmpp {

// State that must survive a restart (subscriptions of record), kept in the server's store as a
// document of kind "xmpp.subscription".
struct StoredRecord {
  std::string kind;
  std::string id;
  std::string owner;  // the local user: deleting that user deletes it
  std::string body;
  bool erase = false;
};

// What the XMPP side needs of presenced, without depending on the API; implemented in src/app.
class Directory {
 public:
  virtual ~Directory() = default;
  virtual core::Engine& engine() = 0;
  virtual std::vector<StoredRecord> stored(std::string_view kind) const = 0;
  // Writes or erases records durably, all or none; `done` runs later on the same thread.
  virtual void save(std::vector<StoredRecord> records, std::function<void(bool durable)> done) = 0;
  // What a watched remote user's server said (address "xmpp:user@domain").
  virtual void set_remote_presence(core::RemotePresence presence) = 0;
};

struct XmppConfig {
  std::string host = "127.0.0.1";  // the XMPP server's component port
  std::uint16_t port = 5347;
  std::string domain;  // our presence domain: the component's name, users are user@domain
  std::string secret;  // the component's shared secret
  // Visibility level per remote domain (lower case); Blocked domains get nothing.
  std::map<std::string, core::VisibilityLevel> domain_levels;
  core::VisibilityLevel default_level = core::VisibilityLevel::Blocked;
  StreamLimits limits;
  // Subscription requests per remote domain: a bucket of `subscribe_burst` refilled by one
  // every `subscribe_refill`; past it they get resource-constraint.
  std::size_t subscribe_burst = 50;
  std::chrono::milliseconds subscribe_refill{200};
  std::size_t max_subscriptions = 100'000;  // remote (user, JID) pairs in all
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{30'000};
  std::size_t max_queued_bytes = 4 << 20;  // unwritten output; more closes the link
};

struct ComponentStats {
  bool connected = false;  // handshake accepted
  std::uint64_t connects = 0;
  std::uint64_t stream_failures = 0;  // streams that ended with an error, ours or theirs
  std::vector<std::pair<std::string, std::uint64_t>> stanzas_in;  // by kind
  std::uint64_t presence_out = 0;                                 // presence stanzas sent
  std::vector<std::pair<std::string, std::uint64_t>> errors_out;  // stanza errors, by condition
  std::uint64_t subscribe_limited = 0;
  std::uint64_t oversized = 0;
  std::size_t subscriptions = 0;  // remote (user, JID) pairs
};

class Component {
 public:
  static std::unique_ptr<Component> create(boost::asio::io_context& io_context, XmppConfig config,
                                           Directory& directory);
  virtual ~Component() = default;
  // Restores stored subscriptions and starts connecting (and reconnecting) to the server.
  virtual void start() = 0;
  virtual void stop() = 0;
  virtual ComponentStats stats() const = 0;
  // Remote contacts "xmpp:user@domain" (docs/xmpp.md, "Watching remote users"): why one cannot
  // be watched (not a JID of another domain, or a blocked domain), or nullopt; watch, unwatch.
  virtual std::optional<core::Error> refuse(std::string_view address) const = 0;
  virtual void watch(std::string_view address) = 0;
  virtual void unwatch(std::string_view address) = 0;
};

}  // namespace presenced::xmpp
