#include "api/internal/codec.h"

#include "codec_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>

namespace presenced::api {
namespace {

using codec_testing::at;
using codec_testing::BadBody;
using codec_testing::error_of;
using codec_testing::expect_errors;
using codec_testing::kLimits;
using codec_testing::kNov23At15;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::string nested_arrays(int depth) {
  return "{\"x\":" + std::string(static_cast<std::size_t>(depth), '[') +
         std::string(static_cast<std::size_t>(depth), ']') + "}";
}

using AnyDecoder = std::function<std::string(std::string_view)>;

template <typename T>
AnyDecoder any(Result<T> (*decode)(std::string_view, const Limits&)) {
  return [decode](std::string_view body) { return error_of(decode(body, kLimits)); };
}

const std::vector<std::pair<std::string, AnyDecoder>>& all_decoders() {
  static const std::vector<std::pair<std::string, AnyDecoder>> decoders = {
      {"token", any(decode_token_request)},
      {"create_user", any(decode_create_user)},
      {"update_user", any(decode_update_user)},
      {"manual", any(decode_manual)},
      {"visibility", any(decode_visibility)},
      {"telephony", any(decode_telephony_event)},
      {"routing", any(decode_routing)},
      {"state", any(decode_state)},
      {"group", any(decode_group)},
      {"device", any(decode_device)},
      {"calendar", any(decode_calendar)},
      {"input", any(decode_input)},
      {"contacts", any(decode_contacts)},
      {"policy", any(decode_policy)},
      {"api_key", any(decode_api_key)},
      {"ws", any(decode_ws_message)},
  };
  return decoders;
}

TEST(CodecDecodeTest, EveryDecoderRejectsBodiesThatAreNotOneJsonObject) {
  const std::vector<BadBody> cases = {
      {"", "body: malformed JSON at byte 0"},
      {"{", "body: malformed JSON"},
      {"{\"state\":\"Busy\",}", "body: malformed JSON"},
      {"{\"state\":\"Busy\"} {}", "body: malformed JSON"},
      {"{'state':'Busy'}", "body: malformed JSON"},
      {"{\"note\":\"\xff\"}", "body: malformed JSON"},  // not UTF-8
      {"[]", "body: expected a JSON object"},
      {"[{\"state\":\"Busy\"}]", "body: expected a JSON object"},
      {"\"Busy\"", "body: expected a JSON object"},
      {"42", "body: expected a JSON object"},
      {"null", "body: expected a JSON object"},
      {"true", "body: expected a JSON object"},
      {nested_arrays(16), "body: nested deeper than 16 levels"},
      {nested_arrays(10000), "body: nested deeper than 16 levels"},
  };
  for (const auto& [name, decode] : all_decoders()) {
    for (const BadBody& c : cases) {
      EXPECT_THAT(decode(c.body), HasSubstr(c.message)) << name << ": " << c.body.substr(0, 40);
    }
  }
}

TEST(CodecDecodeTest, NestingUpToTheLimitIsAcceptedAndIgnored) {
  // The body object is level 1, so 15 arrays inside it reach exactly 16.
  auto request = decode_visibility(
      R"({"level":"team","x":)" + std::string(15, '[') + std::string(15, ']') + "}", kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->level, core::VisibilityLevel::Team);

  Limits shallow;
  shallow.json_depth = 2;
  EXPECT_TRUE(decode_visibility(R"({"level":"team","x":[]})", shallow));
  EXPECT_THAT(error_of(decode_visibility(R"({"level":"team","x":[[]]})", shallow)),
              HasSubstr("body: nested deeper than 2 levels"));
}

TEST(CodecDecodeTest, ManualAcceptsEveryField) {
  auto request = decode_manual(R"({"state":"lunch","note":"back at 3","from":"2026-11-23T13:00:00Z",
      "until":"2026-11-23T16:00:00+01:00","reachability":"home_office","extra":{"a":[1]}})",
                               kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->state, "lunch");
  EXPECT_EQ(request->note, "back at 3");
  EXPECT_EQ(request->from, at(kNov23At15 - 2 * 3600 * 1000));
  EXPECT_EQ(request->until, at(kNov23At15));
  EXPECT_EQ(request->reachability, core::Reachability::HomeOffice);
}

TEST(CodecDecodeTest, ManualTreatsNullAsAbsent) {
  auto request = decode_manual(
      R"({"state":"DoNotDisturb","note":null,"from":null,"until":null,"reachability":null})",
      kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->state, "DoNotDisturb");
  EXPECT_EQ(request->note, "");
  EXPECT_FALSE(request->from);
  EXPECT_FALSE(request->until);
  EXPECT_EQ(request->reachability, core::Reachability::Normal);
}

