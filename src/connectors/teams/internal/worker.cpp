#include "connectors/teams/internal/worker.h"

#include "connectors/teams/internal/graph_json.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::connectors::teams {

namespace {

// Graph may still show our session for a moment after clearPresence: what it shows then is read
// once more after this, so an echo of our own call is never taken for a Teams call.
constexpr auto kEchoWindow = std::chrono::seconds(5);
constexpr auto kRetryFailed = std::chrono::seconds(10);
constexpr auto kIdle = std::chrono::seconds(1);

// A UPN as one path segment of /users/{upn}.
std::string path_segment(std::string_view upn) { return percent_encoded(upn, "@.-_"); }

core::TimePoint system_now() { return core::to_time_point(core::Clock::now()); }

}  // namespace

struct Worker::User {
  UserMapping mapping;
  std::string graph_id;  // empty until resolved
  Steady::time_point resolve_at{};
  Want want;
  bool session_set = false;  // our Busy/InACall session is in Teams
  Steady::time_point session_refresh_at{};
  Steady::time_point echo_until{};  // the session was cleared lately
  bool preferred_set = false;       // our mirrored DoNotDisturb is in Teams
  bool unmapped = false;            // goes once what we set in Teams is cleared
  std::optional<core::TeamsLayer> shown;
};

struct Worker::Subscription {
  std::string id;
  std::set<std::string> ids;
  Steady::time_point renew_at{};
};

struct Worker::Tenant {
  Tenant(TenantConfig config, const TeamsConfig& teams, HttpClient& http, GraphCounters& counters)
      : graph(std::move(config), teams, http, counters) {}
  GraphClient graph;
  std::vector<Subscription> subscriptions;
  std::set<std::string> pending_reads;  // graph ids whose presence is to be read
  std::set<std::pair<Steady::time_point, std::string>> rechecks;
  Steady::time_point next_poll{};
  Steady::time_point subscribe_retry_at{};
};

Worker::Worker(TeamsConfig config, TeamsCounters& counters, Apply apply)
    : config_(std::move(config)),
      counters_(counters),
      apply_(std::move(apply)),
      http_(http::HttpClientConfig::with(std::chrono::seconds(10), 4 * 1024 * 1024,
                                         "presenced-teams")) {
  for (const TenantConfig& t : config_.tenants) {
    tenants_.emplace(t.name, std::make_unique<Tenant>(t, config_, http_, counters_.graph));
  }
}

Worker::~Worker() { stop(); }

void Worker::start() { thread_ = std::thread([this] { run(); }); }

void Worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::push(Command command) {
  {
    std::lock_guard lock(mutex_);
    commands_.push_back(std::move(command));
  }
  wake_.notify_one();
}

void Worker::run() {
  Steady::time_point wake = Steady::now();
  while (true) {
    std::vector<Command> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, wake, [this] { return stopping_ || !commands_.empty(); });
      if (stopping_) {
        return;
      }
      batch.swap(commands_);
    }
    for (Command& command : batch) {
      handle(std::move(command));
    }
    wake = Steady::now() + kIdle;
    for (auto& [name, tenant] : tenants_) {
      work(*tenant, wake);
    }
  }
}

