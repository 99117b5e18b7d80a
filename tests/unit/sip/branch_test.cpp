#include "sip/internal/branch.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

namespace presenced::sip {
namespace {

// Enough identifiers to run through the per-thread pool several times: none may repeat, across
// refills included.
TEST(RandomIdentifiers, NoneRepeatsAcrossPoolRefills) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string branch = make_branch();
    ASSERT_EQ(branch.size(), kBranchCookie.size() + 24);
    ASSERT_EQ(branch.substr(0, kBranchCookie.size()), kBranchCookie);
    ASSERT_TRUE(seen.insert(branch).second) << branch;
    const std::string tag = make_tag();
    ASSERT_EQ(tag.size(), 16u);
    ASSERT_TRUE(seen.insert(tag).second) << tag;
  }
}

TEST(RandomIdentifiers, CallIdNamesTheHost) {
  const std::string id = make_call_id("pbx.example.com");
  EXPECT_EQ(id.size(), 32u + 1 + 15);
  EXPECT_EQ(id.substr(32), "@pbx.example.com");
  EXPECT_EQ(make_call_id("").size(), 32u);
}

// Requests above the pool's share go to the kernel directly; both paths fill every byte.
TEST(RandomIdentifiers, FillRandomFillsSmallAndLargeRequests) {
  for (const std::size_t size : {1u, 16u, 1000u, 1024u, 1025u, 10000u}) {
    std::vector<unsigned char> a(size, 0);
    std::vector<unsigned char> b(size, 0);
    fill_random(a.data(), a.size());
    fill_random(b.data(), b.size());
    if (size >= 16) {
      EXPECT_NE(a, b) << size;
      // 16 or more random bytes all zero would be a buffer never written.
      EXPECT_NE(std::vector<unsigned char>(size, 0), a) << size;
    }
  }
}

}  // namespace
}  // namespace presenced::sip
