#pragma once

// The API's application logic, free of Beast and Asio: routes, permission checks, durable
// changes and the WebSocket protocol, over the engine and the store. The server (server.cpp)
// turns sockets into calls of this class.
//
// Thread-safety: none. Every method runs on the server's I/O thread; store completions and
// password hashing come back through the injected `post`.

#include "api/api.h"
#include "api/internal/auth.h"
#include "api/internal/codec.h"
#include "api/internal/metrics.h"
#include "api/internal/remote_address.h"
#include "api/internal/sip_logins.h"

#include <boost/json/fwd.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::api {

struct HttpRequest {
  std::string method;
  std::string target;
  std::string authorization;  // the Authorization header as sent
  std::string body;
  std::string signature;  // X-Presenced-Signature (incoming webhook statuses)
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

HttpResponse error_response(const core::Error& error);
HttpResponse json_response(int status, const boost::json::value& value);
// PUT /states/{id}, /groups/{id}, /queues/{id}: the path names the record; a body may repeat
// the id.
std::optional<core::Error> path_id_problem(std::string_view kind, const std::string& path_id,
                                           const std::string& body_id, const Limits& limits);

// The first error of several checks (Results), in order.
template <typename... Checks>
std::optional<core::Error> first_error(const Checks&... checks) {
  std::optional<core::Error> error;
  ((!error && !checks ? (error = checks.error(), 0) : 0), ...);
  return error;
}

// The subscription id of POST /api/v1/webhooks/{id}/incoming, which a signature authenticates.
std::optional<std::string> incoming_webhook_id(std::string_view target);

using Respond = std::function<void(HttpResponse)>;
using Task = std::function<void()>;
// Runs a task on the service's thread (from any thread).
using Post = std::function<void(Task)>;
// Runs a task on a worker thread (CPU-heavy work such as Argon2id).
using Offload = std::function<void(Task)>;

struct Principal {
  core::UserIndex user = 0;
  std::string id;
  store::Role role = store::Role::User;
  std::string token_hash;
};

// One WebSocket client: its watcher in the engine and its login session.
struct WsClient {
  Principal principal;
  core::WatcherId watcher = 0;
  std::string client_id;
};

// {"type":"error","error":{...},"id"?}: the WebSocket's answer to a message it cannot serve.
// Store document kinds and setting keys of the routing settings.
inline constexpr std::string_view kCallSettingsKind = "call_settings";
inline constexpr std::string_view kQueueKind = "queue";
inline constexpr std::string_view kStateActionsKey = "routing.state_actions";
inline constexpr std::string_view kProfileKind = "profile";
inline constexpr std::string_view kPersonalProfileKind = "personal_profile";  // id "user/profile"
inline constexpr std::string_view kProfileSelectionKind = "profile_selection";
inline constexpr std::string_view kCalendarSourceKind = "calendar.source";
inline constexpr std::string_view kRemoteContactKind = "remote_contact";  // id "user/address"
inline constexpr std::string_view kStateDefaultKind = "state_default";     // body: the state id
// Cluster mode: a document kind every node keeps live through the directory (profiles, routing
// settings, calendar sources, the default state); the others stay with their node's adapters.
bool is_shared_document(std::string_view kind);

std::string ws_error_json(const core::Error& error, std::string_view id);

// A route as "GET" and "/api/v1/users/{0}/presence" (wildcards numbered), for the check that
// the OpenAPI document describes every route.
struct RoutePattern {
  std::string method;
  std::string path;
};
std::vector<RoutePattern> route_patterns();

class Service {
 public:
  struct Route;
  static const std::vector<Route>& routes();

  Service(ApiConfig config, store::Store& store, store::Snapshot snapshot, Post post,
          Offload offload);
  ~Service();

  void handle(HttpRequest request, Respond respond);

  // The bearer token from an Authorization header value or a bare token (?access_token=).
  core::Result<Principal> authenticate(std::string_view credentials);

  WsClient ws_open(Principal principal, core::WatcherSink* sink);
  // Replies (errors, pongs) go to `reply`; presence events go through the watcher queue.
  void ws_message(WsClient& client, std::string_view text,
                  const std::function<void(std::string)>& reply);
  void ws_close(WsClient& client);

