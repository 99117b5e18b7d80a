#include "connectors/teams/teams.h"

#include <boost/json.hpp>

#include <set>

namespace presenced::connectors::teams {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

Result<std::string> text(const json::object& in, std::string_view key, bool required) {
  const json::value* v = in.if_contains(key);
  if (v == nullptr) {
    return required ? Result<std::string>(Error::invalid_argument(std::string(key) + ": missing"))
                    : Result<std::string>(std::string());
  }
  if (!v->is_string()) {
    return Error::invalid_argument(std::string(key) + ": a string is required");
  }
  return std::string(v->get_string());
}

Result<void> seconds(const json::object& in, std::string_view key, std::chrono::seconds& out,
                     std::int64_t low, std::int64_t high) {
  const json::value* v = in.if_contains(key);
  if (v == nullptr) {
    return {};
  }
  if (!v->is_int64() || v->get_int64() < low || v->get_int64() > high) {
    return Error::invalid_argument(std::string(key) + ": a number of seconds from " +
                                   std::to_string(low) + " to " + std::to_string(high));
  }
  out = std::chrono::seconds(v->get_int64());
  return {};
}

Result<TenantConfig> tenant(const json::value& value) {
  if (!value.is_object()) {
    return Error::invalid_argument("tenants: objects are required");
  }
  const json::object& in = value.get_object();
  TenantConfig t;
  for (auto [key, field, required] :
       {std::tuple{"name", &t.name, true}, {"client_id", &t.client_id, true},
        {"client_secret", &t.client_secret, true}, {"token_url", &t.token_url, true},
        {"graph_url", &t.graph_url, false}}) {
    auto v = text(in, key, required);
    if (!v) {
      return Error::invalid_argument("tenants: " + v.error().message);
    }
    if (!v->empty()) {
      *field = std::move(*v);
    }
  }
  while (!t.graph_url.empty() && t.graph_url.back() == '/') {
    t.graph_url.pop_back();
  }
  return t;
}

}  // namespace

Result<TeamsConfig> parse_teams_config(std::string_view text_in) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text_in, ec);
  if (ec || !parsed.is_object()) {
    return Error::invalid_argument("teams config: not a JSON object");
  }
  const json::object& in = parsed.get_object();
  TeamsConfig config;
  const json::value* tenants = in.if_contains("tenants");
  if (tenants == nullptr || !tenants->is_array() || tenants->get_array().empty()) {
    return Error::invalid_argument("tenants: a non-empty array is required");
  }
  std::set<std::string> names;
  for (const json::value& t : tenants->get_array()) {
    auto parsed_tenant = tenant(t);
    if (!parsed_tenant) {
      return parsed_tenant.error();
    }
    if (!names.insert(parsed_tenant->name).second) {
      return Error::invalid_argument("tenants: name " + parsed_tenant->name + " given twice");
    }
    config.tenants.push_back(std::move(*parsed_tenant));
  }
  auto url = text(in, "notification_url", false);
  auto state = text(in, "client_state", true);
  if (!url || !state) {
    return !url ? url.error() : state.error();
  }
  // Graph: clientState is at most 128 characters.
  if (state->size() < 16 || state->size() > 128) {
    return Error::invalid_argument("client_state: 16 to 128 characters");
  }
  config.notification_url = std::move(*url);
  config.client_state = std::move(*state);
  for (auto [key, field, low, high] :
       {std::tuple{"subscription_lifetime_s", &config.subscription_lifetime, 2, 3600},
        {"renew_before_s", &config.renew_before, 1, 3000},
        {"session_expiration_s", &config.session_expiration, 300, 4 * 3600},
        {"session_refresh_s", &config.session_refresh, 1, 4 * 3600},
        {"window_s", &config.window, 1, 3600},
        {"poll_interval_s", &config.poll_interval, 1, 24 * 3600}}) {
    if (auto r = seconds(in, key, *field, low, high); !r) {
      return r.error();
    }
  }
  if (const json::value* n = in.if_contains("requests_per_window")) {
    if (!n->is_int64() || n->get_int64() < 1 || n->get_int64() > 1500) {
      return Error::invalid_argument("requests_per_window: 1 to 1500 (Graph's limit per tenant)");
    }
    config.requests_per_window = static_cast<int>(n->get_int64());
  }
  if (config.renew_before >= config.subscription_lifetime) {
    return Error::invalid_argument("renew_before_s: must be below subscription_lifetime_s");
  }
  if (config.session_refresh >= config.session_expiration) {
    return Error::invalid_argument("session_refresh_s: must be below session_expiration_s");
  }
  return config;
}

Result<UserMapping> parse_mapping(std::string user, std::string_view body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return Error::invalid_argument("teams mapping of " + user + ": not a JSON object");
  }
  const json::object& in = parsed.get_object();
  auto upn = text(in, "upn", true);
  auto tenant_name = text(in, "tenant", true);
  if (!upn || !tenant_name) {
    return !upn ? upn.error() : tenant_name.error();
  }
  const json::value* mirror = in.if_contains("mirror_dnd");
  return UserMapping{std::move(user), std::move(*tenant_name), std::move(*upn),
                     mirror != nullptr && mirror->is_bool() && mirror->get_bool()};
}

}  // namespace presenced::connectors::teams
