#pragma once

// Helpers for SIP message tests: messages are written as lines, as the RFCs print them.

#include "core/model.h"
#include "sip/internal/message.h"
#include "sip/internal/transactions.h"

#include <chrono>

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace presenced::sip::test {

// The subscription tests' clocks: the engine's (wall) time and the transactions' steady time.
inline const core::TimePoint kT0 = core::TimePoint(std::chrono::milliseconds(1'800'000'000'000));
inline const TimePoint kNow = TimePoint(std::chrono::hours(1));

// Where the subscription tests' SUBSCRIBEs come from.
inline Peer udp_source() {
  Peer peer;
  peer.transport = Transport::Udp;
  peer.address = "192.0.2.10";
  peer.port = 5070;
  return peer;
}

// Joins lines with CRLF: {"INVITE ...", "Via: ...", "", "body"} is a message whose headers end
// at the empty line and whose body is the last element.
inline std::string lines(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (const std::string_view part : parts) {
    if (!first) {
      out += "\r\n";
    }
    out += part;
    first = false;
  }
  return out;
}

// The headers every test request shares, after its request line.
inline constexpr std::string_view kVia = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-t1";
inline constexpr std::string_view kFrom = "From: <sip:alice@example.com>;tag=a1";
inline constexpr std::string_view kTo = "To: <sip:bob@example.com>";
inline constexpr std::string_view kCallId = "Call-ID: c1@192.0.2.10";

inline std::string subscribe(std::initializer_list<std::string_view> extra = {}) {
  std::string out = lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", kVia, kFrom, kTo, kCallId,
                           "CSeq: 1 SUBSCRIBE", "Max-Forwards: 70", "Event: presence"});
  for (const std::string_view line : extra) {
    out += "\r\n";
    out += line;
  }
  out += "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

inline Parsed<Message> parse_datagram(std::string_view bytes, const Limits& limits = Limits{}) {
  return parse(bytes, Framing::Datagram, limits);
}

// Limits loose enough for anything the writer makes of a message read with the defaults: it
// expands compact names and writes one Via, Route or Contact per line.
inline Limits loose_limits() {
  Limits limits;
  limits.message_bytes = 1u << 22;
  limits.body_bytes = 1u << 22;
  limits.header_count = 1u << 16;
  limits.header_bytes = 1u << 20;
  limits.list_items = 1u << 16;
  limits.uri_bytes = 1u << 20;
  return limits;
}

// A NOTIFY as Subscriptions writes it, read with the message parser. Serializing what was read
// must give the same bytes: the writer's NOTIFY is the one serialize() makes of those fields.
inline Message read_back(std::string_view bytes) {
  auto parsed = parse(bytes, Framing::Datagram, loose_limits());
  if (!parsed) {
    ADD_FAILURE() << "NOTIFY does not parse: " << parsed.error().detail << "\n" << bytes;
    return Message{};
  }
  EXPECT_EQ(serialize(*parsed), bytes);
  return std::move(*parsed);
}

}  // namespace presenced::sip::test
