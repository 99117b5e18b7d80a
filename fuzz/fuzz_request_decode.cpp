// Feeds untrusted bytes to every API decoder (the incoming webhook's signature header included)
// and to the time and JSON-string writers. The first
// byte picks the target, the rest is its input. Beyond "no crash, no sanitizer report", it checks:
// errors are InvalidArgument (or ResourceExhausted) with a UTF-8 message; times written by
// format_time read back as the same instant; JSON we write by hand parses back to its input.

#include "api/internal/codec.h"
#include "api/internal/codec_json.h"
#include "api/internal/webhook_incoming.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace {

namespace api = presenced::api;
namespace core = presenced::core;
namespace json = boost::json;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// True when `result` holds a value; an error must be one a client can be told about.
template <typename T>
bool checked(const api::Result<T>& result) {
  if (result) {
    return true;
  }
  const core::Error& error = result.error();
  require(error.code == core::ErrorCode::InvalidArgument ||
          error.code == core::ErrorCode::ResourceExhausted);
  require(!error.message.empty() && api::codec::is_valid_utf8(error.message));
  return false;
}

// write(value) read back by decode and written again gives the same JSON.
template <typename T, typename Write, typename Decode>
bool rewrites_the_same(const T& value, Write write, Decode decode, const api::Limits& limits) {
  const std::string once = json::serialize(write(value));
  const auto again = decode(once, limits);
  return again.has_value() && json::serialize(write(*again)) == once;
}

void decode_requests(unsigned target, std::string_view body, const api::Limits& limits) {
  switch (target) {
    case 0: checked(api::decode_token_request(body, limits)); break;
    case 1:
      if (const auto user = api::decode_create_user(body, limits); checked(user)) {
        require(!api::codec::id_problem(user->id, limits.id_bytes));
        require(!user->display_name.empty() && !user->password.empty());
      }
      break;
    case 2: checked(api::decode_update_user(body, limits)); break;
    case 3:
      if (const auto manual = api::decode_manual(body, limits); checked(manual)) {
        require(!manual->state.empty() && manual->note.size() <= limits.note_bytes);
      }
      break;
    case 4: checked(api::decode_visibility(body, limits)); break;
    case 5: checked(api::decode_telephony_event(body, limits)); break;
    case 6: checked(api::decode_routing(body, limits)); break;
    case 7: checked(api::decode_state(body, limits)); break;
    case 8: checked(api::decode_group(body, limits)); break;
    case 9: checked(api::decode_device(body, limits)); break;
    case 10:
      if (const auto calendar = api::decode_calendar(body, limits); checked(calendar)) {
        for (const core::Appointment& appointment : calendar->appointments) {
          require(appointment.start < appointment.end);
        }
      }
      break;
    case 11: checked(api::decode_input(body, limits)); break;
    case 12: checked(api::decode_contacts(body, limits)); break;
    case 13: checked(api::decode_policy(body, limits)); break;
    case 14: checked(api::decode_api_key(body, limits)); break;
    // Routing settings and profiles, which the server stores as the JSON it writes: what it
    // writes must read back to the same document.
    case 15:
      if (const auto settings = api::decode_call_settings(body, limits); checked(settings)) {
        require(rewrites_the_same(*settings, api::call_settings_json, api::decode_call_settings,
                                  limits));
      }
      break;
    case 16:
      if (const auto queue = api::decode_queue(body, limits); checked(queue)) {
        auto write = [](const api::QueueDocument& q) { return api::queue_json("q", q); };
        require(rewrites_the_same(*queue, write, api::decode_queue, limits));
      }
      break;
    case 17:
      if (const auto actions = api::decode_state_actions(body, limits); checked(actions)) {
        require(rewrites_the_same(*actions, api::state_actions_json, api::decode_state_actions,
                                  limits));
      }
      break;
    case 18:
      if (const auto profile = api::decode_profile(body, limits); checked(profile)) {
        auto write = [](const api::ProfileDocument& p) { return api::profile_json("p", p, false); };
        require(rewrites_the_same(*profile, write, api::decode_profile, limits));
      }
      break;
    case 19: checked(api::decode_profile_select(body, limits)); break;
    case 20:
      if (const auto selection = api::decode_profile_selection(body, limits); checked(selection)) {
        require(rewrites_the_same(*selection, api::profile_selection_json,
                                  api::decode_profile_selection, limits));
      }
      break;
    default:
      if (const auto message = api::decode_ws_message(body, limits); checked(message)) {
        require(message->op != api::WsOp::Subscribe || message->contacts ||
                !message->users.empty());
        require(message->op != api::WsOp::Input || message->input.has_value());
      }
      break;
  }
}

