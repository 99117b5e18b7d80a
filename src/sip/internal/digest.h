#pragma once

// SIP digest authentication (RFC 3261 §22.4 with RFC 7616 and RFC 8760): challenges for
// WWW-Authenticate and the check of an Authorization header, for MD5 and SHA-256 with qop=auth.
// Pure: no sockets, no clock; time and the nonce's random bytes come in as parameters.
//
// Nonces are stateless: hex(timestamp || random || HMAC-SHA-256(secret, ...)[0..16)), so any
// instance holding the same secret accepts them until they expire. Replay is stopped by the
// nonce count: per nonce, each accepted request must carry a higher nc than the last one. That
// table is bounded; docs/sip.md ("Authentication") says what happens when it is full.
//
// Digest needs the user's password in clear (or HA1 per realm and algorithm), so the store keeps
// sip_password readable; it is a separate secret from the login password for that reason.
//
// Thread-safety: a DigestAuthenticator is not thread-safe; use it on one executor only.

#include "sip/internal/message.h"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::sip {

enum class DigestAlgorithm : std::uint8_t { Md5, Sha256 };

std::string_view to_string(DigestAlgorithm algorithm);  // "MD5", "SHA-256" as in the header

struct DigestConfig {
  std::string realm;  // the presence domain
  std::chrono::seconds nonce_lifetime{300};
  // Nonces whose highest nc is remembered; the oldest is forgotten first. About 100 bytes each.
  std::size_t replay_entries = 65'536;
};

using DigestSecret = std::array<std::uint8_t, 32>;  // from a CSPRNG at startup, or shared config
using NonceRandom = std::array<std::uint8_t, 16>;   // fresh from a CSPRNG for every challenge

// What the server does with a request, after verify().
enum class DigestOutcome : std::uint8_t {
  Ok,                // carry on with the request as `user`
  Missing,           // no credentials for our realm: 401 with a fresh challenge
  Stale,             // nonce expired, unknown to this secret, or nc replayed: 401, stale=true
  WrongCredentials,  // unknown user, no sip_password, wrong password, realm or URI: 403 (or 401)
  BadRequest,        // malformed or unsupported credentials: 400
};

std::string_view to_string(DigestOutcome outcome);

struct DigestResult {
  DigestOutcome outcome = DigestOutcome::Missing;
  std::string user;    // the username claimed (empty when Missing)
  std::string detail;  // for logs: names the field, the value (cut short) and the rule
};

// Credentials as read from one Authorization header, before any check of their values.
struct DigestCredentials {
  std::string username;
  std::string realm;
  std::string nonce;
  std::string uri;
  std::string response;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;  // RFC 7616 §3.4: MD5 when absent
  std::string qop;
  std::string nc;
  std::string cnonce;
  std::string opaque;  // required: RFC 7616 §3.4 has the client return it unchanged
};

class DigestAuthenticator {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  DigestAuthenticator(DigestConfig config, const DigestSecret& secret);

  // The WWW-Authenticate values for a 401: SHA-256 first, then MD5 (RFC 8760 §2.4), sharing one
  // nonce; `md5_only` leaves out SHA-256, for clients that give up on an algorithm they do not
  // know. `stale` marks a retry after DigestOutcome::Stale (RFC 7616 §3.3).
  std::vector<Auth> challenge(TimePoint now, const NonceRandom& random, bool stale,
                              bool md5_only = false) const;

  // The username of the first Digest Authorization for our realm, so that the server can look up
  // its sip_password; nullopt when there is none (verify() then says Missing).
  std::optional<std::string> claimed_user(const Message& request) const;

  // Checks the request's credentials for our realm. `sip_password` is the claimed user's, or
  // nullopt (or empty) when the user is unknown or has none: the response is then computed anyway
  // against a dummy and WrongCredentials returned, so both cases cost the same as a wrong password.
  // On Ok the nonce's count is recorded, so the same nc is refused next time.
  [[nodiscard]] DigestResult verify(const Message& request,
                                    std::optional<std::string_view> sip_password, TimePoint now);

  std::size_t remembered_nonces() const { return counts_.size(); }

 private:
  struct NonceFields {
    std::uint64_t issued_us = 0;
    NonceRandom random{};
  };
  struct Seen {
    std::uint32_t nc = 0;
    std::uint64_t issued_us = 0;
  };

  std::string make_nonce(std::uint64_t issued_us, const NonceRandom& random) const;
  std::optional<NonceFields> open_nonce(std::string_view nonce) const;
  DigestResult check_nonce(const DigestCredentials& credentials, std::uint32_t nc,
                           TimePoint now) const;
  void remember(const NonceFields& nonce, std::uint32_t nc, TimePoint now);

  DigestConfig config_;
  DigestSecret secret_;
  std::string opaque_;
  // Replay table: key is the nonce's random part (hex); queue_ keeps first-use order.
  std::unordered_map<std::string, Seen> counts_;
  std::deque<std::string> queue_;
  // Every forgotten nonce was issued at or before this time, so an unknown nonce issued then or
  // earlier may have been used already and is answered as stale.
  std::uint64_t forgotten_up_to_us_ = 0;
  bool forgot_any_ = false;
};

// Reads one Authorization value (scheme Digest) into credentials; an error names the field.
[[nodiscard]] boost::system::result<DigestCredentials, std::string> read_digest_credentials(
    const Auth& authorization);

// RFC 7616 §3.4.1 with qop=auth: H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri)), in
// lower-case hex. nullopt if libcrypto cannot compute the hash (MD5 in a FIPS-only setup).
std::optional<std::string> digest_response(DigestAlgorithm algorithm, std::string_view username,
                                           std::string_view realm, std::string_view password,
                                           std::string_view method, std::string_view uri,
                                           std::string_view nonce, std::string_view nc,
                                           std::string_view cnonce, std::string_view qop);

// Equal contents, in time that depends only on the lengths (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace presenced::sip
