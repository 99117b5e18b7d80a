// ContactListsBuilder, which both backends use at load: ids become positions in the users, each
// owner's rows end up in one list whatever their order, and rows naming unknown ids are dropped.

#include "store/internal/contact_lists.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace presenced::store {
namespace {

UserRecord user_named(std::string id) {
  UserRecord u;
  u.id = std::move(id);
  return u;
}

std::vector<UserRecord> users_named(std::initializer_list<const char*> ids) {
  std::vector<UserRecord> users;
  for (const char* id : ids) {
    users.push_back(user_named(id));
  }
  return users;
}

std::vector<std::vector<std::uint32_t>> lists_of(const ContactLists& lists, std::size_t users) {
  std::vector<std::vector<std::uint32_t>> out;
  for (std::size_t owner = 0; owner < users; ++owner) {
    const auto list = lists.of(owner);
    out.emplace_back(list.begin(), list.end());
  }
  return out;
}

TEST(UserPositionsTest, FindsEveryUserAndNothingElse) {
  std::vector<UserRecord> users;
  for (int i = 0; i < 1000; ++i) {
    users.push_back(user_named("user" + std::to_string(i)));
  }
  const records::UserPositions positions(users);
  for (std::uint32_t p = 0; p < users.size(); ++p) {
    ASSERT_EQ(positions.find(users[p].id), p) << users[p].id;
  }
  EXPECT_EQ(positions.find("user1000"), records::UserPositions::kAbsent);
  EXPECT_EQ(positions.find(""), records::UserPositions::kAbsent);
  EXPECT_EQ(positions.find("user"), records::UserPositions::kAbsent);
}

using Rows = std::vector<std::pair<const char*, const char*>>;

ContactLists build(const std::vector<UserRecord>& users, const Rows& rows) {
  records::ContactListsBuilder builder(users);
  for (const auto& [owner, contact] : rows) {
    builder.add(owner, contact);
  }
  return std::move(builder).finish();
}

TEST(ContactListsBuilderTest, RowsGroupedByOwnerKeepTheirOrder) {
  const auto users = users_named({"ann", "ben", "cat"});
  const ContactLists lists = build(users, {{"ann", "cat"}, {"ann", "ben"}, {"cat", "ann"}});
  EXPECT_EQ(lists_of(lists, 3), (std::vector<std::vector<std::uint32_t>>{{2, 1}, {}, {0}}));
  EXPECT_EQ(lists.size(), 3u);
}

TEST(ContactListsBuilderTest, RowsInAnyOrderAreGatheredByOwner) {
  const auto users = users_named({"ann", "ben", "cat"});
  const ContactLists lists = build(
      users, {{"cat", "ann"}, {"ann", "ben"}, {"cat", "ben"}, {"ben", "cat"}, {"ann", "cat"}});
  EXPECT_EQ(lists_of(lists, 3),
            (std::vector<std::vector<std::uint32_t>>{{1, 2}, {2}, {0, 1}}));
}

TEST(ContactListsBuilderTest, RowsNamingUnknownUsersAreDropped) {
  const auto users = users_named({"ann", "ben"});
  records::ContactListsBuilder builder(users);
  builder.add("ann", "zed");
  builder.add("zed", "ann");
  builder.add("ann", "ben");
  builder.add("yan", "ben");
  const ContactLists lists = std::move(builder).finish();
  EXPECT_EQ(lists_of(lists, 2), (std::vector<std::vector<std::uint32_t>>{{1}, {}}));
  EXPECT_TRUE(lists.of(2).empty());
}

TEST(ContactListsBuilderTest, NoRowsGiveEmptyLists) {
  const auto users = users_named({"ann"});
  const ContactLists lists = records::ContactListsBuilder(users).finish();
  EXPECT_TRUE(lists.empty());
  EXPECT_TRUE(lists.of(0).empty());
}

}  // namespace
}  // namespace presenced::store
