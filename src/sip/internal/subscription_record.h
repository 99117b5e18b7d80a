#pragma once

// One subscription's dialog as stored in the server's store (kind "sip.subscription"), so that
// it survives a restart (docs/sip.md, "Subscriptions that survive a restart"). The body is
// line-based, `name value` per line, SIP values written as SIP writes them; unknown names are
// skipped, so a later version can add lines.
// Thread-safety: free functions without shared state.

#include "sip/internal/message.h"
#include "sip/internal/transactions.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip {

inline constexpr std::string_view kSubscriptionKind = "sip.subscription";

using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;

struct StoredSubscription {
  std::string package;  // the Event package: presence, dialog, presence.winfo
  std::string subscriber;
  std::string presentity;
  std::string call_id;
  NameAddr local;   // our side, with our tag
  NameAddr remote;  // the subscriber's side, with its tag
  std::optional<std::string> event_id;
  Uri remote_target;
  std::vector<NameAddr> route_set;
  std::uint32_t remote_cseq = 0;
  // No NOTIFY of this subscription has had a CSeq above this yet: after a restart NOTIFYs go on
  // from here (and document versions too, which grow with them).
  std::uint32_t local_cseq_bound = 0;
  WallTime expires_at;
  WallTime created_at;
  Transport transport = Transport::Udp;
  std::string address;  // where the SUBSCRIBE came from
  std::uint16_t port = 0;
  friend bool operator==(const StoredSubscription&, const StoredSubscription&) = default;
};

std::string encode_subscription(const StoredSubscription& subscription);
// nullopt when a required line is missing or a value does not parse.
std::optional<StoredSubscription> decode_subscription(std::string_view body);

}  // namespace presenced::sip
