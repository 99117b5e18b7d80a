// presenced: reads flags, opens the store, seeds first-start data and runs the API server, with
// the SIP listener and the XMPP component on the same event loop when --sip and
// --xmpp-component are given.

#include "api/api.h"
#include "core/metrics_text.h"
#include "connectors/teams/teams.h"
#include "app/calendar_wiring.h"
#include "app/cluster_setup.h"
#include "app/federation.h"
#include "app/documents.h"
#include "app/webhook_wiring.h"
#include "app/xmpp_setup.h"
#include "sip/sip.h"
#include "store/store.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string_view>

namespace {

struct Options {
  std::string data_dir = "./data";
  std::string postgres;  // libpq conninfo of the shared store; empty: SQLite in data_dir
  std::string http = "127.0.0.1:8080";
  std::string sip;
  std::string teams_config;
  std::string domain = "localhost";
  std::string web_root;
  std::string log_level = "info";
  bool demo = false;
  bool fast_sync = false;
  std::size_t body_limit = 1024 * 1024;
  std::size_t ws_send_buffer = 256 * 1024;
  int token_ttl_hours = 24 * 7;
  // A PBX that never sends "ended" must not leave a user on a call for ever.
  int ringing_lease_s = 3 * 60;
  int call_lease_s = 8 * 60 * 60;
  // SIP (docs/configuration.md); the defaults are SipConfig's.
  int sip_min_expires = 60;
  int sip_max_expires = 3600;
  int sip_default_expires = 3600;
  std::size_t sip_max_subscriptions = 100'000;
  std::size_t sip_max_connections = 10'000;
  int sip_idle_timeout_s = 600;
  int sip_nonce_lifetime_s = 300;
  std::string sip_md5_only_user_agents;
  presenced::app::CalendarOptions calendar;
  presenced::app::WebhookOptions webhooks;
  std::vector<std::string> sip_peers;  // DOMAIN=HOST:PORT[,level=...]
};

// "host:port" -> parts; exits with status 2 naming the flag on a bad value.
std::pair<std::string, std::uint16_t> parse_address(const std::string& flag,
                                                    const std::string& value) {
  const auto colon = value.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(value.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    spdlog::error("{}: \"{}\" is not HOST:PORT", flag, value);
    std::exit(2);
  }
  return {value.substr(0, colon), static_cast<std::uint16_t>(port)};
}

// The SIP listener's figures for GET /metrics, in the Prometheus text format.
void render_sip_metrics(const presenced::sip::ListenerStats& stats, std::string& out) {
  presenced::core::metric_family(out, "presenced_sip_requests_total",
                                 "SIP requests received, by method.", "counter");
  for (const auto& [method, count] : stats.requests) {
    out += fmt::format("presenced_sip_requests_total{{method=\"{}\"}} {}\n", method, count);
  }
  presenced::core::metric_family(out, "presenced_sip_subscriptions",
                                 "Live SIP subscriptions, by event package.", "gauge");
  for (const auto& [package, count] : stats.subscriptions) {
    out += fmt::format("presenced_sip_subscriptions{{package=\"{}\"}} {}\n", package, count);
  }
  presenced::core::metric_family(out, "presenced_sip_notify_total",
                                 "NOTIFYs sent that got a final answer, by outcome.",
                                 "counter");
  for (const auto& [result, count] : stats.notifies) {
    out += fmt::format("presenced_sip_notify_total{{result=\"{}\"}} {}\n", result, count);
  }
  presenced::core::metric_family(out, "presenced_sip_auth_failures_total",
                                 "SIP requests refused for wrong credentials (403).",
                                 "counter");
  out += fmt::format("presenced_sip_auth_failures_total {}\n", stats.auth_failures);
  presenced::core::metric_family(out, "presenced_sip_overload_refusals_total",
                                 "SIP requests answered 503 with Retry-After at a bound.",
                                 "counter");
  out += fmt::format("presenced_sip_overload_refusals_total {}\n", stats.overload_refusals);
  presenced::core::metric_family(out, "presenced_sip_transactions",
                                 "Live SIP transactions, by side.", "gauge");
  out += fmt::format("presenced_sip_transactions{{side=\"server\"}} {}\n"
                     "presenced_sip_transactions{{side=\"client\"}} {}\n",
                     stats.server_transactions, stats.client_transactions);
  presenced::core::metric_family(out, "presenced_sip_tcp_connections",
                                 "Open SIP TCP connections.", "gauge");
  out += fmt::format("presenced_sip_tcp_connections {}\n", stats.tcp_connections);
}

// The SIP side reads users' and devices' SIP passwords from the API's records and watches
// presence through the API's engine (same thread).
class UserDirectory final : public presenced::sip::Directory {
 public:
  explicit UserDirectory(presenced::api::Server& server) : server_(server) {}
  std::optional<presenced::sip::Credentials> credentials(
      std::string_view username) const override {
    auto found = server_.sip_credentials(username);
    if (!found) {
      return std::nullopt;
    }
    return presenced::sip::Credentials{std::move(found->user_id), std::move(found->device),
                                       std::move(found->password)};
  }
  presenced::core::Engine& engine() override { return server_.engine(); }
  std::vector<presenced::sip::StoredRecord> stored(std::string_view kind) const override {
    return presenced::app::stored_records<presenced::sip::StoredRecord>(server_, kind);
  }
  void save(std::vector<presenced::sip::StoredRecord> records,
            std::function<void(bool)> done) override {
    presenced::app::save_records(server_, std::move(records), std::move(done));
  }

