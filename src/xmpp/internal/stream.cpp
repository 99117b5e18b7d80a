#include "xmpp/internal/stream.h"

#include <expat.h>
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

struct StreamParser::Impl {
  XML_Parser parser = nullptr;
  std::vector<Element> open;  // the stanza being read, outermost first
  std::size_t depth = 0;      // 1 inside the root, 2 inside a stanza, ...
  std::size_t stanza_start = 0;
  bool oversized = false;
  std::size_t fed = 0;         // bytes given to expat so far
  std::size_t last_event = 0;  // byte index of the last element event
  std::vector<StreamEvent>* events = nullptr;
};

namespace {

// expat's names in namespace mode: "uri local", or "local" without a namespace.
std::pair<std::string, std::string> split_name(const XML_Char* name) {
  std::string_view text(name);
  const std::size_t space = text.rfind(' ');
  if (space == std::string_view::npos) {
    return {std::string(), std::string(text)};
  }
  return {std::string(text.substr(0, space)), std::string(text.substr(space + 1))};
}

Element make_element(const XML_Char* name, const XML_Char** attributes) {
  Element element;
  std::tie(element.ns, element.name) = split_name(name);
  for (const XML_Char** a = attributes; *a != nullptr; a += 2) {
    element.attributes.emplace_back(a[0], a[1]);
  }
  return element;
}

}  // namespace

struct StreamParser::Handlers {
  static StreamParser& self(void* data) { return *static_cast<StreamParser*>(data); }

  static void start(void* data, const XML_Char* name, const XML_Char** attributes) {
    StreamParser& s = self(data);
    Impl& p = *s.impl_;
    const auto index = static_cast<std::size_t>(XML_GetCurrentByteIndex(p.parser));
    p.last_event = index;
    ++p.depth;
    if (p.depth > s.limits_.depth) {
      s.fail(StreamProblem::PolicyViolation,
             fmt::format("nesting: depth {}, limit {}", p.depth, s.limits_.depth));
      return;
    }
    if (p.depth == 1) {
      Element root = make_element(name, attributes);
      if (root.ns != kStreamNs || root.name != "stream") {
        s.fail(
            StreamProblem::InvalidNamespace,
            fmt::format("root: <{}> in '{}', not <stream> in '{}'", root.name, root.ns, kStreamNs));
        return;
      }
      p.events->push_back({StreamEvent::Kind::Opened, std::move(root), false});
      return;
    }
    if (p.depth == 2) {
      p.stanza_start = index;
      p.oversized = false;
    }
    if (p.oversized) {
      return;
    }
    p.open.push_back(make_element(name, attributes));
    check_size(s, index);
  }

  static void check_size(StreamParser& s, std::size_t index) {
    Impl& p = *s.impl_;
    if (!p.oversized && index - p.stanza_start > s.limits_.stanza_bytes) {
      // Keep the stanza's own element (its from, to, id, type) for the error answer only.
      p.oversized = true;
      p.open.resize(1);
      p.open.front().children.clear();
      p.open.front().text.clear();
    }
  }

  static void end(void* data, const XML_Char*) {
    StreamParser& s = self(data);
    Impl& p = *s.impl_;
    const auto index = static_cast<std::size_t>(XML_GetCurrentByteIndex(p.parser));
    p.last_event = index;
    const std::size_t depth = p.depth--;
    if (depth == 1) {
      p.events->push_back({StreamEvent::Kind::Closed, Element{}, false});
      return;
    }
    if (depth > 2 && p.oversized) {
      return;
    }
    check_size(s, index);
    if (depth > 2 && p.oversized) {
      return;
    }
    Element done = std::move(p.open.back());
    p.open.pop_back();
    if (depth == 2) {
      p.events->push_back({StreamEvent::Kind::Stanza, std::move(done), p.oversized});
      return;
    }
    p.open.back().children.push_back(std::move(done));
  }

