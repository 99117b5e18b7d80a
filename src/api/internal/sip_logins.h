#pragma once

// Who a SIP digest username names (docs/sip.md, "Authentication"): a user by id, with the user's
// sip_password, or a device as "user-device", with the device's own sip_password. Pure: the
// caller says which users and device secrets exist.
//
// Thread-safety: free functions without state.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace presenced::api {

struct SipLogin {
  std::string user;
  std::string device;  // empty: the user itself
};

using UserExists = std::function<bool(std::string_view user)>;
using DeviceHasSecret = std::function<bool(std::string_view user, std::string_view device)>;

// The digest username of a device: its user's id, '-', the device.
std::string device_sip_username(std::string_view user, std::string_view device);

// The user whose id is `username`, if there is one; otherwise the first split of `username` at a
// '-' (left to right) into a user and one of that user's devices with a secret. The API refuses
// a device secret or a user id that would let two of these name the same username (409), so at
// most one candidate ever matches.
std::optional<SipLogin> resolve_sip_login(std::string_view username, const UserExists& user_exists,
                                          const DeviceHasSecret& device_has_secret);

}  // namespace presenced::api
