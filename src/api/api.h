#pragma once

// The client API: HTTP/1.1 + WebSocket (Boost.Beast), JSON (Boost.JSON), bearer-token auth,
// the OpenAPI document and Prometheus metrics. Asio and Beast stay inside src/api/*.cpp.
//
// Thread-safety: a Server runs its I/O and the engine on the thread that calls run(); stop() may
// be called from any thread.

#include "api/internal/codec.h"
#include "core/engine.h"
#include "core/result.h"
#include "store/store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace presenced::api {

struct ApiConfig {
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  std::size_t body_limit = 1024 * 1024;  // 413 above it
  std::chrono::seconds token_ttl = std::chrono::hours(24 * 7);
  std::string web_root;         // static files of the web client; empty: none
  std::string domain = "localhost";
  std::size_t ws_message_limit = 64 * 1024;
  // SO_SNDBUF of a WebSocket (0: the kernel's autotuning). Small, so that a slow watcher's
  // backlog waits in its engine queue, where only the newest state per user is kept, rather
  // than as stale frames in the kernel.
  std::size_t ws_send_buffer = 256 * 1024;
  std::size_t max_subscriptions_per_connection = 100000;
  Limits limits;
  core::EngineConfig engine;
};

// Whom a SIP digest username names and the secret to check it with (docs/sip.md,
// "Authentication").
struct SipCredentials {
  std::string user_id;   // the user the request acts as
  std::string device;    // the device whose secret it is; empty: the user's own
  std::string password;  // empty: none, so SIP is refused
};

// Called with a user and their source (nullopt: removed).
using CalendarSourceListener =
    std::function<void(const std::string& user, std::optional<CalendarSource> source)>;

// What one calendar sync of a user gave.
struct CalendarReport {
  std::string user;
  std::optional<core::CalendarLayer> layer;  // set when the user's layer changes
  bool ok = true;
  std::string error;  // shown to admins with the source
  core::TimePoint at{};
};

// Federation (docs/api.md, "Remote contacts"): the adapter that watches presentities on other
// servers for one address scheme ("sip", "xmpp"), because local users added them as remote
// contacts. Called on the server's thread only; the adapter reports what it learns through
// Server::set_remote_presence on that thread.
class RemoteWatcher {
 public:
  virtual ~RemoteWatcher() = default;
  // Why `address` (scheme:user@domain) cannot be watched, e.g. no peer serves its domain;
  // nullopt when it can.
  virtual std::optional<core::Error> refuse(std::string_view address) const = 0;
  // The first local user added `address`: start watching it.
  virtual void watch(const std::string& address) = 0;
  // The last local user removed it: stop.
  virtual void unwatch(const std::string& address) = 0;
};

// Appends Prometheus text (HELP, TYPE and samples) to GET /metrics.
using MetricsSource = std::function<void(std::string& out)>;

// An unauthenticated POST route another adapter serves (a webhook such as Graph's change
// notifications, which carry their own secret). It runs on the server's thread and answers at
// once.
struct HookAnswer {
  int status = 202;
  std::string content_type = "text/plain";
  std::string body;
};
using Hook = std::function<HookAnswer(std::string_view target, std::string_view body)>;

// Told of every document of one kind the API keeps for an adapter: first those loaded, then
// each one put (removed = false) or deleted (removed = true) once durable. Server's thread.
using DocumentWatch = std::function<void(const store::DocumentRecord& document, bool removed)>;

// Cluster mode (docs/cluster.md): the server's side of a node. Called on the server's thread.
struct LayerChange {
  std::string user;
  core::Layer layer = core::Layer::None;
};
class ClusterLink {
 public:
  virtual ~ClusterLink() = default;
  // Which users' shared layers (Manual, Telephony, Calendar) a committed change set, once the
  // server applied it, and whose sessions changed (Sessions); a change is answered when `done`
  // runs (false: 503, the cluster did not take it). `directory` holds the change's mutations
  // of users, tokens, visibility and states, which the other nodes apply through
  // Server::apply_directory.
  virtual void publish(std::vector<LayerChange> changes, std::vector<store::Mutation> directory,
                       std::function<void(bool)> done) = 0;
  // True on the one node that does `job` (a name unique to one piece of work), false on the
  // others; blocks for one round trip.
  virtual bool claim(const std::string& job) = 0;
};

class Server {
 public:
  // Builds the engine from the store's snapshot. The store must outlive the server.
  static core::Result<std::unique_ptr<Server>> create(ApiConfig config, store::Store& store,
                                                      store::Snapshot snapshot);
  virtual ~Server() = default;

  // Binds the HTTP listener; returns "host:port" as bound (port 0 picks a free one).
  virtual core::Result<std::string> listen() = 0;
  // Serves until stop() or SIGTERM/SIGINT; then closes connections and returns.
  virtual void run() = 0;
  virtual void stop() = 0;