  static void text(void* data, const XML_Char* chars, int length) {
    StreamParser& s = self(data);
    Impl& p = *s.impl_;
    p.last_event = static_cast<std::size_t>(XML_GetCurrentByteIndex(p.parser));
    // Whitespace between stanzas is a keepalive (RFC 6120 §4.6.1).
    if (p.depth < 2 || p.oversized || p.open.empty()) {
      return;
    }
    p.open.back().text.append(chars, static_cast<std::size_t>(length));
    check_size(s, static_cast<std::size_t>(XML_GetCurrentByteIndex(p.parser)) +
                      static_cast<std::size_t>(length));
  }

  static void doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    self(data).fail(StreamProblem::RestrictedXml, "DOCTYPE: not allowed (RFC 6120 §11.1)");
  }
  static void entity(void* data, const XML_Char* name, int, const XML_Char*, int, const XML_Char*,
                     const XML_Char*, const XML_Char*, const XML_Char*) {
    self(data).fail(StreamProblem::RestrictedXml,
                    fmt::format("entity declaration '{}': not allowed (RFC 6120 §11.1)", name));
  }
  static void comment(void* data, const XML_Char*) {
    self(data).fail(StreamProblem::RestrictedXml, "comment: not allowed (RFC 6120 §11.1)");
  }
  static void instruction(void* data, const XML_Char* target, const XML_Char*) {
    self(data).fail(
        StreamProblem::RestrictedXml,
        fmt::format("processing instruction '{}': not allowed (RFC 6120 §11.1)", target));
  }
};

StreamParser::StreamParser(StreamLimits limits) : limits_(limits), impl_(std::make_unique<Impl>()) {
  impl_->parser = XML_ParserCreateNS(nullptr, ' ');
  XML_SetUserData(impl_->parser, this);
  XML_SetElementHandler(impl_->parser, &Handlers::start, &Handlers::end);
  XML_SetCharacterDataHandler(impl_->parser, &Handlers::text);
  XML_SetStartDoctypeDeclHandler(impl_->parser, &Handlers::doctype);
  XML_SetEntityDeclHandler(impl_->parser, &Handlers::entity);
  XML_SetCommentHandler(impl_->parser, &Handlers::comment);
  XML_SetProcessingInstructionHandler(impl_->parser, &Handlers::instruction);
  XML_SetParamEntityParsing(impl_->parser, XML_PARAM_ENTITY_PARSING_NEVER);
}

StreamParser::~StreamParser() {
  if (impl_->parser != nullptr) {
    XML_ParserFree(impl_->parser);
  }
}

void StreamParser::fail(StreamProblem problem, std::string detail) {
  if (!failed_) {
    failed_ = true;
    failure_ = {problem, std::move(detail)};
  }
  XML_StopParser(impl_->parser, XML_FALSE);
}

bool StreamParser::feed(std::string_view bytes, std::vector<StreamEvent>& events) {
  if (failed_) {
    return false;
  }
  Impl& p = *impl_;
  p.events = &events;
  // Fed in slices so that a peer cannot make expat buffer more than hard_bytes without an event.
  while (!bytes.empty() && !failed_) {
    const std::size_t slice = std::min<std::size_t>(bytes.size(), 16 * 1024);
    const XML_Status status = XML_Parse(p.parser, bytes.data(), static_cast<int>(slice), XML_FALSE);
    p.fed += slice;
    bytes.remove_prefix(slice);
    if (status == XML_STATUS_ERROR && !failed_) {
      fail(StreamProblem::NotWellFormed,
           fmt::format("line {} column {}: {}", XML_GetCurrentLineNumber(p.parser),
                       XML_GetCurrentColumnNumber(p.parser),
                       XML_ErrorString(XML_GetErrorCode(p.parser))));
    }
    if (!failed_ && p.fed - p.last_event > limits_.hard_bytes) {
      fail(StreamProblem::PolicyViolation, fmt::format("{} bytes without a complete tag, limit {}",
                                                       p.fed - p.last_event, limits_.hard_bytes));
    }
  }
  p.events = nullptr;
  return !failed_;
}

}  // namespace presenced::xmpp
