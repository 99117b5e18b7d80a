#include "api/internal/service.h"

#include "api/internal/codec_json.h"

#include "core/mappings.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

HttpResponse error_response(const Error& error) {
  return {http_status(error.code), error_json(error.code, error.message)};
}

HttpResponse json_response(int status, const json::value& value) {
  return {status, json::serialize(value)};
}

std::optional<Error> path_id_problem(std::string_view kind, const std::string& path_id,
                                     const std::string& body_id, const Limits& limits) {
  if (auto problem = codec::id_problem(path_id, limits.id_bytes)) {
    return Error::invalid_argument(std::string(kind) + " id: " + *problem);
  }
  if (!body_id.empty() && body_id != path_id) {
    return Error::invalid_argument("id: the body says " + body_id + ", the path " + path_id);
  }
  return std::nullopt;
}

namespace {

// The WebSocket's wire format: the contract's {"type":"presence", ...} event.
class JsonEventEncoder final : public core::PresenceEncoder {
 public:
  std::string encode(const core::UserId& user, const core::Presence& projected,
                     std::uint64_t sequence, core::VisibilityLevel) const override {
    return presence_event(user.value, projected, sequence);
  }
};

}  // namespace

std::string ws_error_json(const Error& error, std::string_view id) {
  json::object o{{"type", "error"},
                 {"error", {{"code", error_code_name(error.code)}, {"message", error.message}}}};
  if (!id.empty()) {
    o["id"] = id;
  }
  return json::serialize(o);
}

Service::Service(ApiConfig config, store::Store& store, store::Snapshot snapshot, Post post,
                 Offload offload)
    : config_(std::move(config)),
      store_(store),
      post_(std::move(post)),
      offload_(std::move(offload)),
      engine_(config_.engine, snapshot.boot_generation << 32) {
  json_format_ = engine_.add_format(std::make_unique<JsonEventEncoder>());
  restore(std::move(snapshot));
  dummy_hash_ = hash_password("not a password").value();
}

Service::~Service() = default;

core::TimePoint Service::now() const { return core::to_time_point(core::Clock::now()); }

// Rebuilds the in-memory state from the store: users, states, layers, levels, contacts, tokens.
void Service::restore(store::Snapshot snapshot) {
  const core::TimePoint t = now();
  for (core::StateDefinition& s : snapshot.states) {
    (void)engine_.put_state(std::move(s), t);
  }
  engine_.reserve_users(snapshot.users.size());
  users_.reserve(snapshot.users.size());
  // By position in snapshot.users, as the contact lists name them.
  std::vector<std::optional<core::UserIndex>> indices;
  indices.reserve(snapshot.users.size());
  for (store::UserRecord& u : snapshot.users) {
    auto index = engine_.add_user(core::UserId{u.id}, u.settings, t);
    indices.push_back(index ? std::optional(*index) : std::nullopt);
    std::string id = u.id;
    users_.emplace(std::move(id), std::move(u));
  }
  for (store::GroupRecord& g : snapshot.groups) {
    std::string id = g.id;
    groups_.emplace(std::move(id), std::move(g));
  }
  for (store::DeviceRecord& d : snapshot.devices) {
    devices_[d.user].push_back(std::move(d));
  }
  struct Durable {
    std::optional<core::ManualLayer> manual;
    core::TelephonyLayer telephony;
    core::CalendarLayer calendar;
  };
  std::unordered_map<core::UserIndex, Durable> layers;
  for (store::ManualRecord& m : snapshot.manual) {
    if (auto u = engine_.find(m.user)) {
      layers[*u].manual = std::move(m.manual);
    }
  }
  for (store::CallRecord& c : snapshot.calls) {
    if (auto u = engine_.find(c.user)) {
      layers[*u].telephony.calls.push_back(std::move(c.call));
    }
  }
  for (store::CalendarRecord& c : snapshot.calendars) {
    if (auto u = engine_.find(c.user)) {
      layers[*u].calendar.appointments = std::move(c.appointments);
    }
  }
  for (auto& [user, l] : layers) {
    engine_.restore(user, std::move(l.manual), std::move(l.telephony), std::move(l.calendar), t);
  }
  for (const store::VisibilityRecord& v : snapshot.visibility) {
    auto owner = engine_.find(v.owner);
    auto watcher = engine_.find(v.watcher);
    if (owner && watcher) {
      engine_.set_visibility(*owner, *watcher, v.level);
    }
  }
  restore_contacts(snapshot.contacts, indices);
  snapshot.contacts = {};
  for (store::TokenRecord& token : snapshot.tokens) {
    if (token.expires_at > t) {
      tokens_.put(std::move(token));
    }
  }
  core::VisibilityPolicy policy = engine_.policy();
  for (const auto& [key, value] : snapshot.settings) {
    restore_setting(key, value, policy);
  }
  engine_.set_policy(policy);
  restore_documents(snapshot.documents);
}