void Worker::handle(Command command) {
  if (auto* map = std::get_if<command::Map>(&command)) {
    auto& slot = users_[map->mapping.user];
    if (slot && (slot->unmapped || slot->mapping.upn != map->mapping.upn ||
                 slot->mapping.tenant != map->mapping.tenant)) {
      by_graph_id_.erase(slot->graph_id);
      slot.reset();  // another Microsoft 365 user: start over
    }
    if (!slot) {
      slot = std::make_unique<User>();
    }
    slot->mapping = std::move(map->mapping);
    if (!tenants_.contains(slot->mapping.tenant)) {
      spdlog::warn("teams: user {} names tenant {}, which is not configured", slot->mapping.user,
                   slot->mapping.tenant);
    }
  } else if (auto* unmap = std::get_if<command::Unmap>(&command)) {
    if (auto it = users_.find(unmap->user); it != users_.end()) {
      // Our session and preference are cleared first (sessions(), preferred()), then it goes.
      by_graph_id_.erase(it->second->graph_id);
      it->second->unmapped = true;
      it->second->want = Want{};
    }
  } else if (auto* changed = std::get_if<command::Changed>(&command)) {
    for (const std::string& id : changed->graph_ids) {
      auto it = by_graph_id_.find(id);
      if (it != by_graph_id_.end()) {
        tenants_.at(it->second->mapping.tenant)->pending_reads.insert(id);
      }
    }
  } else if (auto* desire = std::get_if<command::Desire>(&command)) {
    if (auto it = users_.find(desire->user); it != users_.end()) {
      it->second->want = desire->want;
    }
  }
}

void Worker::work(Tenant& tenant, Steady::time_point& wake) {
  const Steady::time_point now = Steady::now();
  if (now >= tenant.next_poll) {
    // The batched read besides the notifications: a lost notification costs one poll interval.
    for (const auto& [id, user] : by_graph_id_) {
      if (user->mapping.tenant == tenant.graph.tenant().name) {
        tenant.pending_reads.insert(id);
      }
    }
    tenant.next_poll = now + config_.poll_interval;
  }
  while (!tenant.rechecks.empty() && tenant.rechecks.begin()->first <= now) {
    tenant.pending_reads.insert(tenant.rechecks.begin()->second);
    tenant.rechecks.erase(tenant.rechecks.begin());
  }
  const bool done = resolve(tenant) && read(tenant) && sessions(tenant) && preferred(tenant) &&
                    subscribe(tenant);
  std::erase_if(users_, [](const auto& entry) {
    const User& u = *entry.second;
    return u.unmapped && ((!u.session_set && !u.preferred_set) || u.graph_id.empty());
  });
  wake = std::min(wake, !done                          ? tenant.graph.ready_at()
                        : tenant.pending_reads.empty() ? tenant.next_poll
                                                       : now);
  if (!tenant.rechecks.empty()) {
    wake = std::min(wake, tenant.rechecks.begin()->first);
  }
  for (const Subscription& s : tenant.subscriptions) {
    wake = std::min(wake, s.renew_at);
  }
  for (const auto& [id, user] : users_) {
    if (user->session_set && user->mapping.tenant == tenant.graph.tenant().name) {
      wake = std::min(wake, user->session_refresh_at);
    }
  }
}

bool Worker::resolve(Tenant& tenant) {
  for (auto& [id, user] : users_) {
    if (!user->graph_id.empty() || user->unmapped ||
        user->mapping.tenant != tenant.graph.tenant().name || Steady::now() < user->resolve_at) {
      continue;
    }
    auto answer = tenant.graph.call(
        "GET", "/users/" + path_segment(user->mapping.upn) + "?$select=id", "");
    if (!answer) {
      return false;
    }
    auto graph_id = answer->status == 200 ? read_user_id(answer->body)
                                          : core::Result<std::string>(core::Error::not_found(
                                                "answered " + std::to_string(answer->status)));
    if (!graph_id) {
      ++counters_.unknown_users;
      spdlog::warn("teams: user {} ({}) not found in tenant {}: {}", id, user->mapping.upn,
                   tenant.graph.tenant().name, graph_id.error().message);
      user->resolve_at = Steady::now() + config_.poll_interval;
      continue;
    }
    user->graph_id = *graph_id;
    by_graph_id_[user->graph_id] = user.get();
    tenant.pending_reads.insert(user->graph_id);
  }
  return true;
}

