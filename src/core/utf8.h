#pragma once

// UTF-8 well-formedness, shared by every writer of outside text (JSON, XML).

#include <cstddef>
#include <string_view>

namespace presenced::core {

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0 (RFC 3629 §4: no
// overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text);

}  // namespace presenced::core
