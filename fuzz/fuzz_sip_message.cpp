// Feeds untrusted bytes to the SIP message layer. The first byte picks the target: 'D' (or any
// byte = 0 mod 4) a datagram, 'U' a URI, 'N' a name-addr, 'S' a stream cut into frames. Beyond
// "no crash, no sanitizer report", it checks: a refused request names its problem with a status
// from RFC 3261 §21 and a reason phrase fit for a status line; a message read and written reads
// back the same, frames as one message, and is written the same again.

#include "sip/internal/message.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

namespace sip = presenced::sip;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

sip::Limits loose_limits() {
  sip::Limits limits;
  limits.message_bytes = 1u << 24;
  limits.body_bytes = 1u << 24;
  limits.header_count = 1u << 20;
  limits.header_bytes = 1u << 24;
  limits.list_items = 1u << 20;
  limits.uri_bytes = 1u << 24;
  return limits;
}

void check_error(const sip::ParseError& error) {
  const int status = error.status();
  require(status == 400 || status == 413 || status == 414 || status == 416 || status == 505 ||
          status == 513);
  require(!error.reason.empty() && !error.detail.empty());
  for (const char c : error.reason) {
    require(c >= 0x20 && c < 0x7f);
  }
}

bool checked(const sip::Parsed<sip::Message>& parsed) {
  if (!parsed) {
    check_error(parsed.error());
  }
  return parsed.has_value();
}

void reads_back_the_same(const sip::Message& message) {
  static const sip::Limits loose = loose_limits();
  const std::string written = sip::serialize(message);
  const auto frame = sip::next_frame(written, loose);
  require(frame && frame->kind == sip::FrameKind::Message && frame->size == written.size());
  const auto again = sip::parse(written, sip::Framing::Stream, loose);
  require(again.has_value());
  require(*again == message);
  require(sip::serialize(*again) == written);
}

void datagram(std::string_view bytes) {
  static const sip::Limits limits;
  if (const auto message = sip::parse(bytes, sip::Framing::Datagram, limits); checked(message)) {
    reads_back_the_same(*message);
  }
}

void stream(std::string_view bytes) {
  static const sip::Limits limits;
  while (!bytes.empty()) {
    const auto frame = sip::next_frame(bytes, limits);
    if (!frame) {
      check_error(frame.error());
      return;
    }
    if (frame->kind == sip::FrameKind::NeedMore) {
      require(frame->size == 0);
      return;
    }
    require(frame->size > 0 && frame->size <= bytes.size());
    if (frame->kind == sip::FrameKind::Message) {
      const auto message = sip::parse(bytes.substr(0, frame->size), sip::Framing::Stream, limits);
      if (checked(message)) {
        reads_back_the_same(*message);
      }
    }
    bytes.remove_prefix(frame->size);
  }
}

void uri(std::string_view text) {
  if (const auto parsed = sip::parse_uri(text)) {
    const auto again = sip::parse_uri(sip::serialize(*parsed));
    require(again && *again == *parsed);
  }
}

void name_addr(std::string_view text) {
  if (const auto parsed = sip::parse_name_addr(text)) {
    const auto again = sip::parse_name_addr(sip::serialize(*parsed));
    require(again && *again == *parsed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4u) {
    case 0: datagram(input); break;   // 'D'
    case 1: uri(input); break;        // 'U'
    case 2: name_addr(input); break;  // 'N'
    default: stream(input); break;    // 'S'
  }
  return 0;
}
