#pragma once

// The API's application logic, free of Beast and Asio: routes, permission checks, durable
// changes and the WebSocket protocol, over the engine and the store. The server (server.cpp)
// turns sockets into calls of this class.
//
// Thread-safety: none. Every method runs on the server's I/O thread; store completions and
// password hashing come back through the injected `post`.

#include "api/api.h"
#include "api/internal/auth.h"
#include "api/internal/metrics.h"

#include <functional>
#include <map>
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
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

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
std::string ws_error_json(const core::Error& error, std::string_view id);

class Service {
 public:
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

  // Re-evaluates timed rules (until, idle, leases); returns the next deadline.
  std::optional<core::TimePoint> advance();

 private:
  struct Route;
  using Params = std::vector<std::string>;
  using Handler = void (Service::*)(const Principal&, const Params&, HttpRequest&, Respond&);

  void dispatch(const Principal* principal, HttpRequest& request, Respond& respond);

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
  // Telephony and routing.
  void post_telephony_event(const Principal&, const Params&, HttpRequest&, Respond&);
  void post_routing_decide(const Principal&, const Params&, HttpRequest&, Respond&);
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
  void apply_session_state(core::UserIndex user, const std::string& state_id);
  core::TimePoint now() const;

  ApiConfig config_;
  store::Store& store_;
  Post post_;
  Offload offload_;
  core::Engine engine_;
  Metrics metrics_;
  TokenRegistry tokens_;
  std::unordered_map<std::string, store::UserRecord> users_;
  std::map<std::string, store::GroupRecord> groups_;
  std::unordered_map<std::string, std::vector<store::DeviceRecord>> devices_;
  core::FormatId json_format_ = 0;
  std::uint64_t next_client_ = 1;
  std::string dummy_hash_;  // verified against for unknown users, so timing tells nothing
};

}  // namespace presenced::api
