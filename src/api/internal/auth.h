#pragma once

// Bearer tokens: 32 random bytes, base64url; only their SHA-256 is kept (in memory and in the
// store), so a copy of the database grants no access.

#include "core/model.h"
#include "store/store.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::api {

// The label of a token from POST /api/v1/auth/token; every other label is an API key's.
inline constexpr std::string_view kLoginLabel = "login";

std::string new_token();
std::string token_hash(std::string_view token);
// How an API key is named to admins: the first 16 hex digits of its hash. It neither is nor
// leads to the token, and it lets a key be revoked without the token itself.
std::string_view api_key_id(std::string_view token_hash);

// Thread-safety: none; owned by the server's thread.
class TokenRegistry {
 public:
  void put(store::TokenRecord record);
  void erase(const std::string& hash);
  void erase_user(const std::string& user);
  // The user of a live token, or nothing.
  const store::TokenRecord* find(std::string_view token, core::TimePoint now) const;
  std::size_t size() const { return by_hash_.size(); }
  // Every token that is not a login's, expired ones too, by user and label.
  std::vector<const store::TokenRecord*> api_keys() const;
  const store::TokenRecord* find_api_key(std::string_view id) const;

 private:
  std::unordered_map<std::string, store::TokenRecord> by_hash_;
};

}  // namespace presenced::api
