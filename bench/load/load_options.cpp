#include "load_options.h"

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

namespace presenced::load {
namespace {

constexpr std::size_t kMaxUsers = 1'000'000;
constexpr std::size_t kMaxWatchers = 1'000'000;
constexpr std::size_t kMaxWatch = 1'000;
constexpr double kMaxSeconds = 3600;

std::optional<std::string> check(const Options& o) {
  if (o.admin_password.empty()) {
    return "--admin-password: missing (or set PRESENCED_ADMIN_PASSWORD)";
  }
  if (o.users == 0 || o.users > kMaxUsers) {
    return fmt::format("--users: {}, must be 1..{}", o.users, kMaxUsers);
  }
  if (o.mode == Mode::Presence && (o.watchers > o.users || o.watchers > kMaxWatchers)) {
    return fmt::format("--watchers: {}, must be at most --users ({}) and {}", o.watchers, o.users,
                       kMaxWatchers);
  }
  if (o.source_addresses == 0 || o.source_addresses > 250) {
    return fmt::format("--source-addresses: {}, must be 1..250", o.source_addresses);
  }
  if (o.mode == Mode::Presence && o.watchers > kConnectionsPerSource &&
      o.watchers > o.source_addresses * kConnectionsPerSource) {
    return fmt::format("--watchers: {} need at least {} --source-addresses ({} each)", o.watchers,
                       (o.watchers + kConnectionsPerSource - 1) / kConnectionsPerSource,
                       kConnectionsPerSource);
  }
  if (o.mode == Mode::Presence && (o.watch == 0 || o.watch > kMaxWatch || o.watch > o.users)) {
    return fmt::format("--watch: {}, must be 1..{} and at most --users", o.watch, kMaxWatch);
  }
  if (o.rate && (*o.rate <= 0 || *o.rate > 1e7)) {
    return fmt::format("--rate: {}, must be above 0 and at most 10000000, or max", *o.rate);
  }
  if (o.connections == 0 || o.connections > 256) {
    return fmt::format("--connections: {}, must be 1..256", o.connections);
  }
  if (o.create_concurrency == 0 || o.create_concurrency > 64) {
    return fmt::format("--create-concurrency: {}, must be 1..64", o.create_concurrency);
  }
  if (o.threads == 0 || o.threads > 64) {
    return fmt::format("--threads: {}, must be 1..64", o.threads);
  }
  for (const auto& [flag, value] :
       {std::pair{"--warmup", o.warmup_s}, std::pair{"--duration", o.duration_s},
        std::pair{"--phase-timeout", o.phase_timeout_s},
        std::pair{"--setup-timeout", o.setup_timeout_s}}) {
    if (value < 0 || value > kMaxSeconds) {
      return fmt::format("{}: {} s, must be 0..{}", flag, value, kMaxSeconds);
    }
  }
  if (o.duration_s < 1) {
    return fmt::format("--duration: {} s, must be at least 1", o.duration_s);
  }
  return std::nullopt;
}

}  // namespace

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
  if (const char* password = std::getenv("PRESENCED_ADMIN_PASSWORD")) {
    o.admin_password = password;
  }
  std::string rate = "max";
  std::string mode = "presence";
  CLI::App app{
      "presence-load: drives presence changes into presenced over HTTP and measures what its "
      "WebSocket watchers receive (--mode presence), or measures call-routing decisions over "
      "HTTP (--mode decide)"};
  app.add_option("--mode", mode,
                 "presence: changes measured at WebSocket watchers; decide: routing decisions")
      ->check(CLI::IsMember({"presence", "decide"}))
      ->capture_default_str();
  app.add_option("--server", o.server, "presenced HTTP listener, 127.x.x.x:PORT")
      ->capture_default_str();
  app.add_option("--admin", o.admin, "Admin user")->capture_default_str();
  app.add_option("--admin-password", o.admin_password,
                 "Admin password (default: $PRESENCED_ADMIN_PASSWORD)");
  app.add_option("--user-prefix", o.user_prefix, "Ids of the load users: PREFIX00000...")
      ->capture_default_str();
  app.add_option("--users", o.users, "Users to create; with --mode decide, the callees")
      ->capture_default_str();
  app.add_option("--watchers", o.watchers, "WebSocket connections, one per user")
      ->capture_default_str();
  app.add_option("--watch", o.watch, "Users each watcher subscribes to (its team)")
      ->capture_default_str();
  app.add_option("--rate", rate, "Changes or decisions/s offered in total, or max (closed loop)")
      ->capture_default_str();
  app.add_option("--connections", o.connections,
                 "Keep-alive HTTP connections driving changes or decisions")
      ->capture_default_str();
  app.add_option("--create-concurrency", o.create_concurrency,
                 "User creations in flight (each hashes a password)")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "Client threads, one io_context each")
      ->capture_default_str();
  app.add_option("--source-addresses", o.source_addresses,
                 "Past 20000 watchers, connect from this many addresses, 127.0.0.2 and up")
      ->capture_default_str();
  app.add_option("--warmup", o.warmup_s, "Seconds of load before measuring")->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds measured")->capture_default_str();
  app.add_option("--phase-timeout", o.phase_timeout_s,
                 "Seconds allowed to connect, to subscribe and to drain")
      ->capture_default_str();
  app.add_option("--setup-timeout", o.setup_timeout_s, "Seconds allowed to create users and tokens")
      ->capture_default_str();
  app.add_flag("--reuse", o.reuse, "Users exist already: skip creating them");
  app.add_flag("--json", o.json, "Print the summary as one JSON object");
  app.add_option("--server-pid", o.server_pid, "Server process: report its RSS and CPU");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e) == 0 ? 0 : 2;
    return std::nullopt;
  }
  o.mode = mode == "decide" ? Mode::Decide : Mode::Presence;
  if (rate != "max") {
    try {
      o.rate = std::stod(rate);
    } catch (const std::exception&) {
      std::fprintf(stderr, "--rate: \"%s\" is neither a number nor max\n", rate.c_str());
      exit_code = 2;
      return std::nullopt;
    }
  }
  if (auto problem = check(o)) {
    std::fprintf(stderr, "%s\n", problem->c_str());
    exit_code = 2;
    return std::nullopt;
  }
  return o;
}

}  // namespace presenced::load
