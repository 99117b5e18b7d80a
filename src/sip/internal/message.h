#pragma once

// The SIP message layer: one parsed request or response (RFC 3261 §7, §20, §25), the checks and
// limits applied to untrusted bytes, stream framing (§18.3, RFC 5626 §3.5.1) and serialization.
// Pure: no sockets, no clock. docs/sip.md says what is accepted and what is answered.
// Thread-safety: free functions without shared state; values are safe to share when not modified.

#include "sip/internal/uri.h"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip {

enum class Method : std::uint8_t {
  Invite,
  Ack,
  Bye,
  Cancel,
  Options,
  Register,
  Subscribe,
  Notify,
  Publish,
  Message,
  Info,
  Prack,
  Update,
  Refer,
  Other,  // an extension method; its name is in the message
};

std::string_view to_string(Method method);
Method parse_method(std::string_view token);  // case-sensitive (§7.1); unknown tokens -> Other

// `SIP/2.0/UDP host:port;branch=...` (§20.42).
struct Via {
  std::string transport;  // as written: UDP, TCP, TLS, WS, ...
  std::string host;       // an IPv6 reference keeps its brackets
  std::optional<std::uint16_t> port;
  std::vector<Param> params;  // branch, received, rport, maddr, ttl, ...

  std::optional<std::string_view> branch() const { return find_param(params, "branch"); }
  friend bool operator==(const Via&, const Via&) = default;
};

struct CSeq {
  std::uint32_t number = 0;  // below 2**31 (§8.1.1.5)
  Method method = Method::Other;
  std::string extension_method;  // when method is Other
  friend bool operator==(const CSeq&, const CSeq&) = default;
};

// `type/subtype;params` for Content-Type and Accept; type and subtype in lower case.
struct MediaType {
  std::string type;
  std::string subtype;
  std::vector<Param> params;
  friend bool operator==(const MediaType&, const MediaType&) = default;
};

// Contact: either `*` (REGISTER only) or a list of addresses.
struct Contacts {
  bool star = false;
  std::vector<NameAddr> addresses;
  friend bool operator==(const Contacts&, const Contacts&) = default;
};

// `Event: presence;id=7` (RFC 6665 §8.2.1): package (with template suffixes) and id.
struct Event {
  std::string package;  // e.g. "presence", "dialog", "presence.winfo"
  std::optional<std::string> id;
  std::vector<Param> params;  // others than id
  friend bool operator==(const Event&, const Event&) = default;
};

// `Subscription-State: active;expires=600` (RFC 6665 §8.2.3).
struct SubscriptionState {
  std::string state;   // active, pending, terminated, or an extension token
  std::string reason;  // empty when absent
  std::optional<std::uint32_t> expires;
  std::optional<std::uint32_t> retry_after;
  std::vector<Param> params;  // others
  friend bool operator==(const SubscriptionState&, const SubscriptionState&) = default;
};

// One auth-param of a challenge or credentials (RFC 3261 §25.1, RFC 7616). A quoted value is
// stored decoded with `quoted` set, so the writer quotes it again.
struct AuthParam {
  std::string name;
  std::string value;
  bool quoted = false;
  friend bool operator==(const AuthParam&, const AuthParam&) = default;
};

// WWW-Authenticate, Proxy-Authenticate, Authorization, Proxy-Authorization: `Digest a=b, c="d"`.
struct Auth {
  std::string scheme;  // "Digest"
  std::vector<AuthParam> params;

  std::optional<std::string_view> param(std::string_view name) const;  // case-insensitive name
  friend bool operator==(const Auth&, const Auth&) = default;
};

// A header this layer does not read, kept in order. Compact names are expanded; values are
// unfolded and trimmed.
struct Header {
  std::string name;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

// A request when `status` is 0, a response otherwise. Content-Length is not stored: the body is
// the truth and the writer counts it.
struct Message {
  // Start line.
  Method method = Method::Other;  // requests
  std::string extension_method;   // when method is Other
  Uri request_uri;
  int status = 0;  // responses: 100..699
  std::string reason;

