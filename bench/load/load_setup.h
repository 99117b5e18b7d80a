#pragma once

// Before a run: the admin's token, the load users (created or reused) and one API key per
// watcher (--mode presence) or each callee's devices and state (--mode decide), all over the
// public HTTP API.

#include "http_client.h"
#include "load_options.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::load {

// "load00042": the id of load user `index`.
std::string user_id(const Options& options, std::size_t index);

// --mode decide: each callee's known devices in ring order, and its manual state: a working
// day's mix of 5 Available, 2 Busy, 1 Away, 1 BeRightBack and 1 DoNotDisturb in every 10.
inline constexpr std::string_view kCalleeDevices[] = {"desk-phone", "softphone", "mobile"};
std::string_view callee_state(std::size_t index);

struct Credentials {
  std::string admin_token;                  // drives the changes (self or admin may set them)
  std::vector<std::string> watcher_tokens;  // by watcher index
};

// Blocks until done; nullopt after a failure, which it has printed.
std::optional<Credentials> set_up(const Options& options, tcp::endpoint server);

}  // namespace presenced::load
