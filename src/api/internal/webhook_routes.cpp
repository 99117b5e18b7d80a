// Webhook subscriptions (docs/webhooks.md): admin-managed, kept as documents the webhook
// connector watches. Secrets are stored but never read back.

#include "api/internal/auth.h"
#include "api/internal/service.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

constexpr std::size_t kUrlLimit = 2048;
constexpr std::size_t kSecretMin = 16;
constexpr std::size_t kSecretLimit = 256;
constexpr std::size_t kIdLimit = 64;
constexpr std::size_t kListLimit = 10'000;  // users or groups of one subscription
constexpr std::size_t kMapLimit = 200;      // entries of one status map direction
constexpr std::size_t kStatusLimit = 128;   // an external status value

std::optional<Error> webhook_id_problem(std::string_view id) {
  const bool ok = !id.empty() && id.size() <= kIdLimit &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                  });
  if (ok) {
    return std::nullopt;
  }
  return Error::invalid_argument("id: 1 to 64 letters, digits, '-' or '_'");
}

Result<std::string> url_of(const json::value& value) {
  if (!value.is_string() || value.get_string().size() > kUrlLimit) {
    return Error::invalid_argument("url: a string of at most 2048 bytes is required");
  }
  const std::string_view text = value.get_string();
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
    return Error::invalid_argument("url: " + std::string(text.substr(0, 128)) +
                                   " is not an http or https URL");
  }
  return std::string(text);
}

Result<std::vector<std::string>> names_of(const json::value& value, std::string_view key,
                                          const std::function<bool(const std::string&)>& known) {
  if (!value.is_array() || value.get_array().size() > kListLimit) {
    return Error::invalid_argument(std::string(key) + ": an array of at most 10000 ids");
  }
  std::vector<std::string> out;
  for (const json::value& v : value.get_array()) {
    if (!v.is_string() || !known(std::string(v.get_string()))) {
      return Error::invalid_argument(std::string(key) + ": " +
                                     (v.is_string() ? std::string(v.get_string()).substr(0, 128)
                                                    : json::serialize(v).substr(0, 128)) +
                                     " is unknown");
    }
    out.emplace_back(v.get_string());
  }
  return out;
}

Result<json::array> events_of(const json::value& value) {
  static const std::set<std::string_view> kEvents = {"presence.changed", "availability.changed",
                                                     "user.removed"};
  if (!value.is_array() || value.get_array().empty()) {
    return Error::invalid_argument("events: a non-empty array");
  }
  for (const json::value& v : value.get_array()) {
    if (!v.is_string() || !kEvents.contains(v.get_string())) {
      return Error::invalid_argument(
          "events: presence.changed, availability.changed or user.removed");
    }
  }
  return value.get_array();
}

// {"inbound": {external: our state id or null}, "outbound": {our state or availability:
// external}}; `is_state` tells our state ids.
Result<json::object> status_map_of(const json::value& value,
                                   const std::function<bool(std::string_view)>& is_state) {
  if (!value.is_object()) {
    return Error::invalid_argument("status_map: an object with inbound and outbound");
  }
  json::object out{{"inbound", json::object{}}, {"outbound", json::object{}}};
  for (const auto& direction : value.get_object()) {
    const bool inbound = direction.key() == "inbound";
    if ((!inbound && direction.key() != "outbound") || !direction.value().is_object() ||
        direction.value().get_object().size() > kMapLimit) {
      return Error::invalid_argument("status_map." + std::string(direction.key()) +
                                     ": inbound or outbound, an object of at most 200 entries");
    }
    for (const auto& entry : direction.value().get_object()) {
      const json::value& v = entry.value();
      const bool ours_ok = inbound ? v.is_null() || (v.is_string() && is_state(v.get_string()))
                                   : !entry.key().empty() && entry.key().size() <= kStatusLimit;
      const bool theirs_ok =
          inbound ? !entry.key().empty() && entry.key().size() <= kStatusLimit
                  : v.is_string() && !v.get_string().empty() &&
                        v.get_string().size() <= kStatusLimit;
      if (!ours_ok || !theirs_ok) {
        return Error::invalid_argument(
            "status_map." + std::string(direction.key()) + "." +
            std::string(entry.key()).substr(0, 128) +
            (inbound ? ": our state id (or null), the external value 1 to 128 bytes"
                     : ": the external value, a string of 1 to 128 bytes"));
      }
    }
    out[direction.key()] = direction.value();
  }
  return out;
}

}  // namespace