void Service::restore_setting(const std::string& key, const std::string& value,
                              core::VisibilityPolicy& policy) {
  if (key == "visibility.default_level") {
    policy.default_level = core::parse_visibility_level(value).value_or(policy.default_level);
  } else if (key == "visibility.minimum") {
    policy.minimum = core::parse_visibility_level(value).value_or(policy.minimum);
  } else if (key == kStateActionsKey) {
    if (auto actions = decode_state_actions(value, config_.limits)) {
      state_actions_ = *actions;
    } else {
      spdlog::warn("store: state actions unreadable, none apply: {}", actions.error().message);
    }
  }
}

// The store hands contacts over as positions in the snapshot's users (store::ContactLists):
// no id is looked up here, each list is mapped through the users' engine indices.
void Service::restore_contacts(const store::ContactLists& contacts,
                               const std::vector<std::optional<core::UserIndex>>& indices) {
  for (std::size_t owner = 0; owner < indices.size(); ++owner) {
    const std::span<const std::uint32_t> positions = contacts.of(owner);
    if (positions.empty() || !indices[owner]) {
      continue;
    }
    std::vector<core::UserIndex> list;
    list.reserve(positions.size());
    for (std::uint32_t p : positions) {
      if (p < indices.size() && indices[p]) {
        list.push_back(*indices[p]);
      }
    }
    engine_.set_contacts(*indices[owner], std::move(list));
  }
}

std::optional<core::TimePoint> Service::advance() {
  const core::TimePoint t = now();
  end_lapsed_profiles(t);
  engine_.advance(t);
  for (const core::UserIndex user : engine_.take_lapsed_logouts()) {
    if (engine_.exists(user)) {
      apply_session_state(user, engine_.settings(user).logout_state);
    }
  }
  return engine_.next_deadline();
}

