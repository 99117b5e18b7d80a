// The writer, on each backend: each submit is atomic and fails alone inside a group commit,
// concurrent submitters all land, completions keep submit order and run only once the data is
// committed.

#include "store/store.h"

#include "unit/store/store_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace presenced::store {
namespace {

using namespace presenced::store::testing;
using ::testing::HasSubstr;

UserRecord user(std::string id) {
  UserRecord u;
  u.id = std::move(id);
  u.display_name = "User " + u.id;
  u.password_hash = "hash";
  return u;
}

// Collects completions by index, from the store's thread.
class Completions {
 public:
  Completion slot(std::size_t index) {
    {
      std::lock_guard lock(mutex_);
      if (results_.size() <= index) {
        results_.resize(index + 1);
      }
    }
    return [this, index](core::Result<void> result) {
      std::lock_guard lock(mutex_);
      results_[index] = std::move(result);
      order_.push_back(index);
      ++done_;
      changed_.notify_all();
    };
  }

  bool wait_for(std::size_t count, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return done_ >= count; });
  }

  core::Result<void> result(std::size_t index) {
    std::lock_guard lock(mutex_);
    return results_.at(index).value_or(core::Error::internal("no completion"));
  }

  std::vector<std::size_t> order() {
    std::lock_guard lock(mutex_);
    return order_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::optional<core::Result<void>>> results_;
  std::vector<std::size_t> order_;
  std::size_t done_ = 0;
};

// Holds the writer thread inside a completion, so that what is submitted meanwhile queues up
// and goes into the next group commit together.
class WriterGate {
 public:
  explicit WriterGate(Store& store) {
    auto entered = std::make_shared<std::promise<void>>();
    auto entered_future = entered->get_future();
    auto opened = opened_.get_future().share();
    store.submit({PutSetting{"gate", "closed"}}, [entered, opened](core::Result<void>) {
      entered->set_value();
      opened.wait();
    });
    entered_future.wait();
  }
  WriterGate(const WriterGate&) = delete;
  WriterGate& operator=(const WriterGate&) = delete;
  ~WriterGate() { open(); }

  void open() {
    if (!is_open_) {
      is_open_ = true;
      opened_.set_value();
    }
  }

 private:
  std::promise<void> opened_;
  bool is_open_ = false;
};

// SQLite says "FOREIGN KEY constraint failed", PostgreSQL "violates foreign key constraint".
auto names_a_foreign_key() { return ::testing::ContainsRegex("FOREIGN KEY|foreign key"); }

class StoreCommitTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    if (IsSkipped()) {
      return;
    }
    auto loaded = open_loaded(opener());
    ASSERT_TRUE(loaded);
    store_ = std::move(loaded->store);
    ASSERT_TRUE(submit_wait(*store_, {PutUser{user("alice")}, PutUser{user("bob")}}));
  }

  Snapshot restart() {
    store_.reset();
    auto snapshot = reload(opener());
    return snapshot ? *snapshot : Snapshot{};
  }

  static std::set<std::string> user_ids(const Snapshot& s) {
    std::set<std::string> out;
    for (const auto& u : s.users) {
      out.insert(u.id);
    }
    return out;
  }

  static std::set<std::string> device_ids(const Snapshot& s) {
    std::set<std::string> out;
    for (const auto& d : s.devices) {
      out.insert(d.user + "/" + d.device);
    }
    return out;
  }

  static std::map<std::string, std::string> settings(const Snapshot& s) {
    return {s.settings.begin(), s.settings.end()};
  }

  std::unique_ptr<Store> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreCommitTest,
                         ::testing::Values(Backend::Sqlite, Backend::Postgres), backend_name);

TEST_P(StoreCommitTest, AFailingSubmitFailsAloneInItsGroupCommit) {
  Completions done;
  {
    WriterGate gate(*store_);
    store_->submit({PutUser{user("carol")}, PutDevice{{"carol", "desk", "", ""}}}, done.slot(0));
    // A device of a user who does not exist violates the foreign key: the whole submit goes.
    store_->submit({PutUser{user("dave")}, PutSetting{"dave", "1"},
                    PutDevice{{"nobody", "desk", "", ""}}, PutDevice{{"dave", "desk", "", ""}}},
                   done.slot(1));
    store_->submit({PutUser{user("erin")}, PutDevice{{"erin", "desk", "", ""}}}, done.slot(2));
  }
  ASSERT_TRUE(done.wait_for(3));
  EXPECT_TRUE(done.result(0)) << error_message(done.result(0));
  ASSERT_FALSE(done.result(1));
  EXPECT_THAT(done.result(1).error().message, names_a_foreign_key());
  EXPECT_TRUE(done.result(2)) << error_message(done.result(2));
  EXPECT_EQ(done.order(), (std::vector<std::size_t>{0, 1, 2}));

  const Snapshot s = restart();
  EXPECT_EQ(user_ids(s), (std::set<std::string>{"alice", "bob", "carol", "erin"}));
  EXPECT_EQ(device_ids(s), (std::set<std::string>{"carol/desk", "erin/desk"}));
  EXPECT_EQ(settings(s).count("dave"), 0u);
}

