// Reading a SIP message from bytes (RFC 3261 §7, §18.3, §20) and framing a stream of them.

#include "sip/internal/grammar.h"
#include "sip/internal/message.h"
#include "sip/internal/values.h"

#include <fmt/format.h>

#include <bitset>
#include <limits>

namespace presenced::sip {

using namespace grammar;

namespace {

enum class Id : std::uint8_t {
  Via,
  Route,
  RecordRoute,
  From,
  To,
  CallId,
  CSeq,
  MaxForwards,
  Contact,
  Expires,
  MinExpires,
  Event,
  SubscriptionState,
  SipETag,
  SipIfMatch,
  Accept,
  Allow,
  AllowEvents,
  Supported,
  Require,
  WwwAuthenticate,
  ProxyAuthenticate,
  Authorization,
  ProxyAuthorization,
  ContentType,
  ContentLength,
  Other,
};
constexpr std::size_t kIds = static_cast<std::size_t>(Id::Other) + 1;

struct Known {
  Id id;
  std::string_view name;
  char compact;  // '\0' when there is none
  bool single;   // may appear once only
};

// Compact forms: RFC 3261 §7.3.3 and §20, RFC 6665 §8.2 (o, u), RFC 3515 (r), RFC 3892 (b),
// RFC 4028 (x), RFC 3841 (a, j, d), RFC 4474 (y, n).
constexpr Known kKnown[] = {
    {Id::Via, "Via", 'v', false},
    {Id::Route, "Route", '\0', false},
    {Id::RecordRoute, "Record-Route", '\0', false},
    {Id::From, "From", 'f', true},
    {Id::To, "To", 't', true},
    {Id::CallId, "Call-ID", 'i', true},
    {Id::CSeq, "CSeq", '\0', true},
    {Id::MaxForwards, "Max-Forwards", '\0', true},
    {Id::Contact, "Contact", 'm', false},
    {Id::Expires, "Expires", '\0', true},
    {Id::MinExpires, "Min-Expires", '\0', true},
    {Id::Event, "Event", 'o', true},
    {Id::SubscriptionState, "Subscription-State", '\0', true},
    {Id::SipETag, "SIP-ETag", '\0', true},
    {Id::SipIfMatch, "SIP-If-Match", '\0', true},
    {Id::Accept, "Accept", '\0', false},
    {Id::Allow, "Allow", '\0', false},
    {Id::AllowEvents, "Allow-Events", 'u', false},
    {Id::Supported, "Supported", 'k', false},
    {Id::Require, "Require", '\0', false},
    {Id::WwwAuthenticate, "WWW-Authenticate", '\0', false},
    {Id::ProxyAuthenticate, "Proxy-Authenticate", '\0', false},
    {Id::Authorization, "Authorization", '\0', false},
    {Id::ProxyAuthorization, "Proxy-Authorization", '\0', false},
    {Id::ContentType, "Content-Type", 'c', true},
    {Id::ContentLength, "Content-Length", 'l', true},
    {Id::Other, "Content-Encoding", 'e', false},
    {Id::Other, "Subject", 's', false},
    {Id::Other, "Refer-To", 'r', false},
    {Id::Other, "Referred-By", 'b', false},
    {Id::Other, "Session-Expires", 'x', false},
    {Id::Other, "Identity", 'y', false},
    {Id::Other, "Identity-Info", 'n', false},
    {Id::Other, "Accept-Contact", 'a', false},
    {Id::Other, "Reject-Contact", 'j', false},
    {Id::Other, "Request-Disposition", 'd', false},
};

const Known* find_known(std::string_view name) {
  for (const Known& known : kKnown) {
    if (name.size() == 1 ? lower(name[0]) == known.compact : iequals(name, known.name)) {
      return &known;
    }
  }
  return nullptr;
}

ParseError error(ParseProblem problem, std::string reason, std::string detail) {
  return ParseError{problem, std::move(reason), std::move(detail)};
}

ParseError bad_header(std::string_view name, std::string_view value) {
  return error(ParseProblem::BadHeader, fmt::format("Bad {}", name),
               fmt::format("{}: cannot read '{}'", name, printable(value)));
}

// One header after unfolding: its name as written and its trimmed value.
struct RawHeader {
  std::string_view name;
  std::string_view value;
};

// Calls `on_header` for each header in `head` (the lines after the start line, each ending in
// CRLF). Continuation lines are joined with one space (§7.3.1). Control characters other than
// HT, bare CR and bare LF are refused.
template <typename OnHeader>
std::optional<ParseError> walk_headers(std::string_view head, const Limits& limits,
                                       OnHeader on_header) {
  std::string scratch;
  std::size_t count = 0;
  std::size_t start = 0;  // of the current header
  auto flush = [&](std::size_t end) -> std::optional<ParseError> {
    const std::string_view raw = head.substr(start, end - start);
    if (raw.size() > limits.header_bytes) {
      return error(ParseProblem::HeaderTooLong, "Header Too Long",
                   fmt::format("header '{}': {} bytes, limit {}", printable(raw, 32), raw.size(),
                               limits.header_bytes));
    }
    if (++count > limits.header_count) {
      return error(ParseProblem::TooManyHeaders, "Too Many Headers",
                   fmt::format("headers: more than the limit of {}", limits.header_count));
    }
    const std::size_t first_end = std::min(raw.find("\r\n"), raw.size());
    const std::size_t colon = raw.substr(0, first_end).find(':');
    std::string_view name = colon == raw.npos ? std::string_view() : trim(raw.substr(0, colon));
    Cursor check(name);
    if (name.empty() || check.token().size() != name.size()) {
      return error(ParseProblem::BadHeader, "Bad Header",
                   fmt::format("header line '{}': no name and colon", printable(raw)));
    }
    std::string_view value = raw.substr(colon + 1);
    if (first_end < raw.size()) {
      scratch.clear();
      std::size_t from = 0;
      while (from <= value.size()) {
        const std::size_t to = std::min(value.find("\r\n", from), value.size());
        const std::string_view piece = trim(value.substr(from, to - from));
        if (!piece.empty()) {
          scratch += scratch.empty() ? "" : " ";
          scratch += piece;
        }
        from = to + 2;
      }
      value = scratch;
    }
    return on_header(RawHeader{name, trim(value)});
  };
  std::size_t pos = 0;
  while (pos < head.size()) {
    const std::size_t end = head.find("\r\n", pos);
    if (end == head.npos) {
      return error(ParseProblem::BadHeader, "Bad Header", "header section: a line without CRLF");
    }
    for (std::size_t i = pos; i < end; ++i) {
      const auto c = static_cast<unsigned char>(head[i]);
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return error(ParseProblem::BadHeader, "Bad Header",
                     fmt::format("header line '{}': control character 0x{:02x}",
                                 printable(head.substr(pos, end - pos)), c));
      }
    }
    if (is_wsp(head[pos])) {
      if (pos == 0) {
        return error(ParseProblem::BadHeader, "Bad Header",
                     "header section: continuation line before the first header");
      }
    } else if (pos > 0) {
      if (auto problem = flush(pos - 2)) {
        return problem;
      }
      start = pos;
    }
    pos = end + 2;
  }
  if (head.empty()) {
    return std::nullopt;
  }
  return flush(head.size() - 2);
}

Parsed<std::size_t> content_length(std::string_view value, const Limits& limits) {
  const auto length = parse_number(value, std::numeric_limits<std::uint64_t>::max(), true);
  if (!length) {
    return error(ParseProblem::BadContentLength, "Bad Content-Length",
                 fmt::format("Content-Length: '{}' is not a number", printable(value)));
  }
  if (*length > limits.body_bytes) {
    return error(
        ParseProblem::BodyTooLarge, "Request Entity Too Large",
        fmt::format("Content-Length: {} bytes, limit {}", printable(value), limits.body_bytes));
  }
  return static_cast<std::size_t>(*length);
}

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1); only 2.0 is ours.
std::optional<ParseError> check_version(std::string_view version) {
  const auto bad = [&] {
    return error(ParseProblem::BadStartLine, "Bad Request Line",
                 fmt::format("start line: bad version '{}'", printable(version)));
  };
  if (version.size() < 4 || !iequals(version.substr(0, 4), "SIP/")) {
    return bad();
  }
  const std::string_view number = version.substr(4);
  const std::size_t dot = number.find('.');
  if (dot == number.npos || !parse_number(number.substr(0, dot), 1u << 30) ||
      !parse_number(number.substr(dot + 1), 1u << 30)) {
    return bad();
  }
  if (number != "2.0") {
    return error(ParseProblem::UnsupportedVersion, "Version Not Supported",
                 fmt::format("start line: version '{}', only SIP/2.0", printable(version)));
  }
  return std::nullopt;
}

// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
std::optional<ParseError> read_status_line(std::string_view line, Message& out) {
  const std::size_t sp = line.find(' ');
  if (auto problem = check_version(line.substr(0, sp))) {
    return problem;
  }
  const std::string_view rest = sp == line.npos ? std::string_view() : line.substr(sp + 1);
  const std::string_view code = rest.substr(0, 3);
  const auto status = parse_number(code, 699);
  if (code.size() != 3 || !status || *status < 100 || (rest.size() > 3 && rest[3] != ' ')) {
    return error(ParseProblem::BadStartLine, "Bad Status Line",
                 fmt::format("status line: '{}'", printable(line)));
  }
  out.status = static_cast<int>(*status);
  out.reason = std::string(rest.size() > 4 ? rest.substr(4) : std::string_view());
  return std::nullopt;
}

// Request-Line = Method SP Request-URI SP SIP-Version, single spaces (§7.1)
std::optional<ParseError> read_request_line(std::string_view line, const Limits& limits,
                                            Message& out) {
  const std::size_t first = line.find(' ');
  const std::size_t last = line.rfind(' ');
  const auto bad = [&](std::string_view what) {
    return error(ParseProblem::BadStartLine, "Bad Request Line",
                 fmt::format("request line '{}': {}", printable(line), what));
  };
  if (first == line.npos || first == last) {
    return bad("not method, URI and version");
  }
  const std::string_view method = line.substr(0, first);
  const std::string_view uri = line.substr(first + 1, last - first - 1);
  Cursor check(method);
  if (check.token().size() != method.size() || method.empty()) {
    return bad("bad method");
  }
  if (uri.empty() || uri.find(' ') != uri.npos) {
    return bad("extra spaces");
  }
  if (auto problem = check_version(line.substr(last + 1))) {
    return problem;
  }
  if (uri.size() > limits.uri_bytes) {
    return error(ParseProblem::UriTooLong, "Request-URI Too Long",
                 fmt::format("Request-URI: {} bytes, limit {}", uri.size(), limits.uri_bytes));
  }
  if (!values::read_uri(uri, out.request_uri)) {
    return bad("bad Request-URI");
  }
  if (!out.request_uri.is_sip()) {
    return error(ParseProblem::UnsupportedUriScheme, "Unsupported URI Scheme",
                 fmt::format("Request-URI: scheme '{}', only sip and sips",
                             printable(out.request_uri.scheme)));
  }
  out.method = parse_method(method);
  out.extension_method = out.method == Method::Other ? std::string(method) : std::string();
  return std::nullopt;
}

