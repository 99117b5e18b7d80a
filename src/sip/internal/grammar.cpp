#include "sip/internal/grammar.h"

#include <algorithm>

namespace presenced::sip::grammar {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_wsp(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_wsp(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::string printable(std::string_view text, std::size_t max) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\\') {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_number(std::string_view text, std::uint64_t max, bool saturate) {
  if (text.empty()) {
    return std::nullopt;
  }
  std::uint64_t value = 0;
  bool over = false;
  for (const char c : text) {
    if (!is_digit(c)) {
      return std::nullopt;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (over || value > (max - std::min(max, digit)) / 10 || digit > max) {
      over = true;
    } else {
      value = value * 10 + digit;
    }
  }
  if (over) {
    return saturate ? std::optional<std::uint64_t>(max) : std::nullopt;
  }
  return value;
}

bool split_list(std::string_view value, std::size_t max_items, std::vector<std::string_view>& out) {
  bool quoted = false;
  bool escaped = false;
  bool angle = false;
  std::size_t start = 0;
  auto add = [&](std::size_t end) {
    const std::string_view item = trim(value.substr(start, end - start));
    if (item.empty() || out.size() >= max_items) {
      return false;
    }
    out.push_back(item);
    start = end + 1;
    return true;
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '<') {
      if (angle) {
        return false;
      }
      angle = true;
    } else if (c == '>') {
      if (!angle) {
        return false;
      }
      angle = false;
    } else if (c == ',' && !angle && !add(i)) {
      return false;
    }
  }
  return !quoted && !angle && add(value.size());
}

bool unescape(std::string_view text, bool (*allowed)(char), std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return false;
      }
      const char hi = text[i + 1];
      const char lo = text[i + 2];
      if (!is_hex(hi) || !is_hex(lo)) {
        return false;
      }
      auto nibble = [](char h) { return is_digit(h) ? h - '0' : lower(h) - 'a' + 10; };
      out += static_cast<char>(nibble(hi) * 16 + nibble(lo));
      i += 2;
    } else if (allowed(c)) {
      out += c;
    } else {
      return false;
    }
  }
  return true;
}

void Cursor::skip_ws() {
  while (!done() && is_wsp(text_[pos_])) {
    ++pos_;
  }
}

bool Cursor::take(char c) {
  if (!done() && text_[pos_] == c) {
    ++pos_;
    return true;
  }
  return false;
}

std::string_view Cursor::token() { return take_while(is_token_char); }

std::string_view Cursor::quoted_raw() {
  if (peek() != '"') {
    return {};
  }
  const std::size_t start = pos_;
  for (std::size_t i = pos_ + 1; i < text_.size(); ++i) {
    if (text_[i] == '\\') {
      ++i;
    } else if (text_[i] == '"') {
      pos_ = i + 1;
      return text_.substr(start, pos_ - start);
    }
  }
  return {};
}

bool Cursor::params(std::vector<Param>& out, bool (*name_char)(char), bool (*value_char)(char),
                    bool quoted_values) {
  for (;;) {
    skip_ws();
    if (!take(';')) {
      return true;
    }
    skip_ws();
    const std::string_view name = take_while(name_char);
    if (name.empty()) {
      return false;
    }
    Param param{std::string(name), std::nullopt};
    skip_ws();
    if (take('=')) {
      skip_ws();
      std::string_view value = quoted_values ? quoted_raw() : std::string_view();
      if (value.empty()) {
        value = take_while(value_char);
      }
      if (value.empty()) {
        return false;
      }
      param.value = std::string(value);
    }
    out.push_back(std::move(param));
  }
}

std::string unquote(std::string_view raw) {
  std::string out;
  if (raw.size() < 2) {
    return out;
  }
  raw = raw.substr(1, raw.size() - 2);
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      ++i;
    }
    out += raw[i];
  }
  return out;
}

}  // namespace presenced::sip::grammar
