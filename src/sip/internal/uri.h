#pragma once

// SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1): what the message layer reads
// from Request-URIs, From, To, Contact, Route and Record-Route. Pure values; no I/O.
// Thread-safety: plain values, safe to share when not modified.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip {

// A `;name[=value]` parameter. The value keeps its raw text (a quoted value keeps its quotes), so
// that writing it back needs no escaping rules of its own.
struct Param {
  std::string name;
  std::optional<std::string> value;
  friend bool operator==(const Param&, const Param&) = default;
};

// The value of the first parameter named `name` (case-insensitive), or nullopt when absent. A
// parameter without a value gives an empty string.
std::optional<std::string_view> find_param(const std::vector<Param>& params, std::string_view name);

// A sip:/sips: URI, or an absolute URI of another scheme kept as written after the colon.
struct Uri {
  std::string scheme;  // lower case: "sip", "sips", "tel", ...
  // sip and sips only:
  std::string user;      // escapes decoded (RFC 3261 §19.1.2); empty when there is none
  std::string password;  // deprecated (§19.1.1) but part of the grammar
  bool has_password = false;
  std::string host;  // as written; an IPv6 reference keeps its brackets
  std::optional<std::uint16_t> port;
  std::vector<Param> params;  // uri-parameters, raw
  std::string headers;        // the part after '?', raw, without the '?'
  // Other schemes:
  std::string opaque;

  bool is_sip() const { return scheme == "sip" || scheme == "sips"; }
  friend bool operator==(const Uri&, const Uri&) = default;
};

// `"Display" <uri>;params` or `uri;params` (addr-spec form).
struct NameAddr {
  std::string display_name;  // quoted-string decoded, or the token words as written
  Uri uri;
  std::vector<Param> params;  // header parameters: tag, expires, q, ...

  std::optional<std::string_view> tag() const { return find_param(params, "tag"); }
  friend bool operator==(const NameAddr&, const NameAddr&) = default;
};

}  // namespace presenced::sip
