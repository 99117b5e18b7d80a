#include "xmpp/internal/session.h"
#include "xmpp/internal/stanza.h"

#include <gtest/gtest.h>

#include <vector>

namespace presenced::xmpp {
namespace {

TEST(JidTest, SplitsAndLowerCasesTheDomain) {
  auto jid = parse_jid("Bob@Remote.TEST/phone 1");
  ASSERT_TRUE(jid);
  EXPECT_EQ(jid->local, "Bob");
  EXPECT_EQ(jid->domain, "remote.test");
  EXPECT_EQ(jid->resource, "phone 1");
  EXPECT_EQ(jid->bare(), "Bob@remote.test");
  EXPECT_EQ(parse_jid("remote.test")->bare(), "remote.test");
}

TEST(JidTest, RefusesWhatRfc7622Forbids) {
  for (std::string_view bad : std::vector<std::string_view>{
           "", "@remote.test", "bob@", "bob@remote.test/", "a b@remote.test", "a<b@remote.test",
           "bob@re@mote", std::string_view("a\0b@x", 5)}) {
    EXPECT_FALSE(parse_jid(bad)) << bad;
  }
  EXPECT_FALSE(parse_jid(std::string(1024, 'a') + "@remote.test"));
}

TEST(EscapeTest, WritesWhatXmlCanCarry) {
  std::string out;
  append_escaped(out, "a<b>&'\"\x01\xff\xc3\xa9");
  EXPECT_EQ(out, "a&lt;b&gt;&amp;&apos;&quot;\xEF\xBF\xBD\xEF\xBF\xBD\xc3\xa9");
}

// XEP-0114 §3: hex SHA-1 of the stream id followed by the secret (checked against sha1sum:
// printf '3BF96D32sekrit' | sha1sum).
TEST(HandshakeTest, DigestsStreamIdAndSecret) {
  EXPECT_EQ(handshake_digest("3BF96D32", "sekrit"), "5547269269506c23b408f2b69c0f74efdd03b4fb");
}

TEST(SessionTest, OpensHandshakesAndPassesStanzasOnceAccepted) {
  ComponentSession session("uc.test", "sekrit", {});
  EXPECT_NE(session.open().find("to='uc.test'"), std::string::npos);
  std::vector<StreamEvent> stanzas;
  std::string out;
  session.feed(
      "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'"
      " xmlns='jabber:component:accept' from='uc.test' id='3BF96D32'>",
      stanzas, out);
  EXPECT_EQ(out, "<handshake>5547269269506c23b408f2b69c0f74efdd03b4fb</handshake>");
  EXPECT_EQ(session.state(), ComponentSession::State::Handshaking);
  out.clear();
  session.feed("<handshake/><presence from='bob@remote.test' to='alice@uc.test' type='probe'/>",
               stanzas, out);
  EXPECT_EQ(session.state(), ComponentSession::State::Ready);
  ASSERT_EQ(stanzas.size(), 1u);
  EXPECT_EQ(stanzas[0].element.attribute_or_empty("type"), "probe");
  EXPECT_TRUE(out.empty());
}

TEST(SessionTest, AWrongSecretIsARefusal) {
  ComponentSession session("uc.test", "wrong", {});
  std::vector<StreamEvent> stanzas;
  std::string out;
  session.feed(
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns='jabber:component:accept' id='x1'><stream:error><not-authorized "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
      stanzas, out);
  EXPECT_EQ(session.state(), ComponentSession::State::Closed);
  EXPECT_TRUE(session.refused());
  EXPECT_EQ(session.closed_because(), "not-authorized");
}

TEST(SessionTest, MalformedInputGetsAStreamError) {
  ComponentSession session("uc.test", "sekrit", {});
  std::vector<StreamEvent> stanzas;
  std::string out;
  session.feed(
      "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
      "xmlns='jabber:component:accept' id='x1'><handshake/><presence <",
      stanzas, out);
  EXPECT_EQ(session.state(), ComponentSession::State::Closed);
  EXPECT_NE(out.find("<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                     "</stream:error></stream:stream>"),
            std::string::npos);
}

}  // namespace
}  // namespace presenced::xmpp
