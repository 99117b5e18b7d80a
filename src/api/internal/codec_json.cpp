#include "api/internal/codec_json.h"

#include "api/internal/remote_address.h"

#include <fmt/format.h>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include <limits>

namespace presenced::api::codec {
namespace {

namespace json = boost::json;

constexpr std::size_t kQuotedBytes = 40;
constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '@' || c == '+' || c == '-';
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

std::string_view as_view(const json::string& value) { return {value.data(), value.size()}; }

std::optional<std::string> size_problem(std::string_view value, std::size_t max_bytes) {
  if (value.empty()) {
    return fmt::format("empty, expected 1..{} bytes", max_bytes);
  }
  if (value.size() > max_bytes) {
    return fmt::format("{} bytes, limit {}", value.size(), max_bytes);
  }
  return std::nullopt;
}

}  // namespace

std::string quote(std::string_view value) {
  if (value.size() <= kQuotedBytes) {
    return fmt::format("\"{}\"", value);
  }
  std::size_t cut = kQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xc0) == 0x80) {
    --cut;
  }
  return fmt::format("\"{}...\"", value.substr(0, cut));
}

std::string_view kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "unknown";
}

std::optional<std::string> id_problem(std::string_view value, std::size_t max_bytes) {
  if (auto problem = size_problem(value, max_bytes)) {
    return problem;
  }
  for (const char c : value) {
    if (!is_id_char(c)) {
      return quote(value) + " has a character outside A-Z a-z 0-9 . _ @ + -";
    }
  }
  return std::nullopt;
}

std::optional<std::string> presentity_problem(std::string_view value, std::size_t max_bytes) {
  if (!is_remote_id(value)) {
    return id_problem(value, max_bytes);
  }
  if (auto address = parse_remote_address(value, max_bytes); !address) {
    return address.error().message;
  }
  return std::nullopt;
}

std::optional<std::string> token_problem(std::string_view value, std::size_t max_bytes) {
  if (auto problem = size_problem(value, max_bytes)) {
    return problem;
  }
  for (const char c : value) {
    if (is_control(static_cast<unsigned char>(c))) {
      return quote(value) + " has a control character";
    }
  }
  return std::nullopt;
}

FieldReader::FieldReader(const json::object& object, const Limits& limits, std::string prefix)
    : object_(object), limits_(limits), prefix_(std::move(prefix)) {}

std::string FieldReader::field_name(std::string_view key) const {
  std::string name = prefix_;
  name += key;
  return name;
}

void FieldReader::fail(std::string_view key, std::string_view problem) {
  if (!error_) {
    error_ = core::Error::invalid_argument(fmt::format("{}: {}", field_name(key), problem));
  }
}

void FieldReader::adopt(const core::Error& error) {
  if (!error_) {
    error_ = error;
  }
}

const json::value* FieldReader::find(std::string_view key, Need need) {
  if (error_) {
    return nullptr;
  }
  const json::value* value = object_.if_contains(key);
  if (value == nullptr || value->is_null()) {
    if (need == Need::Required) {
      fail(key, "required");
    }
    return nullptr;
  }
  return value;
}

const json::string* FieldReader::string_field(std::string_view key, Need need) {
  const json::value* value = find(key, need);
  if (value == nullptr) {
    return nullptr;
  }
  const json::string* text = value->if_string();
  if (text == nullptr) {
    fail(key, fmt::format("expected a string, got {}", kind_name(*value)));
  }
  return text;
}

std::string FieldReader::id(std::string_view key, Need need) {
  const json::string* value = string_field(key, need);
  if (value == nullptr) {
    return {};
  }
  if (auto problem = id_problem(as_view(*value), limits_.id_bytes)) {
    fail(key, *problem);
    return {};
  }
  return std::string(as_view(*value));
}

std::string FieldReader::token(std::string_view key) {
  return token_field(key, Need::Required).value_or(std::string());
}

std::optional<std::string> FieldReader::optional_token(std::string_view key) {
  return token_field(key, Need::Optional);
}

std::optional<std::string> FieldReader::token_field(std::string_view key, Need need) {
  const json::string* value = string_field(key, need);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (auto problem = token_problem(as_view(*value), limits_.id_bytes)) {
    fail(key, *problem);
    return std::nullopt;
  }
  return std::string(as_view(*value));
}

std::optional<std::string> FieldReader::text(std::string_view key, std::size_t max_bytes,
                                             Need need) {
  const json::string* value = string_field(key, need);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (need == Need::Required && value->empty()) {
    fail(key, fmt::format("empty, expected 1..{} bytes", max_bytes));
    return std::nullopt;
  }
  if (value->size() > max_bytes) {
    fail(key, fmt::format("{} bytes, limit {}", value->size(), max_bytes));
    return std::nullopt;
  }
  return std::string(as_view(*value));
}

