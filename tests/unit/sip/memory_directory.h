#pragma once

// A Directory for SIP unit tests: users, devices and passwords in maps, its own engine, and stored
// records in memory. save() applies the records at once but holds `done` until the test calls
// complete(), so tests can check that an answer waits for durability.

#include "sip/sip.h"

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace presenced::sip::test {

class MemoryDirectory final : public Directory {
 public:
  // A user id names the user with the user's password; otherwise `devices` maps a device's
  // username to its credentials (the resolution rule is the API's, tested there).
  std::optional<Credentials> credentials(std::string_view username) const override {
    if (const auto it = users.find(std::string(username)); it != users.end()) {
      return Credentials{it->first, {}, it->second};
    }
    if (const auto it = devices.find(std::string(username)); it != devices.end()) {
      return it->second;
    }
    return std::nullopt;
  }
  core::Engine& engine() override { return engine_; }

  std::vector<StoredRecord> stored(std::string_view kind) const override {
    std::vector<StoredRecord> out;
    for (const auto& [key, record] : records) {
      if (key.first == kind) {
        out.push_back(record);
      }
    }
    return out;
  }
  void save(std::vector<StoredRecord> batch, std::function<void(bool)> done) override {
    for (StoredRecord& r : batch) {
      if (r.erase) {
        records.erase({r.kind, r.id});
      } else {
        records[{r.kind, r.id}] = std::move(r);
      }
    }
    waiting.push_back(std::move(done));
  }
  // Runs the completions of every save() so far, as the store would once durable.
  void complete(bool durable = true) {
    auto done = std::move(waiting);
    waiting.clear();
    for (auto& d : done) {
      d(durable);
    }
  }

  std::map<std::string, std::string> users{{"alice", "s3cret"}};
  std::map<std::string, Credentials> devices;  // by digest username, e.g. "alice-desk"
  std::map<std::pair<std::string, std::string>, StoredRecord> records;  // by (kind, id)
  std::vector<std::function<void(bool)>> waiting;
  core::Engine engine_{core::EngineConfig(), 0};
};

}  // namespace presenced::sip::test
