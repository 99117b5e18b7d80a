#pragma once

// Microsoft Graph's JSON for presence, tokens and subscriptions, read and written with size
// checks (presence-reference §1). Pure: no I/O.

#include "core/model.h"
#include "core/result.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::teams {

inline constexpr std::size_t kMaxIdsPerRequest = 650;  // getPresencesByUserId, subscriptions

struct GraphPresenceRead {
  std::string id;
  core::Availability availability = core::Availability::PresenceUnknown;
  core::Activity activity = core::Activity::PresenceUnknown;
};

struct TokenRead {
  std::string access_token;
  std::chrono::seconds expires_in{0};
};

struct SubscriptionRead {
  std::string id;
  core::TimePoint expires{};
};

// One change notification: which subscription, the secret it carries, whose presence.
struct NotificationItem {
  std::string subscription_id;
  std::string client_state;
  std::string user_id;  // Graph's user (object) id
};

// Graph's words; "AvailableInactive" (the idle fade) reads as Inactive, unknown words as
// PresenceUnknown.
core::Availability read_availability(std::string_view text);
core::Activity read_activity(std::string_view text);

core::Result<TokenRead> read_token(std::string_view body);
core::Result<std::string> read_user_id(std::string_view body);
// {"value": [presence, ...]} from getPresencesByUserId.
core::Result<std::vector<GraphPresenceRead>> read_presences(std::string_view body);
core::Result<SubscriptionRead> read_subscription(std::string_view body);
// {"value": [...]} posted to the notification URL; at most `limit` items.
core::Result<std::vector<NotificationItem>> read_notifications(std::string_view body,
                                                               std::size_t limit);

std::string iso_duration(std::chrono::seconds duration);  // PT5M, PT90S
std::string iso_time(core::TimePoint t);                   // 2026-12-01T10:00:00.000Z
std::string presences_request(const std::vector<std::string>& ids);
std::string subscription_request(const std::vector<std::string>& ids,
                                 const std::string& notification_url,
                                 const std::string& client_state, core::TimePoint expires);
std::string renewal_request(core::TimePoint expires);
std::string set_presence_request(const std::string& session_id, std::string_view availability,
                                 std::string_view activity, std::chrono::seconds expiration);
std::string preferred_request(std::string_view availability, std::string_view activity);
std::string clear_presence_request(const std::string& session_id);
// Letters, digits and `also_plain` as they are, every other byte as %XX.
std::string percent_encoded(std::string_view in, std::string_view also_plain);
// application/x-www-form-urlencoded client-credentials request for Graph's scope.
std::string token_request(const std::string& client_id, const std::string& client_secret);

}  // namespace presenced::connectors::teams
