#include "core/result.h"

#include <stdexcept>
#include <string>

namespace presenced::core {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid_argument";
    case ErrorCode::NotFound: return "not_found";
    case ErrorCode::Unauthenticated: return "unauthenticated";
    case ErrorCode::PermissionDenied: return "permission_denied";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::FailedPrecondition: return "failed_precondition";
    case ErrorCode::ResourceExhausted: return "resource_exhausted";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Internal: return "internal";
  }
  return "internal";
}

void throw_exception_from_error(const Error& error, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(error.code)) + ": " + error.message);
}

}  // namespace presenced::core
