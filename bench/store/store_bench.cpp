// What the SQLite store costs: acknowledged commits per second, from submit() to the completion,
// for one submitter that waits for each acknowledgement and for many submitters at once (group
// commit shares one fsync among them); with synchronous=FULL (the default) and NORMAL (the
// server's --fast-sync). And how long a restart's open + load() takes with 100,000 users.
//
// Files go under $PRESENCED_BENCH_DIR, else the system's temp directory: measure on the disk the
// server would use (a tmpfs has no fsync to wait for). items_per_second counts acknowledged
// submits (commit cases) and loaded users (load cases).

#include "store/store.h"

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using namespace presenced;
using store::Mutation;

constexpr core::TimePoint kNow{std::chrono::milliseconds(1'790'000'000'000)};
// The shape of libsodium's Argon2id string: load() reads one per user.
const std::string kHash =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
    "qjI0dD9qfD3o2nqdG9VbkCq6Zl5Bf2tTQcqYWB4n0hE";

// A directory of its own, removed with everything in it.
class BenchDir {
 public:
  BenchDir() {
    const char* base = getenv("PRESENCED_BENCH_DIR");
    std::string pattern =
        ((base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
         "presenced-store-bench-XXXXXX")
            .string();
    if (mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  BenchDir(const BenchDir&) = delete;
  BenchDir& operator=(const BenchDir&) = delete;
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ec);
    }
  }

  bool ok() const { return !path_.empty(); }
  std::string db() const { return (path_ / "presenced.db").string(); }

 private:
  std::filesystem::path path_;
};

// Waits for one completion at a time.
class Ack {
 public:
  store::Completion callback() {
    return [this](core::Result<void> result) {
      std::lock_guard lock(mutex_);
      ok_ = static_cast<bool>(result);
      done_ = true;
      cv_.notify_one();
    };
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    done_ = false;
    return ok_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  bool ok_ = false;
};

std::string user_id(std::size_t i) { return "user" + std::to_string(100000 + i); }

store::UserRecord user(std::size_t i) {
  store::UserRecord u;
  u.id = user_id(i);
  u.display_name = "Bench User " + std::to_string(i);
  u.password_hash = kHash;
  u.groups = {"team" + std::to_string(i / 20)};
  return u;
}

// Submits in batches from one thread and waits for all; false if any failed.
bool write_all(store::Store& db, std::vector<Mutation>& mutations, std::size_t batch) {
  std::atomic<bool> failed{false};
  for (std::size_t start = 0; start < mutations.size(); start += batch) {
    const std::size_t end = std::min(mutations.size(), start + batch);
    std::vector<Mutation> part(std::make_move_iterator(mutations.begin() + start),
                               std::make_move_iterator(mutations.begin() + end));
    db.submit(std::move(part), [&failed](core::Result<void> result) {
      if (!result) {
        failed = true;
      }
    });
  }
  db.flush();
  mutations.clear();
  return !failed;
}

// ---- Acknowledged commits ----

// One store for all threads of a case; thread 0 sets it up before the timed loop, whose start
// and end are barriers for all threads.
struct Shared {
  std::unique_ptr<BenchDir> dir;
  std::unique_ptr<store::Store> db;
  std::string error;
};
Shared shared;

// Each thread changes its own user's manual state and waits for the acknowledgement: a client
// that sets its status and waits for the answer. Arg: synchronous FULL (1) or NORMAL (0).
void BM_AckedCommits(benchmark::State& state) {
  const bool full = state.range(0) != 0;
  if (state.thread_index() == 0) {
    shared = {};
    shared.dir = std::make_unique<BenchDir>();
    store::SqliteConfig config;
    config.path = shared.dir->db();
    config.synchronous_full = full;
    auto opened = shared.dir->ok() ? store::open_sqlite(config)
                                   : core::Result<std::unique_ptr<store::Store>>(
                                         core::Error::unavailable("no bench directory"));
    if (!opened) {
      shared.error = opened.error().message;
    } else if (auto loaded = (*opened)->load(); !loaded) {
      shared.error = loaded.error().message;
    } else {
      shared.db = std::move(*opened);
      std::vector<Mutation> users;
      for (int i = 0; i < state.threads(); ++i) {
        users.push_back(store::PutUser{user(static_cast<std::size_t>(i))});
      }
      if (!write_all(*shared.db, users, users.size())) {
        shared.error = "seeding the users failed";
      }
    }
  }
  const std::string id = user_id(static_cast<std::size_t>(state.thread_index()));
  Ack ack;
  std::int64_t acked = 0;
  bool failed = false;
  const auto started = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (!shared.error.empty() || failed) {
      state.SkipWithError(shared.error.empty() ? "a commit failed" : shared.error.c_str());
      break;
    }
    core::ManualLayer manual;
    manual.state_id = (acked & 1) != 0 ? "Available" : "Busy";
    manual.note = "on a call with the Meier account until 3";
    manual.set_at = kNow + std::chrono::milliseconds(acked);
    shared.db->submit({store::PutManual{{id, std::move(manual)}}}, ack.callback());
    if (ack.wait()) {
      ++acked;
    } else {
      failed = true;
    }
  }
  const auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  state.SetItemsProcessed(acked);
  if (acked > 0) {
    // Submit to acknowledgement, as each submitter waited for it.
    state.counters["ack_ms"] = benchmark::Counter(
        elapsed.count() * 1e3 / static_cast<double>(acked), benchmark::Counter::kAvgThreads);
  }
  if (state.thread_index() == 0) {
    shared = {};
  }
}

