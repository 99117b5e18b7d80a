#include "xmpp/internal/stream.h"

#include "xml/xml.h"

#include <fmt/format.h>

#include <string>
#include <utility>

namespace presenced::xmpp {

std::string_view condition(StreamProblem problem) {
  switch (problem) {
    case StreamProblem::NotWellFormed: return "not-well-formed";
    case StreamProblem::RestrictedXml: return "restricted-xml";
    case StreamProblem::InvalidNamespace: return "invalid-namespace";
    case StreamProblem::PolicyViolation: return "policy-violation";
  }
  return "undefined-condition";
}

// Keeps the stanza being read as a tree; the stream's root and each stanza become events.
struct StreamParser::Impl final : presenced::xml::Handler {
  Impl(StreamParser& s, const StreamLimits& limits)
      : self(s),
        parser(*this, {.max_depth = limits.depth,
                       .max_bytes_between_events = limits.hard_bytes,
                       .allow_comments = false,
                       .allow_processing_instructions = false}) {}

  void start_element(presenced::xml::Name name, presenced::xml::Attributes attributes) override;
  void end_element(presenced::xml::Name name) override;
  void text(std::string_view chars) override;
  void check_size(std::size_t index);

  StreamParser& self;
  presenced::xml::Parser parser;
  std::vector<Element> open;  // the stanza being read, outermost first
  std::size_t stanza_start = 0;
  bool oversized = false;
  std::vector<StreamEvent>* events = nullptr;
};

namespace {

Element make_element(presenced::xml::Name name, presenced::xml::Attributes attributes) {
  Element element;
  element.ns = name.ns;
  element.name = name.local;
  for (const auto& attribute : attributes) {
    element.attributes.emplace_back(attribute.name, attribute.value);
  }
  return element;
}

// What ends the stream for a failure of the XML reader (RFC 6120 §4.9.3).
StreamProblem problem_of(presenced::xml::Problem problem) {
  switch (problem) {
    case presenced::xml::Problem::Restricted: return StreamProblem::RestrictedXml;
    case presenced::xml::Problem::NotWellFormed: return StreamProblem::NotWellFormed;
    case presenced::xml::Problem::TooDeep:
    case presenced::xml::Problem::TooLong:
    case presenced::xml::Problem::OutOfMemory:
    case presenced::xml::Problem::Stopped: return StreamProblem::PolicyViolation;
  }
  return StreamProblem::PolicyViolation;
}

}  // namespace

void StreamParser::Impl::start_element(presenced::xml::Name name,
                                       presenced::xml::Attributes attributes) {
  const std::size_t index = parser.byte_index();
  const std::size_t depth = parser.depth();  // 1 for the root, 2 for a stanza, ...
  if (depth == 1) {
    Element root = make_element(name, attributes);
    if (root.ns != kStreamNs || root.name != "stream") {
      self.fail(
          StreamProblem::InvalidNamespace,
          fmt::format("root: <{}> in '{}', not <stream> in '{}'", root.name, root.ns, kStreamNs));
      return;
    }
    events->push_back({StreamEvent::Kind::Opened, std::move(root), false});
    return;
  }
  if (depth == 2) {
    stanza_start = index;
    oversized = false;
  }
  if (oversized) {
    return;
  }
  open.push_back(make_element(name, attributes));
  check_size(index);
}

void StreamParser::Impl::check_size(std::size_t index) {
  if (!oversized && index - stanza_start > self.limits_.stanza_bytes) {
    // Keep the stanza's own element (its from, to, id, type) for the error answer only.
    oversized = true;
    open.resize(1);
    open.front().children.clear();
    open.front().text.clear();
  }
}

void StreamParser::Impl::end_element(presenced::xml::Name) {
  const std::size_t index = parser.byte_index();
  const std::size_t depth = parser.depth();
  if (depth == 1) {
    events->push_back({StreamEvent::Kind::Closed, Element{}, false});
    return;
  }
  if (depth > 2 && oversized) {
    return;
  }
  check_size(index);
  if (depth > 2 && oversized) {
    return;
  }
  Element done = std::move(open.back());
  open.pop_back();
  if (depth == 2) {
    events->push_back({StreamEvent::Kind::Stanza, std::move(done), oversized});
    return;
  }
  open.back().children.push_back(std::move(done));
}

void StreamParser::Impl::text(std::string_view chars) {
  // Whitespace between stanzas is a keepalive (RFC 6120 §4.6.1).
  if (parser.depth() < 2 || oversized || open.empty()) {
    return;
  }
  open.back().text.append(chars);
  check_size(parser.byte_index() + chars.size());
}

StreamParser::StreamParser(StreamLimits limits)
    : limits_(limits), impl_(std::make_unique<Impl>(*this, limits_)) {}

StreamParser::~StreamParser() = default;

void StreamParser::fail(StreamProblem problem, std::string detail) {
  if (!failed_) {
    failed_ = true;
    failure_ = {problem, std::move(detail)};
  }
  impl_->parser.stop();
}

bool StreamParser::feed(std::string_view bytes, std::vector<StreamEvent>& events) {
  if (failed_) {
    return false;
  }
  impl_->events = &events;
  if (!impl_->parser.feed(bytes, false) && !failed_) {
    const presenced::xml::Failure& failure = impl_->parser.failure();
    failed_ = true;
    failure_ = {problem_of(failure.problem), failure.detail};
  }
  impl_->events = nullptr;
  return !failed_;
}

}  // namespace presenced::xmpp