TEST(CodecDecodeTest, ManualRejectsBadFields) {
  expect_errors(
      decode_manual,
      {
          {R"({})", "state: required"},
          {R"({"state":null})", "state: required"},
          {R"({"state":""})", "state: empty, expected 1..128 bytes"},
          {R"({"state":42})", "state: expected a string, got number"},
          {R"({"state":["Busy"]})", "state: expected a string, got array"},
          {R"({"state":"a\u0007b"})", "state: \"a\ab\" has a control character"},
          {R"({"state":")" + std::string(129, 's') + "\"}", "state: 129 bytes, limit 128"},
          {R"({"state":"Busy","note":7})", "note: expected a string, got number"},
          {R"({"state":"Busy","note":false})", "note: expected a string, got boolean"},
          {R"({"state":"Busy","note":"a\u0000b"})", "note: has a NUL character (\\u0000)"},
          {R"({"state":"Busy","note":")" + std::string(1025, 'n') + "\"}",
           "note: 1025 bytes, limit 1024"},
          {R"({"state":"Busy","until":"tomorrow"})", "until: \"tomorrow\" is not an RFC 3339 time"},
          {R"({"state":"Busy","until":"2026-11-23T15:00:00"})",
           "until: \"2026-11-23T15:00:00\" is not an RFC 3339 time"},
          {R"({"state":"Busy","until":1795446000})", "until: expected a string, got number"},
          {R"({"state":"Busy","from":"2026-02-30T10:00:00Z"})",
           "from: \"2026-02-30T10:00:00Z\" is not an RFC 3339 time"},
          {R"({"state":"Busy","from":"2026-11-23T15:00:00Z","until":"2026-11-23T15:00:00Z"})",
           "until: must be after from"},
          {R"({"state":"Busy","reachability":"beach"})",
           "reachability: \"beach\" is not one of normal, break, business_trip, "
           "home_office, vacation"},
      });
}

TEST(CodecDecodeTest, ErrorsQuoteLongValuesShortened) {
  const std::string value = "ring" + std::string(100, 'g');
  const std::string message = error_of(decode_telephony_event(
      R"({"user":"alice","device":"desk","call_id":"c1","state":")" + value + "\"}", kLimits));
  EXPECT_THAT(message, HasSubstr("state: \"ringggg"));
  EXPECT_THAT(message, HasSubstr("...\" is not one of ringing, connected, held, ended"));
  EXPECT_LT(message.size(), 120u);
}

TEST(CodecDecodeTest, CreateUserFillsDefaults) {
  auto request = decode_create_user(R"({"id":"alice","password":"s3cret"})", kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->id, "alice");
  EXPECT_EQ(request->display_name, "alice");
  EXPECT_EQ(request->password, "s3cret");
  EXPECT_EQ(request->role, store::Role::User);
  EXPECT_EQ(request->sip_password, "");
  EXPECT_TRUE(request->groups.empty());
}

TEST(CodecDecodeTest, CreateUserReadsEveryField) {
  auto request = decode_create_user(
      R"({"id":"bob.smith+1@example-2_x","display_name":"Bob Smith","password":"p",
          "role":"system","sip_password":"sip","groups":["sales","support"]})",
      kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->id, "bob.smith+1@example-2_x");
  EXPECT_EQ(request->display_name, "Bob Smith");
  EXPECT_EQ(request->role, store::Role::System);
  EXPECT_EQ(request->sip_password, "sip");
  EXPECT_EQ(request->groups, (std::vector<std::string>{"sales", "support"}));
}

