#pragma once

// The address of a remote contact (docs/api.md, "Remote contacts"): a presentity on another
// server, `sip:user@domain` or `xmpp:user@domain`. The scheme picks the federation adapter. It is
// also the remote presentity's id in the engine: local user ids have no ':', so none can clash.
//
// Thread-safety: pure functions.

#include "core/result.h"

#include <cstddef>
#include <string>
#include <string_view>

namespace presenced::api {

struct RemoteAddress {
  std::string scheme;   // "sip", "xmpp"
  std::string address;  // as the engine names it: scheme:user@domain, the domain in lower case
  std::string domain;
};

// Reads `text` as scheme:user@domain: a known scheme, a user of A-Z a-z 0-9 . _ + - (and % for
// SIP's escapes), a domain of letters, digits, '.' and '-', at most `max_bytes` in all.
[[nodiscard]] core::Result<RemoteAddress> parse_remote_address(std::string_view text,
                                                               std::size_t max_bytes);

// Whether an engine user id names a remote presentity rather than a local user.
inline bool is_remote_id(std::string_view id) { return id.find(':') != std::string_view::npos; }

}  // namespace presenced::api
