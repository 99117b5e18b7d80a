#pragma once

// Reads an XML stream (RFC 6120 §4) with the shared XML reader (src/xml) as bytes arrive: the
// stream header, each top-level stanza as an Element, the stream's end. Private to src/xmpp;
// docs/xmpp.md, "Bad input", lists what it refuses.
// Thread-safety: one parser per connection, used on one thread.

#include "core/result.h"
#include "xmpp/internal/stanza.h"

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace presenced::xmpp {

struct StreamLimits {
  // A stanza longer than this is read on but kept as its top element without children (the
  // caller answers it with policy-violation) so that one large stanza does not end the link.
  std::size_t stanza_bytes = 64 * 1024;
  // Past this many bytes without a complete element event, or past this nesting, the stream
  // cannot go on: expat would have to hold it all.
  std::size_t hard_bytes = 1024 * 1024;
  std::size_t depth = 32;
};

// What ended the stream, as the stream error condition we send (RFC 6120 §4.9.3).
enum class StreamProblem : std::uint8_t {
  NotWellFormed,     // not-well-formed
  RestrictedXml,     // restricted-xml: DOCTYPE, entity declarations, comments, PIs (§11.1)
  InvalidNamespace,  // invalid-namespace: the root is not <stream:stream>
  PolicyViolation,   // policy-violation: past hard_bytes or depth
};
std::string_view condition(StreamProblem problem);

struct StreamEvent {
  enum class Kind : std::uint8_t { Opened, Stanza, Closed };
  Kind kind = Kind::Stanza;
  Element element;         // Opened: the root with its attributes; Stanza: the stanza
  bool oversized = false;  // Stanza: past stanza_bytes; children and text dropped
};

struct StreamFailure {
  StreamProblem problem = StreamProblem::NotWellFormed;
  std::string detail;  // for logs: what and where
};

class StreamParser {
 public:
  explicit StreamParser(StreamLimits limits = {});
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Parses the next bytes and appends what they complete to `events`. A failure is final: the
  // stream is to be closed with that stream error.
  [[nodiscard]] bool feed(std::string_view bytes, std::vector<StreamEvent>& events);
  const StreamFailure& failure() const { return failure_; }

 private:
  void fail(StreamProblem problem, std::string detail);

  StreamLimits limits_;
  StreamFailure failure_;
  bool failed_ = false;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace presenced::xmpp
