#pragma once

// The test NATS server ctest's `nats` fixture starts (tests/nats/server), whose URL file
// PRESENCED_TEST_NATS_FILE names, and a bucket of the test's own on it.

#include "cluster/nats_kv.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

namespace presenced::cluster {

// nullopt when the tests run outside ctest (no server): the caller skips.
inline std::optional<KvConfig> test_kv_config() {
  const char* file = std::getenv("PRESENCED_TEST_NATS_FILE");
  if (file == nullptr) {
    return std::nullopt;
  }
  KvConfig config;
  std::ifstream in(file);
  std::getline(in, config.url);
  static std::atomic<int> counter = 0;
  config.bucket = "t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  return config;
}

}  // namespace presenced::cluster