std::optional<std::uint32_t> seconds(std::string_view value) {
  const auto number = parse_number(value, std::numeric_limits<std::uint32_t>::max(), true);
  return number ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(*number)) : std::nullopt;
}

// Reads one typed header into the message; false when the value does not follow its grammar.
bool apply(Id id, std::string_view value, const Limits& limits, Message& out) {
  using namespace values;
  const std::size_t items = limits.list_items;
  switch (id) {
    case Id::Via: return read_vias(value, items, out.vias);
    case Id::Route: return read_name_addrs(value, items, out.routes);
    case Id::RecordRoute: return read_name_addrs(value, items, out.record_routes);
    case Id::From: return read_name_addr(value, out.from);
    case Id::To: return read_name_addr(value, out.to);
    case Id::CallId: return read_call_id(value, out.call_id);
    case Id::CSeq: return read_cseq(value, out.cseq);
    case Id::MaxForwards: {
      const auto hops = grammar::parse_number(value, 255);
      out.max_forwards = hops ? std::optional<int>(static_cast<int>(*hops)) : std::nullopt;
      return hops.has_value();
    }
    case Id::Contact: return read_contacts(value, items, out.contacts);
    case Id::Expires: return (out.expires = seconds(value)).has_value();
    case Id::MinExpires: return (out.min_expires = seconds(value)).has_value();
    case Id::Event: return read_event(value, out.event.emplace());
    case Id::SubscriptionState:
      return read_subscription_state(value, out.subscription_state.emplace());
    case Id::SipETag: return read_token(value, out.sip_etag.emplace());
    case Id::SipIfMatch: return read_token(value, out.sip_if_match.emplace());
    case Id::Accept:
      return read_media_types(value, items, out.accept ? *out.accept : out.accept.emplace());
    case Id::Allow: return read_tokens(value, items, out.allow);
    case Id::AllowEvents: return read_tokens(value, items, out.allow_events);
    case Id::Supported: return read_tokens(value, items, out.supported);
    case Id::Require: return read_tokens(value, items, out.require);
    case Id::WwwAuthenticate: return read_auth(value, items, out.www_authenticate.emplace_back());
    case Id::ProxyAuthenticate:
      return read_auth(value, items, out.proxy_authenticate.emplace_back());
    case Id::Authorization: return read_auth(value, items, out.authorization.emplace_back());
    case Id::ProxyAuthorization:
      return read_auth(value, items, out.proxy_authorization.emplace_back());
    case Id::ContentType: return read_media_type(value, out.content_type.emplace());
    case Id::ContentLength:
    case Id::Other: return true;
  }
  return false;
}