// The body of a POST or PUT, checked, as it is stored; `stored` is the subscription it
// replaces (its secret stays when the body has none).
Result<json::object> Service::decode_webhook(std::string_view text,
                                             const json::object* stored) const {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) {
    return Error::invalid_argument("body: a JSON object is required");
  }
  static const std::set<std::string_view> kKeys = {"id", "url", "secret", "users", "groups",
                                                   "events", "status_map", "enabled"};
  json::object& body = parsed.get_object();
  for (const auto& member : body) {
    if (!kKeys.contains(member.key())) {
      return Error::invalid_argument("body: unknown member " + std::string(member.key()));
    }
  }
  json::object out;
  auto url = url_of(body.contains("url") ? body.at("url") : json::value());
  if (!url) {
    return url.error();
  }
  out["url"] = *url;
  if (const json::value* secret = body.if_contains("secret")) {
    if (!secret->is_string() || secret->get_string().size() < kSecretMin ||
        secret->get_string().size() > kSecretLimit) {
      return Error::invalid_argument("secret: a string of 16 to 256 bytes");
    }
    out["secret"] = *secret;
  } else if (stored != nullptr) {
    out["secret"] = stored->at("secret");
  } else {
    return Error::invalid_argument("secret: a string of 16 to 256 bytes is required");
  }
  auto users = names_of(body.contains("users") ? body.at("users") : json::value(json::array()), "users",
                        [this](const std::string& id) { return users_.contains(id); });
  auto groups = names_of(body.contains("groups") ? body.at("groups") : json::value(json::array()), "groups",
                         [this](const std::string& id) { return groups_.contains(id); });
  auto events = events_of(body.contains("events") ? body.at("events")
                                                  : json::value(json::array{"presence.changed"}));
  auto map = status_map_of(body.contains("status_map") ? body.at("status_map")
                                                   : json::value(json::object{}),
                           [this](std::string_view id) {
                             return engine_.states().find(std::string(id)) != nullptr;
                           });
  if (auto error = first_error(users, groups, events, map)) {
    return *error;
  }
  const json::value* enabled = body.if_contains("enabled");
  if (enabled != nullptr && !enabled->is_bool()) {
    return Error::invalid_argument("enabled: true or false");
  }
  // Who it covers is worked out when an event comes, from the groups as they are then.
  out["users"] = json::value_from(*users);
  out["groups"] = json::value_from(*groups);
  out.erase("members");
  out["events"] = std::move(*events);
  out["status_map"] = std::move(*map);
  out["enabled"] = enabled == nullptr || enabled->get_bool();
  return out;
}

const store::DocumentRecord* Service::find_webhook(const std::string& id) const {
  const auto found =
      std::find_if(foreign_documents_.begin(), foreign_documents_.end(),
                   [&](const store::DocumentRecord& d) { return d.kind == kWebhookKind && d.id == id; });
  return found == foreign_documents_.end() ? nullptr : &*found;
}

namespace {

// What reads show: the stored body without its secret, and the users it covers now (those
// named and the members of the groups named).
json::value webhook_json(const store::DocumentRecord& d,
                         const std::unordered_map<std::string, store::UserRecord>& users) {
  json::object body = json::parse(d.body).as_object();
  body.erase("secret");
  body.emplace("id", d.id);
  const auto names = [&body](std::string_view key) {
    const json::value* list = body.if_contains(key);
    return list != nullptr && list->is_array() ? list->get_array() : json::array();
  };
  std::set<std::string> members;
  for (const json::value& user : names("users")) {
    if (user.is_string()) {
      members.emplace(user.get_string());
    }
  }
  const json::array groups = names("groups");
  for (const auto& [id, user] : users) {
    if (std::any_of(user.groups.begin(), user.groups.end(), [&](const std::string& group) {
          return std::find(groups.begin(), groups.end(), json::value(group)) != groups.end();
        })) {
      members.insert(id);
    }
  }
  body["members"] = json::value_from(members);
  return body;
}

}  // namespace

