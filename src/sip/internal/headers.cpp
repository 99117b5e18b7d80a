// Readers of the header values the message layer types (RFC 3261 §20, §25.1; RFC 6665 §8.2;
// RFC 3903 §11.3; RFC 7616 for the SHA-256 digest parameters).

#include "sip/internal/grammar.h"
#include "sip/internal/values.h"

#include <limits>

namespace presenced::sip::values {

using namespace grammar;

namespace {

// sent-protocol = protocol-name SLASH protocol-version SLASH transport, with LWS around slashes.
bool read_sent_protocol(Cursor& cursor, Via& out) {
  cursor.skip_ws();
  if (!iequals(cursor.token(), "SIP")) {
    return false;
  }
  cursor.skip_ws();
  if (!cursor.take('/')) {
    return false;
  }
  cursor.skip_ws();
  if (cursor.token() != "2.0") {
    return false;
  }
  cursor.skip_ws();
  if (!cursor.take('/')) {
    return false;
  }
  cursor.skip_ws();
  const std::string_view transport = cursor.token();
  if (transport.empty()) {
    return false;
  }
  out.transport = std::string(transport);
  return true;
}

bool read_via(std::string_view text, Via& out) {
  out = Via{};
  Cursor cursor(text);
  if (!read_sent_protocol(cursor, out)) {
    return false;
  }
  cursor.skip_ws();
  if (cursor.take('[')) {
    const std::string_view address = cursor.take_while(is_ipv6_char);
    if (address.empty() || !cursor.take(']')) {
      return false;
    }
    out.host = "[" + std::string(address) + "]";
  } else {
    const std::string_view host = cursor.take_while(is_host_char);
    if (host.empty()) {
      return false;
    }
    out.host = std::string(host);
  }
  cursor.skip_ws();
  if (cursor.take(':')) {
    cursor.skip_ws();
    const auto port = parse_number(cursor.take_while(is_digit), 65535);
    if (!port) {
      return false;
    }
    out.port = static_cast<std::uint16_t>(*port);
  }
  if (!cursor.params(out.params, is_token_char, is_gen_value_char, true)) {
    return false;
  }
  cursor.skip_ws();
  return cursor.done();
}

// Parameters of a single-valued header (Event, Subscription-State, Content-Type), then the end.
bool read_header_params(Cursor& cursor, std::vector<Param>& out) {
  if (!cursor.params(out, is_token_char, is_gen_value_char, true)) {
    return false;
  }
  cursor.skip_ws();
  return cursor.done();
}

std::optional<std::uint32_t> delta_seconds(const std::optional<std::string>& value) {
  if (!value) {
    return std::nullopt;
  }
  const auto number = parse_number(*value, std::numeric_limits<std::uint32_t>::max(), true);
  if (!number) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*number);
}

}  // namespace

bool read_vias(std::string_view text, std::size_t max_items, std::vector<Via>& out) {
  std::vector<std::string_view> items;
  if (!split_list(text, max_items, items) || out.size() + items.size() > max_items) {
    return false;
  }
  for (const std::string_view item : items) {
    Via via;
    if (!read_via(item, via)) {
      return false;
    }
    out.push_back(std::move(via));
  }
  return true;
}

// CSeq = 1*DIGIT LWS Method; the number is below 2**31 (§8.1.1.5).
bool read_cseq(std::string_view text, CSeq& out) {
  Cursor cursor(text);
  const auto number = parse_number(cursor.take_while(is_digit), 0x7fffffffu);
  if (!number || !is_wsp(cursor.peek())) {
    return false;
  }
  cursor.skip_ws();
  const std::string_view method = cursor.token();
  if (method.empty() || !cursor.done()) {
    return false;
  }
  out.number = static_cast<std::uint32_t>(*number);
  out.method = parse_method(method);
  out.extension_method = out.method == Method::Other ? std::string(method) : std::string();
  return true;
}

// Call-ID = word [ "@" word ]
bool read_call_id(std::string_view text, std::string& out) {
  if (text.empty()) {
    return false;
  }
  for (const char c : text) {
    if (!is_call_id_char(c)) {
      return false;
    }
  }
  out = std::string(text);
  return true;
}

bool read_media_type(std::string_view text, MediaType& out) {
  out = MediaType{};
  Cursor cursor(text);
  const std::string_view type = cursor.token();
  cursor.skip_ws();
  if (type.empty() || !cursor.take('/')) {
    return false;
  }
  cursor.skip_ws();
  const std::string_view subtype = cursor.token();
  if (subtype.empty()) {
    return false;
  }
  out.type = to_lower(type);
  out.subtype = to_lower(subtype);
  return read_header_params(cursor, out.params);
}

