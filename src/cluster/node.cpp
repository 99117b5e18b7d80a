#include "cluster/node.h"

#include "cluster/kv_keys.h"
#include "cluster/layer_codec.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace presenced::cluster {

using core::Error;

core::Result<ClusterAddress> parse_cluster_address(std::string_view value) {
  ClusterAddress address;
  std::string* last = nullptr;
  while (!value.empty()) {
    const auto comma = value.find(',');
    const std::string_view part = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    std::string* into = nullptr;
    if (part.starts_with("nats://") || part.starts_with("tls://")) {
      into = &address.nats;
    } else if (part.starts_with("postgres://") || part.starts_with("postgresql://")) {
      if (!address.postgres.empty()) {
        return Error::invalid_argument("--cluster: more than one PostgreSQL URL");
      }
      into = &address.postgres;
    } else if (last == &address.postgres && !part.empty()) {
      into = last;  // the next host of a multi-host PostgreSQL URL
    } else {
      return Error::invalid_argument("--cluster: \"" + std::string(part) +
                                     "\" is neither nats://HOST:PORT nor postgres://...");
    }
    if (!into->empty()) {
      *into += ',';
    }
    *into += part;
    last = into;
  }
  if (address.nats.empty() || address.postgres.empty()) {
    return Error::invalid_argument(
        "--cluster: needs nats://HOST:PORT and postgres://... (comma-separated)");
  }
  return address;
}

core::Result<std::unique_ptr<Node>> Node::open(NodeConfig config, core::Engine& engine) {
  auto kv = NatsKv::open(config.kv);
  if (!kv) {
    return kv.error();
  }
  return std::unique_ptr<Node>(new Node(std::move(config), engine, std::move(*kv)));
}

Node::Node(NodeConfig config, core::Engine& engine, std::unique_ptr<NatsKv> kv)
    : config_(std::move(config)), engine_(engine), kv_(std::move(kv)) {}

Node::~Node() {
  {
    std::lock_guard lock(write_mutex_);
    stopping_ = true;
  }
  write_ready_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  kv_.reset();  // joins the watch thread
}

core::Result<std::size_t> Node::catch_up(Post post, std::chrono::milliseconds timeout) {
  post_ = std::move(post);
  auto watching = kv_->watch(
      [this](KvEntry entry) {
        std::lock_guard lock(watch_mutex_);
        if (!live_) {
          early_.push_back(std::move(entry));
          return;
        }
        post_([this, entry = std::move(entry)] { apply(entry); });
      },
      [this] {
        std::lock_guard lock(watch_mutex_);
        caught_up_ = true;
        watch_changed_.notify_all();
      });
  if (!watching) {
    return watching.error();
  }
  std::vector<KvEntry> early;
  {
    std::unique_lock lock(watch_mutex_);
    if (!watch_changed_.wait_for(lock, timeout, [this] { return caught_up_; })) {
      return Error::unavailable("nats: the bucket's values did not arrive in time");
    }
    early.swap(early_);
    live_ = true;
  }
  for (const KvEntry& entry : early) {
    apply(entry);
  }
  catching_up_ = false;
  update_live_nodes();
  writer_ = std::thread([this] { write_batches(); });
  return early.size();
}

void Node::apply(const KvEntry& entry) {
  const auto key = parse_layer_key(entry.key);
  if (auto change = decode_directory(entry.key, entry.erased ? "" : entry.value)) {
    if (!*change) {
      spdlog::warn("{} (revision {})", change->error().message, entry.revision);
    } else if (apply_directory_) {
      apply_directory_(**change);
    }
  } else if (key && key->layer == core::Layer::None) {
    heard(key->node, entry.revision);
  } else if (key && key->layer == core::Layer::Sessions) {
    apply_sessions(key->node, key->user, entry);
  } else if (const auto user = key ? engine_.find(key->user) : std::nullopt) {
    core::Layers layers = engine_.layers(*user);
    auto decoded = entry.erased ? decode_layer(key->layer, key->user,
                                               encode_layer(key->layer, key->user, {}), layers)
                                : decode_layer(key->layer, key->user, entry.value, layers);
    if (decoded) {
      engine_.restore(*user, std::move(layers.manual), std::move(layers.telephony),
                      std::move(layers.calendar), core::to_time_point(core::Clock::now()));
    } else {
      spdlog::warn("{} (revision {})", decoded.error().message, entry.revision);
    }
  } else if (key) {
    // A user deleted meanwhile: the directory's change came at an earlier revision.
    spdlog::debug("cluster: {} is not a user of this node", key->user);
  }
  applied(entry.revision);
}

