// Whom a SIP digest username names (docs/sip.md, "Authentication"): a user id first, then the
// first "user-device" split whose device has a secret.

#include "api/internal/sip_logins.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>

namespace presenced::api {
namespace {

class SipLoginsTest : public testing::Test {
 protected:
  std::optional<SipLogin> resolve(std::string_view username) const {
    return resolve_sip_login(
        username, [this](std::string_view user) { return users_.contains(std::string(user)); },
        [this](std::string_view user, std::string_view device) {
          return secrets_.contains({std::string(user), std::string(device)});
        });
  }

  std::set<std::string> users_{"alice", "bob", "a", "a-b"};
  std::set<std::pair<std::string, std::string>> secrets_{{"alice", "desk"}, {"a", "b-c"}};
};

TEST_F(SipLoginsTest, AUserIdNamesTheUser) {
  const auto login = resolve("alice");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->user, "alice");
  EXPECT_EQ(login->device, "");
}

TEST_F(SipLoginsTest, UserDashDeviceNamesADeviceWithASecret) {
  EXPECT_EQ(device_sip_username("alice", "desk"), "alice-desk");
  const auto login = resolve("alice-desk");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->user, "alice");
  EXPECT_EQ(login->device, "desk");
}

TEST_F(SipLoginsTest, ADeviceWithoutASecretOrAnUnknownNameIsNobody) {
  EXPECT_FALSE(resolve("bob-desk"));
  EXPECT_FALSE(resolve("mallory"));
  EXPECT_FALSE(resolve("alice-"));
  EXPECT_FALSE(resolve("-desk"));
  EXPECT_FALSE(resolve(""));
}

TEST_F(SipLoginsTest, AnExactUserIdWinsOverASplit) {
  secrets_.insert({"a", "b"});  // "a-b" is also a user: the API refuses this with 409
  const auto login = resolve("a-b");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->user, "a-b");
  EXPECT_EQ(login->device, "");
}

TEST_F(SipLoginsTest, DashesInIdsAreSplitFromTheLeft) {
  // "a-b-c": user "a" with device "b-c" is found before user "a-b" with device "c".
  secrets_.insert({"a-b", "c"});  // refused with 409 by the API; the order decides here
  const auto login = resolve("a-b-c");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->user, "a");
  EXPECT_EQ(login->device, "b-c");
  secrets_.erase({"a", "b-c"});
  const auto other = resolve("a-b-c");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->user, "a-b");
  EXPECT_EQ(other->device, "c");
}

}  // namespace
}  // namespace presenced::api
