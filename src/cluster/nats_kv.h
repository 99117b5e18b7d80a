#pragma once

// The cluster's shared state of live layers: a NATS JetStream key-value bucket (docs/cluster.md).
// Every node writes the layers it receives and watches the whole bucket, so every node applies
// every change in the same order (the bucket's revision order) and aggregates with the same pure
// function. A node that starts or reconnects reads the latest value of every key first.
//
// Thread-safety: put/update/erase may be called from any thread; watch callbacks run on a thread
// of the NatsKv's own, one at a time, in revision order; callers post them to their executor.

#include "core/result.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace presenced::cluster {

struct KvConfig {
  std::string url;                        // nats://host:port[,nats://...]
  std::string bucket = "presenced-layers";
  int replicas = 1;                       // 3 on a three-server NATS cluster
  std::chrono::milliseconds timeout{5000};  // per request; unavailable after it
};

struct KvEntry {
  std::string key;
  std::string value;
  std::uint64_t revision = 0;
  bool erased = false;  // a delete or purge: the key has no value any more
};

class NatsKv {
 public:
  // Connects (reconnecting for ever after a loss) and creates or binds the bucket (file storage,
  // one value per key).
  static core::Result<std::unique_ptr<NatsKv>> open(const KvConfig& config);
  virtual ~NatsKv() = default;

  // Stores `value` once the servers have it on disk; gives its revision.
  virtual core::Result<std::uint64_t> put(std::string_view key, std::string_view value) = 0;
  // Stores `value` only if the key's revision is still `last` (0: only if the key has no
  // value): `conflict` when another writer came first. For work done once in the cluster.
  virtual core::Result<std::uint64_t> update(std::string_view key, std::string_view value,
                                             std::uint64_t last) = 0;
  virtual core::Result<void> erase(std::string_view key) = 0;

  // Delivers the latest entry of every key, then calls `caught_up` once, then every later
  // change, until the NatsKv is destroyed. Call once.
  virtual core::Result<void> watch(std::function<void(KvEntry)> on_entry,
                                   std::function<void()> caught_up) = 0;
};

}  // namespace presenced::cluster
