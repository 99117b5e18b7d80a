#pragma once

// Bearer tokens: 32 random bytes, base64url; only their SHA-256 is kept (in memory and in the
// store), so a copy of the database grants no access.

#include "core/model.h"
#include "store/store.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace presenced::api {

std::string new_token();
std::string token_hash(std::string_view token);

// Thread-safety: none; owned by the server's thread.
class TokenRegistry {
 public:
  void put(store::TokenRecord record);
  void erase(const std::string& hash);
  void erase_user(const std::string& user);
  // The user of a live token, or nothing.
  const store::TokenRecord* find(std::string_view token, core::TimePoint now) const;
  std::size_t size() const { return by_hash_.size(); }

 private:
  std::unordered_map<std::string, store::TokenRecord> by_hash_;
};

}  // namespace presenced::api
