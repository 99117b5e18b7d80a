// Durability across a kill -9: a child process writes through the store and reports each
// acknowledged submit on a pipe; the parent kills it mid-stream and checks that everything
// acknowledged is in the file, and that what survived is whole submits in submit order.

#include "store/store.h"

#include "unit/store/store_test_util.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace presenced::store {
namespace {

using namespace presenced::store::testing;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kMaxSubmits = 10'000'000;  // far more than a child gets to write
constexpr std::size_t kInFlight = 64;              // submits the child keeps queued

std::string key(int round, std::uint32_t index) {
  return "r" + std::to_string(round) + "-" + std::to_string(index);
}

// One submit: three rows that must survive together or not at all.
std::vector<Mutation> mutations_for(int round, std::uint32_t index) {
  UserRecord u;
  u.id = key(round, index);
  u.display_name = "crash " + u.id;
  u.password_hash = "hash";
  return {PutUser{u}, PutDevice{{u.id, "desk", std::to_string(index), ""}},
          PutSetting{u.id, std::to_string(index)}};
}

// The child: no gtest here, and _exit() only. Never returns.
[[noreturn]] void write_until_killed(const SqliteConfig& config, int round, int ack_fd) {
  alarm(30);  // should the parent never kill it
  auto opened = open_sqlite(config);
  if (!opened) {
    _exit(2);
  }
  Store& store = **opened;
  if (!store.load()) {
    _exit(3);
  }
  std::mutex mutex;
  std::condition_variable room;
  std::size_t in_flight = 0;
  for (std::uint32_t i = 0; i < kMaxSubmits; ++i) {
    {
      std::unique_lock lock(mutex);
      room.wait(lock, [&] { return in_flight < kInFlight; });
      ++in_flight;
    }
    store.submit(mutations_for(round, i), [&, i](core::Result<void> result) {
      if (result) {
        // Four bytes: atomic on a pipe (below PIPE_BUF).
        if (write(ack_fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) {
          _exit(4);
        }
      }
      {
        std::lock_guard lock(mutex);
        --in_flight;
      }
      room.notify_one();
    });
  }
  store.flush();
  _exit(0);
}

// Reads acknowledged indexes from the pipe until `deadline` (or the first one, with
// `first_only`) or end of file.
class AckReader {
 public:
  explicit AckReader(int fd) : fd_(fd) {}

  // False at end of file.
  bool read_until(Clock::time_point deadline, bool first_only = false) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
      if (ready <= 0) {
        return true;  // deadline
      }
      char buffer[4096];
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) {
        return false;
      }
      pending_.append(buffer, static_cast<std::size_t>(n));
      std::size_t used = 0;
      for (; used + 4 <= pending_.size(); used += 4) {
        std::uint32_t index = 0;
        std::memcpy(&index, pending_.data() + used, sizeof index);
        acked.insert(index);
      }
      pending_.erase(0, used);
      if (Clock::now() >= deadline || (first_only && !acked.empty())) {
        return true;
      }
    }
  }

  std::set<std::uint32_t> acked;

 private:
  int fd_;
  std::string pending_;
};

struct Round {
  int kill_after_ms;
  bool synchronous_full;
};

TEST(SqliteCrashTest, EveryAcknowledgedSubmitSurvivesAKill) {
  // Kill delays counted from the first acknowledgement; both sync modes promise to survive the
  // death of the process (FULL also a power loss). All rounds share one file, so each child
  // also recovers the log its killed predecessor left.
  const std::vector<Round> rounds = {{0, true},   {3, true},   {15, true},  {60, true},
                                     {150, true}, {0, false},  {5, false},  {40, false},
                                     {120, false}};
  TempDir dir;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    const int round = static_cast<int>(r);
    const Round& how = rounds[r];
    SCOPED_TRACE("round " + std::to_string(round) + ", kill after " +
                 std::to_string(how.kill_after_ms) + " ms, synchronous " +
                 (how.synchronous_full ? "FULL" : "NORMAL"));
    const SqliteConfig config = config_in(dir, how.synchronous_full);

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      write_until_killed(config, round, fds[1]);
    }
    close(fds[1]);
    AckReader reader(fds[0]);
    const bool open = reader.read_until(Clock::now() + std::chrono::seconds(10), true);
    const bool acknowledged = !reader.acked.empty();
    if (open && acknowledged) {
      reader.read_until(Clock::now() + std::chrono::milliseconds(how.kill_after_ms));
    }
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    // Acknowledgements still in the pipe were sent before the kill: they count too.
    while (reader.read_until(Clock::now() + std::chrono::seconds(5))) {
    }
    close(fds[0]);
    ASSERT_TRUE(acknowledged) << "no acknowledgement within 10 s; child status " << status;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child was not writing any more when killed; status " << status;

    auto snapshot = reload(config);
    ASSERT_TRUE(snapshot);
    const std::string prefix = "r" + std::to_string(round) + "-";
    auto index_of = [&](const std::string& id) -> std::optional<std::uint32_t> {
      if (id.compare(0, prefix.size(), prefix) != 0) {
        return std::nullopt;
      }
      return static_cast<std::uint32_t>(std::stoul(id.substr(prefix.size())));
    };
    std::set<std::uint32_t> users;
    std::set<std::uint32_t> devices;
    std::set<std::uint32_t> settings;
    for (const auto& u : snapshot->users) {
      if (auto i = index_of(u.id)) {
        users.insert(*i);
      }
    }
    for (const auto& d : snapshot->devices) {
      if (auto i = index_of(d.user); i && d.label == std::to_string(*i)) {
        devices.insert(*i);
      }
    }
    for (const auto& [k, v] : snapshot->settings) {
      if (auto i = index_of(k); i && v == std::to_string(*i)) {
        settings.insert(*i);
      }
    }

    std::vector<std::uint32_t> lost;
    for (std::uint32_t i : reader.acked) {
      if (users.count(i) == 0 || devices.count(i) == 0 || settings.count(i) == 0) {
        lost.push_back(i);
      }
    }
    EXPECT_TRUE(lost.empty()) << lost.size() << " of " << reader.acked.size()
                              << " acknowledged submits are missing, first "
                              << (lost.empty() ? 0 : lost.front());
    // Whole submits only, and in submit order: what survived is 0..n-1 in every table.
    EXPECT_EQ(users, devices);
    EXPECT_EQ(users, settings);
    ASSERT_FALSE(users.empty());
    EXPECT_EQ(*users.rbegin() + 1, users.size()) << "a gap in what survived";
    EXPECT_LT(users.size(), kMaxSubmits);
    // The child's load() counted too: two loads per round.
    EXPECT_EQ(snapshot->boot_generation, 2u * (r + 1));
    std::printf("  round %d: killed %d ms after the first ack, %zu acknowledged, %zu on disk\n",
                round, how.kill_after_ms, reader.acked.size(), users.size());
  }
}

}  // namespace
}  // namespace presenced::store
