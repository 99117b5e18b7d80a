// The schema: migrations on a fresh file, the journal mode, and what open_sqlite() does with a
// file from an older or a newer presenced, or with something that is not a store at all.

#include "store/store.h"

#include "unit/store/store_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace presenced::store {
namespace {

using namespace presenced::store::testing;
using ::testing::HasSubstr;

// The schema this presenced writes: three migrations so far.
constexpr int kLatestVersion = 3;

const std::vector<std::string> kTables = {
    "appointments", "calls",    "contacts", "devices",  "documents", "groups",     "manual",
    "meta",         "settings", "states",   "tokens",   "user_groups", "users",
    "visibility"};

std::vector<std::string> tables(RawDb& raw) {
  std::vector<std::string> out;
  for (const auto& row :
       raw.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")) {
    out.push_back(row.at(0));
  }
  return out;
}

class SqliteSchemaTest : public ::testing::Test {
 protected:
  TempDir dir_;
  SqliteConfig config_ = config_in(dir_);
};

TEST_F(SqliteSchemaTest, AFreshDirectoryGetsTheWholeSchema) {
  ASSERT_TRUE(open_store(config_));
  RawDb raw(config_.path);
  EXPECT_EQ(tables(raw), kTables);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion));
  EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key = 'boot_generation'"), "0");
  // The journal mode is kept in the file; foreign keys are per connection, so the schema's
  // cascades are checked in the round-trip tests.
  EXPECT_EQ(raw.scalar("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteSchemaTest, ReopeningRunsNoMigrationTwiceAndKeepsTheData) {
  {
    auto loaded = open_loaded(config_);
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(submit_wait(*loaded->store, {PutSetting{"kept", "yes"}}));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(open_store(config_)) << "reopen " << i;
  }
  auto snapshot = reload(config_);
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->settings.size(), 1u);
  EXPECT_EQ(snapshot->settings[0], std::make_pair(std::string("kept"), std::string("yes")));
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion));
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM meta"), "1");
}

TEST_F(SqliteSchemaTest, AnEmptyFileIsMigratedFromVersionZero) {
  std::ofstream(config_.path).close();
  ASSERT_TRUE(std::filesystem::exists(config_.path));
  auto snapshot = reload(config_);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->boot_generation, 1u);
  RawDb raw(config_.path);
  EXPECT_EQ(tables(raw), kTables);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion));
}

TEST_F(SqliteSchemaTest, AnOlderDatabaseIsMigratedAndKeepsWhatElseItHolds) {
  {
    RawDb raw(config_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(raw.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hello')"));
    ASSERT_EQ(raw.scalar("PRAGMA user_version"), "0");
  }
  auto loaded = open_loaded(config_);
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(submit_wait(*loaded->store, {PutGroup{{"g", "G"}}}));
  loaded.reset();
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion));
  EXPECT_EQ(raw.scalar("SELECT text FROM notes"), "hello");
  EXPECT_EQ(raw.scalar("SELECT display_name FROM groups WHERE id = 'g'"), "G");
}

TEST_F(SqliteSchemaTest, DevicesOfAVersion2StoreKeepTheirLabelsAndGetNoSipPassword) {
  {
    auto loaded = open_loaded(config_);
    ASSERT_TRUE(loaded);
    UserRecord alice;
    alice.id = "alice";
    ASSERT_TRUE(submit_wait(*loaded->store, {PutUser{alice}}));
  }
  {
    // Back to version 2 as an older presenced wrote it: devices without sip_password.
    RawDb raw(config_.path);
    ASSERT_TRUE(raw.exec("ALTER TABLE devices DROP COLUMN sip_password; "
                         "INSERT INTO devices VALUES ('alice', 'desk', 'Desk phone'); "
                         "PRAGMA user_version = 2"));
  }
  auto snapshot = reload(config_);
  ASSERT_TRUE(snapshot);
  ASSERT_EQ(snapshot->devices.size(), 1u);
  EXPECT_EQ(snapshot->devices[0].label, "Desk phone");
  EXPECT_EQ(snapshot->devices[0].sip_password, "");
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion));
}

TEST_F(SqliteSchemaTest, AFailingMigrationIsRolledBackAndReported) {
  {
    // Version 0, but a table of the first migration is there already (with another shape).
    RawDb raw(config_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(raw.exec("CREATE TABLE users (name TEXT)"));
  }
  auto opened = open_sqlite(config_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::ErrorCode::Internal);
  EXPECT_THAT(opened.error().message, HasSubstr("migration 1"));
  EXPECT_THAT(opened.error().message, HasSubstr("users"));
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), "0");
  EXPECT_EQ(tables(raw), std::vector<std::string>{"users"});  // nothing half-created
}

TEST_F(SqliteSchemaTest, ANewerSchemaIsRefusedWithAClearError) {
  {
    auto loaded = open_loaded(config_);
    ASSERT_TRUE(loaded);
    ASSERT_TRUE(submit_wait(*loaded->store, {PutSetting{"kept", "yes"}}));
  }
  {
    RawDb raw(config_.path);
    ASSERT_TRUE(raw.exec("PRAGMA user_version = " + std::to_string(kLatestVersion + 1)));
  }
  auto opened = open_sqlite(config_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::ErrorCode::FailedPrecondition);
  EXPECT_THAT(opened.error().message,
              HasSubstr("store schema version " + std::to_string(kLatestVersion + 1) +
                        " is newer than this presenced knows (" +
                        std::to_string(kLatestVersion) + ")"));
  // Refused, not touched: the version and the data are as they were.
  RawDb raw(config_.path);
  EXPECT_EQ(raw.scalar("PRAGMA user_version"), std::to_string(kLatestVersion + 1));
  EXPECT_EQ(raw.scalar("SELECT value FROM settings WHERE key = 'kept'"), "yes");
  EXPECT_EQ(raw.scalar("SELECT value FROM meta WHERE key = 'boot_generation'"), "1");
}

TEST_F(SqliteSchemaTest, AFarNewerSchemaIsRefusedToo) {
  {
    RawDb raw(config_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    ASSERT_TRUE(raw.exec("PRAGMA user_version = 4000"));
  }
  auto opened = open_sqlite(config_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::ErrorCode::FailedPrecondition);
  EXPECT_THAT(opened.error().message, HasSubstr("4000 is newer"));
}

TEST_F(SqliteSchemaTest, AFileThatIsNotADatabaseIsAnError) {
  std::ofstream(config_.path) << std::string(8192, 'x');
  auto opened = open_sqlite(config_);
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().message, HasSubstr("not a database"));
}

TEST_F(SqliteSchemaTest, AMissingDirectoryIsUnavailable) {
  config_.path = dir_.file("no/such/dir/presenced.db");
  auto opened = open_sqlite(config_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, core::ErrorCode::Unavailable);
  EXPECT_THAT(opened.error().message, HasSubstr(config_.path));
}

TEST(SqliteConfigTest, SynchronousFullIsTheDefault) {
  EXPECT_TRUE(SqliteConfig{}.synchronous_full);
}

}  // namespace
}  // namespace presenced::store
