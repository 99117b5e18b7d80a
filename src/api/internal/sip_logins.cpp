#include "api/internal/sip_logins.h"

namespace presenced::api {

std::string device_sip_username(std::string_view user, std::string_view device) {
  std::string out;
  out.reserve(user.size() + 1 + device.size());
  out += user;
  out += '-';
  out += device;
  return out;
}

std::optional<SipLogin> resolve_sip_login(std::string_view username, const UserExists& user_exists,
                                          const DeviceHasSecret& device_has_secret) {
  if (username.empty()) {
    return std::nullopt;
  }
  if (user_exists(username)) {
    return SipLogin{std::string(username), {}};
  }
  for (std::size_t dash = username.find('-'); dash != std::string_view::npos;
       dash = username.find('-', dash + 1)) {
    const std::string_view user = username.substr(0, dash);
    const std::string_view device = username.substr(dash + 1);
    if (!user.empty() && !device.empty() && device_has_secret(user, device)) {
      return SipLogin{std::string(user), std::string(device)};
    }
  }
  return std::nullopt;
}

}  // namespace presenced::api
