#pragma once

// RFC 3261 §25.1 character classes and a cursor over one header value, shared by the URI, header
// and message parsers. Private to src/sip.

#include "sip/internal/uri.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip::grammar {

constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The character classes below are looked up in one table built at compile time: the parser asks
// for every byte of every header, and a search of the set per byte showed in profiles.
enum CharClass : std::uint16_t {
  kToken = 1u << 0,
  kUnreserved = 1u << 1,
  kUser = 1u << 2,
  kPassword = 1u << 3,
  kParam = 1u << 4,
  kUriHeader = 1u << 5,
  kCallId = 1u << 6,
  kHost = 1u << 7,
  kIpv6 = 1u << 8,
  kGenValue = 1u << 9,
};

constexpr bool in_set(char c, std::string_view set) {
  for (const char x : set) {
    if (x == c) {
      return true;
    }
  }
  return false;
}

constexpr std::uint16_t classes_of(char c) {
  // token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
  const bool token = is_alnum(c) || in_set(c, "-.!%*_+`'~");
  // unreserved = alphanum / mark
  const bool unreserved = is_alnum(c) || in_set(c, "-_.!~*'()");
  std::uint16_t bits = 0;
  bits |= token ? kToken : 0;
  bits |= unreserved ? kUnreserved : 0;
  // user = 1*( unreserved / escaped / user-unreserved )
  bits |= unreserved || in_set(c, "&=+$,;?/") ? kUser : 0;
  bits |= unreserved || in_set(c, "&=+$,") ? kPassword : 0;
  // paramchar = param-unreserved / unreserved / escaped ('%' kept raw, escapes not decoded)
  bits |= unreserved || in_set(c, "[]/:&+$%") ? kParam : 0;
  // hname / hvalue characters, with the separators of the headers part
  bits |= unreserved || in_set(c, "[]/?:+$=&%") ? kUriHeader : 0;
  // word = Call-ID parts (§25.1), plus the "@" between them
  bits |= token || in_set(c, "()<>:\\\"/[]?{}@") ? kCallId : 0;
  // Host names are letters, digits, '-' and '.'; '_' is accepted because deployments use it.
  bits |= is_alnum(c) || in_set(c, "-._") ? kHost : 0;
  bits |= is_hex(c) || in_set(c, ":.") ? kIpv6 : 0;
  // gen-value = token / host / quoted-string: token characters plus an IPv6 address's
  bits |= token || in_set(c, ":[]") ? kGenValue : 0;
  return bits;
}

struct CharTable {
  std::uint16_t bits[256];
  constexpr CharTable() : bits() {
    for (int i = 0; i < 256; ++i) {
      bits[i] = classes_of(static_cast<char>(i));
    }
  }
};
inline constexpr CharTable kCharTable;

constexpr bool has_class(char c, CharClass cls) {
  return (kCharTable.bits[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool is_token_char(char c) { return has_class(c, kToken); }
constexpr bool is_unreserved(char c) { return has_class(c, kUnreserved); }
constexpr bool is_user_char(char c) { return has_class(c, kUser); }
constexpr bool is_password_char(char c) { return has_class(c, kPassword); }
constexpr bool is_param_char(char c) { return has_class(c, kParam); }
constexpr bool is_uri_header_char(char c) { return has_class(c, kUriHeader); }
constexpr bool is_call_id_char(char c) { return has_class(c, kCallId); }
constexpr bool is_host_char(char c) { return has_class(c, kHost); }
constexpr bool is_ipv6_char(char c) { return has_class(c, kIpv6); }
constexpr bool is_gen_value_char(char c) { return has_class(c, kGenValue); }

char lower(char c);
bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view text);
std::string_view trim(std::string_view text);
// Printable for a log line: control and non-ASCII bytes as \xNN, cut to `max` characters.
std::string printable(std::string_view text, std::size_t max = 64);

// Decimal digits only; nullopt when empty, not all digits, or above `max`. `saturate` returns
// `max` for larger numbers instead.
std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max,
                                          bool saturate = false);

// Splits a comma list at commas outside quoted strings and angle brackets. False when an element
// is empty, a quote or bracket is unbalanced, or there are more than `max_items` elements.
bool split_list(std::string_view value, std::size_t max_items, std::vector<std::string_view>& out);

// Decodes %HH escapes; false on a bad escape or a character outside `allowed`.
bool unescape(std::string_view text, bool (*allowed)(char), std::string& out);

class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool done() const { return pos_ >= text_.size(); }
  char peek() const { return done() ? '\0' : text_[pos_]; }
  std::string_view rest() const { return text_.substr(pos_); }
  void skip_ws();
  bool take(char c);
  std::string_view token();  // empty when there is none
  template <typename Pred>
  std::string_view take_while(Pred pred) {
    const std::size_t start = pos_;
    while (!done() && pred(text_[pos_])) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // A quoted string with its quotes, as written; empty when unterminated or not at a quote.
  std::string_view quoted_raw();
  // `;name[=value]` until the end or a character that starts no parameter. Each value is a
  // quoted string (when `quoted_values`) or a run of `value_char`. False on a malformed one.
  bool params(std::vector<Param>& out, bool (*name_char)(char), bool (*value_char)(char),
              bool quoted_values);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

// The content of a quoted string (without its quotes) with quoted-pairs decoded.
std::string unquote(std::string_view raw);

}  // namespace presenced::sip::grammar
