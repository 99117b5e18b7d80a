// Remote contact addresses (docs/api.md, "Remote contacts"): the scheme picks the adapter, the
// whole address is the remote presentity's engine id.

#include "api/internal/remote_address.h"

#include <gtest/gtest.h>

namespace presenced::api {
namespace {

constexpr std::size_t kLimit = 128;

TEST(RemoteAddressTest, ASipAddressKeepsItsUserAndLowersItsDomain) {
  const auto parsed = parse_remote_address("SIP:Bob.Smith@Example.ORG", kLimit);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->scheme, "sip");
  EXPECT_EQ(parsed->domain, "example.org");
  EXPECT_EQ(parsed->address, "sip:Bob.Smith@example.org");
  EXPECT_TRUE(is_remote_id(parsed->address));
}

TEST(RemoteAddressTest, XmppIsReservedForXmppFederation) {
  const auto parsed = parse_remote_address("xmpp:carol@chat.example.net", kLimit);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->scheme, "xmpp");
}

TEST(RemoteAddressTest, LocalUserIdsAreNeverRemote) {
  EXPECT_FALSE(is_remote_id("alice"));
  EXPECT_FALSE(is_remote_id("bob@example.org"));
}

TEST(RemoteAddressTest, RefusesWhatIsNotSchemeUserAtDomain) {
  for (const char* bad : {"bob@example.org", "sip:example.org", "sip:@example.org", "sip:bob@",
                          "tel:bob@example.org", "sip:bo b@example.org", "sip:bob@exa;mple.org",
                          "sip:bob@.example.org", "sip:bob@example..org", "sip:bob@example.org\n",
                          "https://bob@example.org", ""}) {
    const auto parsed = parse_remote_address(bad, kLimit);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, core::ErrorCode::InvalidArgument) << bad;
    EXPECT_NE(parsed.error().message.find("address"), std::string::npos) << bad;
  }
}

TEST(RemoteAddressTest, RefusesAnAddressOverTheLimit) {
  const std::string longer = "sip:" + std::string(kLimit, 'a') + "@example.org";
  const auto parsed = parse_remote_address(longer, kLimit);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("limit 128"), std::string::npos);
}

}  // namespace
}  // namespace presenced::api