// How many values a list header already holds (before the line that failed).
std::size_t list_size(Id id, const Message& m) {
  switch (id) {
    case Id::Via: return m.vias.size();
    case Id::Route: return m.routes.size();
    case Id::RecordRoute: return m.record_routes.size();
    case Id::Contact: return m.contacts.addresses.size();
    case Id::Accept: return m.accept ? m.accept->size() : 0;
    case Id::Allow: return m.allow.size();
    case Id::AllowEvents: return m.allow_events.size();
    case Id::Supported: return m.supported.size();
    case Id::Require: return m.require.size();
    default: return 0;
  }
}

struct HeaderState {
  std::bitset<kIds> seen;
  std::optional<std::size_t> content_length;
};

std::optional<ParseError> read_header(RawHeader header, const Limits& limits, HeaderState& state,
                                      Message& out) {
  const Known* known = find_known(header.name);
  if (known == nullptr || known->id == Id::Other) {
    if (out.other_headers.size() >= limits.header_count) {
      return error(ParseProblem::TooManyHeaders, "Too Many Headers",
                   fmt::format("headers: more than the limit of {}", limits.header_count));
    }
    out.other_headers.push_back(Header{std::string(known != nullptr ? known->name : header.name),
                                       std::string(header.value)});
    return std::nullopt;
  }
  const auto index = static_cast<std::size_t>(known->id);
  if (known->single && state.seen.test(index)) {
    return error(ParseProblem::DuplicateHeader, fmt::format("Duplicate {}", known->name),
                 fmt::format("{}: given more than once", known->name));
  }
  state.seen.set(index);
  if (known->id == Id::ContentLength) {
    auto length = content_length(header.value, limits);
    if (!length) {
      return std::move(length).error();
    }
    state.content_length = *length;
    return std::nullopt;
  }
  if (!apply(known->id, header.value, limits, out)) {
    if (std::vector<std::string_view> items;
        !known->single &&
        split_list(header.value, std::numeric_limits<std::size_t>::max(), items) &&
        list_size(known->id, out) + items.size() > limits.list_items) {
      return error(ParseProblem::BadHeader, fmt::format("Bad {}", known->name),
                   fmt::format("{}: more than {} values, limit {}", known->name, limits.list_items,
                               limits.list_items));
    }
    return bad_header(known->name, header.value);
  }
  return std::nullopt;
}

std::optional<ParseError> check_mandatory(const HeaderState& state, const Message& message) {
  for (const Id id : {Id::Via, Id::From, Id::To, Id::CallId, Id::CSeq}) {
    if (!state.seen.test(static_cast<std::size_t>(id))) {
      const std::string_view name = kKnown[static_cast<std::size_t>(id)].name;
      return error(ParseProblem::MissingHeader, fmt::format("Missing {}", name),
                   fmt::format("{}: required in every message (RFC 3261 §8.1.1)", name));
    }
  }
  if (message.is_request() && (message.cseq.method != message.method ||
                               message.cseq.extension_method != message.extension_method)) {
    return error(ParseProblem::CSeqMismatch, "CSeq Method Mismatch",
                 fmt::format("CSeq: method '{}' differs from request method '{}'",
                             printable(message.cseq.method == Method::Other
                                           ? std::string_view(message.cseq.extension_method)
                                           : to_string(message.cseq.method)),
                             printable(message.method_name())));
  }
  return std::nullopt;
}

}  // namespace

