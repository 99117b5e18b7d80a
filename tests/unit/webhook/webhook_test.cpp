// The webhook connector's pure parts: the signature and the retry schedule (docs/webhooks.md).

#include "connectors/webhook/internal/delivery.h"
#include "connectors/webhook/webhook.h"

#include <gtest/gtest.h>

namespace presenced::connectors::webhook {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Signature, IsHmacSha256OfTimestampDotBody) {
  // The value Python's hmac module gives for the documented formula (docs/webhooks.md).
  EXPECT_EQ(signature_header("Jefe", 1764563000, R"({"a":1})"),
            "t=1764563000,v1=0376fa81e163e72fdbf17c6c8682a2a85b0308b132f2e3070f4fe945ea30e5a2");
}

TEST(RetryDelay, DoublesFromTheBaseWithJitterUpToTheMaximum) {
  WebhookConfig config;
  config.retry_base = milliseconds(1000);
  config.retry_max = milliseconds(5000);
  EXPECT_EQ(retry_delay(config, 1, std::nullopt, 0.0), milliseconds(500));
  EXPECT_EQ(retry_delay(config, 1, std::nullopt, 0.999), milliseconds(999));
  EXPECT_EQ(retry_delay(config, 2, std::nullopt, 0.0), milliseconds(1000));
  EXPECT_EQ(retry_delay(config, 3, std::nullopt, 0.0), milliseconds(2000));
  EXPECT_EQ(retry_delay(config, 10, std::nullopt, 0.0), milliseconds(2500));
  EXPECT_EQ(retry_delay(config, 60, std::nullopt, 0.999), milliseconds(4997));
}

TEST(RetryDelay, HonoursRetryAfterUpToItsLimit) {
  WebhookConfig config;
  config.retry_after_max = seconds(60);
  EXPECT_EQ(retry_delay(config, 1, seconds(7), 0.3), milliseconds(7000));
  EXPECT_EQ(retry_delay(config, 1, seconds(86400), 0.3), milliseconds(60000));
}

TEST(ParseSubscription, ReadsTheStoredDocument) {
  auto s = parse_subscription(
      "crm", R"({"url":"http://127.0.0.1:1/h","secret":"0123456789abcdef","users":["a"],
               "groups":["sales"],"members":["a","b"],"events":["availability.changed"],
               "status_map":{"inbound":{"Busy":"Busy"},"outbound":{"Busy":"Busy"}},
               "enabled":false})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_FALSE(s->all_users);
  EXPECT_EQ(s->users, (std::set<std::string>{"a"}));
  // The groups, not the members they had when it was saved: membership is read at each event.
  EXPECT_EQ(s->groups, (std::set<std::string>{"sales"}));
  EXPECT_EQ(s->events, (std::set<EventType>{EventType::AvailabilityChanged}));
  EXPECT_EQ(s->outbound.at("Busy"), "Busy");
  EXPECT_FALSE(s->enabled);
  EXPECT_FALSE(parse_subscription("x", R"({"url":"http://h"})"));
  EXPECT_FALSE(parse_subscription("x", "not json"));
  EXPECT_TRUE(parse_subscription("x", R"({"url":"http://h","secret":"s"})")->all_users);
  EXPECT_FALSE(parse_subscription("x", R"({"url":"http://h","secret":"s","groups":["g"]})")
                   ->all_users);
}

}  // namespace
}  // namespace presenced::connectors::webhook