// Another node's sessions of a user become sessions here under "node/client id", so the
// session rules (login, idle, leases) read them as they read this node's own.
void Node::apply_sessions(const std::string& node, const std::string& id, const KvEntry& entry) {
  if (node == config_.node_id) {
    if (catching_up_) {
      stale_session_users_.insert(id);  // from an earlier run: rewritten once the node beats
    }
    return;
  }
  const auto user = engine_.find(id);
  if (!user) {
    return;
  }
  auto sessions = entry.erased ? std::vector<core::Session>{} : decode_sessions(id, entry.value);
  if (!sessions) {
    spdlog::warn("{} (revision {})", sessions.error().message, entry.revision);
    return;
  }
  const core::TimePoint t = core::to_time_point(core::Clock::now());
  std::vector<std::string> ids;
  for (core::Session& s : *sessions) {
    s.client_id = node + "/" + s.client_id;
    ids.push_back(s.client_id);
  }
  auto& held = remote_sessions_[node][id];
  for (const std::string& old : held) {
    if (std::find(ids.begin(), ids.end(), old) == ids.end()) {
      engine_.close_session(*user, old, t);
    }
  }
  for (core::Session& s : *sessions) {
    engine_.open_session(*user, std::move(s), t);
  }
  held = std::move(ids);
  if (held.empty()) {
    remote_sessions_[node].erase(id);
  }
  last_heard_.try_emplace(node, Steady::now());  // a node never heard gets a lease from now
}

void Node::heard(const std::string& node, std::uint64_t revision) {
  const auto now = Steady::now();
  last_beat_revision_[node] = revision;
  if (catching_up_) {
    if (node != config_.node_id) {  // an earlier run's own beat says nothing about now
      last_heard_[node] = now;
    }
    return;
  }
  if (node == config_.node_id) {
    const auto last = last_heard_.find(node);
    if (last == last_heard_.end() || now - last->second > 2 * config_.heartbeat) {
      // Back after a silence (or the first beat): the others may have dropped this node's
      // sessions, and an earlier run may have left some; write them all as they are now.
      healthy_since_ = now;
      std::vector<std::pair<std::string, core::Layer>> all;
      for (const auto& users : {local_session_users_, stale_session_users_}) {
        for (const std::string& user : users) {
          all.emplace_back(user, core::Layer::Sessions);
        }
      }
      stale_session_users_.clear();
      if (!all.empty()) {
        publish(all, [](bool) {});
      }
    }
  }
  const bool joined = last_heard_.insert_or_assign(node, now).second ||
                     std::find(live_nodes_.begin(), live_nodes_.end(), node) == live_nodes_.end();
  if (joined) {
    update_live_nodes();
  }
}

void Node::update_live_nodes() {
  const auto now = Steady::now();
  std::vector<std::string> live{config_.node_id};
  for (const auto& [node, at] : last_heard_) {
    if (node != config_.node_id && now - at <= config_.lease) {
      live.push_back(node);
    }
  }
  std::sort(live.begin(), live.end());
  if (live == live_nodes_) {
    return;
  }
  spdlog::info("cluster: live nodes {}", fmt::join(live, ", "));
  live_nodes_ = std::move(live);
  if (live_nodes_changed_) {
    live_nodes_changed_(live_nodes_);
  }
}

// A node not heard for a lease has died or lost the bucket: its clients reconnect elsewhere,
// and its sessions end here. Only while this node hears itself, so an outage of the bucket
// does not end everyone's sessions.
void Node::expire_silent_nodes() {
  const auto now = Steady::now();
  // A write the watch never brought back (the watch lost) is not acknowledged.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    auto done = std::move(it->second.done);
    it = waiting_.erase(it);
    done(false);
  }
  update_live_nodes();
  const auto self = last_heard_.find(config_.node_id);
  if (self == last_heard_.end() || now - self->second > 2 * config_.heartbeat ||
      now - healthy_since_ < config_.lease) {
    return;
  }
  const core::TimePoint t = core::to_time_point(core::Clock::now());
  std::vector<std::pair<std::string, std::string>> logouts;  // job, user
  for (auto it = remote_sessions_.begin(); it != remote_sessions_.end();) {
    const auto heard_at = last_heard_.find(it->first);
    if (heard_at != last_heard_.end() && now - heard_at->second <= config_.lease) {
      ++it;
      continue;
    }
    spdlog::info("cluster: node {} silent for longer than its lease: the sessions of its {} "
                 "users end",
                 it->first, it->second.size());
    // Every node holds the same sessions, so each finds the same users logged out; the job
    // names this death of the node (its last heartbeat), so a later one is claimed anew.
    const std::string death =
        "logout/" + it->first + "/" + std::to_string(last_beat_revision_[it->first]) + "/";
    for (const auto& [id, ids] : it->second) {
      if (const auto user = engine_.find(id)) {
        bool last = false;
        for (const std::string& client : ids) {
          last = engine_.close_session(*user, client, t) || last;
        }
        if (last) {
          logouts.emplace_back(death + id, id);
        }
      }
    }
    it = remote_sessions_.erase(it);
  }
  if (!logouts.empty() && orphaned_logout_) {
    claim_logouts(std::move(logouts));
  }
}

