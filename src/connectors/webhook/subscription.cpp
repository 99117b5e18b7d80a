// A subscription's stored document, and the signature its events carry (docs/webhooks.md).

#include "connectors/webhook/webhook.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <sodium.h>

#include <array>

namespace presenced::connectors::webhook {

namespace json = boost::json;
using core::Error;

namespace {

std::optional<EventType> event_type(std::string_view name) {
  if (name == "presence.changed") {
    return EventType::PresenceChanged;
  }
  if (name == "availability.changed") {
    return EventType::AvailabilityChanged;
  }
  if (name == "user.removed") {
    return EventType::UserRemoved;
  }
  return std::nullopt;
}

std::string text(const json::object& body, std::string_view key) {
  const json::value* value = body.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}

// The strings of array `key`; none when it is absent.
std::set<std::string> names(const json::object& body, std::string_view key) {
  std::set<std::string> out;
  if (const json::value* list = body.if_contains(key); list != nullptr && list->is_array()) {
    for (const json::value& name : list->get_array()) {
      if (name.is_string()) {
        out.emplace(name.get_string());
      }
    }
  }
  return out;
}

}  // namespace

core::Result<Subscription> parse_subscription(std::string id, std::string_view body) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    return Error::invalid_argument("webhook " + id + ": the document is not a JSON object");
  }
  const json::object& object = parsed.get_object();
  Subscription out;
  out.id = std::move(id);
  out.url = text(object, "url");
  out.secret = text(object, "secret");
  if (out.url.empty() || out.secret.empty()) {
    return Error::invalid_argument("webhook " + out.id + ": url and secret are required");
  }
  out.users = names(object, "users");
  out.groups = names(object, "groups");
  out.all_users = out.users.empty() && out.groups.empty();
  if (const json::value* events = object.if_contains("events"); events && events->is_array()) {
    for (const json::value& e : events->get_array()) {
      if (auto type = e.is_string() ? event_type(e.get_string()) : std::nullopt) {
        out.events.insert(*type);
      }
    }
  }
  if (out.events.empty()) {
    out.events.insert(EventType::PresenceChanged);
  }
  const json::value* map = object.if_contains("status_map");
  const json::value* outbound = map && map->is_object() ? map->get_object().if_contains("outbound")
                                                        : nullptr;
  if (outbound != nullptr && outbound->is_object()) {
    for (const auto& entry : outbound->get_object()) {
      if (entry.value().is_string()) {
        out.outbound.emplace(std::string(entry.key()), std::string(entry.value().get_string()));
      }
    }
  }
  const json::value* enabled = object.if_contains("enabled");
  out.enabled = enabled == nullptr || !enabled->is_bool() || enabled->get_bool();
  return out;
}

std::string signature_header(std::string_view secret, std::int64_t unix_seconds,
                             std::string_view body) {
  const std::string stamp = std::to_string(unix_seconds);
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(stamp.data()),
                                stamp.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>("."), 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(body.data()),
                                body.size());
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  crypto_auth_hmacsha256_final(&state, mac.data());
  std::array<char, crypto_auth_hmacsha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), mac.data(), mac.size());
  return fmt::format("t={},v1={}", stamp, hex.data());
}

}  // namespace presenced::connectors::webhook
