// read_pidf: the shared XML reader (src/xml: namespaces, no DTD, so no entity is ever declared
// or expanded) with PIDF's own limits and a scan that refuses any DOCTYPE text.

#include "sip/internal/pidf.h"

#include "sip/internal/xml_text.h"

#include "xml/xml.h"

#include <fmt/format.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace presenced::sip {
namespace {

enum class Node : std::uint8_t {
  Presence,
  Tuple,
  Status,
  Basic,
  Timestamp,
  Note,  // pidf:note of the presence or a tuple, dm:note of a person or a tuple
  Person,
  Activities,
  UserInput,
  Other,
};

bool holds_text(Node node) {
  return node == Node::Basic || node == Node::Timestamp || node == Node::Note ||
         node == Node::UserInput;
}

// What one tuple, or the document outside the tuples, says.
struct Scope {
  Basic basic = Basic::Absent;
  std::optional<core::TimePoint> timestamp;
  std::vector<std::string> activities;
  UserInput user_input = UserInput::Absent;
  std::vector<std::string> notes;
};

// For logs: printable ASCII, cut at 40 bytes.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 40)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (text.size() > 40) {
    out.append("...");
  }
  return out;
}

std::string_view trimmed(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) {
    return {};
  }
  return text.substr(first, text.find_last_not_of(kSpace) - first + 1);
}

class Reader final : public presenced::xml::Handler {
 public:
  explicit Reader(const PidfLimits& limits)
      : limits_(limits), parser_(*this, {.max_depth = limits.depth}) {}

  // The body in one go: false with error() set when it is refused.
  bool read(std::string_view body) {
    if (parser_.feed(body, true)) {
      return true;
    }
    const presenced::xml::Failure& failure = parser_.failure();
    switch (failure.problem) {
      case presenced::xml::Problem::Stopped: break;  // error_ says why
      case presenced::xml::Problem::Restricted:
        error_ = PidfError{PidfProblem::Doctype, failure.detail};
        break;
      case presenced::xml::Problem::TooDeep:
        error_ = PidfError{PidfProblem::LimitExceeded,
                           fmt::format("depth: more than {}", limits_.depth)};
        break;
      case presenced::xml::Problem::OutOfMemory:  // the body's size is what we can refuse
      case presenced::xml::Problem::TooLong:
        error_ = PidfError{PidfProblem::TooLarge, failure.detail};
        break;
      case presenced::xml::Problem::NotWellFormed:
        error_ = PidfError{PidfProblem::NotWellFormed, failure.detail};
        break;
    }
    return false;
  }

  void start_element(presenced::xml::Name name, presenced::xml::Attributes attributes) override {
    if (failed()) {
      return;
    }
    if (++elements_ > limits_.elements) {
      return fail(PidfProblem::LimitExceeded,
                  fmt::format("elements: more than {}", limits_.elements));
    }
    const std::string_view ns = name.ns;
    const std::string_view local = name.local;
    if (stack_.empty()) {
      return start_root(ns, local, attributes);
    }
    const Node node = classify(stack_.back(), ns, local);
    if (node == Node::Tuple) {
      if (tuples_.size() >= limits_.tuples) {
        return fail(PidfProblem::LimitExceeded, fmt::format("tuple: more than {}", limits_.tuples));
      }
      tuples_.emplace_back();
      in_tuple_ = true;
    }
    if (stack_.back() == Node::Activities && ns == kRpidNamespace && xml::is_simple_name(local)) {
      std::vector<std::string>& activities = scope().activities;
      if (activities.size() >= limits_.activities) {
        return fail(PidfProblem::LimitExceeded,
                    fmt::format("activities: more than {}", limits_.activities));
      }
      activities.emplace_back(local);
    }
    if (holds_text(node)) {
      text_.clear();
    }
    stack_.push_back(node);
  }

