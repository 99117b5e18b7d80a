// Two cluster nodes, each with its own engine, on a real nats-server with JetStream (ctest's
// `nats` fixture): what one publishes the other applies, bad values change nothing, and a node
// that goes silent has its sessions ended on the other after its lease.

#include "cluster/layer_codec.h"
#include "cluster/node.h"

#include "test_nats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace presenced::cluster {
namespace {

using namespace std::chrono_literals;

core::TimePoint now() { return core::to_time_point(core::Clock::now()); }

// One node with its engine and the queue of tasks its watch and writer post, run by the test's
// thread as a server's loop would.
class Member {
 public:
  explicit Member(NodeConfig config, ApplyDirectory directory = {})
      : engine_(core::EngineConfig{}, 0) {
    user_ = *engine_.add_user(core::UserId{"u.1"}, {}, now());
    auto node = Node::open(std::move(config), engine_);
    EXPECT_TRUE(node) << node.error().message;
    node_ = std::move(*node);
    node_->on_directory(std::move(directory));
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

TEST_F(NodeTest, DirectoryChangesReachTheOtherNodeInOrderAndALaterOneCatchesUp) {
  // What a node was told of "dir.1" and its token, in order.
  const auto recorder = [](std::vector<std::string>& into) {
    return [&into](const store::Mutation& change) {
      if (const auto* put = std::get_if<store::PutUser>(&change); put && put->user.id == "dir.1") {
        into.push_back("user " + put->user.display_name);
      } else if (const auto* removed = std::get_if<store::DeleteUser>(&change);
                 removed && removed->id == "dir.1") {
        into.push_back("deleted");
      } else if (const auto* token = std::get_if<store::PutToken>(&change);
                 token && token->token.user == "dir.1") {
        into.push_back("token");
      }
    };
  };
  std::vector<std::string> on_a;
  std::vector<std::string> on_b;
  Member a(config("a"), recorder(on_a));
  Member b(config("b"), recorder(on_b));
  store::UserRecord user;
  user.id = "dir.1";
  user.display_name = "first";
  store::TokenRecord token{"d1r", "dir.1", now() + std::chrono::hours(1), "login"};
  std::optional<bool> acknowledged;
  a.node().publish({}, {store::PutUser{user}, store::PutToken{token}, store::PutManual{}},
                   [&](bool ok) { acknowledged = ok; });
  // A answers once its own watch applied them: it has them too.
  ASSERT_TRUE(a.run_until([&] { return acknowledged.has_value(); }));
  EXPECT_TRUE(*acknowledged);
  EXPECT_EQ(on_a, (std::vector<std::string>{"user first", "token"}));
  ASSERT_TRUE(b.run_until([&] { return on_b.size() == 2; }));
  EXPECT_EQ(on_b, (std::vector<std::string>{"user first", "token"}));
  user.display_name = "second";
  a.node().publish({}, {store::PutUser{user}, store::DeleteUser{"dir.1"}}, [](bool) {});
  ASSERT_TRUE(b.run_until([&] { return on_b.size() == 4; }));
  EXPECT_EQ(on_b[2], "user second");
  EXPECT_EQ(on_b[3], "deleted");
  // A node that starts now gets the latest of each key: the user deleted, the token as it was.
  std::vector<std::string> on_c;
  Member c(config("c"), recorder(on_c));
  std::sort(on_c.begin(), on_c.end());
  EXPECT_EQ(on_c, (std::vector<std::string>{"deleted", "token"}));
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

// Runs both members' tasks, as two servers' loops would, until `done` holds.
template <typename Predicate>
bool run_both_until(Member& a, Member& b, Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    // One round of each member's queue: the predicate holds from its second look on.
    a.run_until([looked = false]() mutable { return std::exchange(looked, true); });
    b.run_until([looked = false]() mutable { return std::exchange(looked, true); });
  }
  return true;
}

TEST_F(NodeTest, TheLiveNodesFollowHeartbeatsAndLeases) {
  Member a(config("live-a"));
  std::vector<std::vector<std::string>> told;
  a.node().on_live_nodes([&](const std::vector<std::string>& live) { told.push_back(live); });
  const std::vector<std::string> both{"live-a", "live-b"};
  {
    Member b(config("live-b"));
    // Nodes of earlier tests may count as live for a lease after their last heartbeat.
    ASSERT_TRUE(a.run_until([&] { return a.node().live_nodes() == both; }, 5s));
    ASSERT_FALSE(told.empty());
    EXPECT_EQ(told.back(), both);
  }
  const auto left = std::chrono::steady_clock::now();
  ASSERT_TRUE(a.run_until(
      [&] { return a.node().live_nodes() == std::vector<std::string>{"live-a"}; }, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - left, 400ms);  // not before its lease
  EXPECT_EQ(told.back(), std::vector<std::string>{"live-a"});
}

// docs/cluster.md, "A node that dies": each survivor ends the silent node's sessions, and
// exactly one of them applies the logout of a user left without a session.
TEST_F(NodeTest, ALogoutLeftByASilentNodeIsClaimedByExactlyOneSurvivor) {
  // A user of this test alone: the bucket still holds sessions of earlier tests' nodes, whose
  // users' logouts the survivors claim as well.
  const core::UserId user{"orphan.1"};
  Member b(config("orphan-b"));
  Member c(config("orphan-c"));
  const auto b_user = *b.engine().add_user(user, {}, now());
  const auto c_user = *c.engine().add_user(user, {}, now());
  int logouts = 0;
  for (Member* m : {&b, &c}) {
    m->node().on_orphaned_logout([&](const std::string& id) { logouts += id == user.value; });
  }
  {
    Member a(config("orphan-a"));
    const auto a_user = *a.engine().add_user(user, {}, now());
    core::Session session;
    session.client_id = "ws-1";
    session.kind = "websocket";
    session.since = now();
    a.engine().open_session(a_user, session, now());
    a.node().publish({{user.value, core::Layer::Sessions}}, [](bool) {});
    ASSERT_TRUE(run_both_until(b, c, [&] {
      return b.engine().layers(b_user).sessions.sessions.size() == 1 &&
             c.engine().layers(c_user).sessions.sessions.size() == 1;
    }, 5s));
  }
  // Each survivor ends the sessions when it finds the lease lapsed, one maybe a beat after the
  // other claimed the logout.
  EXPECT_TRUE(run_both_until(b, c, [&] {
    return logouts >= 1 && b.engine().layers(b_user).sessions.sessions.empty() &&
           c.engine().layers(c_user).sessions.sessions.empty();
  }, 10s));
  EXPECT_EQ(logouts, 1);
  // The loser's claim came back refused: no second logout follows.
  EXPECT_FALSE(run_both_until(b, c, [&] { return logouts > 1; }, 1500ms));
}

}  // namespace
}  // namespace presenced::cluster