  core::Engine& engine() { return engine_; }
  Metrics& metrics() { return metrics_; }
  const ApiConfig& config() const { return config_; }
  // nullptr for an unknown user.
  const store::UserRecord* find_user(const std::string& id) const {
    const auto it = users_.find(id);
    return it == users_.end() ? nullptr : &it->second;
  }

  std::optional<SipCredentials> sip_credentials(std::string_view username) const;
  void add_metrics_source(MetricsSource source) { metrics_sources_.push_back(std::move(source)); }

  // Documents other adapters keep in the store (kinds outside the API's own), as loaded at start.
  std::vector<store::DocumentRecord> documents(std::string_view kind) const;
  // Puts or deletes other adapters' documents durably, all or none; `done` runs on the service's
  // thread once they are durable (true) or failed (false).
  void save_documents(std::vector<store::Mutation> mutations, std::function<void(bool)> done);
  void add_hook(std::string path, Hook hook) { hooks_.emplace(std::move(path), std::move(hook)); }
  void watch_documents(std::string kind, DocumentWatch watch);

  // Calendar sources and sync reports (calendar_routes.cpp, docs/calendar.md).
  void watch_calendar_sources(CalendarSourceListener listener);
  void report_calendar(CalendarReport report);

  // Federation (remote_contacts.cpp): see Server::add_remote_watcher, set_remote_presence.
  void add_remote_watcher(std::string scheme, RemoteWatcher& watcher);
  void set_remote_presence(core::RemotePresence presence);

  void set_cluster(ClusterLink& link) { cluster_ = &link; }
  // See Server::apply_directory (cluster_directory.cpp).
  void apply_directory(const store::Mutation& change);
  // See Server::apply_orphaned_logout.
  void apply_orphaned_logout(const std::string& user);

  // Re-evaluates timed rules (until, idle, leases); returns the next deadline.
  std::optional<core::TimePoint> advance();

 private:
  using Params = std::vector<std::string>;
  using Handler = void (Service::*)(const Principal&, const Params&, HttpRequest&, Respond&);

  void dispatch(const Principal* principal, HttpRequest& request, Respond& respond);

