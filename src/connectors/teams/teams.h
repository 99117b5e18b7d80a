#pragma once

// The Microsoft Teams connector (docs/teams.md): Teams presence in through Graph change
// notifications and batched reads, our calls out as a Graph presence session, within Graph's
// limits. HTTP runs on the connector's own thread (libcurl); everything that touches the engine
// is posted to the server's thread.
//
// Thread-safety: every public member runs on the server's thread (the engine's).

#include "core/engine.h"
#include "core/result.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::teams {

// One Microsoft 365 tenant and the app registered in it.
struct TenantConfig {
  std::string name;  // what user mappings call it
  std::string client_id;
  std::string client_secret;
  std::string graph_url = "https://graph.microsoft.com/v1.0";
  std::string token_url;  // https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token
};

struct TeamsConfig {
  std::vector<TenantConfig> tenants;
  // Where Graph posts change notifications; empty: presenced's own HTTP address.
  std::string notification_url;
  std::string client_state;  // the secret every notification must carry back
  std::chrono::seconds subscription_lifetime{3600};  // Graph: at most 1 hour for presence
  std::chrono::seconds renew_before{600};
  std::chrono::seconds session_expiration{300};  // setPresence: PT5M to PT4H
  std::chrono::seconds session_refresh{240};     // refreshed before it lapses
  int requests_per_window = 1400;                // below Graph's 1,500 per 30 s and tenant
  std::chrono::seconds window{30};
  std::chrono::seconds poll_interval{300};  // batched reads besides the notifications
};

// The JSON configuration file (docs/teams.md); the error names the key.
core::Result<TeamsConfig> parse_teams_config(std::string_view json);

// A presenced user mapped to a Microsoft 365 user.
struct UserMapping {
  std::string user;    // our user id
  std::string tenant;  // TenantConfig::name
  std::string upn;     // userPrincipalName or mail
  bool mirror_dnd = false;
};

// A mapping as the API keeps it (document body {"upn", "tenant", "mirror_dnd"}).
core::Result<UserMapping> parse_mapping(std::string user, std::string_view body);

// What a notification POST is answered with.
struct NotificationAnswer {
  int status = 202;
  std::string content_type = "text/plain";
  std::string body;
};

class Connector {
 public:
  using Post = std::function<void(std::function<void()>)>;  // runs on the server's thread
  // `engine` must outlive the connector; `post` must accept tasks until stop() returned.
  static std::unique_ptr<Connector> create(TeamsConfig config, core::Engine& engine, Post post);
  virtual ~Connector() = default;

  virtual void start() = 0;
  // Ends the connector's thread; its sessions in Teams lapse at their expiry.
  virtual void stop() = 0;
  virtual void put_mapping(UserMapping mapping) = 0;
  virtual void remove_mapping(const std::string& user) = 0;
  // POST to the notification URL: the validation handshake, or change notifications.
  virtual NotificationAnswer notification(std::string_view target, std::string_view body) = 0;
  // Prometheus text for GET /metrics.
  virtual void render_metrics(std::string& out) const = 0;
};

}  // namespace presenced::connectors::teams
