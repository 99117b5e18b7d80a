#include "api/internal/auth.h"

#include "api/api.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <tuple>

namespace presenced::api {
namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

core::Result<std::string> hash_password(const std::string& password) {
  if (!sodium_ready()) {
    return core::Error::internal("libsodium failed to initialise");
  }
  std::array<char, crypto_pwhash_STRBYTES> out{};
  // Interactive limits: ~64 MiB and a few tens of ms; runs off the I/O thread.
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return core::Error::resource_exhausted("password hashing ran out of memory");
  }
  return std::string(out.data());
}

bool verify_password(const std::string& encoded, const std::string& password) {
  if (!sodium_ready() || encoded.empty()) {
    return false;
  }
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

std::string new_token() {
  sodium_ready();
  std::array<unsigned char, 32> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::array<char, sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)> text{};
  sodium_bin2base64(text.data(), text.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return std::string(text.data());
}

std::string token_hash(std::string_view token) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data());
}

std::string_view api_key_id(std::string_view token_hash) { return token_hash.substr(0, 16); }

std::vector<const store::TokenRecord*> TokenRegistry::api_keys() const {
  std::vector<const store::TokenRecord*> out;
  for (const auto& [hash, record] : by_hash_) {
    if (record.label != kLoginLabel) {
      out.push_back(&record);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto* a, const auto* b) {
    return std::tie(a->user, a->label, a->token_hash) < std::tie(b->user, b->label, b->token_hash);
  });
  return out;
}

const store::TokenRecord* TokenRegistry::find_api_key(std::string_view id) const {
  if (id.size() != 16) {
    return nullptr;
  }
  for (const auto& [hash, record] : by_hash_) {
    if (record.label != kLoginLabel && api_key_id(hash) == id) {
      return &record;
    }
  }
  return nullptr;
}

void TokenRegistry::put(store::TokenRecord record) {
  std::string key = record.token_hash;
  by_hash_[std::move(key)] = std::move(record);
}

void TokenRegistry::erase(const std::string& hash) { by_hash_.erase(hash); }

void TokenRegistry::erase_user(const std::string& user) {
  std::erase_if(by_hash_, [&](const auto& entry) { return entry.second.user == user; });
}

const store::TokenRecord* TokenRegistry::find(std::string_view token, core::TimePoint now) const {
  if (token.empty() || token.size() > 256) {
    return nullptr;
  }
  auto it = by_hash_.find(token_hash(token));
  if (it == by_hash_.end() || it->second.expires_at <= now) {
    return nullptr;
  }
  return &it->second;
}

}  // namespace presenced::api
