#pragma once

// The few reads of SIP text the load generators need (sip-load, compare-sip): enough for what
// the servers under test send, not a parser.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::load {

std::string md5_hex(std::string_view text);

// The value of the first header `name` (exact case), or empty.
std::string_view header(std::string_view message, std::string_view name, std::size_t from = 0);

// Every line of header `name`, in order.
std::vector<std::string_view> headers(std::string_view message, std::string_view name);

// param="value" or param=value inside a challenge.
std::string_view param(std::string_view text, std::string_view name);

// A 200 OK to `request`: its Via lines, From, To, Call-ID and CSeq copied (RFC 3261 §8.2.6.2).
std::string ok_response(std::string_view request);

// The number right after the first `marker` in `text`.
std::optional<std::uint64_t> number_after(std::string_view text, std::string_view marker);

}  // namespace presenced::load