  void end_element(presenced::xml::Name) override {
    if (failed()) {
      return;
    }
    const Node node = stack_.back();
    stack_.pop_back();
    if (node == Node::Tuple) {
      in_tuple_ = false;
    } else if (holds_text(node)) {
      end_text(node);
    }
  }

  void text(std::string_view data) override {
    if (failed() || stack_.empty() || !holds_text(stack_.back())) {
      return;
    }
    if (text_.size() + data.size() > limits_.text_bytes) {
      return fail(PidfProblem::LimitExceeded,
                  fmt::format("text: more than {} bytes in one element", limits_.text_bytes));
    }
    text_.append(data);
  }

  void fail(PidfProblem problem, std::string detail) {
    if (!error_) {
      error_ = PidfError{problem, std::move(detail)};
    }
    parser_.stop();
  }

  bool failed() const { return error_.has_value(); }
  std::optional<PidfError>& error() { return error_; }

  PidfDocument finish() {
    PidfDocument document;
    document.entity = std::move(entity_);
    const Scope* chosen = choose_tuple();
    document.notes = std::move(outside_.notes);
    if (chosen == nullptr) {
      document.activities = std::move(outside_.activities);
      document.user_input = outside_.user_input;
      return document;
    }
    document.basic = chosen->basic;
    document.timestamp = chosen->timestamp;
    document.activities =
        outside_.activities.empty() ? chosen->activities : std::move(outside_.activities);
    document.user_input =
        outside_.user_input != UserInput::Absent ? outside_.user_input : chosen->user_input;
    document.notes.insert(document.notes.end(), chosen->notes.begin(), chosen->notes.end());
    return document;
  }

 private:
  void start_root(std::string_view ns, std::string_view local,
                  presenced::xml::Attributes attributes) {
    if (ns != kPidfNamespace || local != "presence") {
      return fail(PidfProblem::NotPidf,
                  fmt::format("root: <{}> in namespace '{}', expected <presence> in '{}'",
                              printable(local), printable(ns), kPidfNamespace));
    }
    for (const auto& attribute : attributes) {
      if (attribute.name == "entity") {
        entity_ = attribute.value;
      }
    }
    if (entity_.empty()) {
      return fail(PidfProblem::NotPidf, "presence: no entity attribute (RFC 3863 §4.1.1)");
    }
    stack_.push_back(Node::Presence);
  }

  static Node classify(Node parent, std::string_view ns, std::string_view local) {
    const bool pidf = ns == kPidfNamespace;
    const bool dm = ns == kDataModelNamespace;
    const bool rpid = ns == kRpidNamespace;
    switch (parent) {
      case Node::Presence:
        if (pidf && local == "tuple") {
          return Node::Tuple;
        }
        if (pidf && local == "note") {
          return Node::Note;
        }
        if (dm && local == "person") {
          return Node::Person;
        }
        return Node::Other;
      case Node::Tuple:
        if (pidf && local == "status") {
          return Node::Status;
        }
        if (pidf && local == "timestamp") {
          return Node::Timestamp;
        }
        return (pidf || dm) && local == "note" ? Node::Note : Node::Other;
      case Node::Status:
        if (pidf && local == "basic") {
          return Node::Basic;
        }
        return rpid_element(rpid, local);
      case Node::Person: return dm && local == "note" ? Node::Note : rpid_element(rpid, local);
      default: return Node::Other;
    }
  }

  // RPID elements read in a person or a tuple's status (RFC 4480 §3).
  static Node rpid_element(bool rpid, std::string_view local) {
    if (rpid && local == "activities") {
      return Node::Activities;
    }
    return rpid && local == "user-input" ? Node::UserInput : Node::Other;
  }

  Scope& scope() { return in_tuple_ ? tuples_.back() : outside_; }

