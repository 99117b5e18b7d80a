#include "connectors/teams/internal/graph_json.h"

#include "core/mappings.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace presenced::connectors::teams {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

constexpr std::size_t kIdLimit = 128;  // object ids are GUIDs; subscription ids too

Result<json::object> object_of(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Error::invalid_argument("body: not a JSON object");
  }
  return std::move(v.get_object());
}

std::string string_member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

// ids go into a $filter between single quotes: only the characters of object ids pass.
bool plain_id(std::string_view id) {
  if (id.empty() || id.size() > kIdLimit) {
    return false;
  }
  for (const char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return false;
    }
  }
  return true;
}

std::string quoted_list(const std::vector<std::string>& ids) {
  std::string out;
  for (const std::string& id : ids) {
    out += out.empty() ? "'" : ",'";
    out += id;
    out += '\'';
  }
  return out;
}

}  // namespace

core::Availability read_availability(std::string_view text) {
  return core::parse_availability(text).value_or(core::Availability::PresenceUnknown);
}

core::Activity read_activity(std::string_view text) {
  if (text == "AvailableInactive") {
    return core::Activity::Inactive;
  }
  return core::parse_activity(text).value_or(core::Activity::PresenceUnknown);
}

Result<TokenRead> read_token(std::string_view body) {
  auto o = object_of(body);
  if (!o) {
    return o.error();
  }
  TokenRead token{string_member(*o, "access_token"), {}};
  const json::value* expires = o->if_contains("expires_in");
  if (token.access_token.empty() || expires == nullptr || !expires->is_int64() ||
      expires->get_int64() <= 0) {
    return Error::invalid_argument("token: access_token and expires_in are required");
  }
  token.expires_in = std::chrono::seconds(expires->get_int64());
  return token;
}

Result<std::string> read_user_id(std::string_view body) {
  auto o = object_of(body);
  if (!o) {
    return o.error();
  }
  std::string id = string_member(*o, "id");
  if (!plain_id(id)) {
    return Error::invalid_argument("user: id missing or not an object id");
  }
  return id;
}

Result<std::vector<GraphPresenceRead>> read_presences(std::string_view body) {
  auto o = object_of(body);
  if (!o) {
    return o.error();
  }
  const json::value* value = o->if_contains("value");
  if (value == nullptr || !value->is_array()) {
    return Error::invalid_argument("presences: value array missing");
  }
  std::vector<GraphPresenceRead> out;
  for (const json::value& item : value->get_array()) {
    if (!item.is_object()) {
      continue;
    }
    const json::object& p = item.get_object();
    GraphPresenceRead read{string_member(p, "id"),
                           read_availability(string_member(p, "availability")),
                           read_activity(string_member(p, "activity"))};
    if (plain_id(read.id)) {
      out.push_back(std::move(read));
    }
  }
  return out;
}

Result<SubscriptionRead> read_subscription(std::string_view body) {
  auto o = object_of(body);
  if (!o) {
    return o.error();
  }
  SubscriptionRead s;
  s.id = string_member(*o, "id");
  const std::string expires = string_member(*o, "expirationDateTime");
  std::tm tm{};
  if (!plain_id(s.id) ||
      std::sscanf(expires.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return Error::invalid_argument("subscription: id or expirationDateTime missing");
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  s.expires = core::to_time_point(core::Clock::from_time_t(timegm(&tm)));
  return s;
}

Result<std::vector<NotificationItem>> read_notifications(std::string_view body,
                                                         std::size_t limit) {
  auto o = object_of(body);
  if (!o) {
    return o.error();
  }
  const json::value* value = o->if_contains("value");
  if (value == nullptr || !value->is_array() || value->get_array().empty()) {
    return Error::invalid_argument("notification: value array missing or empty");
  }
  if (value->get_array().size() > limit) {
    return Error::invalid_argument(fmt::format("notification: {} items, limit {}",
                                               value->get_array().size(), limit));
  }
  std::vector<NotificationItem> out;
  for (const json::value& v : value->get_array()) {
    if (!v.is_object()) {
      return Error::invalid_argument("notification: items must be objects");
    }
    const json::object& item = v.get_object();
    NotificationItem n{string_member(item, "subscriptionId"), string_member(item, "clientState"),
                       {}};
    // resource is "communications/presences/{id}"; resourceData.id says the same.
    const std::string resource = string_member(item, "resource");
    const auto slash = resource.rfind('/');
    n.user_id = slash == std::string::npos ? std::string() : resource.substr(slash + 1);
    if (const json::value* data = item.if_contains("resourceData");
        n.user_id.empty() && data != nullptr && data->is_object()) {
      n.user_id = string_member(data->get_object(), "id");
    }
    if (!plain_id(n.user_id) || n.client_state.size() > 256) {
      return Error::invalid_argument("notification: resource is not a presence id");
    }
    out.push_back(std::move(n));
  }
  return out;
}

std::string iso_duration(std::chrono::seconds duration) {
  const auto s = duration.count();
  return s % 60 == 0 ? fmt::format("PT{}M", s / 60) : fmt::format("PT{}S", s);
}

std::string iso_time(core::TimePoint t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const std::time_t unix_time = core::Clock::to_time_t(seconds);
  std::tm tm{};
  gmtime_r(&unix_time, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (t - seconds).count());
}

std::string presences_request(const std::vector<std::string>& ids) {
  json::array list;
  for (const std::string& id : ids) {
    list.emplace_back(id);
  }
  return json::serialize(json::object{{"ids", std::move(list)}});
}

std::string subscription_request(const std::vector<std::string>& ids,
                                 const std::string& notification_url,
                                 const std::string& client_state, core::TimePoint expires) {
  return json::serialize(json::object{
      {"changeType", "updated"},
      {"notificationUrl", notification_url},
      {"resource", "/communications/presences?$filter=id in (" + quoted_list(ids) + ")"},
      {"expirationDateTime", iso_time(expires)},
      {"clientState", client_state}});
}

std::string renewal_request(core::TimePoint expires) {
  return json::serialize(json::object{{"expirationDateTime", iso_time(expires)}});
}

std::string set_presence_request(const std::string& session_id, std::string_view availability,
                                 std::string_view activity, std::chrono::seconds expiration) {
  return json::serialize(json::object{{"sessionId", session_id},
                                      {"availability", availability},
                                      {"activity", activity},
                                      {"expirationDuration", iso_duration(expiration)}});
}

std::string preferred_request(std::string_view availability, std::string_view activity) {
  return json::serialize(json::object{{"availability", availability}, {"activity", activity}});
}

std::string clear_presence_request(const std::string& session_id) {
  return json::serialize(json::object{{"sessionId", session_id}});
}

std::string percent_encoded(std::string_view in, std::string_view also_plain) {
  std::string out;
  for (const char c : in) {
    if (std::isalnum(static_cast<unsigned char>(c)) || also_plain.find(c) != std::string::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string token_request(const std::string& client_id, const std::string& client_secret) {
  // RFC 3986 unreserved characters stay; the rest is encoded (form encoding, RFC 6749 §4.4).
  constexpr std::string_view kUnreserved = "-_.~";
  return "grant_type=client_credentials&client_id=" + percent_encoded(client_id, kUnreserved) +
         "&client_secret=" + percent_encoded(client_secret, kUnreserved) +
         "&scope=" + percent_encoded("https://graph.microsoft.com/.default", kUnreserved);
}

}  // namespace presenced::connectors::teams
