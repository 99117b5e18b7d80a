// The HTTP routes of the API: a table of (method, path pattern, minimum role, handler), and one
// member function per route. Every handler checks permissions before it reads or changes anything.

#include "api/internal/openapi.h"
#include "api/internal/remote_address.h"
#include "api/internal/service.h"
#include "core/mappings.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

// Splits "/api/v1/users/alice/presence" into decoded segments; nothing on a malformed target.
std::optional<std::vector<std::string>> path_segments(const std::string& target,
                                                      std::string* query) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (auto segment : url->segments()) {
    out.push_back(std::string(segment));
  }
  if (query != nullptr) {
    *query = std::string(url->encoded_query());
  }
  return out;
}

enum class MinRole { User, System, Admin };

bool role_allows(store::Role role, MinRole min) {
  switch (min) {
    case MinRole::User:
      return true;
    case MinRole::System:
      return role == store::Role::System || role == store::Role::Admin;
    case MinRole::Admin:
      return role == store::Role::Admin;
  }
  return false;
}

std::string query_param(const std::string& target, std::string_view key) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return {};
  }
  auto params = url->params();
  auto it = params.find(key);
  if (it == params.end()) {
    return {};
  }
  return std::string((*it).value);
}

}  // namespace

struct Service::Route {
  std::string_view method;
  std::array<std::string_view, 6> pattern;  // "*" matches one segment; "" ends the pattern
  MinRole min_role;
  Handler handler;
};

namespace {
using S = Service;
}

void Service::handle(HttpRequest request, Respond respond) {
  ++metrics_.http_requests;
  Respond counted = [this, respond = std::move(respond)](HttpResponse response) {
    const std::size_t cls = response.status >= 100 && response.status < 600
                                ? static_cast<std::size_t>(response.status / 100)
                                : 0;
    ++metrics_.http_by_class[cls];
    respond(std::move(response));
  };
  const std::string target = request.target.substr(0, request.target.find('?'));
  if (target == "/healthz") {
    counted({200, R"({"status":"ok"})"});
    return;
  }
  if (request.method == "POST" && target == "/api/v1/auth/token") {
    post_token(request, counted);
    return;
  }
  if (auto webhook = incoming_webhook_id(target); webhook && request.method == "POST") {
    post_webhook_incoming(*webhook, request, counted);
    return;
  }
  if (const auto hook = hooks_.find(target); hook != hooks_.end() && request.method == "POST") {
    HookAnswer answer = hook->second(request.target, request.body);
    counted({answer.status, std::move(answer.body), std::move(answer.content_type)});
    return;
  }
  auto principal = authenticate(request.authorization);
  if (!principal) {
    counted(error_response(principal.error()));
    return;
  }
  dispatch(&*principal, request, counted);
}

