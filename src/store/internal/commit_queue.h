#pragma once

// The writer side both backends share: submit() queues mutations from any thread; one writer
// thread takes as many queued submits as fit in a batch (at least one, however large) and hands
// them to the backend, which commits them in one transaction, each submit atomically, and runs
// their completions. Submits are taken in order, so they commit and complete in order.

#include "store/store.h"

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <algorithm>
#include <thread>
#include <variant>
#include <vector>

namespace presenced::store {

struct Pending {
  std::vector<Mutation> mutations;
  Completion done;
};

class CommitQueue {
 public:
  using CommitBatch = std::function<void(std::vector<Pending>& batch)>;

  CommitQueue(std::size_t max_batch, CommitBatch commit);
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;
  // Commits everything submitted so far, then stops the writer.
  ~CommitQueue();

  void submit(std::vector<Mutation> mutations, Completion done);
  // Starts the writer (once); submits before it wait.
  void start();
  // Blocks until everything submitted so far has completed; starts the writer if need be.
  void flush();
  // Whether no submit waits (for work a backend does only when idle, e.g. a checkpoint).
  bool idle() const;

 private:
  void write_loop();

  const std::size_t max_batch_;
  const CommitBatch commit_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::once_flag started_;
  std::thread writer_;
};

// The transaction both backends run per batch: `begin`, then each submit atomically under a
// savepoint (a failing one is rolled back alone), then one commit for all. `db.exec(sql)` and
// `apply(mutation)` give core::Result<void>. Returns one result per submit, in batch order.
template <typename Db, typename Apply>
std::vector<core::Result<void>> run_batch(Db& db, const char* begin, std::vector<Pending>& batch,
                                          Apply&& apply) {
  std::vector<core::Result<void>> results(batch.size());
  auto begun = db.exec(begin);
  if (!begun) {
    std::fill(results.begin(), results.end(), core::Result<void>(begun.error()));
    return results;
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].mutations.empty()) {
      continue;
    }
    results[i] = db.exec("SAVEPOINT submit");
    for (const Mutation& m : batch[i].mutations) {
      if (!results[i]) {
        break;
      }
      results[i] = std::visit(apply, m);
      if (!results[i]) {
        (void)db.exec("ROLLBACK TO SAVEPOINT submit");
      }
    }
    auto released = db.exec("RELEASE SAVEPOINT submit");
    if (results[i] && !released) {
      results[i] = released.error();
    }
  }
  auto committed = db.exec("COMMIT");
  if (!committed) {
    (void)db.exec("ROLLBACK");
    std::fill(results.begin(), results.end(), core::Result<void>(committed.error()));
  }
  return results;
}

// Runs the completions of a batch, outside any lock the commit held.
inline void complete(std::vector<Pending>& batch, std::vector<core::Result<void>>& results) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].done) {
      batch[i].done(std::move(results[i]));
    }
  }
}

}  // namespace presenced::store
