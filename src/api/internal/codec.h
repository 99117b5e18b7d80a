#pragma once

// JSON on the wire <-> typed requests and responses. Pure functions over strings, so they can be
// unit-tested and fuzzed alone (fuzz/fuzz_request_decode.cpp). Every decoder checks types, sizes
// and unknown values and names the field in its error; unknown extra fields are ignored.

#include "core/model.h"
#include "core/result.h"
#include "core/visibility.h"
#include "routing/routing.h"
#include "store/store.h"

#include <boost/json/fwd.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::api {

using core::Result;

struct Limits {
  std::size_t id_bytes = 128;        // user, group, device, state and call ids
  std::size_t name_bytes = 256;      // display names, messages, subjects
  std::size_t note_bytes = 1024;     // status notes
  std::size_t password_bytes = 1024;
  std::size_t list_items = 10000;    // users in one subscribe, appointments, contacts...
  int json_depth = 16;
};

// ---- Requests ----
struct TokenRequest { std::string username; std::string password; };
struct CreateUserRequest {
  std::string id;
  std::string display_name;
  std::string password;
  store::Role role = store::Role::User;
  std::string sip_password;
  std::vector<std::string> groups;
};
// PATCH-like update: only present fields change.
struct UpdateUserRequest {
  std::optional<std::string> display_name;
  std::optional<std::string> password;
  std::optional<store::Role> role;
  std::optional<std::string> sip_password;
  std::optional<std::vector<std::string>> groups;
  std::optional<int> idle_minutes;
  std::optional<std::string> login_state;   // "" clears
  std::optional<std::string> logout_state;  // "" clears
};
struct ManualRequest {
  std::string state;
  std::string note;
  std::optional<core::TimePoint> from;
  std::optional<core::TimePoint> until;
  core::Reachability reachability = core::Reachability::Normal;
};
struct VisibilityRequest { core::VisibilityLevel level = core::VisibilityLevel::Business; };
struct TelephonyEventRequest {
  std::string user;
  std::string device;
  std::string call_id;
  core::CallState state = core::CallState::Ringing;
  core::CallDirection direction = core::CallDirection::Inbound;
};
struct RoutingRequest {
  std::string callee;
  std::string caller;
  routing::CallType type = routing::CallType::Direct;
};
struct StateRequest {  // admin-defined state
  std::string id;
  core::StateType type = core::StateType::Available;
  std::string message;
  int order = 0;
  std::optional<bool> is_default;  // absent: unchanged
};
struct GroupRequest { std::string id; std::string display_name; };
struct DeviceRequest {
  std::string device;
  std::string label;
  std::optional<std::string> sip_password;  // absent: keep the device's; "": remove it
};
struct CalendarRequest { std::vector<core::Appointment> appointments; };
// A user's calendar source (docs/calendar.md), as configured through the API; the password is
// kept server-side and never returned.
struct CalendarSource {
  std::string mode = "caldav";  // "caldav" or "ics"
  std::string url;
  std::string username;
  std::string password;
  bool discover = false;  // url names a CalDAV server or principal, not a calendar
};
struct InputRequest {  // idle / screen-lock report of one client
  std::string client_id;
  core::InputState state = core::InputState::Active;
  std::optional<core::TimePoint> since;  // default: now
};
struct ContactsRequest { std::vector<std::string> users; };
struct PolicyRequest {
  std::optional<core::VisibilityLevel> default_level;
  std::optional<core::VisibilityLevel> minimum;
};
struct ApiKeyRequest { std::string user; std::string label; std::optional<int> days; };

Result<TokenRequest> decode_token_request(std::string_view body, const Limits& limits);
Result<CreateUserRequest> decode_create_user(std::string_view body, const Limits& limits);
Result<UpdateUserRequest> decode_update_user(std::string_view body, const Limits& limits);
Result<ManualRequest> decode_manual(std::string_view body, const Limits& limits);
Result<VisibilityRequest> decode_visibility(std::string_view body, const Limits& limits);
Result<TelephonyEventRequest> decode_telephony_event(std::string_view body, const Limits& limits);
Result<RoutingRequest> decode_routing(std::string_view body, const Limits& limits);
Result<StateRequest> decode_state(std::string_view body, const Limits& limits);
Result<GroupRequest> decode_group(std::string_view body, const Limits& limits);
Result<DeviceRequest> decode_device(std::string_view body, const Limits& limits);
Result<CalendarRequest> decode_calendar(std::string_view body, const Limits& limits);
// A calendar source (calendar_routes.cpp). A body without a password keeps `previous`'s when
// the username is the same.
Result<CalendarSource> decode_calendar_source(std::string_view body, const Limits& limits,
                                              const CalendarSource* previous);
// For the store (with the password) or for GET (without: "password_set" instead).
std::string calendar_source_document(const CalendarSource& source);
Result<InputRequest> decode_input(std::string_view body, const Limits& limits);
Result<ContactsRequest> decode_contacts(std::string_view body, const Limits& limits);
Result<PolicyRequest> decode_policy(std::string_view body, const Limits& limits);
Result<ApiKeyRequest> decode_api_key(std::string_view body, const Limits& limits);