  void end_text(Node node) {
    Scope& here = scope();
    if (node == Node::Note) {
      if (++notes_ > limits_.notes) {
        return fail(PidfProblem::LimitExceeded, fmt::format("note: more than {}", limits_.notes));
      }
      here.notes.push_back(std::move(text_));
    } else if (node == Node::Basic) {
      const std::string_view value = trimmed(text_);
      if (value != "open" && value != "closed") {
        return fail(PidfProblem::BadValue,
                    fmt::format("basic: '{}', expected open or closed", printable(value)));
      }
      here.basic = value == "open" ? Basic::Open : Basic::Closed;
    } else if (node == Node::Timestamp) {
      // An unreadable timestamp is no timestamp: the tuple then counts as oldest.
      here.timestamp = xml::parse_timestamp(trimmed(text_));
    } else if (here.user_input == UserInput::Absent) {
      // Values other than RFC 4480's two are no user input.
      const std::string_view value = trimmed(text_);
      here.user_input = value == "idle"     ? UserInput::Idle
                        : value == "active" ? UserInput::Active
                                            : UserInput::Absent;
    }
    text_.clear();
  }

  const Scope* choose_tuple() const {
    const Scope* chosen = nullptr;
    for (const Scope& tuple : tuples_) {
      if (chosen == nullptr || better(tuple, *chosen)) {
        chosen = &tuple;
      }
    }
    return chosen;
  }

  // Open before not open; then the later timestamp; a tuple without one is oldest.
  static bool better(const Scope& a, const Scope& b) {
    const bool a_open = a.basic == Basic::Open;
    const bool b_open = b.basic == Basic::Open;
    if (a_open != b_open) {
      return a_open;
    }
    return a.timestamp && (!b.timestamp || *a.timestamp > *b.timestamp);
  }

  const PidfLimits& limits_;
  presenced::xml::Parser parser_;
  std::optional<PidfError> error_;
  std::vector<Node> stack_;
  std::size_t elements_ = 0;
  std::size_t notes_ = 0;  // in the whole document, so a document written back holds them
  std::string text_;
  std::string entity_;
  bool in_tuple_ = false;
  std::vector<Scope> tuples_;
  Scope outside_;
};

}  // namespace

std::string_view to_string(PidfProblem problem) {
  switch (problem) {
    case PidfProblem::TooLarge: return "too_large";
    case PidfProblem::Doctype: return "doctype";
    case PidfProblem::NotWellFormed: return "not_well_formed";
    case PidfProblem::NotPidf: return "not_pidf";
    case PidfProblem::LimitExceeded: return "limit_exceeded";
    case PidfProblem::BadValue: return "bad_value";
  }
  return "unknown";
}

int PidfError::status() const { return problem == PidfProblem::TooLarge ? 413 : 400; }

void throw_exception_from_error(const PidfError& error, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(error.problem)) + ": " + error.detail);
}

PidfResult<PidfDocument> read_pidf(std::string_view body, const PidfLimits& limits) {
  if (body.size() > limits.body_bytes) {
    return PidfError{PidfProblem::TooLarge,
                     fmt::format("body: {} bytes, limit {}", body.size(), limits.body_bytes)};
  }
  // Expat follows a byte order mark whatever encoding we name: only UTF-8 passes, in which no
  // character of XML is a NUL byte, so the DOCTYPE scan below sees the text expat parses.
  if (body.starts_with("\xFE\xFF") || body.starts_with("\xFF\xFE") ||
      body.find('\0') != std::string_view::npos) {
    return PidfError{PidfProblem::NotWellFormed, "body: not UTF-8 (UTF-16 or a NUL byte)"};
  }
  // Refused before parsing, even inside a comment or CDATA: no PIDF needs the text.
  if (body.find("<!DOCTYPE") != std::string_view::npos) {
    return PidfError{PidfProblem::Doctype, "DOCTYPE: not allowed (no DTD, no entity declarations)"};
  }
  Reader reader(limits);
  if (!reader.read(body)) {
    return std::move(*reader.error());
  }
  return reader.finish();
}

}  // namespace presenced::sip
