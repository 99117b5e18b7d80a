// SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1).

#include "sip/internal/uri.h"

#include "sip/internal/grammar.h"
#include "sip/internal/message.h"
#include "sip/internal/values.h"
#include "sip/internal/writer.h"

#include <fmt/format.h>

namespace presenced::sip {

using namespace grammar;

std::optional<std::string_view> find_param(const std::vector<Param>& params,
                                           std::string_view name) {
  for (const Param& param : params) {
    if (iequals(param.name, name)) {
      return param.value ? std::string_view(*param.value) : std::string_view();
    }
  }
  return std::nullopt;
}

namespace values {
namespace {

// Characters a URI of any scheme may hold: visible ASCII except the delimiters around it.
bool is_uri_char(char c) { return c > 0x20 && c < 0x7f && !in_set(c, "<>\""); }

bool read_host_port(Cursor& cursor, Uri& out) {
  if (cursor.take('[')) {
    const std::string_view address = cursor.take_while(is_ipv6_char);
    if (address.empty() || !cursor.take(']')) {
      return false;
    }
    out.host = fmt::format("[{}]", address);
  } else {
    const std::string_view host = cursor.take_while(is_host_char);
    if (host.empty()) {
      return false;
    }
    out.host = std::string(host);
  }
  if (cursor.take(':')) {
    const auto port = parse_number(cursor.take_while(is_digit), 65535);
    if (!port) {
      return false;
    }
    out.port = static_cast<std::uint16_t>(*port);
  }
  return true;
}

bool read_sip_uri(std::string_view text, Uri& out) {
  if (const std::size_t at = text.find('@'); at != text.npos) {
    const std::string_view userinfo = text.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    if (user.empty() || !unescape(user, is_user_char, out.user)) {
      return false;
    }
    if (colon != userinfo.npos) {
      out.has_password = true;
      if (!unescape(userinfo.substr(colon + 1), is_password_char, out.password)) {
        return false;
      }
    }
    text.remove_prefix(at + 1);
  }
  Cursor cursor(text);
  if (!read_host_port(cursor, out) ||
      !cursor.params(out.params, is_param_char, is_param_char, false)) {
    return false;
  }
  if (cursor.take('?')) {
    const std::string_view headers = cursor.take_while(is_uri_header_char);
    if (headers.empty()) {
      return false;
    }
    out.headers = std::string(headers);
  }
  return cursor.done();
}

}  // namespace

bool read_uri(std::string_view text, Uri& out) {
  out = Uri{};
  for (const char c : text) {
    if (!is_uri_char(c)) {
      return false;
    }
  }
  const std::size_t colon = text.find(':');
  if (colon == 0 || colon == text.npos || !is_alpha(text[0])) {
    return false;
  }
  for (const char c : text.substr(0, colon)) {
    if (!is_alnum(c) && !in_set(c, "+-.")) {
      return false;
    }
  }
  out.scheme = to_lower(text.substr(0, colon));
  const std::string_view rest = text.substr(colon + 1);
  if (out.is_sip()) {
    return read_sip_uri(rest, out);
  }
  out.opaque = std::string(rest);
  return !rest.empty();
}

bool read_name_addr(std::string_view text, NameAddr& out) {
  out = NameAddr{};
  Cursor cursor(text);
  cursor.skip_ws();
  std::size_t lt = text.npos;
  if (cursor.peek() == '"') {
    const std::string_view raw = cursor.quoted_raw();
    if (raw.empty()) {
      return false;
    }
    out.display_name = unquote(raw);
    cursor.skip_ws();
    if (cursor.peek() != '<') {
      return false;
    }
    lt = text.size() - cursor.rest().size();
  } else if (lt = text.find('<'); lt != text.npos) {
    const std::string_view display = trim(text.substr(0, lt));
    for (const char c : display) {
      if (!is_token_char(c) && !is_wsp(c)) {
        return false;
      }
    }
    out.display_name = std::string(display);
  }
  if (lt != text.npos) {
    const std::size_t gt = text.find('>', lt);
    if (gt == text.npos || !read_uri(text.substr(lt + 1, gt - lt - 1), out.uri)) {
      return false;
    }
    cursor = Cursor(text.substr(gt + 1));
  } else {
    // addr-spec: the URI ends at the first ';' or space; what follows are header parameters.
    const std::string_view uri = cursor.take_while([](char c) { return c != ';' && !is_wsp(c); });
    if (!read_uri(uri, out.uri)) {
      return false;
    }
  }
  if (!cursor.params(out.params, is_token_char, is_gen_value_char, true)) {
    return false;
  }
  cursor.skip_ws();
  return cursor.done();
}

bool read_name_addrs(std::string_view text, std::size_t max_items, std::vector<NameAddr>& out) {
  std::vector<std::string_view> items;
  if (!split_list(text, max_items, items) || out.size() + items.size() > max_items) {
    return false;
  }
  for (const std::string_view item : items) {
    if (!read_name_addr(item, out.emplace_back())) {
      return false;
    }
  }
  return true;
}

bool read_contacts(std::string_view text, std::size_t max_items, Contacts& out) {
  // `*` stands alone (§20.10).
  if (trim(text) == "*") {
    out.star = out.addresses.empty() && !out.star;
    return out.star;
  }
  return !out.star && read_name_addrs(text, max_items, out.addresses);
}

}  // namespace values

Parsed<Uri> parse_uri(std::string_view text) {
  Uri uri;
  if (!values::read_uri(text, uri)) {
    return ParseError{ParseProblem::BadHeader, "Bad URI",
                      fmt::format("URI: cannot read '{}'", printable(text))};
  }
  return uri;
}

Parsed<NameAddr> parse_name_addr(std::string_view text) {
  NameAddr address;
  if (!values::read_name_addr(text, address)) {
    return ParseError{ParseProblem::BadHeader, "Bad Address",
                      fmt::format("address: cannot read '{}'", printable(text))};
  }
  return address;
}

std::string serialize(const Uri& uri) {
  return writer::build([&](auto& sink) { writer::uri(sink, uri); });
}

std::string serialize(const NameAddr& address) {
  return writer::build([&](auto& sink) { writer::name_addr(sink, address); });
}

}  // namespace presenced::sip
