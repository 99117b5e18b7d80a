#include "xml/xml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace presenced::xml {
namespace {

// Records the events as one line each: "<ns|local a=v>", "</ns|local>", "'text'".
class Recorder final : public Handler {
 public:
  void start_element(Name name, Attributes attributes) override {
    std::string line = "<" + std::string(name.ns) + "|" + std::string(name.local);
    for (const auto& attribute : attributes) {
      line += " " + std::string(attribute.name) + "=" + std::string(attribute.value);
    }
    events.push_back(line + ">");
    if (stop_at == name.local && parser != nullptr) {
      parser->stop();
    }
  }
  void end_element(Name name) override {
    events.push_back("</" + std::string(name.ns) + "|" + std::string(name.local) + ">");
  }
  void text(std::string_view text) override {
    if (!events.empty() && events.back().starts_with("'")) {
      events.back().insert(events.back().size() - 1, text);
    } else {
      events.push_back("'" + std::string(text) + "'");
    }
  }

  std::vector<std::string> events;
  std::string_view stop_at;
  Parser* parser = nullptr;
};

Failure refused(std::string_view document, Options options = {}) {
  Recorder recorder;
  Parser parser(recorder, options);
  EXPECT_FALSE(parser.feed(document, true)) << document.substr(0, 80);
  EXPECT_FALSE(parser.failure().detail.empty());
  return parser.failure();
}

TEST(XmlParserTest, GivesNamespacedNamesAttributesAndText) {
  Recorder recorder;
  Parser parser(recorder);
  ASSERT_TRUE(parser.feed("<p:a xmlns:p='urn:x' id='1' xml:lang='en'><b>t &amp; u</b></p:a>",
                          true))
      << parser.failure().detail;
  const std::vector<std::string> expected = {
      "<urn:x|a id=1 http://www.w3.org/XML/1998/namespace lang=en>",
      "<|b>",
      "'t & u'",
      "</|b>",
      "</urn:x|a>",
  };
  EXPECT_EQ(recorder.events, expected);
}

TEST(XmlParserTest, FindsAnAttributeByName) {
  const char* pairs[] = {"id", "1", "type", "get", nullptr};
  const Attributes attributes(pairs);
  ASSERT_NE(attributes.find("type"), nullptr);
  EXPECT_EQ(std::string_view(attributes.find("type")), "get");
  EXPECT_EQ(attributes.find("to"), nullptr);
}

TEST(XmlParserTest, ReadsAStreamSplitAnywhere) {
  const std::string stream = "<s xmlns='urn:s'><m to='a'>hi</m><m/></s>";
  Recorder recorder;
  Parser parser(recorder);
  for (const char c : stream) {
    ASSERT_TRUE(parser.feed(std::string_view(&c, 1), false)) << parser.failure().detail;
  }
  EXPECT_EQ(recorder.events.size(), 7u);
  EXPECT_EQ(recorder.events.back(), "</urn:s|s>");
}

TEST(XmlParserTest, ReadsUtf8WhateverTheDeclarationSays) {
  Recorder recorder;
  Parser parser(recorder);
  ASSERT_TRUE(parser.feed("<?xml version='1.0' encoding='ISO-8859-1'?><a>\xC3\xA9</a>", true))
      << parser.failure().detail;
  EXPECT_EQ(recorder.events[1], "'\xC3\xA9'");
}

// The "billion laughs": entities that expand to entities. No DTD is read, so none is declared.
TEST(XmlParserTest, RefusesBillionLaughs) {
  std::string document = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol0 'lol'>";
  for (int i = 1; i < 10; ++i) {
    document += "<!ENTITY lol" + std::to_string(i) + " '";
    for (int j = 0; j < 10; ++j) {
      document += "&lol" + std::to_string(i - 1) + ";";
    }
    document += "'>";
  }
  document += "]><lolz>&lol9;</lolz>";
  EXPECT_EQ(refused(document).problem, Problem::Restricted);
}

TEST(XmlParserTest, RefusesExternalEntitiesAndAnyDoctype) {
  EXPECT_EQ(refused("<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>").problem,
            Problem::Restricted);
  EXPECT_EQ(refused("<!DOCTYPE a SYSTEM 'http://example.com/a.dtd'><a/>").problem,
            Problem::Restricted);
  // Without a DTD an entity reference is undeclared: not well-formed.
  EXPECT_EQ(refused("<a>&x;</a>").problem, Problem::NotWellFormed);
}

TEST(XmlParserTest, RefusesCommentsAndInstructionsOnlyWhenAsked) {
  const Options strict{.allow_comments = false, .allow_processing_instructions = false};
  EXPECT_EQ(refused("<a><!-- c --></a>", strict).problem, Problem::Restricted);
  EXPECT_EQ(refused("<a><?php echo 1; ?></a>", strict).problem, Problem::Restricted);
  Recorder recorder;
  Parser parser(recorder);
  EXPECT_TRUE(parser.feed("<a><!-- c --><?pi x?></a>", true)) << parser.failure().detail;
}

TEST(XmlParserTest, RefusesDeepNestingAtTheLimit) {
  const auto nested = [](int depth) {
    std::string open;
    std::string close;
    for (int i = 0; i < depth; ++i) {
      open += "<e>";
      close += "</e>";
    }
    return open + close;
  };
  Recorder recorder;
  Parser parser(recorder, {.max_depth = 8});
  EXPECT_TRUE(parser.feed(nested(8), true)) << parser.failure().detail;
  const Failure past = refused(nested(9), {.max_depth = 8});
  EXPECT_EQ(past.problem, Problem::TooDeep);
  EXPECT_NE(past.detail.find("limit 8"), std::string::npos) << past.detail;
  // A hostile depth fails at the default limit, not after expat has read it all.
  EXPECT_EQ(refused(nested(100'000)).problem, Problem::TooDeep);
}

TEST(XmlParserTest, RefusesAHugeAttributeInAStream) {
  Recorder recorder;
  Parser parser(recorder, {.max_bytes_between_events = 4096});
  ASSERT_TRUE(parser.feed("<s>", false));
  EXPECT_FALSE(parser.feed("<m a='" + std::string(64 * 1024, 'x'), false));
  EXPECT_EQ(parser.failure().problem, Problem::TooLong);
  EXPECT_NE(parser.failure().detail.find("limit 4096"), std::string::npos);
  EXPECT_FALSE(parser.feed("'/>", false)) << "a failure is final";
}

TEST(XmlParserTest, ReadsAHugeAttributeInADocumentWithoutLimit) {
  Recorder recorder;
  Parser parser(recorder);
  const std::string value(1 << 20, 'x');
  ASSERT_TRUE(parser.feed("<a v='" + value + "'/>", true)) << parser.failure().detail;
  EXPECT_EQ(recorder.events.front().size(), value.size() + 7);
}

TEST(XmlParserTest, RefusesInvalidUtf8) {
  const std::vector<std::string> inputs = {
      "<a>\xFF</a>",          // never UTF-8
      "<a>\xC3</a>",          // cut sequence
      "<a>\xC0\xAF</a>",      // overlong '/'
      "<a>\xED\xA0\x80</a>",  // UTF-16 surrogate
      "<a\xC3\x28/>",         // bad byte in a name
  };
  for (const std::string& input : inputs) {
    EXPECT_EQ(refused(input).problem, Problem::NotWellFormed) << input;
  }
}

TEST(XmlParserTest, NamesWhereTheDocumentIsBroken) {
  const Failure failure = refused("<a>\n<b></a>");
  EXPECT_EQ(failure.problem, Problem::NotWellFormed);
  EXPECT_NE(failure.detail.find("line 2"), std::string::npos) << failure.detail;
}

TEST(XmlParserTest, StopsWhenTheHandlerSaysSoAndCallsNoMore) {
  Recorder recorder;
  Parser parser(recorder);
  recorder.parser = &parser;
  recorder.stop_at = "b";
  EXPECT_FALSE(parser.feed("<a><b/><c/></a>", true));
  EXPECT_EQ(parser.failure().problem, Problem::Stopped);
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(recorder.events.back(), "<|b>");
}

TEST(XmlParserTest, GivesDepthAndOffsetInCallbacks) {
  class Depths final : public Handler {
   public:
    explicit Depths(const Parser*& parser) : parser_(parser) {}
    void start_element(Name, Attributes) override {
      seen.push_back({parser_->depth(), parser_->byte_index()});
    }
    void end_element(Name) override {}
    void text(std::string_view) override {}
    std::vector<std::pair<std::size_t, std::size_t>> seen;

   private:
    const Parser*& parser_;
  };
  const Parser* at = nullptr;
  Depths depths(at);
  Parser parser(depths);
  at = &parser;
  ASSERT_TRUE(parser.feed("<a><bb><c/></bb></a>", true));
  const std::vector<std::pair<std::size_t, std::size_t>> expected = {{1, 0}, {2, 3}, {3, 7}};
  EXPECT_EQ(depths.seen, expected);
}

}  // namespace
}  // namespace presenced::xml