const std::vector<Service::Route>& Service::routes() {
  static const std::vector<Route> kRoutes = {
      {"DELETE", {"api", "v1", "auth", "token"}, MinRole::User, &S::delete_token},
      {"GET", {"api", "v1", "me"}, MinRole::User, &S::get_me},
      {"GET", {"api", "v1", "users"}, MinRole::User, &S::list_users},
      {"POST", {"api", "v1", "users"}, MinRole::Admin, &S::create_user},
      {"GET", {"api", "v1", "users", "*"}, MinRole::User, &S::get_user},
      {"PATCH", {"api", "v1", "users", "*"}, MinRole::User, &S::patch_user},
      {"DELETE", {"api", "v1", "users", "*"}, MinRole::Admin, &S::delete_user},
      {"POST", {"api", "v1", "apikeys"}, MinRole::Admin, &S::create_api_key},
      {"GET", {"api", "v1", "apikeys"}, MinRole::Admin, &S::list_api_keys},
      {"DELETE", {"api", "v1", "apikeys", "*"}, MinRole::Admin, &S::delete_api_key},
      {"GET", {"api", "v1", "presence"}, MinRole::User, &S::get_presences},
      {"GET", {"api", "v1", "users", "*", "presence"}, MinRole::User, &S::get_presence},
      {"GET", {"api", "v1", "users", "*", "layers"}, MinRole::User, &S::get_layers},
      {"PUT", {"api", "v1", "users", "*", "presence", "manual"}, MinRole::User, &S::put_manual},
      {"DELETE", {"api", "v1", "users", "*", "presence", "manual"}, MinRole::User,
       &S::delete_manual},
      {"PUT", {"api", "v1", "users", "*", "presence", "calendar"}, MinRole::User,
       &S::put_calendar},
      {"GET", {"api", "v1", "users", "*", "calendar", "source"}, MinRole::User,
       &S::get_calendar_source},
      {"PUT", {"api", "v1", "users", "*", "calendar", "source"}, MinRole::User,
       &S::put_calendar_source},
      {"DELETE", {"api", "v1", "users", "*", "calendar", "source"}, MinRole::User,
       &S::delete_calendar_source},
      {"POST", {"api", "v1", "users", "*", "sessions"}, MinRole::User, &S::post_session},
      {"DELETE", {"api", "v1", "users", "*", "sessions", "*"}, MinRole::User,
       &S::delete_session},
      {"POST", {"api", "v1", "users", "*", "input"}, MinRole::User, &S::post_input},
      {"GET", {"api", "v1", "users", "*", "visibility"}, MinRole::User, &S::get_visibility},
      {"PUT", {"api", "v1", "users", "*", "visibility", "*"}, MinRole::User, &S::put_visibility},
      {"DELETE", {"api", "v1", "users", "*", "visibility", "*"}, MinRole::User,
       &S::delete_visibility},
      {"GET", {"api", "v1", "users", "*", "contacts"}, MinRole::User, &S::get_contacts},
      {"PUT", {"api", "v1", "users", "*", "contacts"}, MinRole::User, &S::put_contacts},
      {"GET", {"api", "v1", "users", "*", "remote-contacts"}, MinRole::User,
       &S::list_remote_contacts},
      {"POST", {"api", "v1", "users", "*", "remote-contacts"}, MinRole::User,
       &S::post_remote_contact},
      {"DELETE", {"api", "v1", "users", "*", "remote-contacts", "*"}, MinRole::User,
       &S::delete_remote_contact},
      {"GET", {"api", "v1", "users", "*", "devices"}, MinRole::User, &S::list_devices},
      {"POST", {"api", "v1", "users", "*", "devices"}, MinRole::User, &S::put_device},
      {"DELETE", {"api", "v1", "users", "*", "devices", "*"}, MinRole::User, &S::delete_device},
      {"GET", {"api", "v1", "visibility", "policy"}, MinRole::User, &S::get_policy},
      {"PUT", {"api", "v1", "visibility", "policy"}, MinRole::Admin, &S::put_policy},
      {"GET", {"api", "v1", "groups"}, MinRole::User, &S::list_groups},
      {"PUT", {"api", "v1", "groups", "*"}, MinRole::Admin, &S::put_group},
      {"DELETE", {"api", "v1", "groups", "*"}, MinRole::Admin, &S::delete_group},
      {"GET", {"api", "v1", "states"}, MinRole::User, &S::list_states},
      {"PUT", {"api", "v1", "states", "*"}, MinRole::Admin, &S::put_state},
      {"DELETE", {"api", "v1", "states", "*"}, MinRole::Admin, &S::delete_state},
      {"POST", {"api", "v1", "telephony", "events"}, MinRole::System, &S::post_telephony_event},
      {"POST", {"api", "v1", "routing", "decide"}, MinRole::System, &S::post_routing_decide},
      {"GET", {"api", "v1", "users", "*", "call-settings"}, MinRole::User, &S::get_call_settings},
      {"PUT", {"api", "v1", "users", "*", "call-settings"}, MinRole::User, &S::put_call_settings},
      {"GET", {"api", "v1", "queues"}, MinRole::System, &S::list_queues},
      {"GET", {"api", "v1", "queues", "*"}, MinRole::System, &S::get_queue},
      {"PUT", {"api", "v1", "queues", "*"}, MinRole::Admin, &S::put_queue},
      {"DELETE", {"api", "v1", "queues", "*"}, MinRole::Admin, &S::delete_queue},
      {"GET", {"api", "v1", "routing", "state-actions"}, MinRole::User, &S::get_state_actions},
      {"PUT", {"api", "v1", "routing", "state-actions"}, MinRole::Admin, &S::put_state_actions},
      {"GET", {"api", "v1", "profiles"}, MinRole::User, &S::list_profiles},
      {"PUT", {"api", "v1", "profiles", "*"}, MinRole::Admin, &S::put_profile},
      {"DELETE", {"api", "v1", "profiles", "*"}, MinRole::Admin, &S::delete_profile},
      {"GET", {"api", "v1", "users", "*", "profiles"}, MinRole::User, &S::list_user_profiles},
      {"PUT", {"api", "v1", "users", "*", "profiles", "*"}, MinRole::User, &S::put_user_profile},
      {"DELETE", {"api", "v1", "users", "*", "profiles", "*"}, MinRole::User,
       &S::delete_user_profile},
      {"GET", {"api", "v1", "users", "*", "profile"}, MinRole::User, &S::get_active_profile},
      {"PUT", {"api", "v1", "users", "*", "profile"}, MinRole::User, &S::put_active_profile},
      {"DELETE", {"api", "v1", "users", "*", "profile"}, MinRole::User,
       &S::delete_active_profile},
      {"GET", {"api", "v1", "webhooks"}, MinRole::Admin, &S::list_webhooks},
      {"POST", {"api", "v1", "webhooks"}, MinRole::Admin, &S::create_webhook},
      {"GET", {"api", "v1", "webhooks", "*"}, MinRole::Admin, &S::get_webhook},
      {"PUT", {"api", "v1", "webhooks", "*"}, MinRole::Admin, &S::put_webhook},
      {"DELETE", {"api", "v1", "webhooks", "*"}, MinRole::Admin, &S::delete_webhook},
      {"GET", {"api", "v1", "webhooks", "*", "dead-letters"}, MinRole::Admin,
       &S::list_dead_letters},
      {"GET", {"api", "v1", "teams", "users"}, MinRole::Admin, &S::list_teams_users},
      {"GET", {"api", "v1", "users", "*", "teams"}, MinRole::Admin, &S::get_teams_user},
      {"PUT", {"api", "v1", "users", "*", "teams"}, MinRole::Admin, &S::put_teams_user},
      {"DELETE", {"api", "v1", "users", "*", "teams"}, MinRole::Admin, &S::delete_teams_user},
      {"GET", {"api", "v1", "openapi.json"}, MinRole::User, &S::get_openapi},
      {"GET", {"metrics"}, MinRole::User, &S::get_metrics},
  };
  return kRoutes;
}

