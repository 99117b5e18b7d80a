#include "app/federation.h"

#include "core/visibility.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>

namespace presenced::app {

namespace {

core::Error bad(std::string_view value, std::string_view why) {
  return core::Error::invalid_argument("--sip-peer: \"" + std::string(value) + "\": " +
                                       std::string(why));
}

}  // namespace

core::Result<sip::SipPeerConfig> parse_sip_peer(std::string_view value) {
  sip::SipPeerConfig peer;
  const auto equals = value.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return bad(value, "not DOMAIN=HOST:PORT[,level=LEVEL][,transport=udp]");
  }
  for (const char c : value.substr(0, equals)) {
    peer.domain.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  std::string_view rest = value.substr(equals + 1);
  const auto comma = rest.find(',');
  const std::string_view address = rest.substr(0, comma);
  rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  const auto colon = address.rfind(':');
  unsigned port = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(address.data() + colon + 1, address.data() + address.size(), port).ec !=
          std::errc() ||
      port == 0 || port > 65535) {
    return bad(value, "the address is not HOST:PORT");
  }
  std::string host(address.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::array<unsigned char, 16> numeric{};
  if (inet_pton(AF_INET, host.c_str(), numeric.data()) != 1 &&
      inet_pton(AF_INET6, host.c_str(), numeric.data()) != 1) {
    return bad(value, "the host " + host + " is not a numeric address");
  }
  peer.address.address = std::move(host);
  peer.address.port = static_cast<std::uint16_t>(port);
  peer.address.transport = sip::Transport::Udp;
  while (!rest.empty()) {
    const auto next = rest.find(',');
    const std::string_view option = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
    if (option.starts_with("level=")) {
      const auto level = core::parse_visibility_level(option.substr(6));
      if (!level) {
        return bad(value, "level " + std::string(option.substr(6)) +
                              " is not blocked, public, business, team or personal");
      }
      peer.level = *level;
    } else if (option == "transport=udp") {
      peer.address.transport = sip::Transport::Udp;
    } else if (option == "transport=tcp") {
      // Our TCP side only answers connections peers open; we do not connect out yet.
      return bad(value, "transport=tcp is not supported yet; use udp");
    } else {
      return bad(value, "unknown option " + std::string(option));
    }
  }
  return peer;
}

}  // namespace presenced::app
