// Graph's JSON as the Teams connector reads and writes it, its configuration, and the token
// bucket that keeps it under Graph's limit (presence-reference §1, docs/teams.md).

#include "connectors/teams/internal/graph.h"
#include "connectors/teams/internal/graph_json.h"
#include "connectors/teams/teams.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::connectors::teams {
namespace {

TEST(GraphJsonTest, ReadsNotificationsByResourceOrResourceData) {
  auto items = read_notifications(
      R"({"value":[{"subscriptionId":"s1","clientState":"secret",)"
      R"("resource":"communications/presences/abc-1"},)"
      R"({"subscriptionId":"s1","clientState":"secret","resourceData":{"id":"abc-2"}}]})",
      10);
  ASSERT_TRUE(items.has_value());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].user_id, "abc-1");
  EXPECT_EQ((*items)[1].user_id, "abc-2");
  EXPECT_EQ((*items)[0].client_state, "secret");
}

TEST(GraphJsonTest, RefusesMalformedNotifications) {
  for (const char* body : {"", "{", "[]", R"({"value":[]})", R"({"value":[1]})",
                           R"({"value":[{"resource":"communications/presences/a'b"}]})",
                           R"({"value":[{"resource":"communications/presences/"}]})"}) {
    EXPECT_FALSE(read_notifications(body, 10).has_value()) << body;
  }
  EXPECT_FALSE(read_notifications(
                   R"({"value":[{"resource":"a/x"},{"resource":"a/y"},{"resource":"a/z"}]})", 2)
                   .has_value());
}

TEST(GraphJsonTest, ReadsPresencesAndTheIdleFade) {
  auto read = read_presences(
      R"({"value":[{"id":"u1","availability":"Available","activity":"AvailableInactive"},)"
      R"({"id":"u2","availability":"Busy","activity":"InAConferenceCall"},)"
      R"({"id":"u3","availability":"Sideways","activity":"Dancing"}]})");
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].activity, core::Activity::Inactive);
  EXPECT_EQ((*read)[1].activity, core::Activity::InAConferenceCall);
  EXPECT_EQ((*read)[2].availability, core::Availability::PresenceUnknown);
  EXPECT_EQ((*read)[2].activity, core::Activity::PresenceUnknown);
}

TEST(GraphJsonTest, WritesGraphDurationsAndRequests) {
  EXPECT_EQ(iso_duration(std::chrono::minutes(5)), "PT5M");
  EXPECT_EQ(iso_duration(std::chrono::seconds(90)), "PT90S");
  EXPECT_EQ(subscription_request({"a", "b"}, "https://x/n", "state", core::TimePoint{}),
            R"x({"changeType":"updated","notificationUrl":"https://x/n",)x"
            R"x("resource":"/communications/presences?$filter=id in ('a','b')",)x"
            R"x("expirationDateTime":"1970-01-01T00:00:00.000Z","clientState":"state"})x");
  EXPECT_EQ(token_request("id", "s&cret"),
            "grant_type=client_credentials&client_id=id&client_secret=s%26cret"
            "&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default");
}

TEST(GraphJsonTest, ReadsSubscriptionExpiry) {
  auto s = read_subscription(R"({"id":"s-1","expirationDateTime":"2026-12-01T10:00:00.000Z"})");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->id, "s-1");
  EXPECT_EQ(iso_time(s->expires), "2026-12-01T10:00:00.000Z");
}

TEST(TokenBucketTest, AllowsTheCapacityThenOnePerInterval) {
  TokenBucket bucket(3, std::chrono::seconds(30));  // one request per 10 s after the burst
  const Steady::time_point t0{std::chrono::hours(1)};
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(bucket.take(t0).has_value());
  }
  auto wait = bucket.take(t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(std::chrono::round<std::chrono::seconds>(*wait - t0), std::chrono::seconds(10));
  EXPECT_FALSE(bucket.take(t0 + std::chrono::seconds(10)).has_value());
}

TEST(TeamsConfigTest, NamesTheBadKey) {
  const std::string tenant =
      R"({"name":"t","client_id":"c","client_secret":"s","token_url":"http://x/token"})";
  auto ok = parse_teams_config(R"({"tenants":[)" + tenant +
                               R"(],"client_state":"0123456789abcdef"})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->tenants[0].graph_url, "https://graph.microsoft.com/v1.0");
  EXPECT_EQ(ok->requests_per_window, 1400);
  auto check = [&](const std::string& json, const std::string& key) {
    auto bad = parse_teams_config(json);
    ASSERT_FALSE(bad.has_value()) << json;
    EXPECT_NE(bad.error().message.find(key), std::string::npos) << bad.error().message;
  };
  check(R"({"tenants":[]})", "tenants");
  check(R"({"tenants":[)" + tenant + R"(],"client_state":"short"})", "client_state");
  check(R"({"tenants":[)" + tenant +
            R"(],"client_state":"0123456789abcdef","session_expiration_s":60})",
        "session_expiration_s");
  check(R"({"tenants":[)" + tenant +
            R"(],"client_state":"0123456789abcdef","requests_per_window":1600})",
        "requests_per_window");
  check(R"({"tenants":[)" + tenant + "," + tenant + R"(],"client_state":"0123456789abcdef"})",
        "given twice");
}

}  // namespace
}  // namespace presenced::connectors::teams