std::vector<RoutePattern> route_patterns() {
  std::vector<RoutePattern> out;
  for (const Service::Route& route : Service::routes()) {
    std::string path;
    int wildcard = 0;
    for (std::string_view segment : route.pattern) {
      if (segment.empty()) {
        break;
      }
      path += '/';
      path += segment == "*" ? "{" + std::to_string(wildcard++) + "}" : std::string(segment);
    }
    out.push_back({std::string(route.method), std::move(path)});
  }
  return out;
}

void Service::dispatch(const Principal* principal, HttpRequest& request, Respond& respond) {
  const std::vector<Route>& kRoutes = routes();
  auto segments = path_segments(request.target, nullptr);
  if (!segments) {
    respond(error_response(Error::invalid_argument("target: not a valid origin-form URL")));
    return;
  }
  bool path_known = false;
  for (const Route& route : kRoutes) {
    std::size_t n = 0;
    while (n < route.pattern.size() && !route.pattern[n].empty()) {
      ++n;
    }
    if (n != segments->size()) {
      continue;
    }
    Params params;
    bool match = true;
    for (std::size_t i = 0; i < n && match; ++i) {
      if (route.pattern[i] == "*") {
        params.push_back((*segments)[i]);
      } else {
        match = route.pattern[i] == (*segments)[i];
      }
    }
    if (!match) {
      continue;
    }
    path_known = true;
    if (route.method != request.method) {
      continue;
    }
    if (!role_allows(principal->role, route.min_role)) {
      respond(error_response(Error::permission_denied(
          std::string(request.method) + " " + request.target.substr(0, 200) +
          " needs the role " + (route.min_role == MinRole::Admin ? "admin" : "system or admin"))));
      return;
    }
    if (request.method != "GET" && route.pattern[2] == "users" && !params.empty() &&
        is_remote_id(params[0])) {
      // A remote presentity's presence is what its server reports; no local write applies.
      respond(error_response(Error::permission_denied(
          "user " + params[0].substr(0, 200) +
          " is a remote contact: its presence comes from its own server")));
      return;
    }
    (this->*route.handler)(*principal, params, request, respond);
    return;
  }
  if (path_known) {
    respond({405, error_json(core::ErrorCode::InvalidArgument,
                             "method " + request.method + " is not allowed here")});
    return;
  }
  respond({404, error_json(core::ErrorCode::NotFound, "no such route")});
}

