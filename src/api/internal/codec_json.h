#pragma once

// Private helpers of the codec (codec.cpp, codec_encode.cpp and the fuzz target): typed reads of
// a parsed JSON object whose errors name the field, and hand-written JSON strings for the hot
// paths that skip boost::json::value.

#include "api/internal/codec.h"
#include "core/utf8.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::api::codec {

enum class Need : std::uint8_t { Optional, Required };

// FreePBX's state types, in the order errors and the state-actions document list them.
inline constexpr core::StateType kStateTypes[] = {
    core::StateType::Available, core::StateType::Chat,         core::StateType::Away,
    core::StateType::Dnd,       core::StateType::ExtendedAway, core::StateType::Unavailable};

// How to read and name one enum: the values in the order the error message lists them.
template <typename Enum>
struct EnumSpec {
  std::span<const Enum> values;
  std::optional<Enum> (*parse)(std::string_view);
  std::string_view (*name)(Enum);
};

// "a-very-long-val..." quoted, cut on a UTF-8 boundary, for error messages.
std::string quote(std::string_view value);
// "null", "boolean", "number", "string", "array" or "object".
std::string_view kind_name(const boost::json::value& value);
// Why `value` is not an id (1..max_bytes of [A-Za-z0-9._@+-]), or nullopt when it is one.
std::optional<std::string> id_problem(std::string_view value, std::size_t max_bytes);
// Why `value` is neither a user id nor a remote contact's address (docs/api.md, "Remote
// contacts"), or nullopt when it is one: what a presence subscription may name.
std::optional<std::string> presentity_problem(std::string_view value, std::size_t max_bytes);
// Why `value` is not an outside token (device, call id, phone number: 1..max_bytes, no control
// characters), or nullopt when it is one.
std::optional<std::string> token_problem(std::string_view value, std::size_t max_bytes);

// Reads typed fields of one JSON object. The first error sticks: later reads return empty
// values and keep it, so a decoder reads every field in order and checks once at the end. A
// field set to null reads as absent. Not thread-safe; one per decode.
class FieldReader {
 public:
  FieldReader(const boost::json::object& object, const Limits& limits, std::string prefix = {});

  std::string id(std::string_view key, Need need = Need::Required);  // empty when absent
  std::string token(std::string_view key);  // required
  std::optional<std::string> optional_token(std::string_view key);
  // Required text must not be empty; optional text may be.
  std::optional<std::string> text(std::string_view key, std::size_t max_bytes, Need need);
  std::optional<core::TimePoint> time(std::string_view key, Need need);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      Need need);
  std::optional<bool> boolean(std::string_view key);
  // `or_remote`: remote contacts' addresses (sip:bob@example.org) are ids too.
  std::optional<std::vector<std::string>> id_list(std::string_view key, Need need,
                                                  bool or_remote = false);
  const boost::json::array* array(std::string_view key, Need need);
  const boost::json::object* object(std::string_view key, Need need);

  template <typename Enum>
  std::optional<Enum> enumeration(std::string_view key, Need need, const EnumSpec<Enum>& spec) {
    const boost::json::string* value = string_field(key, need);
    if (value == nullptr) {
      return std::nullopt;
    }
    const std::string_view text(value->data(), value->size());
    if (auto parsed = spec.parse(text)) {
      return parsed;
    }
    std::string allowed;
    for (const Enum candidate : spec.values) {
      allowed += allowed.empty() ? "" : ", ";
      allowed += spec.name(candidate);
    }
    fail(key, quote(text) + " is not one of " + allowed);
    return std::nullopt;
  }

  // Records a problem found by the decoder itself (e.g. start after end), unless one is set.
  void fail(std::string_view key, std::string_view problem);
  // Takes the error of a nested reader, unless one is set.
  void adopt(const core::Error& error);
  bool ok() const { return !error_; }
  const core::Error& error() const { return *error_; }
  const Limits& limits() const { return limits_; }
  std::string field_name(std::string_view key) const;

 private:
  const boost::json::value* find(std::string_view key, Need need);
  const boost::json::string* string_field(std::string_view key, Need need);
  std::optional<std::string> token_field(std::string_view key, Need need);

  const boost::json::object& object_;
  const Limits& limits_;
  std::string prefix_;  // "appointments[3]." for nested objects
  std::optional<core::Error> error_;
};

// Parses `body` into `out` (whose storage the caller provides) and checks that it is an object.
Result<const boost::json::object*> parse_object(std::string_view body, const Limits& limits,
                                                boost::json::value& out);

// Parses `body` as an object and runs `read` (FieldReader& -> T) over its fields. Bodies are
// small and decoded values own their strings, so the parsed tree lives in one monotonic arena
// freed at return. Boost.JSON may still throw (std::bad_alloc, length limits): nothing escapes.
template <typename T, typename Read>
Result<T> decode(std::string_view body, const Limits& limits, Read read) {
  try {
    unsigned char buffer[4096];
    boost::json::monotonic_resource arena(buffer, sizeof buffer);
    boost::json::value tree(&arena);
    auto object = parse_object(body, limits, tree);
    if (!object) {
      return object.error();
    }
    FieldReader in(**object, limits);
    T out = read(in);
    if (!in.ok()) {
      return in.error();
    }
    return out;
  } catch (const std::bad_alloc&) {
    return core::Error::resource_exhausted("body: out of memory while decoding");
  } catch (const std::exception& e) {
    return core::Error::invalid_argument(fmt::format("body: {}", e.what()));
  }
}

// A nested object read by `read`, or the default when absent.
template <typename T, typename Read>
T read_nested(FieldReader& in, std::string_view key, Read read) {
  const boost::json::object* object = in.object(key, Need::Optional);
  if (object == nullptr) {
    return T{};
  }
  FieldReader nested(*object, in.limits(), in.field_name(key) + ".");
  T out = read(nested);
  if (!nested.ok()) {
    in.adopt(nested.error());
  }
  return out;
}

// Routing settings shared by call settings and presence profiles (codec_routing.cpp).
// A profile's forwarding may leave the destination to be given when it is selected.
routing::Forwarding read_forwarding(FieldReader& in, bool destination_required);
routing::PersonalRouting read_personal_routing(FieldReader& in);
boost::json::object forwarding_json(const routing::Forwarding& forwarding);
boost::json::object personal_routing_json(const routing::PersonalRouting& personal);

bool is_valid_utf8(std::string_view text);
// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);
// Appends `text` as a quoted JSON string. Invalid UTF-8 becomes U+FFFD: a browser closes a
// WebSocket on a text frame that is not UTF-8 (RFC 6455 §8.1), and notes also arrive over SIP
// and XMPP.
void append_json_string(std::string& out, std::string_view text);

}  // namespace presenced::api::codec