std::optional<core::TimePoint> FieldReader::time(std::string_view key, Need need) {
  const json::string* value = string_field(key, need);
  if (value == nullptr) {
    return std::nullopt;
  }
  auto parsed = parse_time(as_view(*value));
  if (!parsed) {
    fail(key, quote(as_view(*value)) +
                  " is not an RFC 3339 time such as 2026-11-23T15:00:00Z or "
                  "2026-11-23T16:00:00+01:00");
  }
  return parsed;
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max, Need need) {
  const json::value* value = find(key, need);
  if (value == nullptr) {
    return std::nullopt;
  }
  std::optional<std::int64_t> number;
  if (const std::int64_t* signed_value = value->if_int64()) {
    number = *signed_value;
  } else if (const std::uint64_t* unsigned_value = value->if_uint64()) {
    // Only values above INT64_MAX arrive as uint64: always out of range.
    fail(key, fmt::format("{} is out of range {}..{}", *unsigned_value, min, max));
    return std::nullopt;
  } else if (value->is_double()) {
    fail(key, fmt::format("{} is not an integer", value->get_double()));
    return std::nullopt;
  } else {
    fail(key, fmt::format("expected an integer, got {}", kind_name(*value)));
    return std::nullopt;
  }
  if (*number < min || *number > max) {
    fail(key, fmt::format("{} is out of range {}..{}", *number, min, max));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const json::value* value = find(key, Need::Optional);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (const bool* flag = value->if_bool()) {
    return *flag;
  }
  fail(key, fmt::format("expected a boolean, got {}", kind_name(*value)));
  return std::nullopt;
}

const json::array* FieldReader::array(std::string_view key, Need need) {
  const json::value* value = find(key, need);
  if (value == nullptr) {
    return nullptr;
  }
  const json::array* items = value->if_array();
  if (items == nullptr) {
    fail(key, fmt::format("expected an array, got {}", kind_name(*value)));
    return nullptr;
  }
  if (items->size() > limits_.list_items) {
    fail(key, fmt::format("{} items, limit {}", items->size(), limits_.list_items));
    return nullptr;
  }
  return items;
}

const json::object* FieldReader::object(std::string_view key, Need need) {
  const json::value* value = find(key, need);
  if (value == nullptr) {
    return nullptr;
  }
  const json::object* members = value->if_object();
  if (members == nullptr) {
    fail(key, fmt::format("expected an object, got {}", kind_name(*value)));
    return nullptr;
  }
  if (members->size() > limits_.list_items) {
    fail(key, fmt::format("{} members, limit {}", members->size(), limits_.list_items));
    return nullptr;
  }
  return members;
}

std::optional<std::vector<std::string>> FieldReader::id_list(std::string_view key, Need need,
                                                             bool or_remote) {
  const json::array* items = array(key, need);
  if (items == nullptr) {
    return std::nullopt;
  }
  std::vector<std::string> ids;
  ids.reserve(items->size());
  for (std::size_t i = 0; i < items->size(); ++i) {
    const json::value& item = (*items)[i];
    const std::string element = fmt::format("{}[{}]", key, i);
    const json::string* text = item.if_string();
    if (text == nullptr) {
      fail(element, fmt::format("expected a string, got {}", kind_name(item)));
      return std::nullopt;
    }
    if (auto problem = or_remote ? presentity_problem(as_view(*text), limits_.id_bytes)
                                 : id_problem(as_view(*text), limits_.id_bytes)) {
      fail(element, *problem);
      return std::nullopt;
    }
    ids.emplace_back(as_view(*text));
  }
  return ids;
}

Result<const json::object*> parse_object(std::string_view body, const Limits& limits,
                                         json::value& out) {
  json::parse_options options;
  options.max_depth = static_cast<std::size_t>(std::max(limits.json_depth, 1));
  json::parser parser(out.storage(), options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(body.data(), body.size(), ec);
  if (ec == json::error::too_deep) {
    return core::Error::invalid_argument(
        fmt::format("body: nested deeper than {} levels", limits.json_depth));
  }
  if (ec) {
    return core::Error::invalid_argument(
        fmt::format("body: malformed JSON at byte {} ({})", consumed, ec.message()));
  }
  out = parser.release();
  const json::object* object = out.if_object();
  if (object == nullptr) {
    return core::Error::invalid_argument("body: expected a JSON object");
  }
  return object;
}

bool is_valid_utf8(std::string_view text) {
  while (!text.empty()) {
    const std::size_t length = core::utf8_sequence_length(text);
    if (length == 0) {
      return false;
    }
    text.remove_prefix(length);
  }
  return true;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = core::utf8_sequence_length(text);
    if (length == 0) {
      out += kReplacement;
      text.remove_prefix(1);
    } else {
      out.append(text.data(), length);
      text.remove_prefix(length);
    }
  }
  return out;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; };
  out += '"';
  while (!text.empty()) {
    std::size_t run = 0;
    while (run < text.size() && plain(static_cast<unsigned char>(text[run]))) {
      ++run;
    }
    out.append(text.data(), run);
    text.remove_prefix(run);
    if (text.empty()) {
      break;
    }
    const auto c = static_cast<unsigned char>(text.front());
    std::size_t length = 1;
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else if ((length = core::utf8_sequence_length(text)) != 0) {
      out.append(text.data(), length);
    } else {
      out += kReplacement;
      length = 1;
    }
    text.remove_prefix(length);
  }
  out += '"';
}

}  // namespace presenced::api::codec
