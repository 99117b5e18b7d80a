// The cluster's key-value bucket against a real nats-server with JetStream (tests/nats/server,
// started by ctest's `nats` fixture, which names its URL file in PRESENCED_TEST_NATS_FILE).

#include "cluster/nats_kv.h"

#include "test_nats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace presenced::cluster {
namespace {

using namespace std::chrono_literals;

// What a watcher saw, for the test thread to wait on.
class Seen {
 public:
  void add(KvEntry entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
    changed_.notify_all();
  }
  void catch_up() {
    std::lock_guard lock(mutex_);
    caught_up_at_ = static_cast<int>(entries_.size());
    changed_.notify_all();
  }
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return entries_.size() >= count; });
  }
  // How many entries came before the caught-up mark; -1 before it.
  int wait_caught_up(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return caught_up_at_ >= 0; });
    return caught_up_at_;
  }
  std::vector<KvEntry> entries() {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<KvEntry> entries_;
  int caught_up_at_ = -1;
};

class NatsKvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = test_kv_config();
    if (!config) {
      GTEST_SKIP() << "no test NATS server: run through ctest (fixture `nats`)";
    }
    config_ = *config;
    ASSERT_FALSE(config_.url.empty()) << "no URL in PRESENCED_TEST_NATS_FILE";
  }

  std::unique_ptr<NatsKv> open() {
    auto kv = NatsKv::open(config_);
    EXPECT_TRUE(kv) << kv.error().message;
    return kv ? std::move(*kv) : nullptr;
  }

  KvConfig config_;
};

TEST_F(NatsKvTest, AWatchGivesTheLatestValuesThenCatchesUpThenFollows) {
  auto writer = open();
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->put("manual.alice", "v1"));
  auto second = writer->put("manual.alice", "v2");
  ASSERT_TRUE(second);
  ASSERT_TRUE(writer->put("manual.bob", "b1"));

  auto reader = open();
  ASSERT_TRUE(reader);
  Seen seen;
  ASSERT_TRUE(reader->watch([&](KvEntry e) { seen.add(std::move(e)); }, [&] { seen.catch_up(); }));
  ASSERT_EQ(seen.wait_caught_up(), 2);  // one value per key: alice's v1 is gone
  auto third = writer->put("manual.carol", "c1");
  ASSERT_TRUE(third);
  ASSERT_TRUE(seen.wait_for(3));
  const auto entries = seen.entries();
  EXPECT_EQ(entries[0].key, "manual.alice");
  EXPECT_EQ(entries[0].value, "v2");
  EXPECT_EQ(entries[0].revision, *second);
  EXPECT_EQ(entries[1].key, "manual.bob");
  EXPECT_EQ(entries[2].key, "manual.carol");
  EXPECT_EQ(entries[2].revision, *third);
  EXPECT_LT(entries[1].revision, entries[2].revision);
}

TEST_F(NatsKvTest, AnEmptyBucketCatchesUpAtOnce) {
  auto kv = open();
  ASSERT_TRUE(kv);
  Seen seen;
  ASSERT_TRUE(kv->watch([&](KvEntry e) { seen.add(std::move(e)); }, [&] { seen.catch_up(); }));
  EXPECT_EQ(seen.wait_caught_up(), 0);
}

TEST_F(NatsKvTest, UpdateIsACompareAndSet) {
  auto kv = open();
  ASSERT_TRUE(kv);
  auto created = kv->update("timer.profile-end", "node-a", 0);
  ASSERT_TRUE(created) << created.error().message;
  auto again = kv->update("timer.profile-end", "node-b", 0);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, core::ErrorCode::Conflict) << again.error().message;

  auto next = kv->update("timer.profile-end", "node-b", *created);
  ASSERT_TRUE(next) << next.error().message;
  auto stale = kv->update("timer.profile-end", "node-c", *created);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, core::ErrorCode::Conflict) << stale.error().message;
}

TEST_F(NatsKvTest, AnEraseReachesWatchersAsErased) {
  auto kv = open();
  ASSERT_TRUE(kv);
  Seen seen;
  ASSERT_TRUE(kv->watch([&](KvEntry e) { seen.add(std::move(e)); }, [&] { seen.catch_up(); }));
  ASSERT_EQ(seen.wait_caught_up(), 0);
  ASSERT_TRUE(kv->put("sessions.alice", "one"));
  ASSERT_TRUE(kv->erase("sessions.alice"));
  ASSERT_TRUE(seen.wait_for(2));
  const auto entries = seen.entries();
  EXPECT_FALSE(entries[0].erased);
  EXPECT_TRUE(entries[1].erased);
  EXPECT_EQ(entries[1].key, "sessions.alice");
}

