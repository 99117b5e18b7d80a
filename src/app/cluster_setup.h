#pragma once

// The --cluster and --node-id flags and a node's wiring to the API server (docs/cluster.md).

#include "api/api.h"
#include "cluster/node.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

namespace presenced::app {

struct ClusterOptions {
  std::string address;  // nats://HOST:PORT,postgres://...; empty: a single node
  std::string node_id;  // default: host name and HTTP listener
};

void add_cluster_flags(CLI::App& app, ClusterOptions& options);

// This node's side of the cluster; empty without --cluster. Destroy it after the server's loop
// stopped, before the server.
struct ClusterSide {
  std::unique_ptr<cluster::Node> node;
  std::unique_ptr<api::ClusterLink> link;
};

// Opens the bucket, applies its layers to the server's engine (call before the server listens)
// and sends the server's shared changes through it; nullopt (logged) when the bucket cannot be
// reached.
std::optional<ClusterSide> join_cluster(const ClusterOptions& options,
                                        const std::string& nats_url, const std::string& http,
                                        api::Server& server);

}  // namespace presenced::app