TEST(CodecDecodeTest, CreateUserRejectsBadFields) {
  const char* kAllowed = "has a character outside A-Z a-z 0-9 . _ @ + -";
  expect_errors(
      decode_create_user,
      {
          {R"({"password":"p"})", "id: required"},
          {R"({"id":"","password":"p"})", "id: empty, expected 1..128 bytes"},
          {R"({"id":"a b","password":"p"})", std::string("id: \"a b\" ") + kAllowed},
          {R"({"id":"a/b","password":"p"})", kAllowed},
          {R"({"id":"a:b","password":"p"})", kAllowed},
          {R"({"id":"ä","password":"p"})", kAllowed},
          {R"({"id":")" + std::string(129, 'a') + R"(","password":"p"})",
           "id: 129 bytes, limit 128"},
          {R"({"id":"alice"})", "password: required"},
          {R"({"id":"alice","password":""})", "password: empty, expected 1..1024 bytes"},
          {R"({"id":"alice","password":")" + std::string(1025, 'p') + "\"}",
           "password: 1025 bytes, limit 1024"},
          {R"({"id":"alice","password":"p","role":"root"})",
           "role: \"root\" is not one of user, admin, system"},
          {R"({"id":"alice","password":"p","display_name":")" + std::string(257, 'd') + "\"}",
           "display_name: 257 bytes, limit 256"},
          {R"({"id":"alice","password":"p","groups":"sales"})",
           "groups: expected an array, got string"},
          {R"({"id":"alice","password":"p","groups":["sales",7]})",
           "groups[1]: expected a string, got number"},
          {R"({"id":"alice","password":"p","groups":["sales","a b"]})",
           "groups[1]: \"a b\" has a character"},
      });
}

TEST(CodecDecodeTest, PolicyAndVisibilityReadLevels) {
  auto policy = decode_policy(R"({"default_level":"public","minimum":"blocked"})", kLimits);
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_EQ(policy->default_level, core::VisibilityLevel::Public);
  EXPECT_EQ(policy->minimum, core::VisibilityLevel::Blocked);
  auto empty = decode_policy("{}", kLimits);
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->default_level);
  EXPECT_FALSE(empty->minimum);

  auto visibility = decode_visibility(R"({"level":"personal"})", kLimits);
  ASSERT_TRUE(visibility);
  EXPECT_EQ(visibility->level, core::VisibilityLevel::Personal);

  const char* kLevels = "is not one of blocked, public, business, team, personal";
  expect_errors(decode_policy,
                {{R"({"minimum":"friends"})", std::string("minimum: \"friends\" ") + kLevels}});
  expect_errors(decode_visibility,
                {{R"({})", "level: required"}, {R"({"level":"Team"})", kLevels}});
}

TEST(CodecDecodeTest, ApiKeyReadsDaysInRange) {
  auto key = decode_api_key(R"({"user":"pbx","label":"Asterisk","days":3650})", kLimits);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->user, "pbx");
  EXPECT_EQ(key->label, "Asterisk");
  EXPECT_EQ(key->days, 3650);
  auto forever = decode_api_key(R"({"user":"pbx","label":"x"})", kLimits);
  ASSERT_TRUE(forever);
  EXPECT_FALSE(forever->days);

  expect_errors(
      decode_api_key,
      {
          {R"({"user":"pbx"})", "label: required"},
          {R"({"user":"pbx","label":""})", "label: empty"},
          {R"({"user":"pbx","label":"x","days":0})", "days: 0 is out of range 1..3650"},
          {R"({"user":"pbx","label":"x","days":3651})", "days: 3651 is out of range"},
          {R"({"user":"pbx","label":"x","days":-5})", "days: -5 is out of range"},
          {R"({"user":"pbx","label":"x","days":1.5})", "days: 1.5 is not an integer"},
          {R"({"user":"pbx","label":"x","days":1e300})", "is not an integer"},
          {R"({"user":"pbx","label":"x","days":18446744073709551615})",
           "days: 18446744073709551615 is out of range 1..3650"},
          {R"({"user":"pbx","label":"x","days":"30"})", "days: expected an integer, got string"},
      });
}

