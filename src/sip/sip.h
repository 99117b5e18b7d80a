#pragma once

// The SIP side of presenced: UDP and TCP listeners on the server's event loop, the non-INVITE
// transaction layer and the answers of the presence server (docs/sip.md, "The listener").
// Asio stays inside src/sip/transport.cpp: this header only forward-declares the io_context.
//
// Thread-safety: a Listener and the Directory it reads are used only on the io_context's thread.

#include "core/engine.h"
#include "core/result.h"
#include "sip/internal/message.h"
#include "sip/internal/transactions.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace presenced::sip {

// SIP state that must survive a restart (subscriptions, publications), kept whole in the
// server's store as a document of a kind ("sip.subscription", "sip.publication", ...).
struct StoredRecord {
  std::string kind;
  std::string id;     // unique within the kind
  std::string owner;  // the user it belongs to: deleting that user deletes it; may be empty
  std::string body;   // the adapter's own encoding; ignored when erasing
  bool erase = false;
};

// Whom a digest username names (docs/sip.md, "Authentication"): a user by id with the user's
// secret, or a device ("user-device") with its own; the request then acts as `user_id`.
struct Credentials {
  std::string user_id;
  std::string device;    // empty: the user's own secret
  std::string password;  // the digest secret; empty: none, so the request is refused
};

// What the SIP side needs to know about presenced's users, without depending on the API.
// Implemented in src/app over the API's user records and the API's engine.
class Directory {
 public:
  virtual ~Directory() = default;
  // The credentials a digest username names; nullopt when it names no user or device.
  virtual std::optional<Credentials> credentials(std::string_view username) const = 0;
  // The presence engine (core) that the API owns: SIP subscriptions are its watchers, like the
  // WebSocket's. It lives on the same io_context thread as the listener.
  virtual core::Engine& engine() = 0;
  // The records of `kind` that were stored when the server started.
  virtual std::vector<StoredRecord> stored(std::string_view kind) const = 0;
  // Writes (or erases) records durably, all or none. `done` runs later on the same thread with
  // true once they are durable, false if the store failed: answer a request only then.
  virtual void save(std::vector<StoredRecord> records, std::function<void(bool durable)> done) = 0;
};

// A federated SIP presence server (docs/sip.md, "Federation"): the domain its users live in,
// where it listens (our next hop for them, and the only source trusted to speak for them), and
// the visibility level at which its users see ours.
struct SipPeerConfig {
  std::string domain;
  Peer address;  // a numeric host
  core::VisibilityLevel level = core::VisibilityLevel::Public;
};

struct SipConfig {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5060;  // UDP and TCP; 0 picks a free port, the same for both
  std::string domain = "localhost";  // the digest realm
  Limits limits;
  TransactionConfig transactions;
  std::chrono::seconds nonce_lifetime{300};
  // An ECMAScript regular expression of User-Agent values whose 401s offer MD5 only (clients
  // that give up on a SHA-256 challenge); empty: SHA-256 and MD5 for everyone.
  std::string md5_only_user_agents;
  std::size_t max_connections = 10'000;       // TCP; more are closed at once
  std::chrono::seconds idle_timeout{600};     // a TCP connection silent this long is closed
  std::size_t max_queued_bytes = 1 << 20;     // per TCP connection; a slower peer is closed
  // SUBSCRIBE Expires (RFC 6665 §4.2.1.1): a request below the minimum gets 423 with
  // Min-Expires, above the maximum is cut down; without Expires the package default applies
  // (RFC 3856 §6.4: 3600 s).
  std::chrono::seconds min_expires{60};
  std::chrono::seconds max_expires{3600};
  std::chrono::seconds default_expires{3600};
  std::size_t max_subscriptions = 100'000;  // more new ones are answered 503
  std::vector<SipPeerConfig> peers;         // federation; none: no remote watches
};

// What a listener has done since it started and holds now, for the server's metrics.
struct ListenerStats {
  std::vector<std::pair<std::string, std::uint64_t>> requests;     // received, by method
  std::vector<std::pair<std::string, std::size_t>> subscriptions;  // live, by event package
  std::vector<std::pair<std::string, std::uint64_t>> notifies;     // our NOTIFYs, by outcome
  std::uint64_t auth_failures = 0;  // requests refused for wrong credentials (403)
  // Requests answered 503 + Retry-After because the server was at a bound of its own.
  std::uint64_t overload_refusals = 0;
  std::size_t server_transactions = 0;  // live: waiting for the answer
  std::size_t client_transactions = 0;  // live: waiting for a final response
  std::size_t tcp_connections = 0;
};

class Listener {
 public:
  // The io_context must outlive the listener; the directory too.
  static std::unique_ptr<Listener> create(boost::asio::io_context& io_context, SipConfig config,
                                          Directory& directory);
  virtual ~Listener() = default;

  // Binds UDP and TCP on the same port; returns "host:port" as bound.
  [[nodiscard]] virtual core::Result<std::string> listen() = 0;
  // Starts reading; the work runs when the io_context runs.
  virtual void start() = 0;
  // Closes the sockets; call on the io_context's thread or after it has stopped.
  virtual void stop() = 0;
  // On the io_context's thread.
  virtual ListenerStats stats() const = 0;

  // Federation, on the io_context's thread (docs/sip.md, "Federation"). Why `uri`
  // (sip:user@domain) cannot be watched, e.g. no peer serves its domain; nullopt when it can.
  virtual std::optional<core::Error> refuse_remote(std::string_view uri) const = 0;
  // One SUBSCRIBE dialog per remote presentity, however many watches: the last unwatch ends it.
  virtual void watch_remote(const std::string& uri) = 0;
  virtual void unwatch_remote(const std::string& uri) = 0;
  // Where what remote presentities show goes (known = false while unreachable).
  virtual void set_remote_sink(std::function<void(core::RemotePresence)> sink) = 0;
};

}  // namespace presenced::sip