 private:
  presenced::api::Server& server_;
};

presenced::core::Result<std::unique_ptr<presenced::store::Store>> open_store(
    const Options& options) {
  if (!options.postgres.empty()) {
    return presenced::store::open_postgres({options.postgres});
  }
  presenced::store::SqliteConfig config;
  config.path = (std::filesystem::path(options.data_dir) / "presenced.db").string();
  config.synchronous_full = !options.fast_sync;
  return presenced::store::open_sqlite(config);
}

namespace teams = presenced::connectors::teams;

// The Teams connector when --teams-config names a file: nullopt when the file is bad (exit 2),
// a null connector when there is none.
std::optional<std::unique_ptr<teams::Connector>> start_teams(const std::string& path,
                                                             presenced::api::Server& server,
                                                             const std::string& bound) {
  if (path.empty()) {
    return std::unique_ptr<teams::Connector>();
  }
  std::ifstream file(path);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto config = teams::parse_teams_config(text);
  if (!file || !config) {
    spdlog::error("--teams-config {}: {}", path,
                  !file ? std::string("cannot read") : config.error().message);
    return std::nullopt;
  }
  const std::string hook = "/api/v1/teams/notifications";
  if (config->notification_url.empty()) {
    config->notification_url = "http://" + bound + hook;
  }
  auto connector = teams::Connector::create(
      std::move(*config), server.engine(),
      [&server](std::function<void()> task) { server.post(std::move(task)); });
  server.add_hook(hook, [c = connector.get()](std::string_view target, std::string_view body) {
    auto answer = c->notification(target, body);
    return presenced::api::HookAnswer{answer.status, std::move(answer.content_type),
                                      std::move(answer.body)};
  });
  server.watch_documents(std::string(presenced::api::kTeamsUserKind),
                         [c = connector.get()](const presenced::store::DocumentRecord& d,
                                               bool removed) {
                           if (removed) {
                             c->remove_mapping(d.id);
                           } else if (auto mapping = teams::parse_mapping(d.id, d.body)) {
                             c->put_mapping(std::move(*mapping));
                           } else {
                             spdlog::warn("teams: {}", mapping.error().message);
                           }
                         });
  server.add_metrics_source([c = connector.get()](std::string& out) { c->render_metrics(out); });
  connector->start();
  spdlog::info("teams: connector started");
  return connector;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"presenced: presence server for unified communications"};
  app.add_option("--data-dir", options.data_dir, "Directory of the embedded store")
      ->capture_default_str();
  app.add_option("--postgres", options.postgres,
                 "Shared store on PostgreSQL (libpq conninfo or postgresql:// URL) instead of "
                 "the embedded one");
  app.add_option("--http", options.http, "HTTP and WebSocket listener, HOST:PORT")
      ->capture_default_str();
  app.add_option("--sip", options.sip, "SIP listener (UDP and TCP), HOST:PORT");
  app.add_option("--domain", options.domain, "Presence domain (user@DOMAIN)")
      ->capture_default_str();
  app.add_option("--web-root", options.web_root, "Directory of the web client's files");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_option("--body-limit", options.body_limit, "Largest HTTP body in bytes (413 above)")
      ->capture_default_str();
  app.add_option("--ws-send-buffer", options.ws_send_buffer,
                 "Socket send buffer of a WebSocket in bytes; 0: the kernel's, which grows to MBs")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{64} << 20));
  app.add_option("--token-ttl-hours", options.token_ttl_hours, "Lifetime of login tokens")
      ->capture_default_str();
  app.add_option("--ringing-lease-s", options.ringing_lease_s,
                 "A ringing call without a new event ends after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 60 * 60));
  app.add_option("--call-lease-s", options.call_lease_s,
                 "A connected or held call without a new event ends after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 7 * 24 * 60 * 60));
  constexpr int kWeek = 7 * 24 * 60 * 60;
  app.add_option("--sip-min-expires", options.sip_min_expires,
                 "Shortest SUBSCRIBE Expires in seconds (423 with Min-Expires below)")
      ->capture_default_str()
      ->check(CLI::Range(1, kWeek));
  app.add_option("--sip-max-expires", options.sip_max_expires,
                 "Longest SUBSCRIBE Expires in seconds (longer ones are cut down)")
      ->capture_default_str()
      ->check(CLI::Range(1, kWeek));
  app.add_option("--sip-default-expires", options.sip_default_expires,
                 "Expires in seconds of a SUBSCRIBE without one")
      ->capture_default_str()
      ->check(CLI::Range(1, kWeek));
  app.add_option("--sip-max-subscriptions", options.sip_max_subscriptions,
                 "Live SIP subscriptions at most (503 for more)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
  app.add_option("--sip-max-connections", options.sip_max_connections,
                 "Open SIP TCP connections at most (more are closed at once)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--sip-idle-timeout-s", options.sip_idle_timeout_s,
                 "A SIP TCP connection silent this many seconds is closed")
      ->capture_default_str()
      ->check(CLI::Range(1, kWeek));
  app.add_option("--sip-nonce-lifetime-s", options.sip_nonce_lifetime_s,
                 "Seconds a digest nonce is good for (then answered as stale)")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 60 * 60));
  app.add_option("--sip-md5-only-user-agents", options.sip_md5_only_user_agents,
                 "Regular expression of SIP User-Agents whose 401 offers MD5 only "
                 "(clients that give up on a SHA-256 challenge)")
      ->check([](const std::string& value) -> std::string {
        try {
          (void)std::regex(value);
          return {};
        } catch (const std::regex_error& e) {
          return std::string("not a regular expression: ") + e.what();
        }
      });
  app.add_option("--teams-config", options.teams_config,
                 "Microsoft Teams connector configuration, a JSON file (docs/teams.md)");
  presenced::app::add_calendar_flags(app, options.calendar);
  presenced::app::add_webhook_flags(app, options.webhooks);
  app.add_option("--sip-peer", options.sip_peers,
                 "A federated SIP presence server, DOMAIN=HOST:PORT[,level=LEVEL]"
                 "[,transport=udp] (repeatable)");
  presenced::app::XmppOptions xmpp_options;
  presenced::app::add_xmpp_options(app, xmpp_options);
  presenced::app::ClusterOptions cluster_options;
  presenced::app::add_cluster_flags(app, cluster_options);
  app.add_flag("--demo", options.demo, "Load the demo users, groups and devices");
  app.add_flag("--fast-sync", options.fast_sync,
               "Commit with synchronous=NORMAL: survives a crash of presenced, not of the OS");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  auto [host, port] = parse_address("--http", options.http);
  std::optional<std::pair<std::string, std::uint16_t>> sip_address;
  if (!options.sip.empty()) {
    sip_address = parse_address("--sip", options.sip);
  }
  if (options.sip_min_expires > options.sip_max_expires) {
    spdlog::error("--sip-min-expires: {} is above --sip-max-expires {}", options.sip_min_expires,
                  options.sip_max_expires);
    return 2;
  }
  if (options.sip_default_expires < options.sip_min_expires ||
      options.sip_default_expires > options.sip_max_expires) {
    spdlog::error("--sip-default-expires: {} is outside --sip-min-expires {} .. "
                  "--sip-max-expires {}",
                  options.sip_default_expires, options.sip_min_expires, options.sip_max_expires);
    return 2;
  }

  std::string nats_url;
  if (!cluster_options.address.empty()) {
    auto address = presenced::cluster::parse_cluster_address(cluster_options.address);
    if (!address || !options.postgres.empty()) {
      spdlog::error("{}", address ? "--cluster: names the store; leave out --postgres"
                                  : address.error().message);
      return 2;
    }
    options.postgres = address->postgres;
    nats_url = address->nats;
  }

  std::vector<presenced::sip::SipPeerConfig> sip_peers;
  for (const std::string& value : options.sip_peers) {
    auto peer = presenced::app::parse_sip_peer(value);
    if (!peer) {
      spdlog::error("{}", peer.error().message);
      return 2;
    }
    sip_peers.push_back(std::move(*peer));
  }
  if (!sip_peers.empty() && !sip_address) {
    spdlog::error("--sip-peer: needs --sip");
    return 2;
  }

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    spdlog::error("--data-dir: cannot create {}: {}", options.data_dir, ec.message());
    return 2;
  }
  auto store = open_store(options);
  if (!store) {
    spdlog::error("store: {}", store.error().message);
    return 1;
  }
  auto snapshot = (*store)->load();
  if (!snapshot) {
    spdlog::error("store: {}", snapshot.error().message);
    return 1;
  }
  if (const char* password = std::getenv("PRESENCED_ADMIN_PASSWORD")) {
    auto created = presenced::api::bootstrap_admin(**store, *snapshot, password);
    if (!created) {
      spdlog::error("admin: {}", created.error().message);
      return 1;
    }
    if (*created) {
      spdlog::info("created user admin from PRESENCED_ADMIN_PASSWORD");
    }
  }
  if (options.demo) {
    auto demo = presenced::api::load_demo(**store, *snapshot);
    if (!demo) {
      spdlog::error("demo: {}", demo.error().message);
      return 1;
    }
  }
  if (options.demo || std::getenv("PRESENCED_ADMIN_PASSWORD") != nullptr) {
    snapshot = (*store)->load();  // again, with what was just added
    if (!snapshot) {
      spdlog::error("store: {}", snapshot.error().message);
      return 1;
    }
  }

  presenced::api::ApiConfig config;
  config.http_host = host;
  config.http_port = port;
  config.domain = options.domain;
  config.web_root = options.web_root;
  config.body_limit = options.body_limit;
  config.ws_send_buffer = options.ws_send_buffer;
  config.token_ttl = std::chrono::hours(options.token_ttl_hours);
  config.engine.rules.ringing_lease = std::chrono::seconds(options.ringing_lease_s);
  config.engine.rules.call_lease = std::chrono::seconds(options.call_lease_s);
  const std::size_t users = snapshot->users.size();
  auto server = presenced::api::Server::create(config, **store, std::move(*snapshot));
  if (!server) {
    spdlog::error("server: {}", server.error().message);
    return 1;
  }
  presenced::app::ClusterSide cluster;
  if (!nats_url.empty()) {
    auto joined = presenced::app::join_cluster(cluster_options, nats_url, options.http, **server);
    if (!joined) {
      return 1;
    }
    cluster = std::move(*joined);
  }
  auto bound = (*server)->listen();
  if (!bound) {
    spdlog::error("{}", bound.error().message);
    return 1;
  }
  UserDirectory directory(**server);
  std::unique_ptr<presenced::sip::Listener> sip;
  std::unique_ptr<presenced::app::SipRemoteWatcher> sip_remote;
  if (sip_address) {
    presenced::sip::SipConfig sip_config;
    sip_config.host = sip_address->first;
    sip_config.port = sip_address->second;
    sip_config.domain = options.domain;
    sip_config.min_expires = std::chrono::seconds(options.sip_min_expires);
    sip_config.max_expires = std::chrono::seconds(options.sip_max_expires);
    sip_config.default_expires = std::chrono::seconds(options.sip_default_expires);
    sip_config.max_subscriptions = options.sip_max_subscriptions;
    sip_config.max_connections = options.sip_max_connections;
    sip_config.idle_timeout = std::chrono::seconds(options.sip_idle_timeout_s);
    sip_config.nonce_lifetime = std::chrono::seconds(options.sip_nonce_lifetime_s);
    sip_config.md5_only_user_agents = options.sip_md5_only_user_agents;
    sip_config.peers = sip_peers;
    sip = presenced::sip::Listener::create((*server)->io_context(), sip_config, directory);
    auto sip_bound = sip->listen();
    if (!sip_bound) {
      spdlog::error("{}", sip_bound.error().message);
      return 1;
    }
    sip->start();
    sip->set_remote_sink([&server = **server](presenced::core::RemotePresence presence) {
      server.set_remote_presence(std::move(presence));
    });
    sip_remote = std::make_unique<presenced::app::SipRemoteWatcher>(*sip);
    (*server)->add_remote_watcher("sip", *sip_remote);
    (*server)->add_metrics_source(
        [listener = sip.get()](std::string& out) { render_sip_metrics(listener->stats(), out); });
    spdlog::info("listening on sip:{} (udp, tcp; realm {})", *sip_bound, options.domain);
  }
  auto teams = start_teams(options.teams_config, **server, *bound);
  if (!teams) {
    return 2;
  }
  auto calendar = presenced::app::start_calendar(options.calendar, **server, cluster.node.get());
  auto webhooks = presenced::app::start_webhooks(options.webhooks, **server);
  if (!webhooks) {
    return 2;
  }
  auto xmpp = presenced::app::start_xmpp(xmpp_options, options.domain, **server);
  spdlog::info("listening on http://{} ({} users, data in {})", *bound, users, options.data_dir);
  (*server)->run();
  calendar->stop();  // its reports post to the server's loop
  webhooks->stop();  // likewise its dead letters
  if (*teams) {
    (*teams)->stop();  // its thread posts to the server's loop: gone before the loop goes
    teams->reset();
  }
  // The SIP and XMPP sockets belong to the server's event loop: close them before it goes.
  xmpp.stop();
  sip_remote.reset();
  sip.reset();
  cluster.node.reset();  // its writes and watch post to the server's loop
  // Commits still in flight complete into the server's (stopped) event loop: finish them while
  // it exists, then destroy it.
  (*store)->flush();
  server->reset();
  spdlog::info("stopped");
  return 0;
}