BENCHMARK(BM_AckedCommits)
    ->ArgName("full_sync")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(8)
    ->Threads(32)
    ->Threads(128)
    ->UseRealTime();

// ---- Start-up ----

// A data directory with `users` users (one group each) and `contacts` contacts per user (the
// user's team of 20), written once per shape and kept for every run of that shape.
const std::string& dataset(std::size_t users, std::size_t contacts) {
  static std::map<std::pair<std::size_t, std::size_t>,
                  std::pair<std::unique_ptr<BenchDir>, std::string>>
      made;
  auto& entry = made[{users, contacts}];
  if (entry.first) {
    return entry.second;
  }
  entry.first = std::make_unique<BenchDir>();
  store::SqliteConfig config;
  config.path = entry.first->db();
  config.synchronous_full = false;
  auto opened = store::open_sqlite(config);
  if (!opened || !(*opened)->load()) {
    return entry.second;  // empty: failed
  }
  std::vector<Mutation> mutations;
  mutations.reserve(users * (1 + contacts));
  for (std::size_t i = 0; i < users; ++i) {
    mutations.push_back(store::PutUser{user(i)});
  }
  for (std::size_t i = 0; i < users; ++i) {
    const std::size_t team = i / 20 * 20;
    for (std::size_t k = team; k < team + contacts && k < users; ++k) {
      mutations.push_back(store::PutContact{{user_id(i), user_id(k)}});
    }
  }
  if (write_all(**opened, mutations, 10000)) {
    entry.second = config.path;
  }
  return entry.second;
}

// A restart: open (migrations checked) and load() everything, with the default config.
// Args: users, contacts per user.
void BM_OpenAndLoad(benchmark::State& state) {
  const auto users = static_cast<std::size_t>(state.range(0));
  const auto contacts = static_cast<std::size_t>(state.range(1));
  const std::string& path = dataset(users, contacts);
  if (path.empty()) {
    state.SkipWithError("writing the data set failed");
    return;
  }
  store::SqliteConfig config;
  config.path = path;
  std::size_t loaded_users = 0;
  std::size_t loaded_contacts = 0;
  for (auto _ : state) {
    auto opened = store::open_sqlite(config);
    if (!opened) {
      state.SkipWithError(opened.error().message.c_str());
      break;
    }
    auto snapshot = (*opened)->load();
    if (!snapshot) {
      state.SkipWithError(snapshot.error().message.c_str());
      break;
    }
    loaded_users = snapshot->users.size();
    loaded_contacts = snapshot->contacts.size();
    state.PauseTiming();
    snapshot = core::Result<store::Snapshot>(store::Snapshot{});
    opened->reset();
    state.ResumeTiming();
  }
  if (loaded_users != users) {
    state.SkipWithError("load() did not return every user");
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * users));
  state.counters["contacts"] = static_cast<double>(loaded_contacts);
}

BENCHMARK(BM_OpenAndLoad)
    ->ArgNames({"users", "contacts"})
    ->Args({100000, 0})
    ->Args({100000, 20})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
