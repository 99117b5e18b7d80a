#pragma once

// One presenced node of a cluster (docs/cluster.md): it writes the shared layers its server
// changes into the bucket and applies every value the bucket holds or gets, its own included, to
// its engine in the bucket's revision order, so all nodes show the same presence.
//
// Thread-safety: publish() and the applying run on the engine's thread (where `post` runs
// tasks); catch_up() runs on the thread that owns the engine before that thread serves. The
// bucket's writes and watch run on threads of the node's own.

#include "cluster/nats_kv.h"
#include "core/engine.h"
#include "store/store.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace presenced::cluster {

// `--cluster nats://HOST:PORT[,nats://...],postgres://...`: the NATS servers and the
// PostgreSQL store, in any order. A PostgreSQL URL with several hosts keeps its commas.
struct ClusterAddress {
  std::string nats;      // nats://a:4222,nats://b:4222
  std::string postgres;  // postgresql://... (libpq takes the URL as a conninfo)
};
core::Result<ClusterAddress> parse_cluster_address(std::string_view value);

using Task = std::function<void()>;
using Post = std::function<void(Task)>;
// Applies a directory change (an entity of docs/cluster.md, "The directory") the bucket brought.
using ApplyDirectory = std::function<void(const store::Mutation&)>;
// The live nodes changed (sorted ids, this node's among them).
using LiveNodesChanged = std::function<void(const std::vector<std::string>&)>;
// A user's last session ended with a silent node's, and this node claimed the logout.
using OrphanedLogout = std::function<void(const std::string& user)>;

struct NodeConfig {
  KvConfig kv;
  std::string node_id;
  // How long a write waits for the bucket (through a NATS restart) before the change is
  // answered with 503.
  std::chrono::milliseconds publish_timeout{10000};
  // How often the node writes its heartbeat, and how long the others keep its sessions after
  // the last one they saw (while their own heartbeats come back, so the bucket is up).
  std::chrono::milliseconds heartbeat{2000};
  std::chrono::milliseconds lease{10000};
};

class Node {
 public:
  static core::Result<std::unique_ptr<Node>> open(NodeConfig config, core::Engine& engine);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Applies the latest value of every shared layer in the bucket on the calling thread and
  // returns how many, once the watch has caught up; later values are applied through `post`.
  // Call once, before the engine's thread serves, and before publish().
  core::Result<std::size_t> catch_up(Post post, std::chrono::milliseconds timeout);
  // Where directory changes go, on the engine's thread in revision order with the layers (the
  // bucket's latest of each at catch-up, over what the store held). Set before catch_up().
  void on_directory(ApplyDirectory apply) { apply_directory_ = std::move(apply); }
  // Told on the engine's thread of the live nodes at catch-up and whenever they change: this
  // node and every node whose heartbeat came within the lease. A node that dies leaves the set
  // one lease after its last heartbeat; one that starts joins with its first. Set and read on
  // the engine's thread.
  void on_live_nodes(LiveNodesChanged listener) { live_nodes_changed_ = std::move(listener); }
  const std::vector<std::string>& live_nodes() const { return live_nodes_; }
  // When a silent node's sessions end here, each user left without a session is a logout that
  // one node of the cluster claims (`logout/<node>/<its last heartbeat's revision>/<user>`);
  // `apply` runs on the engine's thread of the winner. Set on the engine's thread.
  void on_orphaned_logout(OrphanedLogout apply) { orphaned_logout_ = std::move(apply); }

  // Writes the users' current `layer`s to the bucket (for Sessions: the sessions of this node's
  // clients); `done(true)` runs on the engine's thread once this node's watch applied them,
  // `done(false)` when the bucket did not take them in time.
  void publish(const std::vector<std::pair<std::string, core::Layer>>& changes,
               std::function<void(bool)> done) {
    publish(changes, {}, std::move(done));
  }
  // The same, with the committed directory changes among `directory` (others are skipped).
  void publish(const std::vector<std::pair<std::string, core::Layer>>& changes,
               const std::vector<store::Mutation>& directory, std::function<void(bool)> done);

  // Claims a piece of work that must happen once in the cluster (ending a profile at its end):
  // true for the one node whose compare-and-set on `job` won. Blocks for one bucket round trip.
  bool claim(std::string_view job);

  const std::string& id() const { return config_.node_id; }

 private:
  struct Batch {
    std::vector<std::pair<std::string, std::string>> values;  // key, value
    std::function<void(bool)> done;
  };
  Node(NodeConfig config, core::Engine& engine, std::unique_ptr<NatsKv> kv);
  using Steady = std::chrono::steady_clock;
  void apply(const KvEntry& entry);
  void apply_sessions(const std::string& node, const std::string& user, const KvEntry& entry);
  void heard(const std::string& node, std::uint64_t revision);
  void expire_silent_nodes();
  void update_live_nodes();
  void claim_logouts(std::vector<std::pair<std::string, std::string>> claims);
  void applied(std::uint64_t revision);
  void write_batches();
  void beat();

  NodeConfig config_;
  core::Engine& engine_;
  std::unique_ptr<NatsKv> kv_;
  Post post_;
  ApplyDirectory apply_directory_;
  LiveNodesChanged live_nodes_changed_;
  OrphanedLogout orphaned_logout_;

  // Engine thread only: the newest revision applied, and publishes waiting for theirs.
  std::uint64_t applied_revision_ = 0;
  struct Waiting {
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  std::multimap<std::uint64_t, Waiting> waiting_;
  bool catching_up_ = true;
  // Sessions of other nodes' clients as this engine holds them ("node/client id"), by node and
  // user; when each node was last heard; since when this node hears its own heartbeats.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> remote_sessions_;
  std::map<std::string, Steady::time_point> last_heard_;
  std::map<std::string, std::uint64_t> last_beat_revision_;
  std::vector<std::string> live_nodes_;
  Steady::time_point healthy_since_{};
  // Users with sessions of this node's clients, and those with keys of an earlier run of it.
  std::set<std::string> local_session_users_;
  std::set<std::string> stale_session_users_;

  // Watch thread -> catch_up(): values before the loop serves.
  std::mutex watch_mutex_;
  std::condition_variable watch_changed_;
  std::vector<KvEntry> early_;
  bool caught_up_ = false;
  bool live_ = false;

  // Engine thread -> writer thread.
  std::mutex write_mutex_;
  std::condition_variable write_ready_;
  std::deque<Batch> batches_;
  std::vector<std::pair<std::string, std::string>> claims_;  // job, user
  bool stopping_ = false;
  Steady::time_point next_beat_{};
  std::thread writer_;
};

}  // namespace presenced::cluster