// An incoming two-way status: the body, and a signature header made of the input's first line
// (the rest is the body it signs). A forged header is refused as unauthenticated or denied,
// never accepted: nothing here knows the secret's HMAC.
void incoming_webhook(std::string_view input, const api::Limits& limits) {
  checked(api::decode_incoming(input, limits.id_bytes));
  const std::size_t line_end = std::min(input.find('\n'), input.size());
  const auto verdict = api::verify_signature("fuzz-secret", input.substr(0, line_end),
                                             input.substr(std::min(line_end + 1, input.size())),
                                             1'800'000'000);
  require(!verdict);
  require(verdict.error().code == core::ErrorCode::Unauthenticated ||
          verdict.error().code == core::ErrorCode::PermissionDenied);
}

// format_time(parse_time(x)) must read back as the same instant.
void time_round_trip(std::string_view text) {
  const auto parsed = api::parse_time(text);
  if (!parsed) {
    return;
  }
  const std::string formatted = api::format_time(*parsed);
  require(formatted.size() == 24);
  require(api::parse_time(formatted) == parsed);
}

// Any instant is written as a four-digit-year time that reads back clamped to that range.
void time_from_bits(std::string_view bytes) {
  std::int64_t millis = 0;
  std::memcpy(&millis, bytes.data(), std::min(bytes.size(), sizeof millis));
  const core::TimePoint t{std::chrono::milliseconds{millis}};
  const auto parsed = api::parse_time(api::format_time(t));
  require(parsed.has_value());
  const auto lowest = *api::parse_time("0000-01-01T00:00:00Z");
  const auto highest = *api::parse_time("9999-12-31T23:59:59.999Z");
  require(*parsed == std::clamp(t, lowest, highest));
}

bool parses_back_to(const std::string& written, std::string_view text, std::string_view key) {
  boost::system::error_code ec;
  const json::value value = json::parse(written, ec);
  if (ec || !value.is_object()) {
    return false;
  }
  const json::value* found = value.as_object().if_contains(key);
  return found != nullptr && found->is_string() &&
         (!api::codec::is_valid_utf8(text) || found->as_string() == text);
}

void written_json(std::string_view text) {
  const std::string error = api::error_json(core::ErrorCode::InvalidArgument, text);
  boost::system::error_code ec;
  const json::value value = json::parse(error, ec);
  require(!ec && value.is_object());
  const json::value& message = value.at("error").at("message");
  require(message.is_string());
  require(!api::codec::is_valid_utf8(text) || message.as_string() == text);

  core::Presence presence;
  presence.note = std::string(text);
  presence.state_id = std::string(text.substr(0, text.size() / 2));
  require(parses_back_to(api::presence_event(text, presence, 1), text, "user"));
  // An empty note is left out of the event.
  require(text.empty() || parses_back_to(api::presence_event("u", presence, 1), text, "note"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  static const api::Limits limits;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned target = data[0] % 26u;
  if (target < 22) {
    decode_requests(target, input, limits);
  } else if (target == 22) {
    time_round_trip(input);
  } else if (target == 23) {
    time_from_bits(input);
  } else if (target == 25) {
    incoming_webhook(input, limits);
  } else {
    written_json(input);
  }
  return 0;
}
