#include "app/xmpp_setup.h"
#include "core/metrics_text.h"

#include "app/documents.h"
#include "core/visibility.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace presenced::app {
namespace {

class XmppDirectory final : public xmpp::Directory {
 public:
  explicit XmppDirectory(api::Server& server) : server_(server) {}
  core::Engine& engine() override { return server_.engine(); }
  std::vector<xmpp::StoredRecord> stored(std::string_view kind) const override {
    return stored_records<xmpp::StoredRecord>(server_, kind);
  }
  void save(std::vector<xmpp::StoredRecord> records, std::function<void(bool)> done) override {
    save_records(server_, std::move(records), std::move(done));
  }
  void set_remote_presence(core::RemotePresence presence) override {
    server_.set_remote_presence(std::move(presence));
  }

 private:
  api::Server& server_;
};

// The API's remote contacts with the xmpp: scheme go to the component.
class XmppRemoteContacts final : public api::RemoteWatcher {
 public:
  explicit XmppRemoteContacts(xmpp::Component* component) : component_(component) {}
  std::optional<core::Error> refuse(std::string_view address) const override {
    if (component_ == nullptr) {
      return core::Error::unavailable("XMPP federation is stopping");
    }
    return component_->refuse(address);
  }
  void watch(const std::string& address) override {
    if (component_ != nullptr) {
      component_->watch(address);
    }
  }
  void unwatch(const std::string& address) override {
    if (component_ != nullptr) {
      component_->unwatch(address);
    }
  }
  void detach() { component_ = nullptr; }

 private:
  xmpp::Component* component_;
};

[[noreturn]] void bad_flag(std::string_view flag, std::string message) {
  spdlog::error("{}: {}", flag, message);
  std::exit(2);
}

core::VisibilityLevel level_or_exit(std::string_view flag, std::string_view text) {
  auto level = core::parse_visibility_level(text);
  if (!level) {
    bad_flag(flag, fmt::format("\"{}\" is not blocked, public, business, team or personal", text));
  }
  return *level;
}

std::string lower(std::string text) {
  for (char& c : text) {
    c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return text;
}

void render_metrics(const xmpp::ComponentStats& stats, std::string& out) {
  core::metric_family(out, "presenced_xmpp_connected",
                      "1 while the XMPP component link is up.", "gauge");
  out += fmt::format("presenced_xmpp_connected {}\n", stats.connected ? 1 : 0);
  core::metric_family(out, "presenced_xmpp_connects_total",
                      "Connections made to the XMPP server.", "counter");
  out += fmt::format("presenced_xmpp_connects_total {}\n", stats.connects);
  core::metric_family(out, "presenced_xmpp_stream_failures_total",
                      "Component streams ended by an error.", "counter");
  out += fmt::format("presenced_xmpp_stream_failures_total {}\n", stats.stream_failures);
  core::metric_family(out, "presenced_xmpp_stanzas_total", "Stanzas received, by kind.", "counter");
  for (const auto& [kind, count] : stats.stanzas_in) {
    out += fmt::format("presenced_xmpp_stanzas_total{{kind=\"{}\"}} {}\n", kind, count);
  }
  core::metric_family(out, "presenced_xmpp_presence_sent_total",
                      "Presence stanzas sent to remote subscribers.",
                      "counter");
  out += fmt::format("presenced_xmpp_presence_sent_total {}\n", stats.presence_out);
  core::metric_family(out, "presenced_xmpp_stanza_errors_total",
                      "Stanza errors sent, by condition.", "counter");
  for (const auto& [condition, count] : stats.errors_out) {
    out += fmt::format("presenced_xmpp_stanza_errors_total{{condition=\"{}\"}} {}\n", condition,
                       count);
  }
  core::metric_family(out, "presenced_xmpp_subscribe_limited_total",
                      "Subscription requests refused by the per-domain limit.", "counter");
  out += fmt::format("presenced_xmpp_subscribe_limited_total {}\n", stats.subscribe_limited);
  core::metric_family(out, "presenced_xmpp_oversized_total",
                      "Stanzas refused for their size.", "counter");
  out += fmt::format("presenced_xmpp_oversized_total {}\n", stats.oversized);
  core::metric_family(out, "presenced_xmpp_subscriptions",
                      "Remote subscriptions (user, JID).", "gauge");
  out += fmt::format("presenced_xmpp_subscriptions {}\n", stats.subscriptions);
}

}  // namespace

void add_xmpp_options(CLI::App& app, XmppOptions& options) {
  app.add_option("--xmpp-component", options.component,
                 "XMPP server's component port (XEP-0114), HOST:PORT; enables XMPP federation");
  app.add_option("--xmpp-domain", options.domain,
                 "Component name on the XMPP server (default: --domain)");
  app.add_option("--xmpp-secret", options.secret, "Component secret");
  app.add_option("--xmpp-secret-file", options.secret_file,
                 "File holding the component secret (first line)");
  app.add_option("--xmpp-domain-level", options.domain_levels,
                 "Visibility level of a remote domain, DOMAIN=level (repeatable)");
  app.add_option("--xmpp-default-level", options.default_level,
                 "Visibility level of remote domains not listed")
      ->capture_default_str();
  app.add_option("--xmpp-subscribe-burst", options.subscribe_burst,
                 "Subscription requests per remote domain at once (5 more per second)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--xmpp-max-subscriptions", options.max_subscriptions,
                 "Remote subscriptions at most")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}));
}

