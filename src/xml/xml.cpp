#include "xml/xml.h"

#include <expat.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace presenced::xml {
namespace {

// Expat joins a namespace URI and a local name with this; neither a URI nor a name holds one.
constexpr char kSeparator = ' ';

// With a limit on bytes between events, input is fed to expat in slices of this size and the
// bytes without an event are counted between them. Without one it goes in at once, as large
// as XML_Parse's int length allows: expat scans a token again on each slice it spans.
constexpr std::size_t kCountedSlice = 16 * 1024;
constexpr std::size_t kWholeSlice = std::numeric_limits<int>::max();

Name split(const XML_Char* qualified) {
  const std::string_view text(qualified);
  const std::size_t space = text.rfind(kSeparator);
  if (space == std::string_view::npos) {
    return {{}, text};
  }
  return {text.substr(0, space), text.substr(space + 1)};
}

}  // namespace

Attributes::Attributes(const char* const* pairs) : pairs_(pairs), end_(pairs) {
  while (*end_ != nullptr) {
    end_ += 2;
  }
}

const char* Attributes::find(std::string_view name) const {
  for (const Attribute attribute : *this) {
    if (attribute.name == name) {
      return attribute.value.data();
    }
  }
  return nullptr;
}

struct Parser::Impl {
  Impl(Handler& h, Options o) : handler(h), options(o) {}

  void fail(Problem problem, std::string detail) {
    if (!failed) {
      failed = true;
      failure = {problem, std::move(detail)};
    }
    XML_StopParser(parser, XML_FALSE);
  }

  void saw_event() { last_event = static_cast<std::size_t>(XML_GetCurrentByteIndex(parser)); }

  // After a stop expat may still call back (an empty element's end, buffered text): ignored.
  static Impl& of(void* data) { return *static_cast<Impl*>(data); }

  static void on_start(void* data, const XML_Char* name, const XML_Char** attributes) {
    Impl& p = of(data);
    if (p.failed) {
      return;
    }
    p.saw_event();
    if (++p.depth > p.options.max_depth) {
      return p.fail(Problem::TooDeep,
                    fmt::format("nesting: depth {}, limit {}", p.depth, p.options.max_depth));
    }
    p.handler.start_element(split(name), Attributes(attributes));
  }

  static void on_end(void* data, const XML_Char* name) {
    Impl& p = of(data);
    if (p.failed) {
      return;
    }
    p.saw_event();
    p.handler.end_element(split(name));
    --p.depth;
  }

  static void on_text(void* data, const XML_Char* text, int length) {
    Impl& p = of(data);
    if (p.failed) {
      return;
    }
    p.saw_event();
    p.handler.text(std::string_view(text, static_cast<std::size_t>(length)));
  }

  static void on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    of(data).fail(Problem::Restricted, "DOCTYPE: not allowed (no DTD, no entity declarations)");
  }

  static void on_entity(void* data, const XML_Char* name, int, const XML_Char*, int,
                        const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
    of(data).fail(Problem::Restricted,
                  fmt::format("entity declaration '{}': not allowed", name));
  }

  static void on_comment(void* data, const XML_Char*) {
    of(data).fail(Problem::Restricted, "comment: not allowed");
  }

  static void on_instruction(void* data, const XML_Char* target, const XML_Char*) {
    of(data).fail(Problem::Restricted,
                  fmt::format("processing instruction '{}': not allowed", target));
  }

  Handler& handler;
  Options options;
  XML_Parser parser = nullptr;
  bool failed = false;
  Failure failure;
  std::size_t depth = 0;
  std::size_t fed = 0;         // bytes given to expat so far
  std::size_t last_event = 0;  // byte index of the last event
};

Parser::Parser(Handler& handler, Options options)
    : impl_(std::make_unique<Impl>(handler, options)) {
  Impl& p = *impl_;
  // Read as UTF-8 whatever the document declares (RFC 6120 §11.6, RFC 3863 §4.1).
  p.parser = XML_ParserCreateNS("UTF-8", kSeparator);
  if (p.parser == nullptr) {
    p.failed = true;
    p.failure = {Problem::OutOfMemory, "xml: out of memory for the parser"};
    return;
  }
  XML_SetUserData(p.parser, &p);
  XML_SetElementHandler(p.parser, &Impl::on_start, &Impl::on_end);
  XML_SetCharacterDataHandler(p.parser, &Impl::on_text);
  XML_SetStartDoctypeDeclHandler(p.parser, &Impl::on_doctype);
  XML_SetEntityDeclHandler(p.parser, &Impl::on_entity);
  if (!options.allow_comments) {
    XML_SetCommentHandler(p.parser, &Impl::on_comment);
  }
  if (!options.allow_processing_instructions) {
    XML_SetProcessingInstructionHandler(p.parser, &Impl::on_instruction);
  }
  XML_SetParamEntityParsing(p.parser, XML_PARAM_ENTITY_PARSING_NEVER);
}

Parser::~Parser() {
  if (impl_->parser != nullptr) {
    XML_ParserFree(impl_->parser);
  }
}

bool Parser::feed(std::string_view bytes, bool last) {
  Impl& p = *impl_;
  const std::size_t most =
      p.options.max_bytes_between_events == std::numeric_limits<std::size_t>::max()
          ? kWholeSlice
          : kCountedSlice;
  do {
    if (p.failed) {
      return false;
    }
    const std::size_t slice = std::min(bytes.size(), most);
    const bool is_final = last && slice == bytes.size();
    const XML_Status status = XML_Parse(p.parser, bytes.data(), static_cast<int>(slice),
                                        is_final ? XML_TRUE : XML_FALSE);
    p.fed += slice;
    bytes.remove_prefix(slice);
    if (status == XML_STATUS_ERROR && !p.failed) {
      const XML_Error code = XML_GetErrorCode(p.parser);
      p.fail(code == XML_ERROR_NO_MEMORY ? Problem::OutOfMemory : Problem::NotWellFormed,
             fmt::format("xml: {} at line {} column {}", XML_ErrorString(code),
                         XML_GetCurrentLineNumber(p.parser),
                         XML_GetCurrentColumnNumber(p.parser)));
    }
    if (!p.failed && p.fed - p.last_event > p.options.max_bytes_between_events) {
      p.fail(Problem::TooLong, fmt::format("xml: {} bytes without a complete tag, limit {}",
                                           p.fed - p.last_event,
                                           p.options.max_bytes_between_events));
    }
  } while (!bytes.empty());
  return !p.failed;
}

void Parser::stop() { impl_->fail(Problem::Stopped, "xml: stopped by its reader"); }

bool Parser::failed() const { return impl_->failed; }

const Failure& Parser::failure() const { return impl_->failure; }

std::size_t Parser::byte_index() const {
  return static_cast<std::size_t>(XML_GetCurrentByteIndex(impl_->parser));
}

std::size_t Parser::depth() const { return impl_->depth; }

}  // namespace presenced::xml