void Service::list_webhooks(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kWebhookKind) {
      out.push_back(webhook_json(d, users_));
    }
  }
  respond(json_response(200, json::object{{"webhooks", std::move(out)}}));
}

void Service::get_webhook(const Principal&, const Params& params, HttpRequest&,
                          Respond& respond) {
  const store::DocumentRecord* found = find_webhook(params[0]);
  if (found == nullptr) {
    respond(error_response(Error::not_found("webhook " + params[0] + ": none")));
    return;
  }
  respond(json_response(200, webhook_json(*found, users_)));
}

void Service::create_webhook(const Principal& principal, const Params&, HttpRequest& request,
                             Respond& respond) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(request.body, ec);
  std::string id = new_token().substr(0, 16);
  if (!ec && parsed.is_object() && parsed.get_object().contains("id")) {
    const json::value& given = parsed.get_object().at("id");
    id = given.is_string() ? std::string(given.get_string()) : "";
    if (auto problem = webhook_id_problem(id)) {
      respond(error_response(*problem));
      return;
    }
  }
  if (find_webhook(id) != nullptr) {
    respond(error_response(Error::conflict("webhook " + id + ": exists; PUT replaces it")));
    return;
  }
  save_webhook(principal, id, request, respond, 201);
}

void Service::put_webhook(const Principal& principal, const Params& params, HttpRequest& request,
                          Respond& respond) {
  if (auto problem = webhook_id_problem(params[0])) {
    respond(error_response(*problem));
    return;
  }
  save_webhook(principal, params[0], request, respond, find_webhook(params[0]) ? 200 : 201);
}

void Service::save_webhook(const Principal&, const std::string& id, HttpRequest& request,
                           Respond& respond, int status) {
  const store::DocumentRecord* stored = find_webhook(id);
  json::object old = stored != nullptr ? json::parse(stored->body).as_object() : json::object{};
  auto body = decode_webhook(request.body, stored != nullptr ? &old : nullptr);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  store::DocumentRecord document{std::string(kWebhookKind), id, "", json::serialize(*body)};
  commit({store::PutDocument{document}}, std::move(respond), [this, document, status] {
    std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
      return d.kind == document.kind && d.id == document.id;
    });
    foreign_documents_.push_back(document);
    tell_watchers(document, false);
    return json_response(status, webhook_json(document, users_));
  });
}

void Service::delete_webhook(const Principal&, const Params& params, HttpRequest&,
                             Respond& respond) {
  const std::string id = params[0];
  if (find_webhook(id) == nullptr) {
    respond(error_response(Error::not_found("webhook " + id + ": none")));
    return;
  }
  // Its dead letters and the statuses it knows go with it.
  std::vector<store::Mutation> mutations;
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kWebhookKind ? d.id == id
                               : d.kind.starts_with("webhook.") && d.id.starts_with(id + "/")) {
      mutations.emplace_back(store::DeleteDocument{d.kind, d.id});
    }
  }
  commit(std::move(mutations), std::move(respond), [this, id] {
    std::vector<store::DocumentRecord> removed;
    std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
      const bool ours = d.kind == kWebhookKind
                            ? d.id == id
                            : d.kind.starts_with("webhook.") && d.id.starts_with(id + "/");
      return ours && (removed.push_back(d), true);
    });
    for (const store::DocumentRecord& d : removed) {
      if (d.kind == kWebhookKind) {
        tell_watchers(d, true);
      }
    }
    return HttpResponse{204, ""};
  });
}

void Service::list_dead_letters(const Principal&, const Params& params, HttpRequest&,
                                Respond& respond) {
  if (find_webhook(params[0]) == nullptr) {
    respond(error_response(Error::not_found("webhook " + params[0] + ": none")));
    return;
  }
  std::vector<const store::DocumentRecord*> letters;
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kWebhookDeadLetterKind && d.id.starts_with(params[0] + "/")) {
      letters.push_back(&d);
    }
  }
  std::sort(letters.begin(), letters.end(), [](auto* a, auto* b) { return a->id < b->id; });
  json::array out;
  for (const store::DocumentRecord* d : letters) {
    out.push_back(json::parse(d->body));
  }
  respond(json_response(200, json::object{{"dead_letters", std::move(out)}}));
}

}  // namespace presenced::api