XmppSide start_xmpp(const XmppOptions& options, const std::string& presence_domain,
                    api::Server& server) {
  if (options.component.empty()) {
    return {};
  }
  xmpp::XmppConfig config;
  const auto colon = options.component.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    port = std::atoi(options.component.c_str() + colon + 1);
  }
  if (port <= 0 || port > 65535) {
    bad_flag("--xmpp-component", fmt::format("\"{}\" is not HOST:PORT", options.component));
  }
  config.host = options.component.substr(0, colon);
  config.port = static_cast<std::uint16_t>(port);
  config.domain = lower(options.domain.empty() ? presence_domain : options.domain);
  config.secret = options.secret;
  if (!options.secret_file.empty()) {
    std::ifstream file(options.secret_file);
    if (!file || !std::getline(file, config.secret)) {
      bad_flag("--xmpp-secret-file", fmt::format("cannot read {}", options.secret_file));
    }
  }
  if (config.secret.empty()) {
    bad_flag("--xmpp-secret", "required with --xmpp-component (or --xmpp-secret-file)");
  }
  for (const std::string& entry : options.domain_levels) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      bad_flag("--xmpp-domain-level", fmt::format("\"{}\" is not DOMAIN=level", entry));
    }
    config.domain_levels[lower(entry.substr(0, equals))] =
        level_or_exit("--xmpp-domain-level", entry.substr(equals + 1));
  }
  config.default_level = level_or_exit("--xmpp-default-level", options.default_level);
  config.subscribe_burst = options.subscribe_burst;
  config.max_subscriptions = options.max_subscriptions;

  XmppSide side;
  side.directory = std::make_unique<XmppDirectory>(server);
  side.component = xmpp::Component::create(server.io_context(), config, *side.directory);
  side.component->start();
  side.remote_contacts = std::make_unique<XmppRemoteContacts>(side.component.get());
  server.add_remote_watcher("xmpp", *side.remote_contacts);
  server.add_metrics_source([component = side.component.get()](std::string& out) {
    render_metrics(component->stats(), out);
  });
  spdlog::info("xmpp component {} on {}:{}", config.domain, config.host, config.port);
  return side;
}

void XmppSide::stop() {
  if (remote_contacts) {
    static_cast<XmppRemoteContacts&>(*remote_contacts).detach();
  }
  component.reset();
}

}  // namespace presenced::app