bool read_media_types(std::string_view text, std::size_t max_items, std::vector<MediaType>& out) {
  if (text.empty()) {
    return true;  // Accept with no value: no body is acceptable (§20.1)
  }
  std::vector<std::string_view> items;
  if (!split_list(text, max_items, items) || out.size() + items.size() > max_items) {
    return false;
  }
  for (const std::string_view item : items) {
    if (!read_media_type(item, out.emplace_back())) {
      return false;
    }
  }
  return true;
}

bool read_token(std::string_view text, std::string& out) {
  Cursor cursor(text);
  const std::string_view token = cursor.token();
  if (token.empty() || !cursor.done()) {
    return false;
  }
  out = std::string(token);
  return true;
}

bool read_tokens(std::string_view text, std::size_t max_items, std::vector<std::string>& out) {
  if (text.empty()) {
    return true;  // Supported, Allow and Allow-Events may be empty
  }
  std::vector<std::string_view> items;
  if (!split_list(text, max_items, items) || out.size() + items.size() > max_items) {
    return false;
  }
  for (const std::string_view item : items) {
    std::string token;
    if (!read_token(item, token)) {
      return false;
    }
    out.push_back(std::move(token));
  }
  return true;
}

// Event = event-type *( SEMI event-param ); the id parameter is kept apart (RFC 6665 §8.2.1).
bool read_event(std::string_view text, Event& out) {
  out = Event{};
  Cursor cursor(text);
  const std::string_view package = cursor.token();
  if (package.empty()) {
    return false;
  }
  out.package = std::string(package);
  std::vector<Param> params;
  if (!read_header_params(cursor, params)) {
    return false;
  }
  for (Param& param : params) {
    if (!out.id && iequals(param.name, "id") && param.value) {
      out.id = std::move(param.value);
    } else {
      out.params.push_back(std::move(param));
    }
  }
  return true;
}

// Subscription-State = substate-value *( SEMI subexp-params ) (RFC 6665 §8.2.3).
bool read_subscription_state(std::string_view text, SubscriptionState& out) {
  out = SubscriptionState{};
  Cursor cursor(text);
  const std::string_view state = cursor.token();
  if (state.empty()) {
    return false;
  }
  out.state = std::string(state);
  std::vector<Param> params;
  if (!read_header_params(cursor, params)) {
    return false;
  }
  for (Param& param : params) {
    if (out.reason.empty() && iequals(param.name, "reason") && param.value &&
        param.value->front() != '"') {
      out.reason = std::move(*param.value);
    } else if (!out.expires && iequals(param.name, "expires")) {
      if (out.expires = delta_seconds(param.value); !out.expires) {
        return false;
      }
    } else if (!out.retry_after && iequals(param.name, "retry-after")) {
      if (out.retry_after = delta_seconds(param.value); !out.retry_after) {
        return false;
      }
    } else {
      out.params.push_back(std::move(param));
    }
  }
  return true;
}

// challenge / credentials = auth-scheme LWS auth-param *(COMMA auth-param) (§25.1). Commas here
// separate parameters, not header values (§7.3.1).
bool read_auth(std::string_view text, std::size_t max_items, Auth& out) {
  out = Auth{};
  Cursor cursor(text);
  const std::string_view scheme = cursor.token();
  if (scheme.empty() || (!cursor.done() && !is_wsp(cursor.peek()))) {
    return false;
  }
  out.scheme = std::string(scheme);
  cursor.skip_ws();
  if (cursor.done()) {
    return true;
  }
  std::vector<std::string_view> items;
  if (!split_list(cursor.rest(), max_items, items)) {
    return false;
  }
  for (const std::string_view item : items) {
    Cursor param(item);
    const std::string_view name = param.token();
    param.skip_ws();
    if (name.empty() || !param.take('=')) {
      return false;
    }
    param.skip_ws();
    AuthParam value{std::string(name), std::string(), false};
    if (const std::string_view raw = param.quoted_raw(); !raw.empty()) {
      value.value = unquote(raw);
      value.quoted = true;
    } else {
      const std::string_view bare =
          param.take_while([](char c) { return !is_wsp(c) && c != '"' && c != ','; });
      if (bare.empty()) {
        return false;
      }
      value.value = std::string(bare);
    }
    param.skip_ws();
    if (!param.done()) {
      return false;
    }
    out.params.push_back(std::move(value));
  }
  return true;
}

}  // namespace presenced::sip::values
