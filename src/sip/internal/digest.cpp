#include "sip/internal/digest.h"

#include "sip/internal/grammar.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>
#include <utility>

namespace presenced::sip {
namespace {

// Bounds on credential fields; the header as a whole is already bounded by Limits.
constexpr std::size_t kFieldBytes = 256;
constexpr std::size_t kUriBytes = 2'048;
// A nonce is timestamp (8 bytes, microseconds since the epoch, big-endian), random (16) and the
// first 16 bytes of the HMAC, written in hex.
constexpr std::size_t kNonceBytes = 8 + 16 + 16;
constexpr std::string_view kNonceLabel = "presenced sip nonce v1";
constexpr std::string_view kOpaqueLabel = "presenced sip opaque v1";

std::string to_hex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool all_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return hex_value(c) >= 0; });
}

const EVP_MD* evp(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Sha256 ? EVP_sha256() : EVP_md5();
}

// H(data) in lower-case hex; nullopt when libcrypto refuses (e.g. MD5 under a FIPS provider).
std::optional<std::string> hash_hex(DigestAlgorithm algorithm, std::string_view data) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &size, evp(algorithm), nullptr) != 1) {
    return std::nullopt;
  }
  return to_hex(md.data(), size);
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (const std::string_view part : parts) {
    if (!first) {
      out += ':';
    }
    out += part;
    first = false;
  }
  return out;
}

// The first 16 bytes of HMAC-SHA-256(secret, label NUL realm NUL data).
std::array<std::uint8_t, 16> mac16(const DigestSecret& secret, std::string_view label,
                                   std::string_view realm, const std::uint8_t* data,
                                   std::size_t size) {
  std::string input;
  input.reserve(label.size() + realm.size() + 2 + size);
  input.append(label).push_back('\0');
  input.append(realm).push_back('\0');
  if (size > 0) {
    input.append(reinterpret_cast<const char*>(data), size);
  }
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int full_size = 0;
  // HMAC-SHA-256 is in every libcrypto provider; a failure leaves `full` zeroed, which no nonce
  // of ours matches once the secret is non-zero.
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), full.data(), &full_size);
  std::array<std::uint8_t, 16> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

std::uint64_t micros(DigestAuthenticator::TimePoint t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  return us.count() < 0 ? 0 : static_cast<std::uint64_t>(us.count());
}

std::string cut(std::string_view value) {
  constexpr std::size_t kShown = 40;
  std::string out;
  for (const char c : value.substr(0, kShown)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (value.size() > kShown) {
    out += "...";
  }
  return out;
}

// The resource parts of a SIP URI, as RFC 3261 §19.1.4 compares them (host case-insensitive).
// URI parameters and headers are not compared: a proxy on the path may add ones such as
// transport or lr, and they do not name a different resource.
bool same_resource(const Uri& a, const Uri& b) {
  return a.scheme == b.scheme && a.user == b.user && a.has_password == b.has_password &&
         a.password == b.password && grammar::iequals(a.host, b.host) && a.port == b.port &&
         a.opaque == b.opaque;
}

AuthParam quoted(std::string name, std::string value) {
  return AuthParam{std::move(name), std::move(value), true};
}
AuthParam token(std::string name, std::string value) {
  return AuthParam{std::move(name), std::move(value), false};
}

boost::system::result<DigestCredentials, std::string> refuse(std::string detail) {
  return {boost::system::in_place_error, std::move(detail)};
}

DigestResult result(DigestOutcome outcome, std::string user, std::string detail) {
  return DigestResult{outcome, std::move(user), std::move(detail)};
}

}  // namespace

std::string_view to_string(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Sha256 ? "SHA-256" : "MD5";
}