// Two nodes writing at once: each watcher sees changes in revision order and ends on the last
// value of every key. A bucket keeps one value per key, so a watcher that falls behind skips
// values overwritten meanwhile; layers are replaced whole, so the last one is all that counts.
TEST_F(NatsKvTest, NodesWritingAtOnceConvergeInRevisionOrder) {
  auto a = open();
  auto b = open();
  ASSERT_TRUE(a && b);
  Seen seen_a;
  Seen seen_b;
  ASSERT_TRUE(a->watch([&](KvEntry e) { seen_a.add(std::move(e)); }, [&] { seen_a.catch_up(); }));
  ASSERT_TRUE(b->watch([&](KvEntry e) { seen_b.add(std::move(e)); }, [&] { seen_b.catch_up(); }));
  ASSERT_EQ(seen_a.wait_caught_up(), 0);
  ASSERT_EQ(seen_b.wait_caught_up(), 0);
  constexpr int kEach = 200;
  constexpr int kKeys = 7;
  std::mutex mutex;
  std::map<std::string, std::pair<std::uint64_t, std::string>> last;  // key -> revision, value
  auto write = [&](NatsKv& kv, const std::string& node) {
    for (int i = 0; i < kEach; ++i) {
      const std::string key = "manual.u" + std::to_string(i % kKeys);
      const std::string value = node + std::to_string(i);
      auto revision = kv.put(key, value);
      ASSERT_TRUE(revision);
      std::lock_guard lock(mutex);
      if (*revision > last[key].first) {
        last[key] = {*revision, value};
      }
    }
  };
  std::thread ta(write, std::ref(*a), "a");
  std::thread tb(write, std::ref(*b), "b");
  ta.join();
  tb.join();
  ASSERT_EQ(last.size(), static_cast<std::size_t>(kKeys));
  const std::uint64_t final_revision = 2 * kEach;
  for (Seen* seen : {&seen_a, &seen_b}) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (seen->entries().empty() || seen->entries().back().revision < final_revision) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the last change never came";
      std::this_thread::sleep_for(10ms);
    }
    std::map<std::string, std::pair<std::uint64_t, std::string>> latest;
    std::uint64_t previous = 0;
    for (const KvEntry& e : seen->entries()) {
      ASSERT_LT(previous, e.revision);
      previous = e.revision;
      latest[e.key] = {e.revision, e.value};
    }
    EXPECT_EQ(latest, last);
  }
}

// A NATS server of the test's own, restarted under a writer and a watcher: both carry on once it
// is back, and nothing stored before is lost (file storage).
TEST(NatsKvRestartTest, WritersAndWatchersCarryOnAfterTheServerRestarts) {
  const std::string script = PRESENCED_NATS_SCRIPT;  // tests/nats/server, set by CMake
  const std::string file = "/tmp/presenced-nats-restart-" + std::to_string(getpid());
  auto server = [&](const char* action) {
    return std::system((script + " " + action + " " + file).c_str()) == 0;
  };
  ASSERT_TRUE(server("start"));
  KvConfig config;
  std::ifstream(file) >> config.url;
  config.timeout = 2s;
  {
    auto kv = NatsKv::open(config);
    ASSERT_TRUE(kv) << kv.error().message;
    Seen seen;
    ASSERT_TRUE((*kv)->watch([&](KvEntry e) { seen.add(std::move(e)); }, [&] { seen.catch_up(); }));
    ASSERT_EQ(seen.wait_caught_up(), 0);
    ASSERT_TRUE((*kv)->put("manual.alice", "before"));
    ASSERT_TRUE(seen.wait_for(1));

    ASSERT_TRUE(server("restart"));
    core::Result<std::uint64_t> after = core::Error::unavailable("not tried");
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!(after = (*kv)->put("manual.alice", "after")) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_EQ(*after, 2u);  // the first value survived the restart
    ASSERT_TRUE(seen.wait_for(2, 20s));
    EXPECT_EQ(seen.entries().back().value, "after");
  }
  EXPECT_TRUE(server("stop"));
}

TEST(NatsKvUnreachableTest, NoServerIsUnavailableNotAHang) {
  KvConfig config;
  config.url = "nats://127.0.0.1:1";
  config.timeout = 1000ms;
  const auto started = std::chrono::steady_clock::now();
  auto kv = NatsKv::open(config);
  ASSERT_FALSE(kv);
  EXPECT_EQ(kv.error().code, core::ErrorCode::Unavailable) << kv.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

}  // namespace
}  // namespace presenced::cluster
