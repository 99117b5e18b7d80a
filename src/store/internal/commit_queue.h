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
#include <thread>
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

}  // namespace presenced::store