  std::vector<Via> vias;
  std::vector<NameAddr> routes;
  std::vector<NameAddr> record_routes;
  NameAddr from;
  NameAddr to;
  std::string call_id;
  CSeq cseq;
  std::optional<int> max_forwards;
  Contacts contacts;
  std::optional<std::uint32_t> expires;
  std::optional<std::uint32_t> min_expires;
  std::optional<Event> event;
  std::optional<SubscriptionState> subscription_state;
  std::optional<std::string> sip_etag;           // RFC 3903 §11.3.1
  std::optional<std::string> sip_if_match;       // RFC 3903 §11.3.2
  std::optional<std::vector<MediaType>> accept;  // present but empty: no body is acceptable
  std::vector<std::string> allow;
  std::vector<std::string> allow_events;
  std::vector<std::string> supported;
  std::vector<std::string> require;
  std::vector<Auth> www_authenticate;
  std::vector<Auth> proxy_authenticate;
  std::vector<Auth> authorization;
  std::vector<Auth> proxy_authorization;
  std::optional<MediaType> content_type;
  std::vector<Header> other_headers;
  std::string body;

  bool is_request() const { return status == 0; }
  std::string_view method_name() const;  // the request's method as written
  // The value of the first header in other_headers named `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const;
  friend bool operator==(const Message&, const Message&) = default;
};

// Bounds on what one message may hold; the defaults fit every phone and proxy we know of.
struct Limits {
  std::size_t message_bytes = 65'535;  // start line + headers + body, as on UDP
  std::size_t body_bytes = 60'000;
  std::size_t header_count = 100;    // header lines, before splitting comma lists
  std::size_t header_bytes = 8'192;  // one header, name and unfolded value
  std::size_t list_items = 64;       // elements of one list header (Via, Contact, Route, ...)
  std::size_t uri_bytes = 2'048;     // the Request-URI
};

// Why a message was refused. Each kind maps to the answer a server gives a bad request (RFC 3261
// §21); a malformed response is dropped instead (§18.1.2).
enum class ParseProblem : std::uint8_t {
  Truncated,             // no blank line after the headers, or less body than Content-Length
  BadStartLine,          // request or status line
  UnsupportedVersion,    // not SIP/2.0: 505
  UnsupportedUriScheme,  // Request-URI neither sip nor sips: 416
  UriTooLong,            // Request-URI past the limit: 414
  BadHeader,             // a header we read does not follow its grammar
  MissingHeader,         // Via, From, To, Call-ID or CSeq missing (§8.1.1)
  DuplicateHeader,       // a single-valued header given twice
  BadContentLength,      // not a number, missing on a stream, or more than the datagram
  CSeqMismatch,          // CSeq method differs from the request method (§8.2.4)
  TooManyHeaders,
  HeaderTooLong,
  BodyTooLarge,     // 413
  MessageTooLarge,  // 513 (§21.5.8)
};

std::string_view to_string(ParseProblem problem);

struct ParseError {
  ParseProblem problem = ParseProblem::BadStartLine;
  std::string reason;  // for the status line: built from our own words only, never from input
  std::string detail;  // for logs: names the field, the value (printable, cut short) and the limit

  int status() const;  // the status code a server answers a bad request with
};

[[noreturn]] void throw_exception_from_error(const ParseError& error,
                                             const boost::source_location& location);

template <typename T>
using Parsed = boost::system::result<T, ParseError>;

// Datagram: the message is the whole datagram; without Content-Length the body runs to its end
// and bytes past Content-Length are dropped (§18.3). Stream: the bytes are exactly one framed
// message (see next_frame) and Content-Length is required.
enum class Framing : std::uint8_t { Datagram, Stream };

[[nodiscard]] Parsed<Message> parse(std::string_view bytes, Framing framing, const Limits& limits);

// Splitting a stream (TCP, TLS) into messages. CRLFs before a start line are skipped (§7.5); a
// double CRLF is an RFC 5626 keep-alive ping that the server answers with a single CRLF.
enum class FrameKind : std::uint8_t { NeedMore, Message, Ping, Skip };
struct Frame {
  FrameKind kind = FrameKind::NeedMore;
  std::size_t size = 0;  // bytes to take off the front of the stream (0 for NeedMore)
  friend bool operator==(const Frame&, const Frame&) = default;
};
// An error means the stream can no longer be framed: answer if possible, then close it.
[[nodiscard]] Parsed<Frame> next_frame(std::string_view stream, const Limits& limits);

// The message as bytes, with a Content-Length that counts the body, in one allocation.
std::string serialize(const Message& message);

// Pieces the writer uses, exposed for the later NOTIFY templates and for tests.
std::string serialize(const Uri& uri);
std::string serialize(const NameAddr& address);

// Parsers of single values, as used for headers (exposed for tests and for other components'
// values such as a presentity URI in a configuration file).
[[nodiscard]] Parsed<Uri> parse_uri(std::string_view text);
[[nodiscard]] Parsed<NameAddr> parse_name_addr(std::string_view text);

}  // namespace presenced::sip
