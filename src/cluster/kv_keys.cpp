#include "cluster/kv_keys.h"

namespace presenced::cluster {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool is_plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;  // lower case is never written, so never read: one spelling per id
}

}  // namespace

std::string key_token(std::string_view user_id) {
  std::string out;
  out.reserve(user_id.size());
  for (const char c : user_id) {
    if (is_plain(c)) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '=';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::optional<std::string> user_from_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (std::size_t i = 0; i < token.size(); ++i) {
    const char c = token[i];
    if (is_plain(c)) {
      out += c;
      continue;
    }
    if (c != '=' || i + 2 >= token.size()) {
      return std::nullopt;
    }
    const int high = hex_value(token[i + 1]);
    const int low = hex_value(token[i + 2]);
    if (high < 0 || low < 0) {
      return std::nullopt;
    }
    const char decoded = static_cast<char>(high * 16 + low);
    if (is_plain(decoded)) {
      return std::nullopt;  // written plain by key_token
    }
    out += decoded;
    i += 2;
  }
  return out;
}

}  // namespace presenced::cluster