// ---- Auth and users ----

void Service::post_token(HttpRequest& request, Respond& respond) {
  auto body = decode_token_request(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  auto it = users_.find(body->username);
  std::string hash = it == users_.end() ? dummy_hash_ : it->second.password_hash;
  const bool known = it != users_.end();
  // Argon2id takes tens of milliseconds: verify on a worker, answer back on this thread.
  offload_([this, hash = std::move(hash), password = std::move(body->password),
            username = std::move(body->username), known, respond = std::move(respond)]() mutable {
    const bool ok = verify_password(hash, password) && known;
    post_([this, ok, username = std::move(username), respond = std::move(respond)]() mutable {
      if (!ok || !users_.contains(username)) {
        respond(error_response(Error::unauthenticated("wrong username or password")));
        return;
      }
      const std::string token = new_token();
      store::TokenRecord record{token_hash(token), username,
                                now() + std::chrono::duration_cast<core::Duration>(
                                            config_.token_ttl),
                                std::string(kLoginLabel)};
      commit({store::PutToken{record}}, std::move(respond), [this, token, record] {
        tokens_.put(record);
        return json_response(
            200, json::object{{"token", token}, {"expires_at", format_time(record.expires_at)}});
      });
    });
  });
}

void Service::delete_token(const Principal& principal, const Params&, HttpRequest&,
                           Respond& respond) {
  const std::string hash = principal.token_hash;
  commit({store::DeleteToken{hash}}, std::move(respond), [this, hash] {
    tokens_.erase(hash);
    return HttpResponse{204, ""};
  });
}

void Service::get_me(const Principal& principal, const Params&, HttpRequest&, Respond& respond) {
  respond(json_response(200, user_json(users_.at(principal.id))));
}

void Service::list_users(const Principal&, const Params&, HttpRequest& request,
                         Respond& respond) {
  // The directory (ids, names, groups) is visible to every user; presence is not part of it.
  const std::string search = query_param(request.target, "q");
  std::vector<const store::UserRecord*> found;
  for (const auto& [id, user] : users_) {
    if (search.empty() || id.find(search) != std::string::npos ||
        user.display_name.find(search) != std::string::npos) {
      found.push_back(&user);
    }
  }
  std::sort(found.begin(), found.end(), [](auto* a, auto* b) { return a->id < b->id; });
  json::array out;
  for (const store::UserRecord* user : found) {
    out.push_back(user_json(*user));
  }
  respond(json_response(200, json::object{{"users", std::move(out)}}));
}

void Service::create_user(const Principal&, const Params&, HttpRequest& request,
                          Respond& respond) {
  auto body = decode_create_user(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (users_.contains(body->id)) {
    respond(error_response(Error::conflict("user " + body->id + " already exists")));
    return;
  }
  if (auto conflict = user_login_conflict(body->id)) {
    respond(error_response(*conflict));
    return;
  }
  offload_([this, body = std::move(*body), respond = std::move(respond)]() mutable {
    auto hash = hash_password(body.password);
    post_([this, body = std::move(body), hash = std::move(hash),
           respond = std::move(respond)]() mutable {
      if (!hash) {
        respond(error_response(hash.error()));
        return;
      }
      if (users_.contains(body.id)) {
        respond(error_response(Error::conflict("user " + body.id + " already exists")));
        return;
      }
      if (auto conflict = user_login_conflict(body.id)) {
        respond(error_response(*conflict));
        return;
      }
      store::UserRecord record;
      record.id = body.id;
      record.display_name = body.display_name.empty() ? body.id : body.display_name;
      record.role = body.role;
      record.password_hash = std::move(*hash);
      record.sip_password = body.sip_password;
      record.groups = body.groups;
      // Reserve the id now so a second create racing this one gets 409, not a duplicate.
      users_.emplace(record.id, record);
      commit(
          {store::PutUser{record}}, std::move(respond),
          [this, record] {
            auto added = engine_.add_user(core::UserId{record.id}, record.settings, now());
            if (!added) {
              return error_response(added.error());
            }
            return json_response(201, user_json(record));
          },
          [this, id = record.id] { users_.erase(id); });
    });
  });
}

void Service::get_user(const Principal&, const Params& params, HttpRequest&, Respond& respond) {
  auto it = users_.find(params[0]);
  if (it == users_.end() || !engine_.find(params[0])) {
    respond(error_response(Error::not_found("user " + params[0] + ": no such user")));
    return;
  }
  respond(json_response(200, user_json(it->second)));
}

void Service::patch_user(const Principal& principal, const Params& params, HttpRequest& request,
                         Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_update_user(request.body, config_.limits);
  if (!user || !allowed || !body) {
    respond(error_response(!user ? user.error() : !allowed ? allowed.error() : body.error()));
    return;
  }
  if ((body->role || body->groups) && principal.role != store::Role::Admin) {
    respond(error_response(Error::permission_denied("role and groups: only an admin may change")));
    return;
  }
  for (const auto* state : {&body->login_state, &body->logout_state}) {
    if (*state && !(*state)->empty() && engine_.states().find(**state) == nullptr) {
      respond(error_response(Error::invalid_argument("state " + **state + ": no such state")));
      return;
    }
  }
  if (body->idle_minutes && (*body->idle_minutes < 1 || *body->idle_minutes > 1440)) {
    respond(error_response(Error::invalid_argument(
        "idle_minutes: " + std::to_string(*body->idle_minutes) + ", allowed 1 to 1440")));
    return;
  }
  // Taken out before `body` moves into `finish`.
  std::optional<std::string> password = std::move(body->password);
  auto finish = [this, uid = params[0], body = std::move(*body),
                 respond = std::move(respond)](Result<std::optional<std::string>> hash) mutable {
    if (!hash) {
      respond(error_response(hash.error()));
      return;
    }
    auto it = users_.find(uid);
    if (it == users_.end()) {
      respond(error_response(Error::not_found("user " + uid + ": no such user")));
      return;
    }
    store::UserRecord record = it->second;
    if (body.display_name) record.display_name = *body.display_name;
    if (*hash) record.password_hash = **hash;
    if (body.role) record.role = *body.role;
    if (body.sip_password) record.sip_password = *body.sip_password;
    if (body.groups) record.groups = *body.groups;
    if (body.idle_minutes) record.settings.idle_after = std::chrono::minutes(*body.idle_minutes);
    if (body.login_state) record.settings.login_state = *body.login_state;
    if (body.logout_state) record.settings.logout_state = *body.logout_state;
    commit({store::PutUser{record}}, std::move(respond), [this, record] {
      users_[record.id] = record;
      if (auto u = engine_.find(record.id)) {
        engine_.set_settings(*u, record.settings, now());
      }
      return json_response(200, user_json(record));
    });
  };
  if (!password) {
    finish(std::optional<std::string>());
    return;
  }
  offload_([this, password = std::move(*password), finish = std::move(finish)]() mutable {
    auto hash = hash_password(password);
    post_([hash = std::move(hash), finish = std::move(finish)]() mutable {
      finish(hash ? Result<std::optional<std::string>>(std::move(*hash))
                  : Result<std::optional<std::string>>(hash.error()));
    });
  });
}

void Service::delete_user(const Principal&, const Params& params, HttpRequest&,
                          Respond& respond) {
  auto user = target_user(params[0]);
  if (!user) {
    respond(error_response(user.error()));
    return;
  }
  const std::string id = params[0];
  commit({store::DeleteUser{id}}, std::move(respond), [this, id] {
    forget_user(id);
    return HttpResponse{204, ""};
  });
}

// What hangs off a user the store deleted with it.
void Service::forget_user(const std::string& id) {
  forget_remote_contacts(id);  // the store dropped their documents with the user
  if (auto u = engine_.find(id)) {
    (void)engine_.remove_user(*u);
  }
  users_.erase(id);
  devices_.erase(id);
  call_settings_.erase(id);
  personal_profiles_.erase(id);
  selections_.erase(id);
  tokens_.erase_user(id);
  // The store deleted the documents the user owned; adapters watching them learn it here.
  std::vector<store::DocumentRecord> owned;
  std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
    return d.owner == id && (owned.push_back(d), true);
  });
  for (const store::DocumentRecord& d : owned) {
    tell_watchers(d, true);
  }
  forget_calendar_source(id);
}

