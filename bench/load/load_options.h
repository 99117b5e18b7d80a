#pragma once

// presence-load's flags, with their bounds: a run is bounded in time and in count.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace presenced::load {

// presence: presence changes over HTTP, measured at WebSocket watchers.
// decide: POST /api/v1/routing/decide round trips, measured at the client.
enum class Mode : std::uint8_t { Presence, Decide };

struct Options {
  Mode mode = Mode::Presence;
  std::string server = "127.0.0.1:8080";  // loopback only
  std::string admin = "admin";
  std::string admin_password;  // --admin-password or PRESENCED_ADMIN_PASSWORD
  std::string user_prefix = "load";
  std::size_t users = 10000;
  std::size_t watchers = 10000;        // one WebSocket each, as users 0..watchers-1
  std::size_t watch = 20;              // users per watcher: its team
  std::optional<double> rate;          // requests/s offered in total; nullopt: as fast as answered
  std::size_t connections = 16;        // keep-alive HTTP connections that drive changes
  std::size_t create_concurrency = 4;  // user creation hashes a password (Argon2id) each
  std::size_t threads = 1;
  // Past kConnectionsPerSource watchers, they connect from 127.0.0.2 .. 127.0.0.(1+N): one
  // source address runs out of ephemeral ports (32768-60999).
  std::size_t source_addresses = 8;
  double warmup_s = 10;
  double duration_s = 30;
  double phase_timeout_s = 300;   // connecting, subscribing, draining
  double setup_timeout_s = 3600;  // creating users and tokens
  bool reuse = false;
  bool json = false;
  int server_pid = 0;
};

constexpr std::size_t kConnectionsPerSource = 20000;

// Parses and validates; on a bad flag prints why and returns nullopt with `exit_code` set (0
// for --help).
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace presenced::load
