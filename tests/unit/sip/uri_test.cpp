// SIP URIs and name-addr values (RFC 3261 §19.1, §20.10, §25.1), one row per rule.

#include "sip/internal/message.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace presenced::sip {
namespace {

struct UriRow {
  const char* text;
  const char* scheme;
  std::string user;
  const char* host;
  std::optional<std::uint16_t> port;
  std::size_t params;
  const char* written;  // what the writer makes of it
};

TEST(Uri, ReadsEachPartAndWritesItBack) {
  const UriRow rows[] = {
      {"sip:bob@example.com", "sip", "bob", "example.com", std::nullopt, 0, "sip:bob@example.com"},
      {"sip:example.com", "sip", "", "example.com", std::nullopt, 0, "sip:example.com"},
      {"SIPS:Bob@Example.COM:5061", "sips", "Bob", "Example.COM", 5061, 0,
       "sips:Bob@Example.COM:5061"},
      // §19.1.2: escapes are decoded, and written again only where needed.
      {"sip:%61lice@h", "sip", "alice", "h", std::nullopt, 0, "sip:alice@h"},
      {"sip:a%20b%40c@h", "sip", "a b@c", "h", std::nullopt, 0, "sip:a%20b%40c@h"},
      {"sip:+49-30;isub=1@h;user=phone", "sip", "+49-30;isub=1", "h", std::nullopt, 1,
       "sip:+49-30;isub=1@h;user=phone"},
      {"sip:b@[2001:db8::1]:5060;transport=tcp;lr", "sip", "b", "[2001:db8::1]", 5060, 2,
       "sip:b@[2001:db8::1]:5060;transport=tcp;lr"},
      {"sip:b@192.0.2.1?Subject=x&Call-Info=%3Chttp://h%3E", "sip", "b", "192.0.2.1", std::nullopt,
       0, "sip:b@192.0.2.1?Subject=x&Call-Info=%3Chttp://h%3E"},
      {"tel:+1-555-0100;ext=2", "tel", "", "", std::nullopt, 0, "tel:+1-555-0100;ext=2"},
  };
  for (const UriRow& row : rows) {
    SCOPED_TRACE(row.text);
    const auto uri = parse_uri(row.text);
    ASSERT_TRUE(uri) << uri.error().detail;
    EXPECT_EQ(uri->scheme, row.scheme);
    EXPECT_EQ(uri->user, row.user);
    EXPECT_EQ(uri->host, row.host);
    EXPECT_EQ(uri->port, row.port);
    EXPECT_EQ(uri->params.size(), row.params);
    EXPECT_EQ(serialize(*uri), row.written);
  }
}

TEST(Uri, PasswordIsKeptApartFromTheUser) {
  const auto uri = parse_uri("sip:alice:s%65cret@h");
  ASSERT_TRUE(uri);
  EXPECT_EQ(uri->user, "alice");
  EXPECT_TRUE(uri->has_password);
  EXPECT_EQ(uri->password, "secret");
}

TEST(Uri, RefusesWhatTheGrammarDoesNot) {
  const char* rows[] = {
      "",                      // nothing
      "bob@example.com",       // no scheme
      "1sip:bob@h",            // scheme starts with a digit
      "sip:",                  // no host
      "sip:@h",                // empty user (§25.1: user = 1*...)
      "sip:bob@",              // no host after '@'
      "sip:bob@h:",            // empty port
      "sip:bob@h:99999",       // port past 65535
      "sip:bob@h:50a",         // port not a number
      "sip:b%4@h",             // short escape
      "sip:b%zz@h",            // bad escape
      "sip:b ob@h",            // space
      "sip:b<b@h",             // '<' in the user
      "sip:bob@h;",            // empty parameter
      "sip:bob@h;=x",          // parameter without a name
      "sip:bob@h?",            // empty headers
      "sip:bob@[2001:db8::1",  // open IPv6 reference
      "sip:bob@h@i",           // two '@'
      "sip:b\xc3\xa4@h",       // raw non-ASCII
      "tel:",                  // empty opaque part
  };
  for (const char* text : rows) {
    EXPECT_FALSE(parse_uri(text)) << text;
  }
}

struct NameAddrRow {
  const char* text;
  const char* display;
  const char* uri;
  std::optional<std::string_view> tag;
  const char* written;
};

TEST(NameAddr, ReadsDisplayNamesAndParameters) {
  const NameAddrRow rows[] = {
      {"<sip:a@h>", "", "sip:a@h", std::nullopt, "<sip:a@h>"},
      {"\"Alice\" <sip:a@h>;tag=1", "Alice", "sip:a@h", "1", "\"Alice\" <sip:a@h>;tag=1"},
      // §25.1 quoted-pair: the writer escapes '"' and '\' again.
      {"\"A \\\"q\\\" \\\\ z\"<sip:a@h>", "A \"q\" \\ z", "sip:a@h", std::nullopt,
       "\"A \\\"q\\\" \\\\ z\" <sip:a@h>"},
      {"Alice  Smith <sip:a@h> ; tag = x", "Alice  Smith", "sip:a@h", "x",
       "\"Alice  Smith\" <sip:a@h>;tag=x"},
      // addr-spec: ';' after the URI starts header parameters (§20.10).
      {"sip:a@h;tag=2", "", "sip:a@h", "2", "<sip:a@h>;tag=2"},
      {"<sip:a@h;lr>;tag=3", "", "sip:a@h;lr", "3", "<sip:a@h;lr>;tag=3"},
      {"\"\" <sip:a@h>", "", "sip:a@h", std::nullopt, "<sip:a@h>"},
      {"<sip:a@h>;+sip.instance=\"<urn:uuid:f81d>\";reg-id=1", "", "sip:a@h", std::nullopt,
       "<sip:a@h>;+sip.instance=\"<urn:uuid:f81d>\";reg-id=1"},
      {"\"Ren\xc3\xa9\" <sip:r@h>", "Ren\xc3\xa9", "sip:r@h", std::nullopt,
       "\"Ren\xc3\xa9\" <sip:r@h>"},
  };
  for (const NameAddrRow& row : rows) {
    SCOPED_TRACE(row.text);
    const auto address = parse_name_addr(row.text);
    ASSERT_TRUE(address) << address.error().detail;
    EXPECT_EQ(address->display_name, row.display);
    EXPECT_EQ(serialize(address->uri), row.uri);
    EXPECT_EQ(address->tag(), row.tag);
    EXPECT_EQ(serialize(*address), row.written);
  }
}

TEST(NameAddr, RefusesBrokenOnes) {
  const char* rows[] = {
      "\"Alice <sip:a@h>",  // unterminated quote
      "\"Alice\" sip:a@h",  // quoted display without angle brackets
      "<sip:a@h",           // no '>'
      "<sip:a@h >",         // space inside the brackets
      "Al\"ice <sip:a@h>",  // quote inside a token display
      "<sip:a@h>;tag",      // fine as a flag ...
  };
  for (std::size_t i = 0; i + 1 < std::size(rows); ++i) {
    EXPECT_FALSE(parse_name_addr(rows[i])) << rows[i];
  }
  EXPECT_TRUE(parse_name_addr(rows[std::size(rows) - 1]));  // ... a parameter may lack a value
  EXPECT_FALSE(parse_name_addr("<sip:a@h>;tag="));
  EXPECT_FALSE(parse_name_addr("<sip:a@h> junk"));
}

}  // namespace
}  // namespace presenced::sip
