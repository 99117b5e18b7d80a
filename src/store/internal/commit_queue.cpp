#include "store/internal/commit_queue.h"

#include <future>

namespace presenced::store {

CommitQueue::CommitQueue(std::size_t max_batch, CommitBatch commit)
    : max_batch_(max_batch), commit_(std::move(commit)) {}

CommitQueue::~CommitQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) {
    writer_.join();
  }
}

void CommitQueue::submit(std::vector<Mutation> mutations, Completion done) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back({std::move(mutations), std::move(done)});
  }
  wake_.notify_one();
}

void CommitQueue::start() {
  std::call_once(started_, [this] { writer_ = std::thread([this] { write_loop(); }); });
}

void CommitQueue::flush() {
  std::promise<void> flushed;
  auto future = flushed.get_future();
  submit({}, [&flushed](core::Result<void>) { flushed.set_value(); });
  start();
  future.wait();
}

bool CommitQueue::idle() const {
  std::lock_guard lock(mutex_);
  return queue_.empty();
}

void CommitQueue::write_loop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        return;  // stopping, and everything submitted is done
      }
      std::size_t count = 0;
      while (!queue_.empty() &&
             (batch.empty() || count + queue_.front().mutations.size() <= max_batch_)) {
        count += queue_.front().mutations.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_(batch);
  }
}

}  // namespace presenced::store