Parsed<Message> parse(std::string_view bytes, Framing framing, const Limits& limits) {
  if (bytes.size() > limits.message_bytes) {
    return error(ParseProblem::MessageTooLarge, "Message Too Large",
                 fmt::format("message: {} bytes, limit {}", bytes.size(), limits.message_bytes));
  }
  const std::size_t head_end = bytes.find("\r\n\r\n");
  if (head_end == bytes.npos) {
    return error(ParseProblem::Truncated, "Truncated Message",
                 "message: no empty line after the headers");
  }
  const std::size_t line_end = bytes.find("\r\n");
  const std::string_view line = bytes.substr(0, line_end);
  for (const char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return error(ParseProblem::BadStartLine, "Bad Start Line",
                   fmt::format("start line '{}': control character", printable(line)));
    }
  }
  Message message;
  if (auto problem = line.size() >= 4 && iequals(line.substr(0, 4), "SIP/")
                         ? read_status_line(line, message)
                         : read_request_line(line, limits, message)) {
    return *std::move(problem);
  }
  HeaderState state;
  const std::string_view head =
      line_end == head_end ? std::string_view() : bytes.substr(line_end + 2, head_end - line_end);
  if (auto problem = walk_headers(head, limits, [&](RawHeader header) {
        return read_header(header, limits, state, message);
      })) {
    return *std::move(problem);
  }
  if (auto problem = check_mandatory(state, message)) {
    return *std::move(problem);
  }
  std::string_view body = bytes.substr(head_end + 4);
  if (state.content_length) {
    if (*state.content_length > body.size()) {
      return error(ParseProblem::Truncated, "Bad Content-Length",
                   fmt::format("Content-Length: {}, but {} bytes follow the headers",
                               *state.content_length, body.size()));
    }
    if (framing == Framing::Stream && *state.content_length < body.size()) {
      return error(ParseProblem::BadContentLength, "Bad Content-Length",
                   fmt::format("Content-Length: {}, but {} bytes follow on a stream",
                               *state.content_length, body.size()));
    }
    body = body.substr(0, *state.content_length);  // datagram: the rest is dropped (§18.3)
  } else if (framing == Framing::Stream) {
    return error(ParseProblem::BadContentLength, "Missing Content-Length",
                 "Content-Length: required on a stream transport (RFC 3261 §18.3)");
  } else if (body.size() > limits.body_bytes) {
    return error(ParseProblem::BodyTooLarge, "Request Entity Too Large",
                 fmt::format("body: {} bytes, limit {}", body.size(), limits.body_bytes));
  }
  message.body = std::string(body);
  return message;
}

Parsed<Frame> next_frame(std::string_view stream, const Limits& limits) {
  // RFC 5626 §3.5.1 keep-alives and the CRLFs §7.5 says to skip before a start line.
  constexpr std::string_view kPing = "\r\n\r\n";
  if (stream.empty() || (stream.size() < kPing.size() && kPing.starts_with(stream))) {
    return Frame{FrameKind::NeedMore, 0};
  }
  if (stream.starts_with(kPing)) {
    return Frame{FrameKind::Ping, kPing.size()};
  }
  if (stream.starts_with("\r\n")) {
    return Frame{FrameKind::Skip, 2};
  }
  const std::size_t window = std::min(stream.size(), limits.message_bytes);
  const std::size_t head_end = stream.substr(0, window).find(kPing);
  if (head_end == stream.npos) {
    if (stream.size() >= limits.message_bytes) {
      return error(ParseProblem::MessageTooLarge, "Message Too Large",
                   fmt::format("message: headers past {} bytes", limits.message_bytes));
    }
    return Frame{FrameKind::NeedMore, 0};
  }
  const std::size_t line_end = stream.find("\r\n");
  const std::string_view head =
      line_end == head_end ? std::string_view() : stream.substr(line_end + 2, head_end - line_end);
  std::optional<std::size_t> length;
  auto problem = walk_headers(head, limits, [&](RawHeader header) -> std::optional<ParseError> {
    const Known* known = find_known(header.name);
    if (known == nullptr || known->id != Id::ContentLength) {
      return std::nullopt;
    }
    if (length) {
      return error(ParseProblem::DuplicateHeader, "Duplicate Content-Length",
                   "Content-Length: given more than once");
    }
    auto parsed = content_length(header.value, limits);
    if (!parsed) {
      return std::move(parsed).error();
    }
    length = *parsed;
    return std::nullopt;
  });
  if (problem) {
    return *std::move(problem);
  }
  if (!length) {
    return error(ParseProblem::BadContentLength, "Missing Content-Length",
                 "Content-Length: required on a stream transport (RFC 3261 §18.3)");
  }
  const std::size_t total = head_end + kPing.size() + *length;
  if (total > limits.message_bytes) {
    return error(ParseProblem::MessageTooLarge, "Message Too Large",
                 fmt::format("message: {} bytes, limit {}", total, limits.message_bytes));
  }
  if (stream.size() < total) {
    return Frame{FrameKind::NeedMore, 0};
  }
  return Frame{FrameKind::Message, total};
}

}  // namespace presenced::sip