void Service::create_api_key(const Principal&, const Params&, HttpRequest& request,
                             Respond& respond) {
  auto body = decode_api_key(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (!users_.contains(body->user)) {
    respond(error_response(Error::not_found("user " + body->user + ": no such user")));
    return;
  }
  if (body->label == kLoginLabel) {
    // It would pass for a sign-in token: neither listed nor revocable as a key.
    respond(error_response(Error::invalid_argument("label: \"login\" is reserved for sign-in tokens")));
    return;
  }
  const std::string token = new_token();
  store::TokenRecord record{token_hash(token), body->user,
                            now() + std::chrono::days(body->days.value_or(365)), body->label};
  commit({store::PutToken{record}}, std::move(respond), [this, token, record] {
    tokens_.put(record);
    return json_response(201, json::object{{"token", token},
                                           {"id", api_key_id(record.token_hash)},
                                           {"user", record.user},
                                           {"label", record.label},
                                           {"expires_at", format_time(record.expires_at)}});
  });
}

void Service::list_api_keys(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const store::TokenRecord* key : tokens_.api_keys()) {
    out.push_back(json::object{{"id", api_key_id(key->token_hash)},
                               {"user", key->user},
                               {"label", key->label},
                               {"expires_at", format_time(key->expires_at)}});
  }
  respond(json_response(200, json::object{{"api_keys", std::move(out)}}));
}

void Service::delete_api_key(const Principal&, const Params& params, HttpRequest&,
                             Respond& respond) {
  const store::TokenRecord* key = tokens_.find_api_key(params[0]);
  if (key == nullptr) {
    respond(error_response(Error::not_found("API key " + params[0].substr(0, 64) + ": no such key")));
    return;
  }
  const std::string hash = key->token_hash;
  commit({store::DeleteToken{hash}}, std::move(respond), [this, hash] {
    tokens_.erase(hash);
    return HttpResponse{204, ""};
  });
}

// ---- Operations ----

void Service::get_openapi(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  respond({200, std::string(openapi_document())});
}

void Service::get_metrics(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  static const auto started = std::chrono::steady_clock::now();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - started);
  std::string out = metrics_.render(engine_.stats(), engine_.user_count(), uptime);
  for (const MetricsSource& source : metrics_sources_) {
    source(out);
  }
  respond({200, std::move(out), "text/plain; version=0.0.4"});
}

}  // namespace presenced::api
