#include "cluster/layer_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace presenced::cluster {
namespace {

core::TimePoint at(std::int64_t ms) { return core::TimePoint(core::Duration(ms)); }

store::UserRecord sample_user() {
  store::UserRecord u;
  u.id = "carol.b@x.org";
  u.display_name = "Carol B";
  u.role = store::Role::Admin;
  u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$abc$def";
  u.sip_password = "s3cret";
  u.groups = {"sales", "team.a"};
  u.settings.idle_after = std::chrono::minutes(7);
  u.settings.login_state = "available";
  u.settings.logout_state = "offline-note";
  u.settings.dnd_protection = true;
  return u;
}

store::Mutation round_trip(const store::Mutation& change) {
  const auto entry = directory_entry(change);
  EXPECT_TRUE(entry);
  auto decoded = decode_directory(entry->key, entry->value);
  EXPECT_TRUE(decoded && *decoded) << entry->key;
  return **decoded;
}

TEST(DirectoryCodecTest, EachEntityReadsBackAsWritten) {
  const auto user = std::get<store::PutUser>(round_trip(store::PutUser{sample_user()})).user;
  const store::UserRecord expected = sample_user();
  EXPECT_EQ(user.id, expected.id);
  EXPECT_EQ(user.display_name, expected.display_name);
  EXPECT_EQ(user.role, expected.role);
  EXPECT_EQ(user.password_hash, expected.password_hash);
  EXPECT_EQ(user.sip_password, expected.sip_password);
  EXPECT_EQ(user.groups, expected.groups);
  EXPECT_EQ(user.settings.idle_after, expected.settings.idle_after);
  EXPECT_EQ(user.settings.login_state, expected.settings.login_state);
  EXPECT_EQ(user.settings.logout_state, expected.settings.logout_state);
  EXPECT_TRUE(user.settings.dnd_protection);

  const store::TokenRecord token{"ab12", "carol.b@x.org", at(123456), "ci key"};
  const auto read_token = std::get<store::PutToken>(round_trip(store::PutToken{token})).token;
  EXPECT_EQ(read_token.token_hash, token.token_hash);
  EXPECT_EQ(read_token.user, token.user);
  EXPECT_EQ(read_token.expires_at, token.expires_at);
  EXPECT_EQ(read_token.label, token.label);

  const store::VisibilityRecord rule{"a.b", "c+d", core::VisibilityLevel::Blocked};
  const auto read_rule =
      std::get<store::PutVisibility>(round_trip(store::PutVisibility{rule})).visibility;
  EXPECT_EQ(read_rule.owner, rule.owner);
  EXPECT_EQ(read_rule.watcher, rule.watcher);
  EXPECT_EQ(read_rule.level, rule.level);

  core::StateDefinition state;
  state.id = "workshop";
  state.type = core::StateType::Dnd;
  state.message = "In a workshop";
  state.availability = core::Availability::DoNotDisturb;
  state.activity = core::Activity::Presenting;
  state.order = 42;
  const auto read_state = std::get<store::PutState>(round_trip(store::PutState{state})).state;
  EXPECT_EQ(read_state.id, state.id);
  EXPECT_EQ(read_state.type, state.type);
  EXPECT_EQ(read_state.message, state.message);
  EXPECT_EQ(read_state.availability, state.availability);
  EXPECT_EQ(read_state.activity, state.activity);
  EXPECT_EQ(read_state.order, state.order);
}

TEST(DirectoryCodecTest, DeletionsShareTheKeyOfTheEntityAndReadBack) {
  const auto put = directory_entry(store::PutUser{sample_user()});
  const auto removed = directory_entry(store::DeleteUser{"carol.b@x.org"});
  ASSERT_TRUE(put && removed);
  EXPECT_EQ(put->key, removed->key);
  EXPECT_TRUE(removed->value.empty());
  EXPECT_EQ(std::get<store::DeleteUser>(round_trip(store::DeleteUser{"carol.b@x.org"})).id,
            "carol.b@x.org");
  EXPECT_EQ(std::get<store::DeleteToken>(round_trip(store::DeleteToken{"ab12"})).token_hash,
            "ab12");
  const auto cleared =
      std::get<store::DeleteVisibility>(round_trip(store::DeleteVisibility{"a.b", "c+d"}));
  EXPECT_EQ(cleared.owner, "a.b");
  EXPECT_EQ(cleared.watcher, "c+d");
  EXPECT_EQ(std::get<store::DeleteState>(round_trip(store::DeleteState{"workshop"})).id,
            "workshop");
  // Two rules of one owner are two keys.
  EXPECT_NE(directory_entry(store::DeleteVisibility{"a", "b"})->key,
            directory_entry(store::DeleteVisibility{"a", "c"})->key);
}

TEST(DirectoryCodecTest, GroupsAndDevicesReadBack) {
  const auto group = std::get<store::PutGroup>(round_trip(store::PutGroup{{"sales", "Sales"}}));
  EXPECT_EQ(group.group.id, "sales");
  EXPECT_EQ(group.group.display_name, "Sales");
  const store::DeviceRecord device{"a.b", "desk.1", "Desk phone", "digest"};
  const auto read = std::get<store::PutDevice>(round_trip(store::PutDevice{device})).device;
  EXPECT_EQ(read.user, device.user);
  EXPECT_EQ(read.device, device.device);
  EXPECT_EQ(read.label, device.label);
  EXPECT_EQ(read.sip_password, device.sip_password);
  const auto unplugged =
      std::get<store::DeleteDevice>(round_trip(store::DeleteDevice{"a.b", "desk.1"}));
  EXPECT_EQ(unplugged.user, "a.b");
  EXPECT_EQ(unplugged.device, "desk.1");
  EXPECT_EQ(std::get<store::DeleteGroup>(round_trip(store::DeleteGroup{"sales"})).id, "sales");
  const auto entry = directory_entry(store::PutDevice{device});
  EXPECT_FALSE(*decode_directory("directory.device.a=2Eb.desk", entry->value));
}

TEST(DirectoryCodecTest, ContactsSettingsAndDocumentsReadBack) {
  const auto contact =
      std::get<store::PutContact>(round_trip(store::PutContact{{"a.b", "c/d"}})).contact;
  EXPECT_EQ(contact.owner, "a.b");
  EXPECT_EQ(contact.contact, "c/d");
  const auto dropped =
      std::get<store::DeleteContact>(round_trip(store::DeleteContact{{"a.b", "c/d"}})).contact;
  EXPECT_EQ(dropped.owner, "a.b");
  EXPECT_EQ(dropped.contact, "c/d");
  EXPECT_EQ(directory_entry(store::PutContact{{"a.b", "c/d"}})->key,
            directory_entry(store::DeleteContact{{"a.b", "c/d"}})->key);
  // Two contacts of one owner are two keys.
  EXPECT_NE(directory_entry(store::PutContact{{"a", "b"}})->key,
            directory_entry(store::PutContact{{"a", "c"}})->key);

  const auto setting = std::get<store::PutSetting>(
      round_trip(store::PutSetting{"visibility.minimum", "team"}));
  EXPECT_EQ(setting.key, "visibility.minimum");
  EXPECT_EQ(setting.value, "team");
  // An empty setting is a value, not a deletion.
  const auto empty = directory_entry(store::PutSetting{"routing.state_actions", ""});
  EXPECT_FALSE(empty->value.empty());
  EXPECT_EQ(std::get<store::PutSetting>(round_trip(store::PutSetting{"routing.state_actions", ""}))
                .value,
            "");

  const store::DocumentRecord profile{"personal_profile", "carol/focus", "carol",
                                      std::string("{\"note\":\"a\0b\"}", 14)};
  const auto document =
      std::get<store::PutDocument>(round_trip(store::PutDocument{profile})).document;
  EXPECT_EQ(document.kind, profile.kind);
  EXPECT_EQ(document.id, profile.id);
  EXPECT_EQ(document.owner, profile.owner);
  EXPECT_EQ(document.body, profile.body);
  const auto removed = std::get<store::DeleteDocument>(
      round_trip(store::DeleteDocument{"personal_profile", "carol/focus"}));
  EXPECT_EQ(removed.kind, "personal_profile");
  EXPECT_EQ(removed.id, "carol/focus");
  EXPECT_EQ(directory_entry(store::PutDocument{profile})->key,
            directory_entry(store::DeleteDocument{"personal_profile", "carol/focus"})->key);
  // The same id under two kinds is two keys.
  EXPECT_NE(directory_entry(store::DeleteDocument{"profile", "p"})->key,
            directory_entry(store::DeleteDocument{"queue", "p"})->key);
}

TEST(DirectoryCodecTest, MalformedContactsSettingsAndDocumentsAreRefused) {
  const auto contact = directory_entry(store::PutContact{{"a", "b"}});
  const auto setting = directory_entry(store::PutSetting{"visibility.minimum", "team"});
  const auto document = directory_entry(store::PutDocument{{"queue", "q1", "", "{}"}});
  for (const auto& entry : {*contact, *setting, *document}) {
    for (std::size_t cut = 1; cut < entry.value.size(); ++cut) {
      const auto decoded = decode_directory(entry.key, entry.value.substr(0, cut));
      ASSERT_TRUE(decoded);
      EXPECT_FALSE(*decoded) << entry.key << " cut at " << cut;
    }
    EXPECT_FALSE(*decode_directory(entry.key, entry.value + "x")) << entry.key;
  }
  // Another entity's value under this key, or another kind's.
  EXPECT_FALSE(*decode_directory("directory.contact.a.c", contact->value));
  EXPECT_FALSE(*decode_directory("directory.setting.visibility=2Edefault_level", setting->value));
  EXPECT_FALSE(*decode_directory("directory.document.profile.q1", document->value));
  EXPECT_FALSE(*decode_directory(contact->key, document->value));
  // A setting is never deleted: an empty value under its key is not one it writes.
  EXPECT_FALSE(*decode_directory(setting->key, ""));
}

TEST(DirectoryCodecTest, OtherChangesAndKeysAreNotTheDirectorys) {
  EXPECT_FALSE(directory_entry(store::PutManual{{"u", {}}}));
  EXPECT_FALSE(directory_entry(store::PutCalendar{{"u", {}}}));
  EXPECT_FALSE(decode_directory("directory.contact.a", ""));
  EXPECT_FALSE(decode_directory("directory.document.profile", ""));
  EXPECT_FALSE(decode_directory("manual.u", ""));
  EXPECT_FALSE(decode_directory("directory.profile.g", ""));
  EXPECT_FALSE(decode_directory("directory.device.u", ""));
  EXPECT_FALSE(decode_directory("directory.visibility.a", ""));
  EXPECT_FALSE(decode_directory("directory.user", ""));
}

TEST(DirectoryCodecTest, MalformedValuesAreRefused) {
  const auto user = directory_entry(store::PutUser{sample_user()});
  const auto token = directory_entry(store::PutToken{{"ab12", "u", at(1), "login"}});
  const auto rule = directory_entry(store::PutVisibility{{"a", "b", core::VisibilityLevel::Team}});
  for (const auto& entry : {*user, *token, *rule}) {
    for (std::size_t cut = 1; cut < entry.value.size(); ++cut) {
      const auto decoded = decode_directory(entry.key, entry.value.substr(0, cut));
      ASSERT_TRUE(decoded);
      EXPECT_FALSE(*decoded) << entry.key << " cut at " << cut;
    }
    const auto longer = decode_directory(entry.key, entry.value + "x");
    EXPECT_FALSE(*longer) << entry.key;
  }
  // Another entity's value under this key, or another kind's.
  EXPECT_FALSE(*decode_directory("directory.user.dave", user->value));
  EXPECT_FALSE(*decode_directory("directory.token.ff00", token->value));
  EXPECT_FALSE(*decode_directory("directory.visibility.a.c", rule->value));
  EXPECT_FALSE(*decode_directory(user->key, token->value));
  // An enum out of range.
  std::string bad_level = rule->value;
  bad_level[bad_level.size() - 8] = 9;
  EXPECT_FALSE(*decode_directory(rule->key, bad_level));
}

}  // namespace
}  // namespace presenced::cluster
