#include "api/internal/codec.h"

#include "api/internal/codec_json.h"
#include "core/mappings.h"

#include <fmt/format.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <limits>
#include <new>
#include <stdexcept>

namespace presenced::api {
namespace {

namespace json = boost::json;
using codec::decode;
using codec::EnumSpec;
using codec::FieldReader;
using codec::Need;

constexpr std::int64_t kMaxApiKeyDays = 3650;
constexpr std::int64_t kMaxIdleMinutes = 24 * 60;
constexpr std::size_t kMaxWsIdBytes = 64;

constexpr store::Role kRoles[] = {store::Role::User, store::Role::Admin, store::Role::System};
constexpr core::Reachability kReachabilities[] = {
    core::Reachability::Normal, core::Reachability::Break, core::Reachability::BusinessTrip,
    core::Reachability::HomeOffice, core::Reachability::Vacation};
constexpr core::VisibilityLevel kLevels[] = {
    core::VisibilityLevel::Blocked, core::VisibilityLevel::Public, core::VisibilityLevel::Business,
    core::VisibilityLevel::Team, core::VisibilityLevel::Personal};
constexpr core::CallState kCallStates[] = {core::CallState::Ringing, core::CallState::Connected,
                                           core::CallState::Held, core::CallState::Ended};
constexpr core::CallDirection kDirections[] = {core::CallDirection::Inbound,
                                               core::CallDirection::Outbound};
constexpr routing::CallType kCallTypes[] = {routing::CallType::Direct, routing::CallType::Group,
                                            routing::CallType::Queue};
constexpr core::CalendarKind kCalendarKinds[] = {
    core::CalendarKind::Busy, core::CalendarKind::Tentative, core::CalendarKind::OutOfOffice,
    core::CalendarKind::Free};
constexpr core::InputState kInputStates[] = {core::InputState::Active, core::InputState::Idle,
                                             core::InputState::Locked};
constexpr WsOp kWsOps[] = {WsOp::Subscribe, WsOp::Unsubscribe, WsOp::Ping, WsOp::Input};

std::string_view ws_op_name(WsOp op) {
  switch (op) {
    case WsOp::Subscribe: return "subscribe";
    case WsOp::Unsubscribe: return "unsubscribe";
    case WsOp::Ping: return "ping";
    case WsOp::Input: return "input";
  }
  return "unknown";
}

std::optional<WsOp> parse_ws_op(std::string_view text) {
  for (const WsOp op : kWsOps) {
    if (ws_op_name(op) == text) {
      return op;
    }
  }
  return std::nullopt;
}

// Captureless lambdas pick one overload of the to_string/parse families.
const EnumSpec<store::Role> kRoleSpec{kRoles, parse_role,
                                      [](store::Role v) { return to_string(v); }};
const EnumSpec<core::Reachability> kReachabilitySpec{
    kReachabilities, core::parse_reachability,
    [](core::Reachability v) { return core::to_string(v); }};
const EnumSpec<core::VisibilityLevel> kLevelSpec{
    kLevels, core::parse_visibility_level,
    [](core::VisibilityLevel v) { return core::to_string(v); }};
const EnumSpec<core::CallState> kCallStateSpec{
    kCallStates, core::parse_call_state, [](core::CallState v) { return core::to_string(v); }};
const EnumSpec<core::CallDirection> kDirectionSpec{
    kDirections, core::parse_call_direction,
    [](core::CallDirection v) { return core::to_string(v); }};
const EnumSpec<routing::CallType> kCallTypeSpec{
    kCallTypes, routing::parse_call_type,
    [](routing::CallType v) { return routing::to_string(v); }};
const EnumSpec<core::StateType> kStateTypeSpec{
    codec::kStateTypes, core::parse_state_type, [](core::StateType v) { return core::to_string(v); }};
const EnumSpec<core::CalendarKind> kCalendarKindSpec{
    kCalendarKinds, core::parse_calendar_kind,
    [](core::CalendarKind v) { return core::to_string(v); }};
const EnumSpec<core::InputState> kInputStateSpec{
    kInputStates, core::parse_input_state, [](core::InputState v) { return core::to_string(v); }};
const EnumSpec<WsOp> kWsOpSpec{kWsOps, parse_ws_op, ws_op_name};

InputRequest read_input(FieldReader& in) {
  InputRequest out;
  out.client_id = in.optional_token("client_id").value_or(std::string());
  out.state =
      in.enumeration("state", Need::Required, kInputStateSpec).value_or(core::InputState::Active);
  out.since = in.time("since", Need::Optional);
  return out;
}

std::optional<core::Appointment> read_appointment(const json::value& item, std::size_t index,
                                                  FieldReader& outer) {
  const std::string element = fmt::format("appointments[{}]", index);
  const json::object* object = item.if_object();
  if (object == nullptr) {
    outer.fail(element, fmt::format("expected an object, got {}", codec::kind_name(item)));
    return std::nullopt;
  }
  const Limits& limits = outer.limits();
  FieldReader in(*object, limits, outer.field_name(element) + ".");
  core::Appointment out;
  out.id = in.token("id");
  out.subject = in.text("subject", limits.name_bytes, Need::Optional).value_or(std::string());
  out.location = in.text("location", limits.name_bytes, Need::Optional).value_or(std::string());
  out.start = in.time("start", Need::Required).value_or(core::TimePoint{});
  out.end = in.time("end", Need::Required).value_or(core::TimePoint{});
  out.kind =
      in.enumeration("kind", Need::Optional, kCalendarKindSpec).value_or(core::CalendarKind::Busy);
  out.is_private = in.boolean("private").value_or(false);
  if (in.ok() && out.start >= out.end) {
    in.fail("end", "must be after start");
  }
  if (!in.ok()) {
    outer.adopt(in.error());  // already names the nested field
    return std::nullopt;
  }
  return out;
}

std::vector<std::pair<std::string, std::uint64_t>> read_since(FieldReader& in) {
  std::vector<std::pair<std::string, std::uint64_t>> since;
  const json::object* members = in.object("since", Need::Optional);
  if (members == nullptr) {
    return since;
  }
  since.reserve(members->size());
  for (const auto& member : *members) {
    const std::string_view user = member.key();
    if (auto problem = codec::presentity_problem(user, in.limits().id_bytes)) {
      in.fail("since", "key " + *problem);
      return {};
    }
    const std::string field = fmt::format("since.{}", user);
    const json::value& value = member.value();
    if (const std::int64_t* number = value.if_int64(); number != nullptr && *number >= 0) {
      since.emplace_back(user, static_cast<std::uint64_t>(*number));
    } else if (const std::uint64_t* big = value.if_uint64()) {
      since.emplace_back(user, *big);
    } else {
      in.fail(field, value.is_int64() ? fmt::format("{} is negative", value.get_int64())
                     : value.is_double()
                         ? fmt::format("{} is not an integer", value.get_double())
                         : fmt::format("expected an integer, got {}", codec::kind_name(value)));
      return {};
    }
  }
  return since;
}

}  // namespace

std::string_view to_string(store::Role role) {
  switch (role) {
    case store::Role::User: return "user";
    case store::Role::Admin: return "admin";
    case store::Role::System: return "system";
  }
  return "user";
}

std::optional<store::Role> parse_role(std::string_view text) {
  for (const store::Role role : kRoles) {
    if (to_string(role) == text) {
      return role;
    }
  }
  return std::nullopt;
}

Result<TokenRequest> decode_token_request(std::string_view body, const Limits& limits) {
  return decode<TokenRequest>(body, limits, [&](FieldReader& in) {
    TokenRequest out;
    // Not checked as an id: a malformed name is just a failed login (401), never a hint.
    out.username = in.text("username", limits.id_bytes, Need::Required).value_or(std::string());
    out.password =
        in.text("password", limits.password_bytes, Need::Required).value_or(std::string());
    return out;
  });
}

Result<CreateUserRequest> decode_create_user(std::string_view body, const Limits& limits) {
  return decode<CreateUserRequest>(body, limits, [&](FieldReader& in) {
    CreateUserRequest out;
    out.id = in.id("id");
    out.display_name =
        in.text("display_name", limits.name_bytes, Need::Optional).value_or(std::string());
    if (out.display_name.empty()) {
      out.display_name = out.id;
    }
    out.password =
        in.text("password", limits.password_bytes, Need::Required).value_or(std::string());
    out.role = in.enumeration("role", Need::Optional, kRoleSpec).value_or(store::Role::User);
    out.sip_password =
        in.text("sip_password", limits.password_bytes, Need::Optional).value_or(std::string());
    out.groups = in.id_list("groups", Need::Optional).value_or(std::vector<std::string>());
    return out;
  });
}

Result<UpdateUserRequest> decode_update_user(std::string_view body, const Limits& limits) {
  return decode<UpdateUserRequest>(body, limits, [&](FieldReader& in) {
    UpdateUserRequest out;
    out.display_name = in.text("display_name", limits.name_bytes, Need::Optional);
    if (out.display_name && out.display_name->empty()) {
      in.fail("display_name", fmt::format("empty, expected 1..{} bytes", limits.name_bytes));
    }
    out.password = in.text("password", limits.password_bytes, Need::Optional);
    if (out.password && out.password->empty()) {
      in.fail("password", fmt::format("empty, expected 1..{} bytes", limits.password_bytes));
    }
    out.role = in.enumeration("role", Need::Optional, kRoleSpec);
    out.sip_password = in.text("sip_password", limits.password_bytes, Need::Optional);
    out.groups = in.id_list("groups", Need::Optional);
    if (auto minutes = in.integer("idle_minutes", 1, kMaxIdleMinutes, Need::Optional)) {
      out.idle_minutes = static_cast<int>(*minutes);
    }
    out.login_state = in.text("login_state", limits.id_bytes, Need::Optional);
    out.logout_state = in.text("logout_state", limits.id_bytes, Need::Optional);
    return out;
  });
}

Result<ManualRequest> decode_manual(std::string_view body, const Limits& limits) {
  return decode<ManualRequest>(body, limits, [&](FieldReader& in) {
    ManualRequest out;
    // Any id: built-in or admin-defined; the server knows which exist.
    out.state = in.token("state");
    out.note = in.text("note", limits.note_bytes, Need::Optional).value_or(std::string());
    out.from = in.time("from", Need::Optional);
    out.until = in.time("until", Need::Optional);
    out.reachability = in.enumeration("reachability", Need::Optional, kReachabilitySpec)
                           .value_or(core::Reachability::Normal);
    if (out.from && out.until && *out.from >= *out.until) {
      in.fail("until", "must be after from");
    }
    return out;
  });
}

Result<VisibilityRequest> decode_visibility(std::string_view body, const Limits& limits) {
  return decode<VisibilityRequest>(body, limits, [&](FieldReader& in) {
    VisibilityRequest out;
    out.level = in.enumeration("level", Need::Required, kLevelSpec)
                    .value_or(core::VisibilityLevel::Business);
    return out;
  });
}

Result<TelephonyEventRequest> decode_telephony_event(std::string_view body, const Limits& limits) {
  return decode<TelephonyEventRequest>(body, limits, [&](FieldReader& in) {
    TelephonyEventRequest out;
    out.user = in.id("user");
    out.device = in.token("device");
    out.call_id = in.token("call_id");
    out.state =
        in.enumeration("state", Need::Required, kCallStateSpec).value_or(core::CallState::Ringing);
    out.direction = in.enumeration("direction", Need::Optional, kDirectionSpec)
                        .value_or(core::CallDirection::Inbound);
    return out;
  });
}

Result<RoutingRequest> decode_routing(std::string_view body, const Limits& limits) {
  return decode<RoutingRequest>(body, limits, [&](FieldReader& in) {
    RoutingRequest out;
    out.callee = in.id("callee");
    out.caller = in.token("caller");  // a phone number or a user id
    out.type =
        in.enumeration("type", Need::Optional, kCallTypeSpec).value_or(routing::CallType::Direct);
    return out;
  });
}

Result<StateRequest> decode_state(std::string_view body, const Limits& limits) {
  return decode<StateRequest>(body, limits, [&](FieldReader& in) {
    StateRequest out;
    out.id = in.id("id", Need::Optional);  // the path names the state; the body may repeat it
    out.type =
        in.enumeration("type", Need::Optional, kStateTypeSpec).value_or(core::StateType::Available);
    out.message = in.text("message", limits.name_bytes, Need::Optional).value_or(std::string());
    out.order = static_cast<int>(in.integer("order", std::numeric_limits<int>::min(),
                                            std::numeric_limits<int>::max(), Need::Optional)
                                     .value_or(0));
    out.is_default = in.boolean("default");
    return out;
  });
}

Result<GroupRequest> decode_group(std::string_view body, const Limits& limits) {
  return decode<GroupRequest>(body, limits, [&](FieldReader& in) {
    GroupRequest out;
    out.id = in.id("id", Need::Optional);  // the path names the group; the body may repeat it
    out.display_name =
        in.text("display_name", limits.name_bytes, Need::Optional).value_or(std::string());
    if (out.display_name.empty()) {
      out.display_name = out.id;
    }
    return out;
  });
}

Result<DeviceRequest> decode_device(std::string_view body, const Limits& limits) {
  return decode<DeviceRequest>(body, limits, [&](FieldReader& in) {
    DeviceRequest out;
    out.device = in.token("device");
    out.label = in.text("label", limits.name_bytes, Need::Optional).value_or(std::string());
    out.sip_password = in.text("sip_password", limits.password_bytes, Need::Optional);
    return out;
  });
}

Result<CalendarRequest> decode_calendar(std::string_view body, const Limits& limits) {
  return decode<CalendarRequest>(body, limits, [&](FieldReader& in) {
    CalendarRequest out;
    const json::array* items = in.array("appointments", Need::Required);
    if (items == nullptr) {
      return out;
    }
    out.appointments.reserve(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto appointment = read_appointment((*items)[i], i, in);
      if (!appointment) {
        break;
      }
      out.appointments.push_back(std::move(*appointment));
    }
    return out;
  });
}

Result<InputRequest> decode_input(std::string_view body, const Limits& limits) {
  return decode<InputRequest>(body, limits, read_input);
}

Result<ContactsRequest> decode_contacts(std::string_view body, const Limits& limits) {
  return decode<ContactsRequest>(body, limits, [&](FieldReader& in) {
    ContactsRequest out;
    out.users = in.id_list("users", Need::Required).value_or(std::vector<std::string>());
    return out;
  });
}

Result<PolicyRequest> decode_policy(std::string_view body, const Limits& limits) {
  return decode<PolicyRequest>(body, limits, [&](FieldReader& in) {
    PolicyRequest out;
    out.default_level = in.enumeration("default_level", Need::Optional, kLevelSpec);
    out.minimum = in.enumeration("minimum", Need::Optional, kLevelSpec);
    return out;
  });
}

Result<ApiKeyRequest> decode_api_key(std::string_view body, const Limits& limits) {
  return decode<ApiKeyRequest>(body, limits, [&](FieldReader& in) {
    ApiKeyRequest out;
    out.user = in.id("user");
    out.label = in.text("label", limits.name_bytes, Need::Required).value_or(std::string());
    if (auto days = in.integer("days", 1, kMaxApiKeyDays, Need::Optional)) {
      out.days = static_cast<int>(*days);
    }
    return out;
  });
}

Result<WsMessage> decode_ws_message(std::string_view text, const Limits& limits) {
  return decode<WsMessage>(text, limits, [&](FieldReader& in) {
    WsMessage out;
    out.op = in.enumeration("op", Need::Required, kWsOpSpec).value_or(WsOp::Ping);
    out.id = in.text("id", kMaxWsIdBytes, Need::Optional).value_or(std::string());
    if (out.op == WsOp::Input) {
      // The input report's fields sit at the top level; "since" is its time here.
      out.input = read_input(in);
      return out;
    }
    out.users = in.id_list("users", Need::Optional, true).value_or(std::vector<std::string>());
    out.contacts = in.boolean("contacts").value_or(false);
    out.since = read_since(in);
    if (out.op == WsOp::Subscribe && in.ok() && out.users.empty() && !out.contacts) {
      in.fail("users", "required unless contacts is true");
    }
    return out;
  });
}

}  // namespace presenced::api
