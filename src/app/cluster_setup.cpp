#include "app/cluster_setup.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>

namespace presenced::app {
namespace {

class NodeLink final : public api::ClusterLink {
 public:
  explicit NodeLink(cluster::Node& node) : node_(node) {}
  void publish(std::vector<api::LayerChange> changes, std::vector<store::Mutation> directory,
               std::function<void(bool)> done) override {
    std::vector<std::pair<std::string, core::Layer>> layers;
    layers.reserve(changes.size());
    for (auto& change : changes) {
      layers.emplace_back(std::move(change.user), change.layer);
    }
    node_.publish(layers, directory, std::move(done));
  }
  bool claim(const std::string& job) override { return node_.claim(job); }

 private:
  cluster::Node& node_;
};

}  // namespace

void add_cluster_flags(CLI::App& app, ClusterOptions& options) {
  app.add_option("--cluster", options.address,
                 "Run as one node of a cluster: nats://HOST:PORT[,nats://...],postgres://... "
                 "(the shared store; replaces --postgres)");
  app.add_option("--node-id", options.node_id,
                 "This node's name in the cluster (default: host name and --http)");
}

std::optional<ClusterSide> join_cluster(const ClusterOptions& options,
                                        const std::string& nats_url, const std::string& http,
                                        api::Server& server) {
  cluster::NodeConfig config;
  config.kv.url = nats_url;
  config.node_id = options.node_id;
  if (config.node_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    config.node_id = std::string(host) + "-" + http;
  }
  auto node = cluster::Node::open(config, server.engine());
  if (!node) {
    spdlog::error("cluster: {}", node.error().message);
    return std::nullopt;
  }
  (*node)->on_directory([&server](const store::Mutation& change) { server.apply_directory(change); });
  (*node)->on_orphaned_logout([&server](const std::string& user) {
    server.apply_orphaned_logout(user);
  });
  const auto started = std::chrono::steady_clock::now();
  auto layers = (*node)->catch_up([&server](cluster::Task task) { server.post(std::move(task)); },
                                  std::chrono::seconds(60));
  if (!layers) {
    spdlog::error("cluster: {}", layers.error().message);
    return std::nullopt;
  }
  spdlog::info("cluster: node {} caught up with {} layers in {} ms", (*node)->id(), *layers,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count());
  ClusterSide side{std::move(*node), nullptr};
  side.link = std::make_unique<NodeLink>(*side.node);
  server.set_cluster(*side.link);
  return side;
}

}  // namespace presenced::app