  // Webhook subscriptions and incoming statuses (webhook_routes.cpp, webhook_incoming.cpp).
  void list_webhooks(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_webhook(const Principal&, const Params&, HttpRequest&, Respond&);
  void create_webhook(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_webhook(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_webhook(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_dead_letters(const Principal&, const Params&, HttpRequest&, Respond&);
  void save_webhook(const Principal&, const std::string& id, HttpRequest& request,
                    Respond& respond, int status);
  core::Result<boost::json::object> decode_webhook(std::string_view text,
                                                   const boost::json::object* stored) const;
  const store::DocumentRecord* find_webhook(const std::string& id) const;
  void post_webhook_incoming(const std::string& id, HttpRequest& request, Respond& respond);
  void apply_incoming(const std::string& webhook, core::UserIndex target, const std::string& user,
                      const std::string& external, std::optional<std::string> state,
                      Respond& respond);
  void keep_document(const store::DocumentRecord& document);
  // Dead letters and statuses the connector saved, for the routes above to read.
  void keep_saved_webhook_documents(const std::vector<store::Mutation>& mutations);

  // Teams user mappings (teams_routes.cpp).
  void list_teams_users(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_teams_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_teams_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_teams_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void tell_watchers(const store::DocumentRecord& document, bool removed);

  // Auth and users.
  void post_token(HttpRequest& request, Respond& respond);
  void delete_token(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_me(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_users(const Principal&, const Params&, HttpRequest&, Respond&);
  void create_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void patch_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_user(const Principal&, const Params&, HttpRequest&, Respond&);
  void create_api_key(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_api_keys(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_api_key(const Principal&, const Params&, HttpRequest&, Respond&);
  // Presence.
  void get_presence(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_presences(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_layers(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_manual(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_manual(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_calendar(const Principal&, const Params&, HttpRequest&, Respond&);
  void post_session(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_session(const Principal&, const Params&, HttpRequest&, Respond&);
  void post_input(const Principal&, const Params&, HttpRequest&, Respond&);
  // Visibility and contacts.
  void get_visibility(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_visibility(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_visibility(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_policy(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_policy(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_contacts(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_contacts(const Principal&, const Params&, HttpRequest&, Respond&);
  // Remote contacts (remote_contacts.cpp).
  void list_remote_contacts(const Principal&, const Params&, HttpRequest&, Respond&);
  void post_remote_contact(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_remote_contact(const Principal&, const Params&, HttpRequest&, Respond&);
  // Directory.
  void list_groups(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_group(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_group(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_devices(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_device(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_device(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_states(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_state(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_state(const Principal&, const Params&, HttpRequest&, Respond&);
  static store::Mutation state_default_mutation(const std::string& id);  // "": no default
  // Telephony and routing (routing_routes.cpp).
  void post_telephony_event(const Principal&, const Params&, HttpRequest&, Respond&);
  void post_routing_decide(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_call_settings(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_call_settings(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_queues(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_queue(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_queue(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_queue(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_state_actions(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_state_actions(const Principal&, const Params&, HttpRequest&, Respond&);
  // Presence profiles (profile_routes.cpp).
  void list_profiles(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void list_user_profiles(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_user_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_user_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_active_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_active_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_active_profile(const Principal&, const Params&, HttpRequest&, Respond&);
  // Calendar sources (calendar_routes.cpp).
  void get_calendar_source(const Principal&, const Params&, HttpRequest&, Respond&);
  void put_calendar_source(const Principal&, const Params&, HttpRequest&, Respond&);
  void delete_calendar_source(const Principal&, const Params&, HttpRequest&, Respond&);
  void forget_calendar_source(const std::string& user);
  // Operations.
  void get_openapi(const Principal&, const Params&, HttpRequest&, Respond&);
  void get_metrics(const Principal&, const Params&, HttpRequest&, Respond&);

  // Commits `mutations`, then runs `apply` on this thread; answers 503 if the store fails.
  // `rollback` undoes in-memory reservations when the commit fails.
  void commit(std::vector<store::Mutation> mutations, Respond respond,
              std::function<HttpResponse()> apply, Task rollback = {});
  core::Result<core::UserIndex> target_user(const std::string& id) const;
  core::Result<void> require_self_or_admin(const Principal& principal,
                                           const std::string& user) const;
  HttpResponse presence_response(core::UserIndex user, const Principal& viewer) const;
  void restore(store::Snapshot snapshot);
  void restore_contacts(const store::ContactLists& contacts,
                        const std::vector<std::optional<core::UserIndex>>& indices);
  void restore_documents(const std::vector<store::DocumentRecord>& documents);
  // One document read into memory as at start; false (logged) when it is unreadable.
  bool restore_document(const store::DocumentRecord& d);
  // One server-wide setting read into memory (the visibility policy's part goes to `policy`).
  void restore_setting(const std::string& key, const std::string& value,
                       core::VisibilityPolicy& policy);
  void apply_document(const store::DocumentRecord& d);
  void forget_document(const std::string& kind, const std::string& id);
  // The callee's own call settings with what their state's automatic action adds.
  routing::CalleeSettings effective_call_settings(core::UserIndex user, const std::string& id) const;
  void decide_queue_call(const std::string& queue_id, Respond& respond);
  store::Mutation call_record_or_delete(const std::string& user, const core::Call& call) const;
  // Profiles.
  bool may_use(const std::string& user, const ProfileDocument& profile) const;
  core::Result<void> check_profile(const ProfileDocument& profile, bool shared) const;
  core::Result<void> check_not_enforced(const Principal& principal, const std::string& user) const;
  boost::json::object selection_json(const std::string& user) const;
  std::optional<core::ManualLayer> manual_to_restore(const std::string& user,
                                                     core::TimePoint t) const;
  std::vector<store::Mutation> end_profile_mutations(const std::string& user, bool restore,
                                                     core::TimePoint t) const;
  void end_profile(core::UserIndex user, const std::string& id, bool restore, core::TimePoint t);
  void end_lapsed_profiles(core::TimePoint t);
  void apply_profile_idle(core::UserIndex user, const std::string& id);
  std::optional<routing::ProfileRouting> profile_routing(const std::string& id) const;
  void apply_session_state(core::UserIndex user, const std::string& state_id);
  // Cluster mode: tells the other nodes of a change no client waits on (sessions, the login
  // and logout states).
  void share(core::UserIndex user, core::Layer layer);
  core::TimePoint now() const;
  // Remote contacts: the owner's in memory, the remote presentity (and its watch) made with the
  // first owner and removed with the last.
  // Why `principal` may not use `owner`'s remote contacts (no such local user, not theirs).
  std::optional<core::Error> remote_contacts_problem(const Principal& principal,
                                                     const std::string& owner) const;
  void attach_remote(const std::string& owner, const RemoteAddress& address);
  void detach_remote(const std::string& owner, const std::string& address);
  void forget_remote_contacts(const std::string& owner);  // the owner is being deleted
  void forget_user(const std::string& id);  // after the store deleted the user
  void keep_device(const store::DeviceRecord& device);  // added or replaced
  void forget_group(const std::string& id);  // and the users' memberships
  // `contacts` (local users) followed by the owner's remote presentities.
  std::vector<core::UserIndex> with_remote_contacts(const std::string& owner,
                                                    std::vector<core::UserIndex> contacts) const;
  // SIP logins (docs/sip.md, "Authentication").
  const store::DeviceRecord* find_device(std::string_view user, std::string_view device) const;
  std::optional<SipLogin> sip_login(std::string_view username) const;
  // 409 when a device secret or a new user id would give a SIP username two meanings.
  std::optional<core::Error> device_login_conflict(const store::DeviceRecord& device) const;
  std::optional<core::Error> user_login_conflict(const std::string& id) const;

  ApiConfig config_;
  store::Store& store_;
  Post post_;
  Offload offload_;
  core::Engine engine_;
  Metrics metrics_;
  std::vector<MetricsSource> metrics_sources_;
  TokenRegistry tokens_;
  std::unordered_map<std::string, store::UserRecord> users_;
  std::map<std::string, store::GroupRecord> groups_;
  std::unordered_map<std::string, std::vector<store::DeviceRecord>> devices_;
  // SIP usernames of device secrets being committed: a racing POST cannot take them meanwhile.
  std::map<std::string, SipLogin> pending_device_logins_;
  // Routing settings (docs/routing.md), kept as the store's documents.
  struct Queue {
    QueueDocument document;
    std::size_t calls = 0;  // round robin's rotation; in memory: a restart starts over
  };
  std::unordered_map<std::string, CallSettingsDocument> call_settings_;
  std::map<std::string, Queue> queues_;
  StateActions state_actions_{};
  std::map<std::string, ProfileDocument> profiles_;  // shared, by id
  std::unordered_map<std::string, std::map<std::string, ProfileDocument>> personal_profiles_;
  std::unordered_map<std::string, ProfileSelection> selections_;  // by user id
  // Calendar sources by user, what their last sync said, and who listens (the connector).
  struct CalendarStatus {
    bool ok = true;
    std::string error;
    std::optional<core::TimePoint> last_sync;
    std::optional<core::TimePoint> last_success;
  };
  std::map<std::string, CalendarSource> calendar_sources_;
  std::unordered_map<std::string, CalendarStatus> calendar_status_;
  CalendarSourceListener calendar_listener_;
  std::unordered_map<std::string, std::set<std::string>> remote_contacts_;  // owner -> addresses
  std::string default_state_;  // the admin-defined state clients offer first; empty: none
  std::unordered_map<std::string, std::size_t> remote_owners_;  // address -> owners having it
  std::map<std::string, RemoteWatcher*, std::less<>> remote_watchers_;  // by scheme
  std::vector<store::DocumentRecord> foreign_documents_;  // until their adapter reads them
  std::map<std::string, Hook> hooks_;                      // by path
  std::multimap<std::string, DocumentWatch> document_watches_;  // by kind
  ClusterLink* cluster_ = nullptr;  // cluster mode only
  core::FormatId json_format_ = 0;
  std::uint64_t next_client_ = 1;
  std::string dummy_hash_;  // verified against for unknown users, so timing tells nothing
};

}  // namespace presenced::api
