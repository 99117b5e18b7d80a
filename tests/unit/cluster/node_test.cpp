// Two cluster nodes, each with its own engine, on a real nats-server with JetStream (ctest's
// `nats` fixture): what one publishes the other applies, bad values change nothing, and a node
// that goes silent has its sessions ended on the other after its lease.

#include "cluster/layer_codec.h"
#include "cluster/node.h"

#include "test_nats.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace presenced::cluster {
namespace {

using namespace std::chrono_literals;

core::TimePoint now() { return core::to_time_point(core::Clock::now()); }

// One node with its engine and the queue of tasks its watch and writer post, run by the test's
// thread as a server's loop would.
class Member {
 public:
  Member(NodeConfig config) : engine_(core::EngineConfig{}, 0) {
    user_ = *engine_.add_user(core::UserId{"u.1"}, {}, now());
    auto node = Node::open(std::move(config), engine_);
    EXPECT_TRUE(node) << node.error().message;
    node_ = std::move(*node);
    auto caught_up = node_->catch_up(
        [this](Task task) {
          std::lock_guard lock(mutex_);
          tasks_.push_back(std::move(task));
        },
        10s);
    EXPECT_TRUE(caught_up) << caught_up.error().message;
  }

  // Runs posted tasks until `done` holds; false after `timeout`.
  template <typename Predicate>
  bool run_until(Predicate done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::deque<Task> ready;
      {
        std::lock_guard lock(mutex_);
        ready.swap(tasks_);
      }
      for (Task& task : ready) {
        task();
      }
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  const core::Layers& layers() const { return engine_.layers(user_); }
  core::Engine& engine() { return engine_; }
  core::UserIndex user() const { return user_; }
  Node& node() { return *node_; }
  void leave() { node_.reset(); }

 private:
  core::Engine engine_;
  core::UserIndex user_ = 0;
  std::mutex mutex_;
  std::deque<Task> tasks_;
  std::unique_ptr<Node> node_;
};

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = test_kv_config();
    if (!config) {
      GTEST_SKIP() << "no test NATS server: run through ctest (fixture `nats`)";
    }
    kv_ = *config;
  }

  NodeConfig config(std::string id) {
    NodeConfig c;
    c.kv = kv_;
    c.node_id = std::move(id);
    c.heartbeat = 100ms;
    c.lease = 600ms;
    return c;
  }

  KvConfig kv_;
};

TEST_F(NodeTest, AManualStatePublishedOnOneNodeIsAppliedOnTheOther) {
  Member a(config("a"));
  Member b(config("b"));
  a.engine().set_manual(a.user(), core::ManualLayer{"Busy", "from a", {}, {}, {}, now()}, now());
  std::optional<bool> acknowledged;
  a.node().publish({{"u.1", core::Layer::Manual}}, [&](bool ok) { acknowledged = ok; });
  ASSERT_TRUE(a.run_until([&] { return acknowledged.has_value(); }));
  EXPECT_TRUE(*acknowledged);
  ASSERT_TRUE(b.run_until([&] { return b.layers().manual.has_value(); }));
  EXPECT_EQ(b.layers().manual->note, "from a");
  // A third node starting later catches up before it serves.
  Member c(config("c"));
  ASSERT_TRUE(c.layers().manual);
  EXPECT_EQ(c.layers().manual->state_id, "Busy");
}

TEST_F(NodeTest, AMalformedValueChangesNothingAndLaterValuesStillApply) {
  Member a(config("a"));
  Member b(config("b"));
  auto kv = NatsKv::open(kv_);
  ASSERT_TRUE(kv);
  ASSERT_TRUE((*kv)->put(layer_key(core::Layer::Manual, "u.1"), "not a layer"));
  a.engine().set_manual(a.user(), core::ManualLayer{"Away", "", {}, {}, {}, now()}, now());
  bool published = false;
  a.node().publish({{"u.1", core::Layer::Manual}}, [&](bool) { published = true; });
  ASSERT_TRUE(a.run_until([&] { return published; }));
  ASSERT_TRUE(b.run_until([&] { return b.layers().manual.has_value(); }));
  EXPECT_EQ(b.layers().manual->state_id, "Away");
}

TEST_F(NodeTest, ASilentNodesSessionsEndOnTheOthersAfterItsLease) {
  Member a(config("a"));
  Member b(config("b"));
  core::Session session;
  session.client_id = "ws-1";
  session.kind = "websocket";
  session.since = now();
  a.engine().open_session(a.user(), session, now());
  a.node().publish({{"u.1", core::Layer::Sessions}}, [](bool) {});
  ASSERT_TRUE(b.run_until([&] { return b.layers().sessions.sessions.size() == 1; }));
  EXPECT_EQ(b.layers().sessions.sessions[0].client_id, "a/ws-1");
  // While A beats, its session stays.
  EXPECT_FALSE(b.run_until([&] { return b.layers().sessions.sessions.empty(); }, 1500ms));
  a.leave();
  const auto left = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.run_until([&] { return b.layers().sessions.sessions.empty(); }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - left, 400ms);
}

}  // namespace
}  // namespace presenced::cluster
