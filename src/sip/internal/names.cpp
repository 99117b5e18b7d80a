// Names of methods and problems, answer codes for problems, and small accessors.

#include "sip/internal/grammar.h"
#include "sip/internal/message.h"

#include <stdexcept>

namespace presenced::sip {

namespace {

struct MethodName {
  Method method;
  std::string_view name;
};

constexpr MethodName kMethods[] = {
    {Method::Invite, "INVITE"},       {Method::Ack, "ACK"},         {Method::Bye, "BYE"},
    {Method::Cancel, "CANCEL"},       {Method::Options, "OPTIONS"}, {Method::Register, "REGISTER"},
    {Method::Subscribe, "SUBSCRIBE"}, {Method::Notify, "NOTIFY"},   {Method::Publish, "PUBLISH"},
    {Method::Message, "MESSAGE"},     {Method::Info, "INFO"},       {Method::Prack, "PRACK"},
    {Method::Update, "UPDATE"},       {Method::Refer, "REFER"},
};

}  // namespace

std::string_view to_string(Method method) {
  for (const MethodName& entry : kMethods) {
    if (entry.method == method) {
      return entry.name;
    }
  }
  return "";
}

Method parse_method(std::string_view token) {
  for (const MethodName& entry : kMethods) {
    if (entry.name == token) {
      return entry.method;
    }
  }
  return Method::Other;
}

std::string_view to_string(ParseProblem problem) {
  switch (problem) {
    case ParseProblem::Truncated: return "truncated";
    case ParseProblem::BadStartLine: return "bad_start_line";
    case ParseProblem::UnsupportedVersion: return "unsupported_version";
    case ParseProblem::UnsupportedUriScheme: return "unsupported_uri_scheme";
    case ParseProblem::UriTooLong: return "uri_too_long";
    case ParseProblem::BadHeader: return "bad_header";
    case ParseProblem::MissingHeader: return "missing_header";
    case ParseProblem::DuplicateHeader: return "duplicate_header";
    case ParseProblem::BadContentLength: return "bad_content_length";
    case ParseProblem::CSeqMismatch: return "cseq_mismatch";
    case ParseProblem::TooManyHeaders: return "too_many_headers";
    case ParseProblem::HeaderTooLong: return "header_too_long";
    case ParseProblem::BodyTooLarge: return "body_too_large";
    case ParseProblem::MessageTooLarge: return "message_too_large";
  }
  return "bad_start_line";
}

// RFC 3261 §21: 505, 416, 414 and 413 where the RFC has a code for the case; 513 when the whole
// message is past what we read (§21.5.8); 400 with a reason phrase naming the problem otherwise
// (header count and length included: SIP has no 431).
int ParseError::status() const {
  switch (problem) {
    case ParseProblem::UnsupportedVersion: return 505;
    case ParseProblem::UnsupportedUriScheme: return 416;
    case ParseProblem::UriTooLong: return 414;
    case ParseProblem::BodyTooLarge: return 413;
    case ParseProblem::MessageTooLarge: return 513;
    default: return 400;
  }
}

void throw_exception_from_error(const ParseError& error, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(error.problem)) + ": " + error.detail);
}

std::string_view Message::method_name() const {
  return method == Method::Other ? std::string_view(extension_method) : to_string(method);
}

std::optional<std::string_view> Message::header(std::string_view name) const {
  for (const Header& h : other_headers) {
    if (grammar::iequals(h.name, name)) {
      return std::string_view(h.value);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> Auth::param(std::string_view name) const {
  for (const AuthParam& p : params) {
    if (grammar::iequals(p.name, name)) {
      return std::string_view(p.value);
    }
  }
  return std::nullopt;
}

}  // namespace presenced::sip
