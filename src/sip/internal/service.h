#pragma once

// The answers of the presence server to requests that reached a new server transaction
// (docs/sip.md, "The listener and its answers"): OPTIONS, digest authentication of SUBSCRIBE and
// PUBLISH, the event package check, 405 for the rest. Pure: the caller passes the time and the
// random bytes of a possible challenge.
//
// Thread-safety: none; one instance per shard, used only on that shard's thread.

#include "sip/internal/digest.h"
#include "sip/internal/message.h"
#include "sip/internal/publications.h"
#include "sip/internal/subscriptions.h"
#include "sip/sip.h"

#include <array>
#include <chrono>
#include <optional>
#include <regex>
#include <cstdint>
#include <string_view>
#include <vector>

namespace presenced::sip {

// Methods this server handles (Allow) and event packages it knows (Allow-Events).
inline constexpr std::array<std::string_view, 4> kAllowedMethods = {"OPTIONS", "SUBSCRIBE",
                                                                    "NOTIFY", "PUBLISH"};
inline constexpr std::array<std::string_view, 3> kEventPackages = {"presence", "dialog",
                                                                   "presence.winfo"};

class Service {
 public:
  // `subscriptions` takes SUBSCRIBEs; without it they get 501 (it must outlive us).
  Service(std::string domain, const Directory& directory, DigestAuthenticator authenticator,
          Subscriptions* subscriptions = nullptr);

  // The final response to `request` (never an ACK, CANCEL or INVITE: the transaction layer
  // answers those itself), for a caller that cannot wait: a SUBSCRIBE or PUBLISH that would
  // change something gets 501 and changes nothing.
  Message handle(const Message& request, std::chrono::system_clock::time_point now,
                 const NonceRandom& random);
  // The same for a request from `source`, at `steady` on the transactions' clock (subscription
  // expiry), given to `answer`: at once, or for a SUBSCRIBE or PUBLISH once the store holds
  // the change. NOTIFYs it causes wait in the subscriptions' outbox.
  void handle(const Message& request, const Peer& source,
              std::chrono::system_clock::time_point now, TimePoint steady,
              const NonceRandom& random, Subscriptions::Answer answer);

  // A 401 to a request whose User-Agent matches `user_agents` offers MD5 only: some clients
  // know only MD5 and give up on a 401 that offers anything else (libre 1.1, sipp 3.6).
  void set_md5_only(std::regex user_agents) { md5_only_ = std::move(user_agents); }

  // Takes presence PUBLISHes from now on; without it they get 501 (it must outlive us).
  void set_publications(Publications* publications) { publications_ = publications; }

  // Federated domains (docs/sip.md, "Federation"): a SUBSCRIBE from a peer's address whose From
  // is in the peer's domain is taken without digest, as the subscriber "peer:<domain>".
  void set_peers(std::vector<SipPeerConfig> peers) { peers_ = std::move(peers); }

  // Requests refused with 403 for wrong credentials since the start.
  std::uint64_t auth_failures() const { return auth_failures_; }

 private:
  Message options(const Message& request) const;
  // nullopt: `later` has taken over the answer.
  std::optional<Message> respond(const Message& request, const Peer& source,
                                 std::chrono::system_clock::time_point now, TimePoint steady,
                                 const NonceRandom& random, Subscriptions::Answer& later);
  std::optional<Message> authenticated(const Message& request, const std::string& user,
                                       const Peer& source,
                                       std::chrono::system_clock::time_point now,
                                       TimePoint steady, const NonceRandom& random,
                                       Subscriptions::Answer& later);
  const SipPeerConfig* trusted_peer(const Message& request, const Peer& source) const;
  Message challenge(const Message& request, std::chrono::system_clock::time_point now,
                    const NonceRandom& random, bool stale) const;

  std::string domain_;
  const Directory& directory_;
  DigestAuthenticator authenticator_;
  Subscriptions* subscriptions_;
  std::uint64_t auth_failures_ = 0;
  Publications* publications_ = nullptr;
  std::optional<std::regex> md5_only_;
  std::vector<SipPeerConfig> peers_;
};

}  // namespace presenced::sip
