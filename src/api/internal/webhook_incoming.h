#pragma once

// What an external system posts to a two-way connector (docs/webhooks.md, "Incoming
// statuses"): the signature header and the body, both outside input.

#include "core/result.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace presenced::api {

// X-Presenced-Signature "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", with t
// within 300 s of `now`: Unauthenticated when missing or malformed, PermissionDenied when stale
// or not matching.
core::Result<void> verify_signature(std::string_view secret, std::string_view header,
                                    std::string_view body, std::int64_t now);

struct IncomingStatus {
  std::string user;
  std::string status;
};

// {"user": "<id>", "status": "<external status>"}; InvalidArgument otherwise.
core::Result<IncomingStatus> decode_incoming(std::string_view text, std::size_t id_bytes);

}  // namespace presenced::api