std::string_view to_string(DigestOutcome outcome) {
  switch (outcome) {
    case DigestOutcome::Ok: return "ok";
    case DigestOutcome::Missing: return "missing";
    case DigestOutcome::Stale: return "stale";
    case DigestOutcome::WrongCredentials: return "wrong_credentials";
    case DigestOutcome::BadRequest: return "bad_request";
  }
  return "unknown";
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // The lengths are public (a hex digest's length follows from the algorithm).
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string> digest_response(DigestAlgorithm algorithm, std::string_view username,
                                           std::string_view realm, std::string_view password,
                                           std::string_view method, std::string_view uri,
                                           std::string_view nonce, std::string_view nc,
                                           std::string_view cnonce, std::string_view qop) {
  std::string a1 = join({username, realm, password});
  const auto ha1 = hash_hex(algorithm, a1);
  OPENSSL_cleanse(a1.data(), a1.size());  // the password should not linger in freed memory
  const auto ha2 = hash_hex(algorithm, join({method, uri}));
  if (!ha1 || !ha2) {
    return std::nullopt;
  }
  return hash_hex(algorithm, join({*ha1, nonce, nc, cnonce, qop, *ha2}));
}

boost::system::result<DigestCredentials, std::string> read_digest_credentials(
    const Auth& authorization) {
  if (!grammar::iequals(authorization.scheme, "Digest")) {
    return refuse(fmt::format("scheme: {} is not Digest", cut(authorization.scheme)));
  }
  static constexpr std::string_view kKnown[] = {"username", "realm",     "nonce",   "uri",
                                                "response", "algorithm", "qop",     "nc",
                                                "cnonce",   "opaque",    "userhash"};
  // A parameter given twice could be read differently by a proxy and by us: refuse it.
  for (std::size_t i = 0; i < authorization.params.size(); ++i) {
    const std::string& name = authorization.params[i].name;
    const bool known = std::any_of(std::begin(kKnown), std::end(kKnown),
                                   [&](std::string_view k) { return grammar::iequals(k, name); });
    for (std::size_t j = i + 1; known && j < authorization.params.size(); ++j) {
      if (grammar::iequals(authorization.params[j].name, name)) {
        return refuse(fmt::format("{}: given twice", cut(name)));
      }
    }
  }
  DigestCredentials c;
  struct Field {
    std::string_view name;
    std::string* out;
    std::size_t limit;
  };
  const Field required[] = {
      {"username", &c.username, kFieldBytes},
      {"realm", &c.realm, kFieldBytes},
      {"nonce", &c.nonce, kFieldBytes},
      {"uri", &c.uri, kUriBytes},
      {"response", &c.response, kFieldBytes},
      {"qop", &c.qop, kFieldBytes},
      {"nc", &c.nc, kFieldBytes},
      {"cnonce", &c.cnonce, kFieldBytes},
      {"opaque", &c.opaque, kFieldBytes},
  };
  for (const Field& field : required) {
    const auto value = authorization.param(field.name);
    if (!value) {
      // RFC 2069 credentials (no qop, nc, cnonce) are refused here: see docs/sip.md.
      return refuse(fmt::format("{}: missing", field.name));
    }
    if (value->empty() || value->size() > field.limit) {
      return refuse(
          fmt::format("{}: {} bytes, allowed 1 to {}", field.name, value->size(), field.limit));
    }
    field.out->assign(*value);
  }
  if (const auto algorithm = authorization.param("algorithm")) {
    if (grammar::iequals(*algorithm, "SHA-256")) {
      c.algorithm = DigestAlgorithm::Sha256;
    } else if (!grammar::iequals(*algorithm, "MD5")) {
      return refuse(
          fmt::format("algorithm: {} not supported, only SHA-256 and MD5", cut(*algorithm)));
    }
  }
  if (!grammar::iequals(c.qop, "auth")) {
    return refuse(fmt::format("qop: {} not supported, only auth", cut(c.qop)));
  }
  if (c.nc.size() != 8 || !all_hex(c.nc) || c.nc == "00000000") {  // RFC 7616 §3.4: 8LHEX
    return refuse(fmt::format("nc: {} is not 8 hex digits from 00000001", cut(c.nc)));
  }
  const std::size_t response_size = c.algorithm == DigestAlgorithm::Sha256 ? 64 : 32;
  if (c.response.size() != response_size || !all_hex(c.response)) {
    return refuse(
        fmt::format("response: not {} hex digits for {}", response_size, to_string(c.algorithm)));
  }
  if (const auto userhash = authorization.param("userhash");
      userhash && !grammar::iequals(*userhash, "false")) {
    return refuse(std::string("userhash: not offered, so not accepted"));
  }
  return c;
}

DigestAuthenticator::DigestAuthenticator(DigestConfig config, const DigestSecret& secret)
    : config_(std::move(config)), secret_(secret) {
  config_.replay_entries = std::max<std::size_t>(config_.replay_entries, 1);
  const auto mac = mac16(secret_, kOpaqueLabel, config_.realm, nullptr, 0);
  opaque_ = to_hex(mac.data(), 8);
}

std::string DigestAuthenticator::make_nonce(std::uint64_t issued_us,
                                            const NonceRandom& random) const {
  std::array<std::uint8_t, kNonceBytes> bytes{};
  for (std::size_t i = 0; i < 8; ++i) {
    bytes[i] = static_cast<std::uint8_t>(issued_us >> (8 * (7 - i)));
  }
  std::copy(random.begin(), random.end(), bytes.begin() + 8);
  const auto mac = mac16(secret_, kNonceLabel, config_.realm, bytes.data(), 24);
  std::copy(mac.begin(), mac.end(), bytes.begin() + 24);
  return to_hex(bytes.data(), bytes.size());
}

std::optional<DigestAuthenticator::NonceFields> DigestAuthenticator::open_nonce(
    std::string_view nonce) const {
  if (nonce.size() != 2 * kNonceBytes || !all_hex(nonce)) {
    return std::nullopt;
  }
  std::array<std::uint8_t, kNonceBytes> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] =
        static_cast<std::uint8_t>(hex_value(nonce[2 * i]) * 16 + hex_value(nonce[2 * i + 1]));
  }
  const auto mac = mac16(secret_, kNonceLabel, config_.realm, bytes.data(), 24);
  if (CRYPTO_memcmp(mac.data(), bytes.data() + 24, mac.size()) != 0) {
    return std::nullopt;
  }
  NonceFields fields;
  for (std::size_t i = 0; i < 8; ++i) {
    fields.issued_us = (fields.issued_us << 8) | bytes[i];
  }
  std::copy_n(bytes.begin() + 8, fields.random.size(), fields.random.begin());
  return fields;
}