TEST_P(StoreCommitTest, AFailureAtEitherEndOfASubmitUndoesAllOfIt) {
  auto first = submit_wait(*store_, {PutToken{{"t1", "nobody", at(0), "login"}},
                                     PutUser{user("carol")}, PutSetting{"first", "1"}});
  ASSERT_FALSE(first);
  EXPECT_THAT(first.error().message, names_a_foreign_key());
  auto last = submit_wait(*store_, {DeleteUser{"bob"}, PutSetting{"last", "1"},
                                    PutContact{{"alice", "nobody"}}});
  ASSERT_FALSE(last);
  EXPECT_THAT(last.error().message, names_a_foreign_key());

  const Snapshot s = restart();
  EXPECT_EQ(user_ids(s), (std::set<std::string>{"alice", "bob"}));
  EXPECT_TRUE(s.tokens.empty());
  EXPECT_TRUE(s.contacts.empty());
  EXPECT_TRUE(settings(s).empty());
}

TEST_P(StoreCommitTest, EveryKindThatNeedsItsUserFailsWithoutIt) {
  core::Call c;
  c.device = "desk";
  c.call_id = "c1";
  core::ManualLayer m;
  m.state_id = "Busy";
  const std::vector<Mutation> orphans = {
      PutDevice{{"ghost", "desk", "", ""}},
      PutVisibility{{"ghost", "alice", core::VisibilityLevel::Team}},
      PutVisibility{{"alice", "ghost", core::VisibilityLevel::Team}},
      PutToken{{"t", "ghost", at(0), ""}},
      PutContact{{"ghost", "alice"}},
      PutContact{{"alice", "ghost"}},
      PutManual{{"ghost", m}},
      PutCall{{"ghost", c}},
      PutCalendar{{"ghost", {core::Appointment{"a", "", "", at(0), at(1)}}}},
  };
  for (const Mutation& orphan : orphans) {
    auto result = submit_wait(*store_, {PutSetting{"marker", "set"}, orphan});
    EXPECT_FALSE(result) << "mutation kind " << orphan.index() << " was accepted";
  }
  const Snapshot s = restart();
  EXPECT_TRUE(settings(s).empty());
  EXPECT_TRUE(s.devices.empty());
  EXPECT_TRUE(s.visibility.empty());
  EXPECT_TRUE(s.tokens.empty());
  EXPECT_TRUE(s.contacts.empty());
  EXPECT_TRUE(s.manual.empty());
  EXPECT_TRUE(s.calls.empty());
  EXPECT_TRUE(s.calendars.empty());
}

TEST_P(StoreCommitTest, TheStoreKeepsWorkingAfterFailedSubmits) {
  for (int round = 0; round < 3; ++round) {
    const std::string device = "d" + std::to_string(round);
    ASSERT_FALSE(submit_wait(*store_, {PutDevice{{"nobody", device, "", ""}}}));
    auto ok = submit_wait(*store_, {PutDevice{{"alice", device, "ok", ""}}});
    ASSERT_TRUE(ok) << "round " << round << ": " << error_message(ok);
  }
  const Snapshot s = restart();
  EXPECT_EQ(device_ids(s), (std::set<std::string>{"alice/d0", "alice/d1", "alice/d2"}));
}

TEST_P(StoreCommitTest, ConcurrentSubmittersAllCompleteAndLand) {
  constexpr std::size_t kThreads = 6;
  constexpr std::size_t kPerThread = 150;
  Completions done;
  std::vector<Completion> slots;
  for (std::size_t i = 0; i < kThreads * kPerThread; ++i) {
    slots.push_back(done.slot(i));
  }
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < kPerThread; ++i) {
        const std::size_t index = t * kPerThread + i;
        const std::string id = "u" + std::to_string(index);
        store_->submit({PutUser{user(id)}, PutSetting{id, std::to_string(index)}},
                       std::move(slots[index]));
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  ASSERT_TRUE(done.wait_for(kThreads * kPerThread));
  for (std::size_t i = 0; i < kThreads * kPerThread; ++i) {
    ASSERT_TRUE(done.result(i)) << i << ": " << error_message(done.result(i));
  }
  // Each thread's submits complete in the order that thread made them.
  std::vector<std::size_t> last(kThreads, 0);
  std::vector<bool> seen(kThreads, false);
  for (std::size_t index : done.order()) {
    const std::size_t t = index / kPerThread;
    EXPECT_TRUE(!seen[t] || index > last[t]) << index << " completed after " << last[t];
    seen[t] = true;
    last[t] = index;
  }

  const Snapshot s = restart();
  EXPECT_EQ(s.users.size(), 2 + kThreads * kPerThread);
  const auto stored = settings(s);
  ASSERT_EQ(stored.size(), kThreads * kPerThread);
  for (std::size_t i = 0; i < kThreads * kPerThread; ++i) {
    const std::string id = "u" + std::to_string(i);
    ASSERT_EQ(stored.count(id), 1u) << id;
    EXPECT_EQ(stored.at(id), std::to_string(i));
  }
}