// The claims take a bucket round trip each: the writer thread makes them, not the engine's.
void Node::claim_logouts(std::vector<std::pair<std::string, std::string>> claims) {
  {
    std::lock_guard lock(write_mutex_);
    std::move(claims.begin(), claims.end(), std::back_inserter(claims_));
  }
  write_ready_.notify_one();
}

void Node::applied(std::uint64_t revision) {
  applied_revision_ = std::max(applied_revision_, revision);
  while (!waiting_.empty() && waiting_.begin()->first <= applied_revision_) {
    auto done = std::move(waiting_.begin()->second.done);
    waiting_.erase(waiting_.begin());
    done(true);
  }
}

void Node::publish(const std::vector<std::pair<std::string, core::Layer>>& changes,
                   const std::vector<store::Mutation>& directory,
                   std::function<void(bool)> done) {
  Batch batch;
  batch.done = std::move(done);
  for (const store::Mutation& change : directory) {
    if (auto entry = directory_entry(change)) {
      batch.values.emplace_back(std::move(entry->key), std::move(entry->value));
    }
  }
  for (const auto& [id, layer] : changes) {
    const auto user = engine_.find(id);
    if (user && is_shared(layer)) {
      batch.values.emplace_back(layer_key(layer, id),
                                encode_layer(layer, id, engine_.layers(*user)));
    } else if (layer == core::Layer::Sessions) {
      std::vector<core::Session> own;
      if (user) {
        for (const core::Session& s : engine_.layers(*user).sessions.sessions) {
          const auto slash = s.client_id.find('/');
          const auto node = slash == std::string::npos
                                ? remote_sessions_.end()
                                : remote_sessions_.find(s.client_id.substr(0, slash));
          if (node == remote_sessions_.end() || !node->second.contains(id)) {
            own.push_back(s);
          }
        }
      }
      if (own.empty()) {
        local_session_users_.erase(id);
      } else {
        local_session_users_.insert(id);
      }
      batch.values.emplace_back(sessions_key(config_.node_id, id), encode_sessions(id, own));
    }
  }
  {
    std::lock_guard lock(write_mutex_);
    batches_.push_back(std::move(batch));
  }
  write_ready_.notify_one();
}

// One writer, in the order the engine's thread published: a user's later change never reaches
// the bucket before an earlier one from this node.
void Node::write_batches() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(write_mutex_);
      write_ready_.wait_until(lock, next_beat_, [this] {
        return stopping_ || !batches_.empty() || !claims_.empty();
      });
      if (stopping_ && batches_.empty()) {
        return;
      }
      if (Steady::now() >= next_beat_) {
        lock.unlock();
        beat();
        continue;
      }
      if (!claims_.empty()) {
        auto claims = std::exchange(claims_, {});
        lock.unlock();
        for (auto& [job, user] : claims) {
          if (claim(job)) {
            post_([this, user = std::move(user)] { orphaned_logout_(user); });
          }
        }
        continue;
      }
      batch = std::move(batches_.front());
      batches_.pop_front();
    }
    const auto deadline = std::chrono::steady_clock::now() + config_.publish_timeout;
    std::uint64_t revision = 0;
    bool ok = true;
    for (const auto& [key, value] : batch.values) {
      for (;;) {
        auto put = kv_->put(key, value);
        if (put) {
          revision = std::max(revision, *put);
          break;
        }
        if (put.error().code != core::ErrorCode::Unavailable ||
            std::chrono::steady_clock::now() >= deadline) {
          spdlog::error("cluster: {}", put.error().message);
          ok = false;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // NATS reconnecting
      }
      if (!ok) {
        break;
      }
    }
    post_([this, ok, revision, done = std::move(batch.done)]() mutable {
      if (!ok) {
        done(false);
      } else if (revision <= applied_revision_) {
        done(true);
      } else {
        waiting_.emplace(revision,
                         Waiting{Steady::now() + config_.publish_timeout, std::move(done)});
      }
    });
  }
}

// The heartbeat, and the check for silent nodes on the engine's thread, between writes.
void Node::beat() {
  next_beat_ = Steady::now() + config_.heartbeat;
  if (auto put = kv_->put(heartbeat_key(config_.node_id), config_.node_id); !put) {
    spdlog::warn("cluster: heartbeat: {}", put.error().message);
  }
  if (post_) {
    post_([this] { expire_silent_nodes(); });
  }
}

bool Node::claim(std::string_view job) {
  auto won = kv_->update("job." + key_token(job), config_.node_id, 0);
  if (!won && won.error().code != core::ErrorCode::Conflict) {
    spdlog::warn("cluster: claim {}: {}", job, won.error().message);
  }
  return won.has_value();
}

}  // namespace presenced::cluster
