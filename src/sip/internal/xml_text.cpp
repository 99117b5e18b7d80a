#include "sip/internal/xml_text.h"

#include "core/utf8.h"

#include <chrono>

namespace presenced::sip::xml {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0. U+FFFE and U+FFFF
// are well-formed UTF-8 but no XML characters, so they count as 0 too.
std::size_t sequence_length(std::string_view text) {
  const std::size_t length = core::utf8_sequence_length(text);
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (length == 3 && lead == 0xEF && byte(1) == 0xBF && (byte(2) == 0xBE || byte(2) == 0xBF)) {
    return 0;
  }
  return length;
}

void append_escaped(std::string& out, std::string_view text, bool attribute) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t length = sequence_length(text.substr(i));
      if (length == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '"': out.append("&quot;"); break;
      case '\r': out.append("&#13;"); break;
      case '\t': out.append(attribute ? "&#9;" : "\t"); break;
      case '\n': out.append(attribute ? "&#10;" : "\n"); break;
      default: out.append(byte < 0x20 ? kReplacement : std::string_view(&text[i], 1)); break;
    }
    ++i;
  }
}

void append_digits(std::string& out, unsigned value, int width) {
  char digits[8];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

// Reads exactly `width` digits at `pos`.
std::optional<int> digits_at(std::string_view text, std::size_t pos, std::size_t width) {
  if (pos + width > text.size()) {
    return std::nullopt;
  }
  int value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') {
      return std::nullopt;
    }
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool separator_at(std::string_view text, std::size_t pos, char c) {
  return pos < text.size() && text[pos] == c;
}

// time-offset = "Z" / time-numoffset (RFC 3339 §5.6), lower case z allowed (§5.6 NOTE).
std::optional<std::chrono::minutes> parse_offset(std::string_view zone) {
  if (zone == "Z" || zone == "z") {
    return std::chrono::minutes(0);
  }
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
    return std::nullopt;
  }
  const auto hours = digits_at(zone, 1, 2);
  const auto minutes = digits_at(zone, 4, 2);
  if (!hours || !minutes || *hours > 23 || *minutes > 59) {
    return std::nullopt;
  }
  const std::chrono::minutes offset = std::chrono::hours(*hours) + std::chrono::minutes(*minutes);
  return zone[0] == '-' ? -offset : offset;
}

}  // namespace

void append_text(std::string& out, std::string_view text) { append_escaped(out, text, false); }

void append_attribute(std::string& out, std::string_view text) { append_escaped(out, text, true); }

void append_timestamp(std::string& out, core::TimePoint time) {
  using namespace std::chrono;
  const auto day = floor<days>(time);
  const year_month_day date(day);
  const hh_mm_ss clock(time - day);
  append_digits(out, static_cast<unsigned>(static_cast<int>(date.year())), 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(date.day()), 2);
  out.push_back('T');
  append_digits(out, static_cast<unsigned>(clock.hours().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(clock.minutes().count()), 2);
  out.push_back(':');
  append_digits(out, static_cast<unsigned>(clock.seconds().count()), 2);
  out.push_back('.');
  append_digits(out, static_cast<unsigned>(clock.subseconds().count()), 3);
  out.push_back('Z');
}

// date-time = full-date "T" full-time (RFC 3339 §5.6).
std::optional<core::TimePoint> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  const auto year = digits_at(text, 0, 4);
  const auto month = digits_at(text, 5, 2);
  const auto day = digits_at(text, 8, 2);
  const auto hour = digits_at(text, 11, 2);
  const auto minute = digits_at(text, 14, 2);
  const auto second = digits_at(text, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !separator_at(text, 4, '-') ||
      !separator_at(text, 7, '-') ||
      !(separator_at(text, 10, 'T') || separator_at(text, 10, 't')) ||
      !separator_at(text, 13, ':') || !separator_at(text, 16, ':') || *hour > 23 || *minute > 59 ||
      *second > 60) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year(*year),
                            std::chrono::month(static_cast<unsigned>(*month)),
                            std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  milliseconds fraction{0};
  if (separator_at(text, pos, '.')) {
    ++pos;
    const std::size_t start = pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += milliseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) {
      return std::nullopt;
    }
  }
  const auto offset = parse_offset(text.substr(pos));
  if (!offset) {
    return std::nullopt;
  }
  // A leap second (:60) reads as second 0 of the next minute, as POSIX time has no leap seconds.
  const core::TimePoint time = core::TimePoint(sys_days(date)) + hours(*hour) + minutes(*minute) +
                               seconds(*second) + fraction - *offset;
  // Only years we can write back as four digits.
  if (time < core::TimePoint(sys_days(std::chrono::year(1) / 1 / 1)) ||
      time >= core::TimePoint(sys_days(std::chrono::year(10000) / 1 / 1))) {
    return std::nullopt;
  }
  return time;
}

bool is_simple_name(std::string_view name) {
  if (name.empty() || !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z'))) {
    return false;
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace presenced::sip::xml