// Pages the write-ahead log holds at most so far: each commit appends its own frames.
std::uintmax_t wal_frames(const std::string& db_path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(db_path + "-wal", ec);
  constexpr std::uintmax_t kHeader = 32;
  constexpr std::uintmax_t kFrame = 24 + 4096;
  return ec || size < kHeader ? 0 : (size - kHeader) / kFrame;
}

// Submits 200 settings while the writer is held, then lets it go; gives the WAL frames added.
std::uintmax_t frames_for_queued_submits(Store& store, const std::string& db_path,
                                         const std::string& prefix) {
  constexpr std::size_t kSubmits = 200;
  Completions done;
  std::uintmax_t before = 0;
  {
    WriterGate gate(store);
    before = wal_frames(db_path);
    for (std::size_t i = 0; i < kSubmits; ++i) {
      store.submit({PutSetting{prefix + std::to_string(i), "v"}}, done.slot(i));
    }
  }
  EXPECT_TRUE(done.wait_for(kSubmits));
  for (std::size_t i = 0; i < kSubmits; ++i) {
    EXPECT_TRUE(done.result(i)) << prefix << i << ": " << error_message(done.result(i));
  }
  RawDb raw(db_path);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM settings WHERE key LIKE '" + prefix + "%'"),
            std::to_string(kSubmits));
  return wal_frames(db_path) - before;
}

TEST_P(StoreCommitTest, QueuedSubmitsShareOneCommit) {
  if (!sqlite()) {
    GTEST_SKIP() << "counts frames in SQLite's WAL file";
  }
  {
    RawDb raw(config_.path);
    ASSERT_EQ(raw.scalar("PRAGMA page_size"), "4096");
  }
  // One transaction writes each page it touches once.
  EXPECT_LT(frames_for_queued_submits(*store_, config_.path, "grouped"), 20u);

  // The measure can tell: with one submit per commit, every submit adds at least one frame.
  // (NORMAL only to skip 200 fsyncs: the frames written are the same.)
  store_.reset();
  config_.max_batch = 1;
  config_.synchronous_full = false;
  auto loaded = open_loaded(config_);
  ASSERT_TRUE(loaded);
  store_ = std::move(loaded->store);
  EXPECT_GE(frames_for_queued_submits(*store_, config_.path, "single"), 200u);
}

TEST_P(StoreCommitTest, ASubmitLargerThanMaxBatchCommitsWhole) {
  store_.reset();
  auto loaded = open_loaded(opener(/*max_batch=*/4));
  ASSERT_TRUE(loaded);
  store_ = std::move(loaded->store);
  std::vector<Mutation> big;
  for (int i = 0; i < 50; ++i) {
    big.push_back(PutSetting{"big" + std::to_string(i), "v"});
  }
  Completions done;
  store_->submit(std::move(big), done.slot(0));
  for (std::size_t i = 1; i <= 30; ++i) {
    store_->submit({PutSetting{"small" + std::to_string(i), "v"}}, done.slot(i));
  }
  ASSERT_TRUE(done.wait_for(31));
  for (std::size_t i = 0; i <= 30; ++i) {
    EXPECT_TRUE(done.result(i)) << i << ": " << error_message(done.result(i));
  }
  EXPECT_EQ(settings(restart()).size(), 80u);
}

TEST_P(StoreCommitTest, TheCompletionRunsOnlyOnceAnotherConnectionCanReadTheRow) {
  if (!sqlite()) {
    GTEST_SKIP() << "reads SQLite's file behind the store's back";
  }
  for (const bool full : {true, false}) {
    store_.reset();
    config_.synchronous_full = full;
    auto loaded = open_loaded(config_);
    ASSERT_TRUE(loaded);
    store_ = std::move(loaded->store);
    constexpr std::size_t kSubmits = 20;
    std::vector<std::string> seen(kSubmits);
    Completions done;
    for (std::size_t i = 0; i < kSubmits; ++i) {
      const std::string key = std::string(full ? "full" : "normal") + std::to_string(i);
      auto slot = done.slot(i);
      store_->submit({PutSetting{key, std::to_string(i)}},
                     [&, i, key, slot](core::Result<void> result) {
                       // Still inside the completion: the store has not returned to anyone yet.
                       RawDb raw(config_.path);
                       seen[i] = raw.scalar("SELECT value FROM settings WHERE key = '" + key + "'");
                       slot(std::move(result));
                     });
    }
    ASSERT_TRUE(done.wait_for(kSubmits));
    for (std::size_t i = 0; i < kSubmits; ++i) {
      EXPECT_TRUE(done.result(i));
      EXPECT_EQ(seen[i], std::to_string(i)) << (full ? "FULL" : "NORMAL") << " submit " << i;
    }
  }
}

