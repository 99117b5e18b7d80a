#pragma once

// SIP federation wiring (docs/sip.md, "Federation"): --sip-peer values, and the API's remote
// contacts of scheme sip watched through the SIP listener.
//
// Thread-safety: SipRemoteWatcher is used on the server's thread only.

#include "api/api.h"
#include "sip/sip.h"

#include <optional>
#include <string>
#include <string_view>

namespace presenced::app {

// DOMAIN=HOST:PORT[,level=LEVEL][,transport=udp]; the error names what is wrong.
core::Result<sip::SipPeerConfig> parse_sip_peer(std::string_view value);

class SipRemoteWatcher final : public api::RemoteWatcher {
 public:
  explicit SipRemoteWatcher(sip::Listener& listener) : listener_(listener) {}
  std::optional<core::Error> refuse(std::string_view address) const override {
    return listener_.refuse_remote(address);
  }
  void watch(const std::string& address) override { listener_.watch_remote(address); }
  void unwatch(const std::string& address) override { listener_.unwatch_remote(address); }

 private:
  sip::Listener& listener_;
};

}  // namespace presenced::app
