#include "connectors/teams/teams.h"
#include "core/metrics_text.h"

#include "connectors/teams/internal/graph_json.h"
#include "connectors/teams/internal/worker.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unordered_map>

namespace presenced::connectors::teams {

namespace {

constexpr std::size_t kValidationTokenLimit = 1024;
constexpr std::size_t kNotificationItems = 1000;  // Graph batches far fewer per POST

std::string percent_decoded(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i] == '+' ? ' ' : in[i];
    }
  }
  return out;
}

std::optional<std::string> query_value(std::string_view target, std::string_view key) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == key && pair.find('=') != std::string_view::npos) {
      return percent_decoded(pair.substr(pair.find('=') + 1));
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  return std::nullopt;
}

// Compares secrets in time independent of where they differ.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) {
    return false;
  }
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

class TeamsConnector final : public Connector, public core::ChangeListener {
 public:
  TeamsConnector(TeamsConfig config, core::Engine& engine, Post post)
      : client_state_(config.client_state),
        engine_(engine),
        post_(std::move(post)),
        worker_(std::move(config), counters_,
                [this](std::string user, core::TeamsLayer layer) {
                  post_([this, user = std::move(user), layer] { apply(user, layer); });
                }) {}
  ~TeamsConnector() override { stop(); }

  void start() override {
    engine_.add_listener(this);
    listening_ = true;
    worker_.start();
  }

  void stop() override {
    if (listening_) {
      engine_.remove_listener(this);
      listening_ = false;
    }
    worker_.stop();
  }

  void put_mapping(UserMapping mapping) override {
    const std::string user = mapping.user;
    worker_.push(command::Map{std::move(mapping)});
    sent_.erase(user);
    if (auto index = engine_.find(user)) {
      tell(*index, user);
    } else {
      sent_[user] = Want{};
    }
  }

  void remove_mapping(const std::string& user) override {
    sent_.erase(user);
    worker_.push(command::Unmap{user});
    if (auto index = engine_.find(user)) {
      engine_.set_teams(*index, std::nullopt, core::to_time_point(core::Clock::now()));
    }
  }

  NotificationAnswer notification(std::string_view target, std::string_view body) override {
    // Graph's handshake on creating a subscription: echo the token as text/plain within 10 s.
    if (auto token = query_value(target, "validationToken")) {
      if (token->empty() || token->size() > kValidationTokenLimit) {
        ++counters_.notifications_malformed;
        return {400, "text/plain", "validationToken: 1 to 1024 characters"};
      }
      ++counters_.validations;
      return {200, "text/plain", std::move(*token)};
    }
    auto items = read_notifications(body, kNotificationItems);
    if (!items) {
      ++counters_.notifications_malformed;
      return {400, "text/plain", items.error().message};
    }
    std::vector<std::string> ids;
    for (const NotificationItem& item : *items) {
      // Graph: discard a notification whose clientState is not ours.
      if (same_secret(item.client_state, client_state_)) {
        ids.push_back(item.user_id);
      } else {
        ++counters_.notifications_forged;
      }
    }
    if (ids.empty()) {
      return {403, "text/plain", "clientState: not this subscriber's"};
    }
    counters_.notifications_accepted += ids.size();
    worker_.push(command::Changed{std::move(ids)});
    return {202, "text/plain", ""};
  }

  void render_metrics(std::string& out) const override {
    core::metric_family(out, "presenced_teams_notifications_total",
                        "Graph change notifications received, by outcome.", "counter");
    out += fmt::format(
        "presenced_teams_notifications_total{{result=\"accepted\"}} {}\n"
        "presenced_teams_notifications_total{{result=\"forged\"}} {}\n"
        "presenced_teams_notifications_total{{result=\"malformed\"}} {}\n"
        "presenced_teams_notifications_total{{result=\"validation\"}} {}\n",
        counters_.notifications_accepted.load(), counters_.notifications_forged.load(),
        counters_.notifications_malformed.load(), counters_.validations.load());
    const GraphCounters& g = counters_.graph;
    core::metric_family(out, "presenced_teams_graph_requests_total",
                        "Requests to Graph, by answer.", "counter");
    out += fmt::format(
        "presenced_teams_graph_requests_total{{status=\"2xx\"}} {}\n"
        "presenced_teams_graph_requests_total{{status=\"4xx\"}} {}\n"
        "presenced_teams_graph_requests_total{{status=\"429\"}} {}\n"
        "presenced_teams_graph_requests_total{{status=\"5xx\"}} {}\n"
        "presenced_teams_graph_requests_total{{status=\"none\"}} {}\n",
        g.requests_2xx.load(), g.requests_4xx.load(), g.requests_429.load(),
        g.requests_5xx.load(), g.requests_failed.load());
    const std::pair<std::string_view, std::uint64_t> counters[] = {
        {"presenced_teams_token_requests_total", g.token_requests.load()},
        {"presenced_teams_bucket_waits_total", g.bucket_waits.load()},
        {"presenced_teams_presence_updates_total", counters_.presence_updates.load()},
        {"presenced_teams_sessions_set_total", counters_.sessions_set.load()},
        {"presenced_teams_sessions_cleared_total", counters_.sessions_cleared.load()},
        {"presenced_teams_preferred_set_total", counters_.preferred_set.load()},
        {"presenced_teams_unknown_users_total", counters_.unknown_users.load()},
        {"presenced_teams_subscription_renewals_total", counters_.subscription_renewals.load()},
    };
    for (const auto& [name, value] : counters) {
      core::metric_family(out, name, "Teams connector counter (docs/teams.md).", "counter");
      out += fmt::format("{} {}\n", name, value);
    }
    core::metric_family(out, "presenced_teams_subscriptions",
                        "Live Graph presence subscriptions.", "gauge");
    out += fmt::format("presenced_teams_subscriptions {}\n", counters_.subscriptions.load());
  }

  void on_change(core::UserIndex user, const core::Presence&, std::uint64_t) override {
    const std::string& id = engine_.id_of(user).value;
    if (sent_.contains(id)) {
      tell(user, id);
    }
  }

 private:
  // What Teams should show of ours: our calls (the telephony layer, not a Teams call), and the
  // user's own DoNotDisturb, never one that came from Teams (loop suppression).
  Want want_of(core::UserIndex user) const {
    const core::Presence& p = engine_.presence(user);
    const core::Layer by = p.explanation.layer;
    return {p.flags.has(core::Flag::Call),
            p.availability == core::Availability::DoNotDisturb &&
                (by == core::Layer::Manual || by == core::Layer::Sip)};
  }

  void tell(core::UserIndex user, const std::string& id) {
    const Want want = want_of(user);
    auto [it, added] = sent_.try_emplace(id, want);
    if (added || it->second != want) {
      it->second = want;
      worker_.push(command::Desire{id, want});
    }
  }

  void apply(const std::string& user, const core::TeamsLayer& layer) {
    if (!sent_.contains(user)) {
      return;  // unmapped meanwhile
    }
    if (auto index = engine_.find(user)) {
      engine_.set_teams(*index, layer, core::to_time_point(core::Clock::now()));
    }
  }

  std::string client_state_;
  core::Engine& engine_;
  Post post_;
  TeamsCounters counters_;
  std::unordered_map<std::string, Want> sent_;  // mapped users: the last want sent
  bool listening_ = false;
  Worker worker_;  // last: its thread stops before the rest goes
};

}  // namespace

std::unique_ptr<Connector> Connector::create(TeamsConfig config, core::Engine& engine, Post post) {
  return std::make_unique<TeamsConnector>(std::move(config), engine, std::move(post));
}

}  // namespace presenced::connectors::teams
