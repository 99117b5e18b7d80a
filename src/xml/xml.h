#pragma once

// Reads XML from outside peers with expat, the one place that sets expat up: namespaces on
// (names come as namespace URI and local name), input read as UTF-8 whatever it declares, no
// DTD (a DOCTYPE or an entity declaration stops the parse, so no entity is ever expanded: the
// "billion laughs" needs one), bounded nesting and bounded bytes between two events. What a
// document means is the caller's: it gets SAX events through a Handler and may stop the parse.
// Used by the PIDF reader (src/sip), the CalDAV multistatus reader (src/connectors/calendar) and
// the XMPP stream (src/xmpp); depends on none of them.
// Thread-safety: a Parser is used on one thread; parsers share nothing.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>

namespace presenced::xml {

// An element's name: its namespace URI (empty when it has none) and its local name.
struct Name {
  std::string_view ns;
  std::string_view local;
};

// An element's attributes in document order. A namespaced attribute's name is "<uri> <local>"
// (`xml:lang` is "http://www.w3.org/XML/1998/namespace lang"); an unprefixed one is its name.
class Attributes {
 public:
  struct Attribute {
    std::string_view name;
    std::string_view value;
  };
  class Iterator {
   public:
    explicit Iterator(const char* const* at) : at_(at) {}
    Attribute operator*() const { return {at_[0], at_[1]}; }
    Iterator& operator++() {
      at_ += 2;
      return *this;
    }
    bool operator==(const Iterator& other) const { return at_ == other.at_; }

   private:
    const char* const* at_;
  };

  // `pairs`: name, value, name, value, ..., nullptr (as expat gives them).
  explicit Attributes(const char* const* pairs);
  Iterator begin() const { return Iterator(pairs_); }
  Iterator end() const { return Iterator(end_); }
  // The value of the first attribute named `name`, or nullptr.
  const char* find(std::string_view name) const;

 private:
  const char* const* pairs_;
  const char* const* end_;
};

// What a parse gets. Text may come in several pieces for one run of character data.
class Handler {
 public:
  virtual void start_element(Name name, Attributes attributes) = 0;
  virtual void end_element(Name name) = 0;
  virtual void text(std::string_view text) = 0;

 protected:
  ~Handler() = default;
};

struct Options {
  // Nesting past this fails with TooDeep (the root is depth 1).
  std::size_t max_depth = 256;
  // Bytes fed without a start tag, end tag or text completing fail with TooLong: a huge tag or
  // attribute cannot make expat buffer without end. Matters for streams; a document's own size
  // limit bounds it too.
  std::size_t max_bytes_between_events = std::numeric_limits<std::size_t>::max();
  // XML 1.0 allows both; RFC 6120 §11.1 does not.
  bool allow_comments = true;
  bool allow_processing_instructions = true;
};

enum class Problem : std::uint8_t {
  NotWellFormed,  // expat's error, invalid UTF-8 included
  Restricted,     // DOCTYPE, entity declaration, or a comment or PI the options refuse
  TooDeep,        // past max_depth
  TooLong,        // past max_bytes_between_events, or a document past what expat can take
  Stopped,        // the handler called stop()
  OutOfMemory,    // expat could not allocate
};

struct Failure {
  Problem problem = Problem::NotWellFormed;
  std::string detail;  // names what and where: "xml: mismatched tag at line 1 column 30"
};

class Parser {
 public:
  // `handler` must outlive the parser.
  Parser(Handler& handler, Options options = {});
  ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses the next bytes; `last` when no more come (a document, or the end of a stream). False
  // once the parse failed; a failure is final.
  [[nodiscard]] bool feed(std::string_view bytes, bool last);
  // From a handler callback: ends the parse as Stopped (the handler keeps its own reason).
  void stop();
  bool failed() const;
  const Failure& failure() const;
  // The byte offset in all input fed so far of the event being handled (in a callback).
  std::size_t byte_index() const;
  // Elements open now, the one being started included (in a callback).
  std::size_t depth() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace presenced::xml
