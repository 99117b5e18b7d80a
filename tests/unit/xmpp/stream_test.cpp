#include "xmpp/internal/stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace presenced::xmpp {
namespace {

constexpr std::string_view kHeader =
    "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
    "xmlns='jabber:component:accept' from='uc.test' id='3BF96D32'>";

std::vector<StreamEvent> feed_all(StreamParser& parser, std::string_view bytes) {
  std::vector<StreamEvent> events;
  EXPECT_TRUE(parser.feed(bytes, events)) << parser.failure().detail;
  return events;
}

TEST(StreamParserTest, ReadsHeaderStanzasAndEndAcrossAnySplit) {
  const std::string stream =
      std::string(kHeader) +
      "<presence from='bob@remote.test/phone' to='alice@uc.test' type='subscribe'/> \n"
      "<presence from='bob@remote.test'><show>dnd</show><status xml:lang='en'>a &amp; b</status>"
      "</presence></stream:stream>";
  // Byte by byte: the parser keeps its state between reads.
  StreamParser parser;
  std::vector<StreamEvent> events;
  for (char c : stream) {
    ASSERT_TRUE(parser.feed(std::string_view(&c, 1), events));
  }
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, StreamEvent::Kind::Opened);
  EXPECT_EQ(events[0].element.attribute_or_empty("id"), "3BF96D32");
  EXPECT_EQ(events[1].element.ns, kComponentNs);
  EXPECT_EQ(events[1].element.name, "presence");
  EXPECT_EQ(events[1].element.attribute_or_empty("type"), "subscribe");
  const Element& presence = events[2].element;
  ASSERT_NE(presence.child(kComponentNs, "show"), nullptr);
  EXPECT_EQ(presence.child(kComponentNs, "show")->text, "dnd");
  const Element* status = presence.child(kComponentNs, "status");
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status->text, "a & b");
  EXPECT_EQ(status->attribute_or_empty("http://www.w3.org/XML/1998/namespace lang"), "en");
  EXPECT_EQ(events[3].kind, StreamEvent::Kind::Closed);
}

// RFC 6120 §11.1: no DTD, no entity declarations (billion laughs), no comments, no PIs.
TEST(StreamParserTest, RefusesRestrictedXml) {
  const std::vector<std::string> inputs = {
      "<?xml version='1.0'?><!DOCTYPE stream [<!ENTITY a 'aaaa'>]><stream/>",
      "<!DOCTYPE stream:stream SYSTEM 'http://example.com/x.dtd'>",
      std::string(kHeader) + "<!-- hello -->",
      std::string(kHeader) + "<?php echo 1; ?>",
  };
  for (const std::string& input : inputs) {
    StreamParser parser;
    std::vector<StreamEvent> events;
    EXPECT_FALSE(parser.feed(input, events)) << input;
    EXPECT_EQ(parser.failure().problem, StreamProblem::RestrictedXml) << input;
  }
}

TEST(StreamParserTest, RefusesMalformedXmlAndStaysFailed) {
  StreamParser parser;
  std::vector<StreamEvent> events;
  EXPECT_FALSE(parser.feed(std::string(kHeader) + "<presence></message>", events));
  EXPECT_EQ(parser.failure().problem, StreamProblem::NotWellFormed);
  EXPECT_EQ(condition(parser.failure().problem), "not-well-formed");
  EXPECT_FALSE(parser.feed("<presence/>", events));
}

TEST(StreamParserTest, RefusesAnotherRoot) {
  StreamParser parser;
  std::vector<StreamEvent> events;
  EXPECT_FALSE(parser.feed("<html xmlns='http://www.w3.org/1999/xhtml'>", events));
  EXPECT_EQ(parser.failure().problem, StreamProblem::InvalidNamespace);
}

TEST(StreamParserTest, KeepsAnOversizedStanzaAsItsTopElementAndReadsOn) {
  StreamParser parser(StreamLimits{.stanza_bytes = 256, .hard_bytes = 4096, .depth = 8});
  feed_all(parser, kHeader);
  std::string big = "<message from='bob@remote.test' to='alice@uc.test' id='m1'>";
  for (int i = 0; i < 100; ++i) {
    big += "<body>0123456789</body>";
  }
  big += "</message><presence from='bob@remote.test' to='alice@uc.test' type='probe'/>";
  auto events = feed_all(parser, big);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].oversized);
  EXPECT_EQ(events[0].element.name, "message");
  EXPECT_EQ(events[0].element.attribute_or_empty("id"), "m1");
  EXPECT_TRUE(events[0].element.children.empty());
  EXPECT_FALSE(events[1].oversized);
  EXPECT_EQ(events[1].element.attribute_or_empty("type"), "probe");
}

TEST(StreamParserTest, EndsTheStreamPastTheHardLimitOrDepth) {
  {
    StreamParser parser(StreamLimits{.stanza_bytes = 256, .hard_bytes = 4096, .depth = 8});
    feed_all(parser, kHeader);
    std::vector<StreamEvent> events;
    // One start tag that never ends: expat would have to buffer it all.
    EXPECT_FALSE(parser.feed("<message a='" + std::string(20'000, 'x'), events));
    EXPECT_EQ(parser.failure().problem, StreamProblem::PolicyViolation);
  }
  {
    StreamParser parser(StreamLimits{.stanza_bytes = 256, .hard_bytes = 4096, .depth = 8});
    feed_all(parser, kHeader);
    std::vector<StreamEvent> events;
    std::string deep;
    for (int i = 0; i < 10; ++i) {
      deep += "<a>";
    }
    EXPECT_FALSE(parser.feed(deep, events));
    EXPECT_EQ(parser.failure().problem, StreamProblem::PolicyViolation);
  }
}

}  // namespace
}  // namespace presenced::xmpp
