#pragma once

// Keys of the cluster's key-value bucket. NATS keys allow A-Z a-z 0-9 - _ = / . and use '.' to
// separate subject tokens, while user ids may hold '.', '@' and '+': a user id becomes one token
// by writing every byte outside A-Z a-z 0-9 - _ as '=' and two upper-case hex digits.

#include <optional>
#include <string>
#include <string_view>

namespace presenced::cluster {

std::string key_token(std::string_view user_id);
// The user id a token names; nullopt for anything key_token() does not write.
std::optional<std::string> user_from_token(std::string_view token);

}  // namespace presenced::cluster