TEST(CodecDecodeTest, SmallDecodersReadTheirFields) {
  auto token = decode_token_request(R"({"username":"alice","password":"pw"})", kLimits);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->username, "alice");
  EXPECT_EQ(token->password, "pw");

  auto state =
      decode_state(R"({"id":"lunch","type":"away","message":"Lunch","order":-3})", kLimits);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->id, "lunch");
  EXPECT_EQ(state->type, core::StateType::Away);
  EXPECT_EQ(state->message, "Lunch");
  EXPECT_EQ(state->order, -3);
  EXPECT_FALSE(state->is_default);  // absent: the default stays where it is
  auto default_state = decode_state(R"({"type":"away","default":true})", kLimits);
  ASSERT_TRUE(default_state);
  EXPECT_EQ(default_state->is_default, true);

  auto group = decode_group(R"({"id":"sales"})", kLimits);
  ASSERT_TRUE(group);
  EXPECT_EQ(group->display_name, "sales");

  // The route's path names states and groups; the body need not repeat the id.
  auto unnamed_state = decode_state(R"({"type":"xa","message":"Vacation"})", kLimits);
  ASSERT_TRUE(unnamed_state) << unnamed_state.error().message;
  EXPECT_EQ(unnamed_state->id, "");
  EXPECT_EQ(unnamed_state->type, core::StateType::ExtendedAway);
  auto unnamed_group = decode_group(R"({"display_name":"Sales team"})", kLimits);
  ASSERT_TRUE(unnamed_group) << unnamed_group.error().message;
  EXPECT_EQ(unnamed_group->id, "");
  EXPECT_EQ(unnamed_group->display_name, "Sales team");

  auto device = decode_device(R"({"device":"desk 1","label":"Desk"})", kLimits);
  ASSERT_TRUE(device);
  EXPECT_EQ(device->device, "desk 1");
  EXPECT_EQ(device->label, "Desk");
  EXPECT_FALSE(device->sip_password);  // absent: the device keeps the secret it has

  auto device_secret = decode_device(R"({"device":"desk","sip_password":"s3cret"})", kLimits);
  ASSERT_TRUE(device_secret);
  EXPECT_EQ(device_secret->sip_password, "s3cret");
  auto no_secret = decode_device(R"({"device":"desk","sip_password":""})", kLimits);
  ASSERT_TRUE(no_secret);
  EXPECT_EQ(no_secret->sip_password, "");

  auto contacts = decode_contacts(R"({"users":["bob","carol"]})", kLimits);
  ASSERT_TRUE(contacts);
  EXPECT_EQ(contacts->users, (std::vector<std::string>{"bob", "carol"}));
}

TEST(CodecDecodeTest, SmallDecodersRejectBadFields) {
  expect_errors(decode_token_request, {{R"({"username":"alice"})", "password: required"},
                                       {R"({"password":"pw"})", "username: required"}});
  expect_errors(decode_state,
                {{R"({"id":"lunch","type":"brb"})",
                  "type: \"brb\" is not one of available, chat, away, dnd, xa, unavailable"},
                 {R"({"id":"lunch","order":3000000000})", "order: 3000000000 is out of range"},
                 {R"({"id":"lunch","default":"yes"})", "default: expected a boolean, got string"}});
  expect_errors(decode_group, {{R"({"id":"a,b"})", "id: \"a,b\" has a character outside"}});
  expect_errors(decode_device, {{R"({"label":"Desk"})", "device: required"},
                                {R"({"device":"desk","sip_password":7})",
                                 "sip_password: expected a string"}});
  expect_errors(decode_contacts,
                {{R"({})", "users: required"},
                 {R"({"users":[null]})", "users[0]: expected a string, got null"}});
}

TEST(CodecDecodeTest, UpdateUserChangesOnlyPresentFields) {
  auto none = decode_update_user("{}", kLimits);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->display_name || none->password || none->role || none->sip_password ||
               none->groups || none->idle_minutes || none->login_state || none->logout_state);

  auto all = decode_update_user(
      R"({"display_name":"Al","password":"pw","role":"admin","sip_password":"","groups":[],
          "idle_minutes":15,"login_state":"Available","logout_state":""})",
      kLimits);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->display_name, "Al");
  EXPECT_EQ(all->password, "pw");
  EXPECT_EQ(all->role, store::Role::Admin);
  EXPECT_EQ(all->sip_password, "");
  EXPECT_EQ(all->groups, std::vector<std::string>{});
  EXPECT_EQ(all->idle_minutes, 15);
  EXPECT_EQ(all->login_state, "Available");
  EXPECT_EQ(all->logout_state, "");

  expect_errors(decode_update_user,
                {
                    {R"({"display_name":""})", "display_name: empty"},
                    {R"({"password":""})", "password: empty"},
                    {R"({"idle_minutes":0})", "idle_minutes: 0 is out of range 1..1440"},
                    {R"({"role":"guest"})", "role: \"guest\" is not one of user, admin, system"},
                });
}

TEST(CodecDecodeTest, FirstBadFieldIsReported) {
  EXPECT_EQ(
      error_of(decode_telephony_event(R"({"user":1,"device":2,"call_id":3,"state":4})", kLimits)),
      "user: expected a string, got number");
}

TEST(CodecDecodeTest, RolesRoundTrip) {
  for (const store::Role role : {store::Role::User, store::Role::Admin, store::Role::System}) {
    EXPECT_EQ(parse_role(to_string(role)), role);
  }
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role(""));
}

}  // namespace
}  // namespace presenced::api