TEST_P(StoreCommitTest, FlushReturnsOnlyOnceEverythingSubmittedIsDone) {
  constexpr std::size_t kSubmits = 100;
  std::atomic<std::size_t> completed{0};
  for (std::size_t i = 0; i < kSubmits; ++i) {
    store_->submit({PutSetting{"f" + std::to_string(i), "v"}},
                   [&](core::Result<void> result) {
                     if (result) {
                       ++completed;
                     }
                   });
  }
  store_->flush();
  EXPECT_EQ(completed.load(), kSubmits);
  if (sqlite()) {
    RawDb raw(config_.path);  // while the store is still open
    EXPECT_EQ(raw.scalar("SELECT count(*) FROM settings"), std::to_string(kSubmits));
  }
  EXPECT_EQ(settings(restart()).size(), kSubmits);
}

TEST_P(StoreCommitTest, ClosingTheStoreCompletesEverythingSubmitted) {
  constexpr std::size_t kSubmits = 100;
  Completions done;
  for (std::size_t i = 0; i < kSubmits; ++i) {
    store_->submit({PutSetting{"c" + std::to_string(i), "v"}}, done.slot(i));
  }
  const Snapshot s = restart();  // destroys the store right away
  ASSERT_TRUE(done.wait_for(kSubmits, std::chrono::seconds(0)));
  for (std::size_t i = 0; i < kSubmits; ++i) {
    EXPECT_TRUE(done.result(i)) << i;
  }
  EXPECT_EQ(settings(s).size(), kSubmits);
}

TEST_P(StoreCommitTest, ACompletionMaySubmitTheNextChange) {
  // Callers chain writes from completions (e.g. a retry); the store's thread must not block.
  constexpr int kChain = 10;
  std::promise<int> finished;
  std::function<void(int)> next = [&](int step) {
    if (step == kChain) {
      finished.set_value(step);
      return;
    }
    store_->submit({PutSetting{"chain" + std::to_string(step), std::to_string(step)}},
                   [&, step](core::Result<void> result) {
                     if (!result) {
                       finished.set_value(-step);
                       return;
                     }
                     next(step + 1);
                   });
  };
  next(0);
  auto future = finished.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_EQ(future.get(), kChain);
  const auto stored = settings(restart());
  EXPECT_EQ(stored.size(), static_cast<std::size_t>(kChain));
  EXPECT_EQ(stored.count("chain9"), 1u);
}

TEST_P(StoreCommitTest, AnEmptySubmitCompletesSuccessfully) {
  auto result = submit_wait(*store_, {});
  EXPECT_TRUE(result) << error_message(result);
}

}  // namespace
}  // namespace presenced::store

namespace presenced::store {
namespace {

using namespace presenced::store::testing;

// Checkpoints run between batches, when no submit waits, and at 2000 pages regardless: however
// the submitter and the writer thread interleave, the WAL stays near 8 MB instead of growing
// with every commit, and a reopened store still holds every change.
TEST(SqliteCheckpointTest, TheWalStaysBoundedUnderBackToBackCommits) {
  TempDir dir;
  const SqliteConfig config = config_in(dir, /*synchronous_full=*/false);
  auto loaded = open_loaded(config);
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(submit_wait(*loaded->store, {PutUser{user("alice")}}));
  const std::string note(2000, 'n');  // about half a page per commit
  constexpr int kCommits = 8000;
  for (int i = 0; i < kCommits; ++i) {
    ASSERT_TRUE(submit_wait(*loaded->store,
                            {PutSetting{"key-" + std::to_string(i % 50), note + std::to_string(i)}}));
  }
  const auto wal = std::filesystem::path(config.path + "-wal");
  ASSERT_TRUE(std::filesystem::exists(wal));
  // 8000 commits of 1-2 pages each would be 32-64 MB of WAL without checkpoints.
  EXPECT_LT(std::filesystem::file_size(wal), 12U << 20);
  loaded->store.reset();
  auto snapshot = reload(config);
  ASSERT_TRUE(snapshot);
  std::map<std::string, std::string> settings(snapshot->settings.begin(),
                                              snapshot->settings.end());
  EXPECT_EQ(settings["key-49"], note + std::to_string(kCommits - 1));
  EXPECT_EQ(settings["key-0"], note + std::to_string(kCommits - 50));
}

}  // namespace
}  // namespace presenced::store