// ---- Call settings, queues and state actions (docs/routing.md); codec_routing.cpp ----
// A user's own call settings as stored and served; `dnd_protection` lives in the user's
// settings because aggregation reads it.
struct CallSettingsDocument {
  routing::CalleeSettings call;
  bool dnd_protection = false;
};
struct QueueDocument {
  std::vector<std::string> members;
  routing::QueuePolicy policy;
};
// The automatic action per state type, indexed by core::StateType (seed 002).
using StateActions = std::array<routing::StateAction, 6>;

Result<CallSettingsDocument> decode_call_settings(std::string_view body, const Limits& limits);
boost::json::object call_settings_json(const CallSettingsDocument& document);
Result<QueueDocument> decode_queue(std::string_view body, const Limits& limits);
boost::json::object queue_json(std::string_view id, const QueueDocument& queue);
Result<StateActions> decode_state_actions(std::string_view body, const Limits& limits);
boost::json::object state_actions_json(const StateActions& actions);

// ---- Presence profiles (docs/profiles.md); codec_profiles.cpp ----
// What selecting a profile applies; absent parts leave the user's own setting alone.
struct ProfileDocument {
  std::string name;                 // for people; empty: the id
  std::string state;                // a built-in or admin-defined state id
  std::string note;
  std::optional<int> duration_min;  // none: until the user ends it
  std::optional<bool> dnd;          // seed 003: a profile applies or removes DND
  std::optional<routing::Forwarding> forwarding;
  std::optional<routing::PersonalRouting> personal_routing;
  std::optional<int> idle_minutes;  // seed 000: "Inactive" after N minutes, per profile
  // Shared profiles: who may use them; neither set: everyone.
  std::optional<std::vector<std::string>> users;
  std::optional<std::vector<std::string>> groups;
};
struct ProfileSelectRequest {
  std::string profile;
  std::optional<core::TimePoint> until;  // instead of the profile's duration
  bool enforced = false;                 // admin only: the user cannot end or change it
  std::string destination;               // forwarding destination the profile leaves open
};
// A user's profile in force, stored whole so its end can restore what was before.
struct ProfileSelection {
  std::string profile;
  bool personal = false;
  ProfileDocument snapshot;  // the profile as selected; later edits do not change it
  core::TimePoint since{};
  std::optional<core::TimePoint> until;
  bool enforced = false;
  std::string destination;
  std::optional<core::ManualLayer> previous;  // the manual state to restore at the end
};

Result<ProfileDocument> decode_profile(std::string_view body, const Limits& limits);
boost::json::object profile_json(std::string_view id, const ProfileDocument& profile,
                                 bool personal);
Result<ProfileSelectRequest> decode_profile_select(std::string_view body, const Limits& limits);
Result<ProfileSelection> decode_profile_selection(std::string_view body, const Limits& limits);
boost::json::object profile_selection_json(const ProfileSelection& selection);

// ---- WebSocket client messages ----
enum class WsOp : std::uint8_t { Subscribe, Unsubscribe, Ping, Input };
struct WsMessage {
  WsOp op = WsOp::Subscribe;
  std::vector<std::string> users;
  // Resume: the last sequence the client saw per user; users at or above it get no event.
  std::vector<std::pair<std::string, std::uint64_t>> since;
  bool contacts = false;  // subscribe: also the caller's contact list
  std::optional<InputRequest> input;  // op "input": idle / lock report of this connection
  std::string id;  // echoed back in the answer, if given
};
Result<WsMessage> decode_ws_message(std::string_view text, const Limits& limits);

// ---- Responses ----
// RFC 3339 UTC with milliseconds, e.g. "2026-11-23T15:00:00.000Z"; parse accepts offsets.
std::string format_time(core::TimePoint t);
std::optional<core::TimePoint> parse_time(std::string_view text);

// The presence object of the contract. `explain` adds the explanation and layer details (only
// for the user themself and admins).
boost::json::object presence_json(std::string_view user, const core::Presence& presence,
                                  std::uint64_t sequence, bool explain);
// {"type":"presence", ...presence object...}, serialized.
std::string presence_event(std::string_view user, const core::Presence& presence,
                           std::uint64_t sequence);
std::string error_json(core::ErrorCode code, std::string_view message);
std::string_view error_code_name(core::ErrorCode code);  // "invalid_argument", "not_found", ...
// 400, 404, 401, 403, 409, 412, 429, 503, 500 in ErrorCode order.
int http_status(core::ErrorCode code);

boost::json::object user_json(const store::UserRecord& user);  // never the password hashes
boost::json::object device_json(const store::DeviceRecord& device);  // never the SIP secret
boost::json::object state_json(const core::StateDefinition& state, bool is_default);
boost::json::object decision_json(const routing::Decision& decision);
boost::json::object queue_decision_json(const routing::QueueDecision& decision,
                                        const std::vector<routing::AgentTarget>& targets);
std::string_view to_string(store::Role role);
std::optional<store::Role> parse_role(std::string_view text);

}  // namespace presenced::api
