// Rendezvous hashing of work over the live nodes (docs/cluster.md, "Work partitioned by
// user"): every node agrees, the work spreads, and a node joining or leaving moves only its share.

#include "cluster/partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace presenced::cluster {
namespace {

std::vector<std::string> users(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back("user" + std::to_string(i) + "@example.com");
  }
  return out;
}

std::map<std::string, std::string> owners(const std::vector<std::string>& keys,
                                          const std::vector<std::string>& nodes) {
  std::map<std::string, std::string> out;
  for (const std::string& key : keys) {
    out[key] = owner_of(key, nodes);
  }
  return out;
}

int moved(const std::map<std::string, std::string>& before,
          const std::map<std::string, std::string>& after) {
  int n = 0;
  for (const auto& [key, owner] : before) {
    n += after.at(key) != owner;
  }
  return n;
}

TEST(PartitionTest, NoNodesOwnNothingAndOneNodeOwnsEverything) {
  EXPECT_EQ(owner_of("alice", {}), "");
  for (const std::string& key : users(100)) {
    EXPECT_EQ(owner_of(key, {"node1"}), "node1");
  }
}

TEST(PartitionTest, TheOwnerDoesNotDependOnTheOrderNodesAreListedIn) {
  const std::vector<std::string> nodes{"a", "b", "c", "d"};
  std::vector<std::string> reversed(nodes.rbegin(), nodes.rend());
  EXPECT_EQ(owners(users(1000), nodes), owners(users(1000), reversed));
}

// The weights are part of the wire contract: nodes of different builds must agree.
TEST(PartitionTest, WeightsAreFixedAcrossBuilds) {
  EXPECT_EQ(rendezvous_weight("node1", "alice"), rendezvous_weight("node1", "alice"));
  EXPECT_NE(rendezvous_weight("node1", "alice"), rendezvous_weight("node2", "alice"));
  EXPECT_NE(rendezvous_weight("ab", "c"), rendezvous_weight("a", "bc"));
  EXPECT_EQ(rendezvous_weight("a", "alice"), 0xcc19877695b69f2dULL);
}

TEST(PartitionTest, EachOfThreeNodesOwnsAboutAThird) {
  std::map<std::string, int> count;
  for (const auto& [key, owner] : owners(users(3000), {"a", "b", "c"})) {
    ++count[owner];
  }
  ASSERT_EQ(count.size(), 3U);
  for (const auto& [node, n] : count) {
    EXPECT_GT(n, 800) << node;  // 1000 expected; a binomial's spread is about 26
    EXPECT_LT(n, 1200) << node;
  }
}

TEST(PartitionTest, ANodeJoiningTakesAboutItsShareAndMovesNothingElse) {
  const auto keys = users(4000);
  const auto before = owners(keys, {"a", "b", "c"});
  const auto after = owners(keys, {"a", "b", "c", "d"});
  for (const auto& [key, owner] : after) {
    if (owner != before.at(key)) {
      EXPECT_EQ(owner, "d") << key;  // only to the new node, never between the old ones
    }
  }
  const int n = moved(before, after);
  EXPECT_GT(n, 800);  // 1000 expected: 1/4 of the keys
  EXPECT_LT(n, 1200);
}

TEST(PartitionTest, ANodeLeavingMovesOnlyWhatItOwned) {
  const auto keys = users(3000);
  const auto before = owners(keys, {"a", "b", "c"});
  const auto after = owners(keys, {"a", "c"});
  for (const auto& [key, owner] : before) {
    if (owner != "b") {
      EXPECT_EQ(after.at(key), owner) << key;
    } else {
      EXPECT_NE(after.at(key), "b") << key;
    }
  }
}

}  // namespace
}  // namespace presenced::cluster