  // The event loop run() runs. Other listeners (SIP) open their sockets on it before run(), so
  // they share the thread and the engine without locks; they must be destroyed before the server.
  virtual boost::asio::io_context& io_context() = 0;
  // The credentials a SIP digest `username` names: a user id, or "user-device" for a device with
  // its own secret; nullopt when it names neither. On the server's thread only.
  virtual std::optional<SipCredentials> sip_credentials(std::string_view username) const = 0;
  // The groups user `id` is in now; nullptr for an unknown user. On the server's thread only;
  // valid until the directory changes.
  virtual const std::vector<std::string>* groups_of(const std::string& id) const = 0;
  // Another adapter's metrics (SIP), rendered after the server's own at every GET /metrics, on
  // the server's thread. Add sources before run().
  virtual void add_metrics_source(MetricsSource source) = 0;
  // The presence engine the server owns, for other adapters' watchers (SIP subscriptions). On
  // the server's thread only.
  virtual core::Engine& engine() = 0;
  // Documents another adapter keeps in the server's store (kinds "sip.*"), as loaded at start.
  // On the server's thread only.
  virtual std::vector<store::DocumentRecord> documents(std::string_view kind) const = 0;
  // Puts and deletes such documents durably, all or none; `done` runs on the server's thread
  // once they are durable (true) or the commit failed (false).
  virtual void save_documents(std::vector<store::Mutation> mutations,
                              std::function<void(bool)> done) = 0;
  // Runs `task` on the server's thread; callable from any thread.
  virtual void post(std::function<void()> task) = 0;
  // Serves POST `path` (no query) with `hook`. Add hooks before run().
  virtual void add_hook(std::string path, Hook hook) = 0;
  // Documents of `kind` that API routes manage for an adapter (kTeamsUserKind).
  virtual void watch_documents(std::string kind, DocumentWatch watch) = 0;
  // The calendar connector's side: `listener` hears at once of every configured source, then of
  // each change, on the server's thread. Reports may come from any thread; a new layer is
  // stored, then applied, like PUT .../presence/calendar.
  virtual void watch_calendar_sources(CalendarSourceListener listener) = 0;
  virtual void report_calendar(CalendarReport report) = 0;
  // Remote contacts of `scheme` go through `watcher` (which must outlive the server); those
  // restored from the store are watched at once. On the server's thread, before run().
  virtual void add_remote_watcher(std::string scheme, RemoteWatcher& watcher) = 0;
  // What a remote watcher learned of a remote presentity (by presence.address); ignored when no
  // local user has it as a contact. On the server's thread only.
  virtual void set_remote_presence(core::RemotePresence presence) = 0;
  // Cluster mode: shared changes go through `link` (which must outlive the server). Before run().
  virtual void set_cluster(ClusterLink& link) = 0;
  // Cluster mode: a directory change another node committed (or this one, coming back through
  // the bucket), applied to the in-memory directory as the route that made it did. Idempotent.
  // On the server's thread only.
  virtual void apply_directory(const store::Mutation& change) = 0;
  // Cluster mode: `user`'s last session ended with a node gone silent (docs/cluster.md); the
  // one node that claimed it applies the user's logout state, as at a logout here, unless a
  // session opened since. On the server's thread only.
  virtual void apply_orphaned_logout(const std::string& user) = 0;
};

// The Teams user mappings (PUT /api/v1/users/{id}/teams): id = user, body
// {"upn", "tenant", "mirror_dnd"} (docs/teams.md).
inline constexpr std::string_view kTeamsUserKind = "teams.user";
// Webhook subscriptions (id = subscription), their dead letters (id "<subscription>/<time>-<n>")
// and what a two-way subscription's system shows (id "<subscription>/<user>", owner the user,
// body {"status"}); dead letters and statuses go with their subscription (docs/webhooks.md).
inline constexpr std::string_view kWebhookKind = "webhook.subscription";
inline constexpr std::string_view kWebhookDeadLetterKind = "webhook.dead_letter";
inline constexpr std::string_view kWebhookStatusKind = "webhook.status";

// Creates user `admin` (role admin) with `password` when the store holds no user.
core::Result<bool> bootstrap_admin(store::Store& store, const store::Snapshot& snapshot,
                                   const std::string& password);
// Adds the demo users, groups and devices documented in the README (skips those that exist).
core::Result<void> load_demo(store::Store& store, const store::Snapshot& snapshot);

// Argon2id via libsodium (interactive limits): the encoded string embeds salt and parameters.
core::Result<std::string> hash_password(const std::string& password);
bool verify_password(const std::string& encoded, const std::string& password);

}  // namespace presenced::api
