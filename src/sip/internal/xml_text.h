#pragma once

// Text for the XML documents we write (PIDF, dialog-info, watcherinfo) and the xs:dateTime
// values we read and write. Private to src/sip.
// Thread-safety: free functions without shared state.

#include "core/model.h"

#include <optional>
#include <string>
#include <string_view>

namespace presenced::sip::xml {

// Appends `text` as XML character data. `&`, `<`, `>` and `"` become entity references; CR
// becomes `&#13;` (a literal CR reads back as LF, XML 1.0 §2.11). XML 1.0 (§2.2) cannot carry
// the other C0 controls, U+FFFE, U+FFFF or bytes that are not UTF-8 at all, not even as
// character references: each such byte becomes U+FFFD.
void append_text(std::string& out, std::string_view text);

// As append_text, for a double-quoted attribute value: TAB and LF also become references, since
// attribute-value normalisation (§3.3.3) would turn them into spaces.
void append_attribute(std::string& out, std::string_view text);

// `2026-11-30T19:36:40.123Z` (RFC 3339 in UTC, milliseconds).
void append_timestamp(std::string& out, core::TimePoint time);

// RFC 3339 date-time (`T` or `t`, `Z`, `z` or a numeric offset; fractions past milliseconds are
// cut). Anything else, a time without offset included, is nothing.
std::optional<core::TimePoint> parse_timestamp(std::string_view text);

// A name we write as an element name unchanged: an ASCII letter, then ASCII letters, digits,
// `-`, `_` or `.` (every RFC 4480 activity is one).
bool is_simple_name(std::string_view name);

}  // namespace presenced::sip::xml