bool Worker::read(Tenant& tenant) {
  while (!tenant.pending_reads.empty()) {
    std::vector<std::string> ids;
    for (auto it = tenant.pending_reads.begin();
         it != tenant.pending_reads.end() && ids.size() < kMaxIdsPerRequest; ++it) {
      ids.push_back(*it);
    }
    auto answer = tenant.graph.call("POST", "/communications/getPresencesByUserId",
                                    presences_request(ids));
    if (!answer) {
      return false;
    }
    for (const std::string& id : ids) {
      tenant.pending_reads.erase(id);
    }
    auto presences = answer->status == 200
                         ? read_presences(answer->body)
                         : core::Result<std::vector<GraphPresenceRead>>(core::Error::unavailable(
                               "answered " + std::to_string(answer->status)));
    if (!presences) {
      spdlog::warn("teams: tenant {}: presence read failed: {}", tenant.graph.tenant().name,
                   presences.error().message);
      continue;
    }
    for (const GraphPresenceRead& p : *presences) {
      if (auto it = by_graph_id_.find(p.id); it != by_graph_id_.end()) {
        show(*it->second, p.availability, p.activity);
      }
    }
  }
  return true;
}

void Worker::show(User& user, core::Availability availability, core::Activity activity) {
  const bool our_call = availability == core::Availability::Busy &&
                        activity == core::Activity::InACall &&
                        (user.session_set || Steady::now() < user.echo_until);
  const bool our_dnd = user.preferred_set && availability == core::Availability::DoNotDisturb &&
                       activity == core::Activity::DoNotDisturb;
  core::TeamsLayer layer;
  layer.availability = availability;
  layer.activity = activity;
  layer.from_us = our_call || our_dnd;
  const bool same_pair = user.shown && user.shown->availability == availability &&
                         user.shown->activity == activity;
  layer.since = same_pair ? user.shown->since : system_now();
  if (user.shown && *user.shown == layer) {
    return;
  }
  user.shown = layer;
  ++counters_.presence_updates;
  apply_(user.mapping.user, layer);
}

bool Worker::sessions(Tenant& tenant) {
  const std::string& app = tenant.graph.tenant().client_id;
  for (auto& [id, user] : users_) {
    if (user->graph_id.empty() || user->mapping.tenant != tenant.graph.tenant().name) {
      continue;
    }
    const Steady::time_point now = Steady::now();
    const std::string base = "/users/" + user->graph_id + "/presence/";
    if (user->want.in_call && (!user->session_set || now >= user->session_refresh_at)) {
      // Graph: the session id is the application id; refreshed before it lapses (PT5M-PT4H).
      auto answer = tenant.graph.call(
          "POST", base + "setPresence",
          set_presence_request(app, "Busy", "InACall", config_.session_expiration));
      if (!answer) {
        return false;
      }
      if (answer->status / 100 != 2) {
        spdlog::warn("teams: setPresence for {} answered {}", id, answer->status);
      } else if (!user->session_set) {
        ++counters_.sessions_set;
        user->session_set = true;
        if (user->shown) {
          show(*user, user->shown->availability, user->shown->activity);
        }
      }
      user->session_refresh_at = now + config_.session_refresh;
    } else if (!user->want.in_call && user->session_set) {
      auto answer = tenant.graph.call("POST", base + "clearPresence", clear_presence_request(app));
      if (!answer) {
        return false;
      }
      // 404: the session lapsed already, which is what we wanted.
      user->session_set = false;
      ++counters_.sessions_cleared;
      user->echo_until = now + kEchoWindow;
      tenant.pending_reads.insert(user->graph_id);
      tenant.rechecks.emplace(user->echo_until, user->graph_id);
    }
  }
  return true;
}

