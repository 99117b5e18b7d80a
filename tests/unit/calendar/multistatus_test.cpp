// WebDAV multistatus answers as CalDAV servers send them (RFC 4918 §13, RFC 6578 §3.2,
// RFC 4791 §7.9), and the request bodies.

#include "connectors/calendar/internal/multistatus.h"

#include <gtest/gtest.h>

namespace presenced::connectors::calendar {
namespace {

// RFC 6578 §3.8 example, shortened: one changed member with its data, one removed.
constexpr std::string_view kSyncAnswer = R"(<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:response>
    <D:href>/u/cal/new.ics</D:href>
    <D:propstat>
      <D:prop><D:getetag>"33441-34321"</D:getetag>
        <C:calendar-data>BEGIN:VCALENDAR&#13;
END:VCALENDAR&#13;
</C:calendar-data></D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
    <D:propstat>
      <D:prop><D:getctag/></D:prop>
      <D:status>HTTP/1.1 404 Not Found</D:status>
    </D:propstat>
  </D:response>
  <D:response>
    <D:href>/u/cal/old.ics</D:href>
    <D:status>HTTP/1.1 404 Not Found</D:status>
  </D:response>
  <D:sync-token>http://example.com/ns/sync/1234</D:sync-token>
</D:multistatus>)";

TEST(Multistatus, SyncCollectionAnswerGivesDataRemovalsAndTheToken) {
  auto ms = parse_multistatus(kSyncAnswer, 10);
  ASSERT_TRUE(ms) << ms.error().message;
  ASSERT_EQ(ms->resources.size(), 2u);
  const DavResource& changed = ms->resources[0];
  EXPECT_EQ(changed.href, "/u/cal/new.ics");
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.properties.at("getetag"), "\"33441-34321\"");
  EXPECT_EQ(changed.properties.at("calendar-data"), "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
  EXPECT_FALSE(changed.properties.contains("getctag"));  // answered 404
  EXPECT_EQ(ms->resources[1].status, 404);
  EXPECT_EQ(ms->sync_token, "http://example.com/ns/sync/1234");
}

// RFC 4791 §6.2.1 and RFC 5397: hrefs nested in properties; resourcetype with <C:calendar/>.
TEST(Multistatus, DiscoveryPropertiesHoldTheirHrefs) {
  auto ms = parse_multistatus(R"(<multistatus xmlns="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
    <response><href>/alice/</href><propstat><prop>
      <current-user-principal><href>/principals/alice/</href></current-user-principal>
      <c:calendar-home-set><href>/cal/alice/</href></c:calendar-home-set>
      <resourcetype><collection/><c:calendar/></resourcetype>
    </prop><status>HTTP/1.1 200 OK</status></propstat></response>
    <response><href>/cal/alice/inbox/</href><propstat><prop>
      <resourcetype><collection/></resourcetype>
    </prop><status>HTTP/1.1 200 OK</status></propstat></response>
  </multistatus>)", 10);
  ASSERT_TRUE(ms) << ms.error().message;
  ASSERT_EQ(ms->resources.size(), 2u);
  EXPECT_EQ(ms->resources[0].properties.at("current-user-principal"), "/principals/alice/");
  EXPECT_EQ(ms->resources[0].properties.at("calendar-home-set"), "/cal/alice/");
  EXPECT_TRUE(ms->resources[0].is_calendar);
  EXPECT_FALSE(ms->resources[1].is_calendar);
}

TEST(Multistatus, BadXmlDoctypeAndTooManyResourcesAreErrors) {
  EXPECT_FALSE(parse_multistatus("<multistatus xmlns=\"DAV:\"><response>", 10));
  EXPECT_FALSE(parse_multistatus("not xml", 10));
  EXPECT_FALSE(parse_multistatus(
      "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><multistatus xmlns=\"DAV:\"/>", 10));
  auto many = parse_multistatus(
      "<multistatus xmlns=\"DAV:\"><response><href>/a</href></response>"
      "<response><href>/b</href></response></multistatus>", 1);
  ASSERT_FALSE(many);
  EXPECT_NE(many.error().message.find("more than 1"), std::string::npos);
}

// A hostile server's answer: nesting past the XML reader's limit, invalid UTF-8.
TEST(Multistatus, DeepNestingAndInvalidUtf8AreErrors) {
  std::string deep = "<multistatus xmlns=\"DAV:\">";
  for (int i = 0; i < 10'000; ++i) {
    deep += "<prop>";
  }
  const auto nested = parse_multistatus(deep, 10);
  ASSERT_FALSE(nested);
  EXPECT_EQ(nested.error().code, core::ErrorCode::InvalidArgument);
  EXPECT_NE(nested.error().message.find("nesting"), std::string::npos) << nested.error().message;
  EXPECT_FALSE(parse_multistatus("<multistatus xmlns=\"DAV:\"><href>\xC0\xAF</href></multistatus>",
                                 10));
}

TEST(Multistatus, RequestBodiesEscapeWhatTheyCarry) {
  EXPECT_NE(sync_collection_body("").find("<d:sync-token></d:sync-token>"), std::string::npos);
  EXPECT_NE(sync_collection_body("a<b&c").find("a&lt;b&amp;c"), std::string::npos);
  const std::string multiget = calendar_multiget_body({"/c/1.ics", "/c/\"2\".ics"});
  EXPECT_NE(multiget.find("<d:href>/c/1.ics</d:href>"), std::string::npos);
  EXPECT_NE(multiget.find("<d:href>/c/&quot;2&quot;.ics</d:href>"), std::string::npos);
}

TEST(Multistatus, HrefsResolveAgainstTheirUrl) {
  EXPECT_EQ(resolve_href("http://h:5232/alice/", "/cal/x/"), "http://h:5232/cal/x/");
  EXPECT_EQ(resolve_href("http://h/alice/", "work/"), "http://h/alice/work/");
  EXPECT_EQ(resolve_href("http://h", "work/"), "http://h/work/");
  EXPECT_EQ(resolve_href("http://h/a/", "https://other/b/"), "https://other/b/");
}

}  // namespace
}  // namespace presenced::connectors::calendar
