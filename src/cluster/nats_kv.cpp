#include "cluster/nats_kv.h"

#include <fmt/format.h>
#include <nats/nats.h>

#include <atomic>
#include <thread>

namespace presenced::cluster {
namespace {

// A libnats failure as our error: lost or missing servers and timeouts are `unavailable` (try
// again), a compare-and-set that lost is `conflict`, the rest `internal`.
core::Error nats_error(std::string_view what, natsStatus status) {
  std::string detail = nats_GetLastError(nullptr);
  if (detail.empty()) {
    detail = natsStatus_GetText(status);
  }
  const std::string message = fmt::format("nats: {}: {}", what, detail);
  switch (status) {
    case NATS_TIMEOUT:
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_NO_RESPONDERS:
      return core::Error::unavailable(message);
    default:
      break;
  }
  if (detail.find("wrong last sequence") != std::string::npos ||
      detail.find("key exists") != std::string::npos) {
    return core::Error::conflict(message);
  }
  return core::Error::internal(message);
}

class LibnatsKv final : public NatsKv {
 public:
  ~LibnatsKv() override {
    stopping_ = true;
    // Closing first makes the watcher's unsubscribe fail before it deletes its ephemeral
    // consumer (the server drops that consumer itself once idle). libnats 3.4 reads the
    // consumer's name for that delete outside its lock, while its ordered-consumer reset (after
    // a server restart) may free it: closing first keeps the two apart.
    natsConnection_Close(conn_);
    if (watcher_ != nullptr) {
      kvWatcher_Stop(watcher_);
    }
    if (watch_thread_.joinable()) {
      watch_thread_.join();
    }
    kvWatcher_Destroy(watcher_);
    kvStore_Destroy(kv_);
    jsCtx_Destroy(js_);
    natsConnection_Destroy(conn_);
    natsOptions_Destroy(options_);
  }

  core::Result<void> open(const KvConfig& config) {
    natsStatus s = natsOptions_Create(&options_);
    if (s == NATS_OK) {
      s = natsOptions_SetURL(options_, config.url.c_str());
    }
    if (s == NATS_OK) {
      s = natsOptions_SetMaxReconnect(options_, -1);  // for ever: the servers come back
    }
    if (s == NATS_OK) {
      s = natsOptions_SetReconnectWait(options_, 250);
    }
    if (s == NATS_OK) {
      s = natsOptions_SetTimeout(options_, config.timeout.count());
    }
    if (s != NATS_OK) {
      return nats_error("options", s);
    }
    if (s = natsConnection_Connect(&conn_, options_); s != NATS_OK) {
      return nats_error("connect to " + config.url, s);
    }
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.Wait = config.timeout.count();
    if (s = natsConnection_JetStream(&js_, conn_, &js_options); s != NATS_OK) {
      return nats_error("JetStream", s);
    }
    kvConfig kv_config;
    kvConfig_Init(&kv_config);
    kv_config.Bucket = config.bucket.c_str();
    kv_config.History = 1;
    kv_config.StorageType = js_FileStorage;
    kv_config.Replicas = config.replicas;
    // Creating is idempotent for the same settings, so nodes starting together all succeed;
    // a bucket made with other settings is used as it is.
    if (s = js_CreateKeyValue(&kv_, js_, &kv_config); s != NATS_OK) {
      if (s = js_KeyValue(&kv_, js_, config.bucket.c_str()); s != NATS_OK) {
        return nats_error("bucket " + config.bucket, s);
      }
    }
    return {};
  }

  core::Result<std::uint64_t> put(std::string_view key, std::string_view value) override {
    std::uint64_t revision = 0;
    const std::string k(key);
    if (natsStatus s = kvStore_Put(&revision, kv_, k.c_str(), value.data(),
                                   static_cast<int>(value.size()));
        s != NATS_OK) {
      return nats_error("put " + k, s);
    }
    return revision;
  }

  core::Result<std::uint64_t> update(std::string_view key, std::string_view value,
                                     std::uint64_t last) override {
    std::uint64_t revision = 0;
    const std::string k(key);
    const natsStatus s =
        last == 0 ? kvStore_Create(&revision, kv_, k.c_str(), value.data(),
                                   static_cast<int>(value.size()))
                  : kvStore_Update(&revision, kv_, k.c_str(), value.data(),
                                   static_cast<int>(value.size()), last);
    if (s != NATS_OK) {
      return nats_error("update " + k, s);
    }
    return revision;
  }

  core::Result<void> erase(std::string_view key) override {
    const std::string k(key);
    if (natsStatus s = kvStore_Delete(kv_, k.c_str()); s != NATS_OK) {
      return nats_error("delete " + k, s);
    }
    return {};
  }

  core::Result<void> watch(std::function<void(KvEntry)> on_entry,
                           std::function<void()> caught_up) override {
    if (natsStatus s = kvStore_WatchAll(&watcher_, kv_, nullptr); s != NATS_OK) {
      return nats_error("watch", s);
    }
    watch_thread_ = std::thread([this, on_entry = std::move(on_entry),
                                 caught_up = std::move(caught_up)] {
      constexpr std::int64_t kPollMs = 250;  // how soon the destructor is noticed
      while (!stopping_) {
        kvEntry* entry = nullptr;
        const natsStatus s = kvWatcher_Next(&entry, watcher_, kPollMs);
        if (s == NATS_TIMEOUT) {
          continue;
        }
        if (s != NATS_OK) {
          if (stopping_) {
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
          continue;  // disconnected: the library reconnects and resumes the watch
        }
        if (entry == nullptr) {
          caught_up();  // the marker after the initial values
          continue;
        }
        KvEntry e;
        e.key = kvEntry_Key(entry);
        e.value.assign(static_cast<const char*>(kvEntry_Value(entry)),
                       static_cast<std::size_t>(kvEntry_ValueLen(entry)));
        e.revision = kvEntry_Revision(entry);
        e.erased = kvEntry_Operation(entry) != kvOp_Put;
        kvEntry_Destroy(entry);
        on_entry(std::move(e));
      }
    });
    return {};
  }

 private:
  natsOptions* options_ = nullptr;
  natsConnection* conn_ = nullptr;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
  kvWatcher* watcher_ = nullptr;
  std::atomic<bool> stopping_ = false;
  std::thread watch_thread_;
};

}  // namespace

core::Result<std::unique_ptr<NatsKv>> NatsKv::open(const KvConfig& config) {
  auto kv = std::make_unique<LibnatsKv>();
  if (auto r = kv->open(config); !r) {
    return r.error();
  }
  return std::unique_ptr<NatsKv>(std::move(kv));
}

}  // namespace presenced::cluster