bool Worker::preferred(Tenant& tenant) {
  for (auto& [id, user] : users_) {
    if (user->graph_id.empty() || user->mapping.tenant != tenant.graph.tenant().name) {
      continue;
    }
    const bool want = user->mapping.mirror_dnd && user->want.dnd;
    if (want == user->preferred_set) {
      continue;
    }
    const std::string base = "/users/" + user->graph_id + "/presence/";
    auto answer = want ? tenant.graph.call("POST", base + "setUserPreferredPresence",
                                           preferred_request("DoNotDisturb", "DoNotDisturb"))
                       : tenant.graph.call("POST", base + "clearUserPreferredPresence", "{}");
    if (!answer) {
      return false;
    }
    if (answer->status / 100 != 2) {
      spdlog::warn("teams: preferred presence for {} answered {}", id, answer->status);
    }
    user->preferred_set = want;
    counters_.preferred_set += want ? 1 : 0;
    if (user->shown) {
      show(*user, user->shown->availability, user->shown->activity);
    }
  }
  return true;
}

bool Worker::subscribe(Tenant& tenant) {
  const bool done = renew(tenant) && create_subscriptions(tenant);
  std::size_t total = 0;
  for (const auto& [name, t] : tenants_) {
    total += t->subscriptions.size();
  }
  counters_.subscriptions = total;
  return done;
}

bool Worker::renew(Tenant& tenant) {
  const Steady::time_point now = Steady::now();
  for (auto it = tenant.subscriptions.begin(); it != tenant.subscriptions.end();) {
    if (now < it->renew_at) {
      ++it;
      continue;
    }
    auto answer = tenant.graph.call(
        "PATCH", "/subscriptions/" + it->id,
        renewal_request(system_now() + config_.subscription_lifetime));
    if (!answer) {
      return false;
    }
    if (answer->status / 100 == 2) {
      ++counters_.subscription_renewals;
      it->renew_at = now + config_.subscription_lifetime - config_.renew_before;
      ++it;
    } else {
      // Gone (lapsed or deleted): its users are subscribed afresh.
      spdlog::warn("teams: renewing subscription {} answered {}", it->id, answer->status);
      it = tenant.subscriptions.erase(it);
    }
  }
  return true;
}

bool Worker::create_subscriptions(Tenant& tenant) {
  if (Steady::now() < tenant.subscribe_retry_at || config_.notification_url.empty()) {
    return true;
  }
  std::vector<std::string> uncovered;
  for (const auto& entry : by_graph_id_) {
    const std::string& graph_id = entry.first;
    if (entry.second->mapping.tenant == tenant.graph.tenant().name &&
        std::none_of(tenant.subscriptions.begin(), tenant.subscriptions.end(),
                     [&](const Subscription& s) { return s.ids.contains(graph_id); })) {
      uncovered.push_back(graph_id);
    }
  }
  for (std::size_t begin = 0; begin < uncovered.size(); begin += kMaxIdsPerRequest) {
    const std::vector<std::string> chunk(
        uncovered.begin() + static_cast<std::ptrdiff_t>(begin),
        uncovered.begin() +
            static_cast<std::ptrdiff_t>(std::min(uncovered.size(), begin + kMaxIdsPerRequest)));
    auto answer = tenant.graph.call(
        "POST", "/subscriptions",
        subscription_request(chunk, config_.notification_url, config_.client_state,
                             system_now() + config_.subscription_lifetime));
    if (!answer) {
      return false;
    }
    auto created = answer->status == 201 ? read_subscription(answer->body)
                                         : core::Result<SubscriptionRead>(core::Error::unavailable(
                                               "answered " + std::to_string(answer->status)));
    if (!created) {
      spdlog::warn("teams: tenant {}: subscription failed: {}", tenant.graph.tenant().name,
                   created.error().message);
      tenant.subscribe_retry_at = Steady::now() + kRetryFailed;
      return true;
    }
    tenant.subscriptions.push_back(
        {created->id, {chunk.begin(), chunk.end()},
         Steady::now() + config_.subscription_lifetime - config_.renew_before});
    // Changes between our last read and the subscription are read now.
    tenant.pending_reads.insert(chunk.begin(), chunk.end());
  }
  return true;
}

}  // namespace presenced::connectors::teams
