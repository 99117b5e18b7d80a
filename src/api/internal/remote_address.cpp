#include "api/internal/remote_address.h"

#include <fmt/format.h>

#include <array>

namespace presenced::api {

namespace {

constexpr std::array<std::string_view, 2> kSchemes = {"sip", "xmpp"};

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool user_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '+' || c == '-' || c == '%';
}

bool domain_char(char c) { return is_alnum(c) || c == '.' || c == '-'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

core::Result<RemoteAddress> parse_remote_address(std::string_view text, std::size_t max_bytes) {
  using core::Error;
  if (text.size() > max_bytes) {
    return Error::invalid_argument(
        fmt::format("address: {} bytes, limit {}", text.size(), max_bytes));
  }
  const auto colon = text.find(':');
  const auto at = text.rfind('@');
  if (colon == std::string_view::npos || at == std::string_view::npos || at < colon) {
    return Error::invalid_argument(
        fmt::format("address: \"{}\" is not scheme:user@domain", text));
  }
  RemoteAddress out;
  for (const char c : text.substr(0, colon)) {
    out.scheme.push_back(lower(c));
  }
  bool known = false;
  for (const std::string_view scheme : kSchemes) {
    known = known || out.scheme == scheme;
  }
  if (!known) {
    return Error::invalid_argument(
        fmt::format("address: scheme \"{}\" is not sip or xmpp", out.scheme));
  }
  const std::string_view user = text.substr(colon + 1, at - colon - 1);
  const std::string_view domain = text.substr(at + 1);
  if (user.empty() || domain.empty()) {
    return Error::invalid_argument(fmt::format("address: \"{}\" lacks a user or a domain", text));
  }
  for (const char c : user) {
    if (!user_char(c)) {
      return Error::invalid_argument(fmt::format(
          "address: user \"{}\" has a character outside A-Z a-z 0-9 . _ + - %", user));
    }
  }
  for (const char c : domain) {
    if (!domain_char(c)) {
      return Error::invalid_argument(fmt::format(
          "address: domain \"{}\" has a character outside A-Z a-z 0-9 . -", domain));
    }
    out.domain.push_back(lower(c));
  }
  if (out.domain.front() == '.' || out.domain.back() == '.' ||
      out.domain.find("..") != std::string::npos) {
    return Error::invalid_argument(fmt::format("address: domain \"{}\" is malformed", domain));
  }
  out.address = out.scheme + ":" + std::string(user) + "@" + out.domain;
  return out;
}

}  // namespace presenced::api
