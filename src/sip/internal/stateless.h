#pragma once

// The answer to a request the message layer refused (docs/sip.md, "Refused"). The parsed message
// is not there to copy from, so Via, From, To, Call-ID and CSeq are read from the raw header
// lines (RFC 3261 §8.2.6.2 copies them); when one of them cannot be read, or the bytes are not a
// request, nothing is answered: without them no client could match the response (§18.1.2).
// Pure. Thread-safety: no shared state.

#include "sip/internal/message.h"

#include <optional>
#include <string>
#include <string_view>

namespace presenced::sip {

// The bytes of the error response for `error` (its status and reason), or nullopt. `to_tag` is
// added to To when it has none (§8.2.6.2).
std::optional<std::string> stateless_answer(std::string_view bytes, const ParseError& error,
                                            const Limits& limits, std::string_view to_tag);

}  // namespace presenced::sip
