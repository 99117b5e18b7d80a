#pragma once

// The header of a WebSocket text frame as a server sends it (RFC 6455 section 5.2): FIN set,
// opcode text, no mask, the payload length in 7, 16 or 64 bits. The server frames its own
// messages so that a notification is one socket write with no copy of its payload.

#include <array>
#include <cstddef>
#include <cstdint>

namespace presenced::api {

struct TextFrameHeader {
  explicit TextFrameHeader(std::uint64_t length) {
    bytes[0] = 0x81;
    if (length < 126) {
      bytes[1] = static_cast<unsigned char>(length);
      size = 2;
    } else if (length <= 0xFFFF) {
      bytes[1] = 126;
      size = 4;
    } else {
      bytes[1] = 127;
      size = 10;
    }
    for (std::size_t i = size; i > 2; --i, length >>= 8) {
      bytes[i - 1] = static_cast<unsigned char>(length & 0xFF);  // network byte order
    }
  }
  std::array<unsigned char, 10> bytes{};
  std::size_t size = 0;
};

}  // namespace presenced::api