// RFC 7616 §3.7: a client takes the first challenge it supports, so the strongest comes first.
constexpr std::array kAlgorithms{DigestAlgorithm::Sha256, DigestAlgorithm::Md5};

std::vector<Auth> DigestAuthenticator::challenge(TimePoint now, const NonceRandom& random,
                                                 bool stale, bool md5_only) const {
  const std::string nonce = make_nonce(micros(now), random);
  std::vector<Auth> out;
  const std::span<const DigestAlgorithm> algorithms =
      md5_only ? std::span(kAlgorithms).subspan(1) : std::span(kAlgorithms);
  for (const DigestAlgorithm algorithm : algorithms) {
    Auth& auth = out.emplace_back();
    auth.scheme = "Digest";
    auth.params = {quoted("realm", config_.realm), quoted("nonce", nonce),
                   quoted("opaque", opaque_), token("algorithm", std::string(to_string(algorithm))),
                   quoted("qop", "auth")};
    if (stale) {
      auth.params.push_back(token("stale", "true"));
    }
  }
  return out;
}

namespace {

// The first Digest Authorization for `realm`; credentials for other realms are someone else's
// (RFC 3261 §22.4).
const Auth* ours(const Message& request, std::string_view realm) {
  for (const Auth& auth : request.authorization) {
    const auto r = auth.param("realm");
    if (grammar::iequals(auth.scheme, "Digest") && r && *r == realm) {
      return &auth;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> DigestAuthenticator::claimed_user(const Message& request) const {
  const Auth* auth = ours(request, config_.realm);
  if (auth == nullptr) {
    return std::nullopt;
  }
  const auto user = auth->param("username");
  return user ? std::optional<std::string>(*user) : std::nullopt;
}

DigestResult DigestAuthenticator::check_nonce(const DigestCredentials& credentials,
                                              std::uint32_t nc, TimePoint now) const {
  const auto fields = open_nonce(credentials.nonce);
  if (!fields || !constant_time_equal(credentials.opaque, opaque_)) {
    // Another secret (a restart, another node) or tampered: the client retries with ours.
    return result(DigestOutcome::Stale, credentials.username,
                  fmt::format("nonce: {} not issued with this secret", cut(credentials.nonce)));
  }
  const std::uint64_t now_us = micros(now);
  const auto lifetime_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(config_.nonce_lifetime).count());
  const std::uint64_t age_us =
      now_us > fields->issued_us ? now_us - fields->issued_us : fields->issued_us - now_us;
  if (age_us > lifetime_us) {
    return result(DigestOutcome::Stale, credentials.username,
                  fmt::format("nonce: issued {} s from now, lifetime {} s", age_us / 1'000'000,
                              config_.nonce_lifetime.count()));
  }
  const auto seen = counts_.find(to_hex(fields->random.data(), fields->random.size()));
  if (seen != counts_.end() && nc <= seen->second.nc) {
    return result(DigestOutcome::Stale, credentials.username,
                  fmt::format("nc: {} not above {:08x} (replay)", credentials.nc, seen->second.nc));
  }
  if (seen == counts_.end() && forgot_any_ && fields->issued_us <= forgotten_up_to_us_) {
    return result(DigestOutcome::Stale, credentials.username,
                  "nonce: older than the replay table remembers");
  }
  return result(DigestOutcome::Ok, credentials.username, "");
}

void DigestAuthenticator::remember(const NonceFields& nonce, std::uint32_t nc, TimePoint now) {
  std::string key = to_hex(nonce.random.data(), nonce.random.size());
  if (const auto it = counts_.find(key); it != counts_.end()) {
    it->second.nc = nc;
    return;
  }
  const std::uint64_t now_us = micros(now);
  const auto lifetime_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(config_.nonce_lifetime).count());
  // Forget expired nonces first (they are refused as stale anyway), then the oldest while full.
  while (!queue_.empty()) {
    const auto front = counts_.find(queue_.front());
    const bool expired = front->second.issued_us + lifetime_us < now_us;
    if (!expired && counts_.size() < config_.replay_entries) {
      break;
    }
    forgotten_up_to_us_ = std::max(forgotten_up_to_us_, front->second.issued_us);
    forgot_any_ = true;
    counts_.erase(front);
    queue_.pop_front();
  }
  counts_.emplace(key, Seen{nc, nonce.issued_us});
  queue_.push_back(std::move(key));
}

DigestResult DigestAuthenticator::verify(const Message& request,
                                         std::optional<std::string_view> sip_password,
                                         TimePoint now) {
  const Auth* auth = ours(request, config_.realm);
  if (auth == nullptr) {
    return result(DigestOutcome::Missing, "",
                  fmt::format("no credentials for realm {}", cut(config_.realm)));
  }
  auto credentials = read_digest_credentials(*auth);
  if (!credentials) {
    const auto user = auth->param("username");
    return result(DigestOutcome::BadRequest, std::string(user.value_or("")), credentials.error());
  }
  const DigestCredentials& c = *credentials;
  const auto uri = parse_uri(c.uri);
  if (!uri) {
    return result(DigestOutcome::BadRequest, c.username,
                  fmt::format("uri: {} is not a URI", cut(c.uri)));
  }
  if (sip_password && sip_password->empty()) {
    sip_password.reset();  // the store's "no SIP password": never a password that matches
  }
  // Computed even for an unknown user, so that the answer takes as long as for a wrong password.
  const auto expected =
      digest_response(c.algorithm, c.username, c.realm, sip_password.value_or(""),
                      request.method_name(), c.uri, c.nonce, c.nc, c.cnonce, c.qop);
  if (!expected) {
    return result(DigestOutcome::BadRequest, c.username,
                  fmt::format("algorithm: {} unavailable in libcrypto", to_string(c.algorithm)));
  }
  std::string given = c.response;
  std::transform(given.begin(), given.end(), given.begin(), [](char ch) {
    return (ch >= 'A' && ch <= 'F') ? static_cast<char>(ch - 'A' + 'a') : ch;
  });
  if (!constant_time_equal(given, *expected) || !sip_password) {
    return result(DigestOutcome::WrongCredentials, c.username,
                  sip_password ? "response: does not match" : "username: unknown or no password");
  }
  if (!same_resource(*uri, request.request_uri)) {
    return result(DigestOutcome::WrongCredentials, c.username,
                  fmt::format("uri: {} is not the Request-URI", cut(c.uri)));
  }
  std::uint32_t nc = 0;  // 8 hex digits, checked by read_digest_credentials
  std::from_chars(c.nc.data(), c.nc.data() + c.nc.size(), nc, 16);
  DigestResult checked = check_nonce(c, nc, now);
  if (checked.outcome == DigestOutcome::Ok) {
    remember(*open_nonce(c.nonce), nc, now);
  }
  return checked;
}

}  // namespace presenced::sip