Result<Principal> Service::authenticate(std::string_view credentials) {
  constexpr std::string_view kBearer = "Bearer ";
  if (credentials.size() >= kBearer.size() &&
      std::equal(kBearer.begin(), kBearer.end(), credentials.begin(),
                 [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    credentials.remove_prefix(kBearer.size());
  }
  if (credentials.empty()) {
    return Error::unauthenticated("missing bearer token");
  }
  const store::TokenRecord* token = tokens_.find(credentials, now());
  if (token == nullptr) {
    return Error::unauthenticated("invalid or expired token");
  }
  auto user = engine_.find(token->user);
  auto record = users_.find(token->user);
  if (!user || record == users_.end()) {
    return Error::unauthenticated("the token's user no longer exists");
  }
  return Principal{*user, token->user, record->second.role, token->token_hash};
}

namespace {

// The shared layers (cluster mode) that `mutations` change.
std::vector<LayerChange> layer_changes(const std::vector<store::Mutation>& mutations) {
  std::vector<LayerChange> changes;
  for (const store::Mutation& m : mutations) {
    if (const auto* put = std::get_if<store::PutManual>(&m)) {
      changes.push_back({put->manual.user, core::Layer::Manual});
    } else if (const auto* removed = std::get_if<store::DeleteManual>(&m)) {
      changes.push_back({removed->user, core::Layer::Manual});
    } else if (const auto* call = std::get_if<store::PutCall>(&m)) {
      changes.push_back({call->call.user, core::Layer::Telephony});
    } else if (const auto* ended = std::get_if<store::DeleteCall>(&m)) {
      changes.push_back({ended->user, core::Layer::Telephony});
    } else if (const auto* calendar = std::get_if<store::PutCalendar>(&m)) {
      changes.push_back({calendar->calendar.user, core::Layer::Calendar});
    }
  }
  return changes;
}

// The directory changes (users, tokens, groups, devices, visibility, states, contacts,
// settings and the documents every node keeps) among `mutations`, for the others.
std::vector<store::Mutation> directory_changes(const std::vector<store::Mutation>& mutations) {
  std::vector<store::Mutation> changes;
  std::copy_if(mutations.begin(), mutations.end(), std::back_inserter(changes),
               [](const store::Mutation& m) {
                 if (const auto* put = std::get_if<store::PutDocument>(&m)) {
                   return is_shared_document(put->document.kind);
                 }
                 if (const auto* removed = std::get_if<store::DeleteDocument>(&m)) {
                   return is_shared_document(removed->kind);
                 }
                 return std::holds_alternative<store::PutUser>(m) ||
                        std::holds_alternative<store::DeleteUser>(m) ||
                        std::holds_alternative<store::PutGroup>(m) ||
                        std::holds_alternative<store::DeleteGroup>(m) ||
                        std::holds_alternative<store::PutDevice>(m) ||
                        std::holds_alternative<store::DeleteDevice>(m) ||
                        std::holds_alternative<store::PutToken>(m) ||
                        std::holds_alternative<store::DeleteToken>(m) ||
                        std::holds_alternative<store::PutVisibility>(m) ||
                        std::holds_alternative<store::DeleteVisibility>(m) ||
                        std::holds_alternative<store::PutState>(m) ||
                        std::holds_alternative<store::DeleteState>(m) ||
                        std::holds_alternative<store::PutContact>(m) ||
                        std::holds_alternative<store::DeleteContact>(m) ||
                        std::holds_alternative<store::PutSetting>(m);
               });
  return changes;
}

}  // namespace

void Service::commit(std::vector<store::Mutation> mutations, Respond respond,
                     std::function<HttpResponse()> apply, Task rollback) {
  auto changes = cluster_ != nullptr ? layer_changes(mutations) : std::vector<LayerChange>{};
  auto directory =
      cluster_ != nullptr ? directory_changes(mutations) : std::vector<store::Mutation>{};
  store_.submit(std::move(mutations), [this, respond = std::move(respond), apply = std::move(apply),
                                       rollback = std::move(rollback), changes = std::move(changes),
                                       directory = std::move(directory)](
                                          Result<void> result) mutable {
    post_([this, result = std::move(result), respond = std::move(respond),
           apply = std::move(apply), rollback = std::move(rollback), changes = std::move(changes),
           directory = std::move(directory)]() mutable {
      if (!result) {
        if (rollback) {
          rollback();
        }
        ++metrics_.store_failures;
        spdlog::error("store commit failed: {}", result.error().message);
        respond(error_response(Error::unavailable("the change could not be stored")));
        return;
      }
      ++metrics_.store_commits;
      HttpResponse answer = apply();
      if ((changes.empty() && directory.empty()) || answer.status >= 300) {
        respond(std::move(answer));
        return;
      }
      cluster_->publish(std::move(changes), std::move(directory), [respond = std::move(respond),
                                            answer = std::move(answer)](bool ok) mutable {
        respond(ok ? std::move(answer)
                   : error_response(Error::unavailable("the cluster did not take the change")));
      });
    });
  });
}

Result<core::UserIndex> Service::target_user(const std::string& id) const {
  auto user = engine_.find(id);
  if (!user) {
    return Error::not_found("user " + id + ": no such user");
  }
  return *user;
}

Result<void> Service::require_self_or_admin(const Principal& principal,
                                            const std::string& user) const {
  if (principal.id == user || principal.role == store::Role::Admin) {
    return {};
  }
  return Error::permission_denied("only " + user + " or an admin may do this");
}

HttpResponse Service::presence_response(core::UserIndex user, const Principal& viewer) const {
  const bool self = viewer.user == user;
  const core::Presence projected = engine_.presence_for(user, viewer.user);
  return {200, json::serialize(presence_json(engine_.id_of(user).value, projected,
                                             engine_.sequence(user), self))};
}

// FreePBX start/end-session status: a manual state the admin or user chose, applied durably.
void Service::apply_session_state(core::UserIndex user, const std::string& state_id) {
  // A selected profile is the user's choice (or the admin's): a login does not replace it.
  if (state_id.empty() || engine_.states().find(state_id) == nullptr ||
      selections_.contains(engine_.id_of(user).value)) {
    return;
  }
  core::ManualLayer manual;
  manual.state_id = state_id;
  manual.set_at = now();
  const std::string id = engine_.id_of(user).value;
  store_.submit({store::PutManual{{id, manual}}}, [this, id, manual](Result<void> result) {
    post_([this, id, manual, ok = result.has_value()] {
      auto u = engine_.find(id);
      if (ok && u) {
        engine_.set_manual(*u, manual, now());
        share(*u, core::Layer::Manual);
      }
    });
  });
}

void Service::apply_orphaned_logout(const std::string& id) {
  const auto user = engine_.find(id);
  if (!user || !engine_.layers(*user).sessions.sessions.empty()) {
    return;  // deleted, or logged in again meanwhile
  }
  ++metrics_.orphaned_logouts;
  apply_session_state(*user, engine_.settings(*user).logout_state);
}

void Service::share(core::UserIndex user, core::Layer layer) {
  if (cluster_ != nullptr) {
    cluster_->publish({{engine_.id_of(user).value, layer}}, {}, [](bool) {});
  }
}

WsClient Service::ws_open(Principal principal, core::WatcherSink* sink) {
  WsClient client;
  client.watcher = engine_.add_watcher(principal.user, json_format_, sink);
  client.client_id = "ws-" + std::to_string(next_client_++);
  core::Session session;
  session.client_id = client.client_id;
  session.kind = "websocket";
  session.since = now();
  session.input_since = session.since;
  if (engine_.open_session(principal.user, session, now())) {
    apply_session_state(principal.user, engine_.settings(principal.user).login_state);
  }
  share(principal.user, core::Layer::Sessions);
  client.principal = std::move(principal);
  ++metrics_.ws_connections;
  ++metrics_.ws_connections_total;
  return client;
}

void Service::ws_close(WsClient& client) {
  engine_.remove_watcher(client.watcher);
  const core::UserIndex user = client.principal.user;
  if (engine_.exists(user) && engine_.close_session(user, client.client_id, now())) {
    apply_session_state(user, engine_.settings(user).logout_state);
  }
  if (engine_.exists(user)) {
    share(user, core::Layer::Sessions);
  }
  --metrics_.ws_connections;
}

void Service::ws_message(WsClient& client, std::string_view text,
                         const std::function<void(std::string)>& reply) {
  ++metrics_.ws_messages_in;
  auto message = decode_ws_message(text, config_.limits);
  if (!message) {
    ++metrics_.ws_errors;
    reply(ws_error_json(message.error(), {}));
    return;
  }
  auto error_with_id = [&](const Error& error) { reply(ws_error_json(error, message->id)); };
  switch (message->op) {
    case WsOp::Ping: {
      json::object o{{"type", "pong"}};
      if (!message->id.empty()) {
        o["id"] = message->id;
      }
      reply(json::serialize(o));
      return;
    }
    case WsOp::Input: {
      const InputRequest& input = *message->input;
      const core::TimePoint t = now();
      engine_.report_input(client.principal.user, client.client_id, input.state,
                           input.since.value_or(t), t);
      return;
    }
    case WsOp::Subscribe:
    case WsOp::Unsubscribe:
      break;
  }
  std::vector<core::UserIndex> targets;
  for (const std::string& id : message->users) {
    auto user = engine_.find(id);
    if (!user) {
      error_with_id(Error::not_found("user " + id + ": no such user"));
      continue;
    }
    targets.push_back(*user);
  }
  if (message->contacts && engine_.exists(client.principal.user)) {
    const auto& contacts = engine_.contacts(client.principal.user);
    targets.insert(targets.end(), contacts.begin(), contacts.end());
  }
  if (message->op == WsOp::Unsubscribe) {
    for (core::UserIndex user : targets) {
      engine_.unsubscribe(client.watcher, user);
    }
    return;
  }
  if (engine_.subscription_count(client.watcher) + targets.size() >
      config_.max_subscriptions_per_connection) {
    error_with_id(Error::resource_exhausted(
        "subscriptions: " + std::to_string(targets.size()) + " more would exceed the limit of " +
        std::to_string(config_.max_subscriptions_per_connection) + " per connection"));
    return;
  }
  std::unordered_map<std::string_view, std::uint64_t> since(message->since.begin(),
                                                            message->since.end());
  for (core::UserIndex user : targets) {
    auto it = since.find(engine_.id_of(user).value);
    engine_.subscribe(client.watcher, user,
                      it == since.end() ? std::nullopt : std::optional(it->second));
  }
}

}  // namespace presenced::api
