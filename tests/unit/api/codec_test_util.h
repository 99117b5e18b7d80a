#pragma once

// Helpers shared by the codec's decoder tests.

#include "api/internal/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace presenced::api::codec_testing {

inline const Limits kLimits;

inline constexpr std::int64_t kNov23At15 = 1795446000000;  // 2026-11-23T15:00:00Z

inline core::TimePoint at(std::int64_t unix_ms) {
  return core::TimePoint{std::chrono::milliseconds{unix_ms}};
}

// The message of a failed decode ("" on success); failures must be InvalidArgument.
template <typename T>
std::string error_of(const Result<T>& result) {
  if (result) {
    return "";
  }
  EXPECT_EQ(result.error().code, core::ErrorCode::InvalidArgument) << result.error().message;
  return result.error().message;
}

struct BadBody {
  std::string body;
  std::string message;  // a part of the error message
};

template <typename Decode>
void expect_errors(Decode decode, const std::vector<BadBody>& cases) {
  for (const BadBody& c : cases) {
    const std::string message = error_of(decode(c.body, kLimits));
    EXPECT_NE(message, "") << c.body;
    EXPECT_THAT(message, ::testing::HasSubstr(c.message)) << c.body;
  }
}

}  // namespace presenced::api::codec_testing
