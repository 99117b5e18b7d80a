#pragma once

// Errors as values across component boundaries. Each protocol adapter maps an ErrorCode once
// (HTTP status, SIP response, XMPP condition); nothing on the request path throws.

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace presenced::core {

enum class ErrorCode {
  InvalidArgument,
  NotFound,
  Unauthenticated,
  PermissionDenied,
  Conflict,
  FailedPrecondition,
  ResourceExhausted,
  Unavailable,
  Internal,
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;

  static Error invalid_argument(std::string message) {
    return {ErrorCode::InvalidArgument, std::move(message)};
  }
  static Error not_found(std::string message) { return {ErrorCode::NotFound, std::move(message)}; }
  static Error unauthenticated(std::string message) {
    return {ErrorCode::Unauthenticated, std::move(message)};
  }
  static Error permission_denied(std::string message) {
    return {ErrorCode::PermissionDenied, std::move(message)};
  }
  static Error conflict(std::string message) { return {ErrorCode::Conflict, std::move(message)}; }
  static Error failed_precondition(std::string message) {
    return {ErrorCode::FailedPrecondition, std::move(message)};
  }
  static Error resource_exhausted(std::string message) {
    return {ErrorCode::ResourceExhausted, std::move(message)};
  }
  static Error unavailable(std::string message) {
    return {ErrorCode::Unavailable, std::move(message)};
  }
  static Error internal(std::string message) { return {ErrorCode::Internal, std::move(message)}; }
};

// Called by result<T, Error>::value() on an error; only tests and startup code use value().
[[noreturn]] void throw_exception_from_error(const Error& error,
                                             const boost::source_location& location);

template <typename T>
using Result = boost::system::result<T, Error>;

}  // namespace presenced::core
