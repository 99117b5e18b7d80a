#include "api/internal/codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace presenced::api {
namespace {

using std::chrono::milliseconds;

core::TimePoint at(std::int64_t unix_ms) { return core::TimePoint{milliseconds{unix_ms}}; }

constexpr std::int64_t kHour = 3600 * 1000;
constexpr std::int64_t kNov23At15 = 1795446000000;    // 2026-11-23T15:00:00Z
constexpr std::int64_t kLeapDay2024 = 1709164800000;  // 2024-02-29T00:00:00Z
constexpr std::int64_t kMarch2000 = 951868800000;     // 2000-03-01T00:00:00Z
constexpr std::int64_t kYearZero = -62167219200000;   // 0000-01-01T00:00:00Z
constexpr std::int64_t kYear10000 = 253402300800000;  // 10000-01-01T00:00:00Z

struct TimeCase {
  std::string text;
  std::int64_t unix_ms;
  std::string formatted;
};

TEST(CodecTimeTest, ParsesRfc3339AndFormatsUtcWithMilliseconds) {
  const TimeCase cases[] = {
      {"2026-11-23T15:00:00Z", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-23T15:00:00.000Z", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-23t15:00:00z", kNov23At15, "2026-11-23T15:00:00.000Z"},  // RFC 3339 §5.6 NOTE
      {"2026-11-23T16:00:00+01:00", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-23T10:30:00-04:30", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-24T05:45:00+14:45", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-23T15:00:00+00:00", kNov23At15, "2026-11-23T15:00:00.000Z"},
      {"2026-11-23T15:00:00-00:00", kNov23At15, "2026-11-23T15:00:00.000Z"},  // RFC 3339 §4.3
      {"2026-11-23T15:00:00.5Z", kNov23At15 + 500, "2026-11-23T15:00:00.500Z"},
      {"2026-11-23T15:00:00.05Z", kNov23At15 + 50, "2026-11-23T15:00:00.050Z"},
      {"2026-11-23T15:00:00.123456789Z", kNov23At15 + 123, "2026-11-23T15:00:00.123Z"},
      {"2026-11-23T15:00:00.9999+01:00", kNov23At15 - kHour + 999, "2026-11-23T14:00:00.999Z"},
      {"2024-02-29T00:00:00Z", kLeapDay2024, "2024-02-29T00:00:00.000Z"},
      {"2024-02-29T01:00:00+01:00", kLeapDay2024, "2024-02-29T00:00:00.000Z"},
      {"2024-02-28T23:00:00-01:00", kLeapDay2024, "2024-02-29T00:00:00.000Z"},
      {"2000-02-29T23:00:00-01:00", kMarch2000, "2000-03-01T00:00:00.000Z"},  // 400-year rule
      {"2026-01-01T00:30:00+01:00", 1767223800000, "2025-12-31T23:30:00.000Z"},
      {"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00.000Z"},
      {"1969-12-31T23:59:59.999Z", -1, "1969-12-31T23:59:59.999Z"},
      {"0000-01-01T00:00:00Z", kYearZero, "0000-01-01T00:00:00.000Z"},
      {"9999-12-31T23:59:59.999Z", kYear10000 - 1, "9999-12-31T23:59:59.999Z"},
  };
  for (const TimeCase& c : cases) {
    EXPECT_EQ(parse_time(c.text), at(c.unix_ms)) << c.text;
    EXPECT_EQ(format_time(at(c.unix_ms)), c.formatted) << c.text;
  }
}

TEST(CodecTimeTest, RejectsEverythingElse) {
  const char* const cases[] = {
      "",
      "2026-11-23",
      "2026-11-23T15:00Z",
      "2026-11-23T15:00:00",   // no offset
      "2026-11-23 15:00:00Z",  // space for T
      "2026-11-23T15:00:00 Z",
      " 2026-11-23T15:00:00Z",
      "2026-11-23T15:00:00Z ",
      "2026-11-23T15:00:00ZZ",
      "2026-11-23T15:00:00+01:00Z",
      "2026-11-23T15:00:00.Z",  // fraction without digits
      "2026-11-23T15:00:00,5Z",
      "2026-11-23T15:00:00+0100",
      "2026-11-23T15:00:00+01",
      "2026-11-23T15:00:00+24:00",
      "2026-11-23T15:00:00+01:60",
      "2026-11-23T15:00:00UTC",
      "2026-11-23T15:00:00GMT+1",
      "2023-02-29T00:00:00Z",  // not a leap year
      "1900-02-29T00:00:00Z",  // century rule
      "2026-02-30T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-00-10T00:00:00Z",
      "2026-11-00T00:00:00Z",
      "2026-11-23T24:00:00Z",
      "2026-11-23T15:60:00Z",
      "2026-12-31T23:59:60Z",  // leap second: system_clock has none
      "26-11-23T15:00:00Z",
      "+2026-11-23T15:00:00Z",
      "-2026-11-23T15:00:00Z",
      "12026-11-23T15:00:00Z",
      "2026-1-23T15:00:00Z",
      "2026-11-23T5:00:00Z",
      "2026/11/23T15:00:00Z",
      "2026-11-23T15:00:00.1a2Z",
      "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-11-23T15:00:00Z",  // full-width digits
      "1795446000",
      "0000-01-01T00:00:00+00:01",  // before year 0
      "9999-12-31T23:59:59-00:01",  // after year 9999
  };
  for (const char* text : cases) {
    EXPECT_FALSE(parse_time(text)) << text;
  }
  EXPECT_FALSE(parse_time(std::string_view("2026-11-23T15:00:00\0Z", 21)));
  EXPECT_FALSE(parse_time("2026-11-23T15:00:00." + std::string(60, '1') + "Z"));
}

TEST(CodecTimeTest, FormatClampsToFourDigitYears) {
  EXPECT_EQ(format_time(core::TimePoint::max()), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_time(core::TimePoint::min()), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(format_time(at(kYear10000)), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(format_time(at(kYearZero - 1)), "0000-01-01T00:00:00.000Z");
}

TEST(CodecTimeTest, FormatThenParseIsTheSameInstantAcrossTheRange) {
  // A step that is not a whole number of days or hours visits every month, day and clock digit.
  constexpr std::int64_t kStep = 12345678901;
  int checked = 0;
  for (std::int64_t ms = kYearZero; ms < kYear10000; ms += kStep) {
    const std::string text = format_time(at(ms));
    ASSERT_EQ(parse_time(text), at(ms)) << text;
    ++checked;
  }
  EXPECT_GT(checked, 20000);
}

TEST(CodecTimeTest, EveryDayOfALeapCycleRoundTrips) {
  // 2000-03-01 .. 2400-03-01 covers all four leap rules; each day's date must also advance.
  std::string previous;
  for (std::int64_t day = 0; day < 146097; ++day) {
    const std::int64_t ms = kMarch2000 + day * 24 * kHour + 13 * kHour;
    const std::string text = format_time(at(ms));
    ASSERT_EQ(parse_time(text), at(ms)) << text;
    ASSERT_LT(previous, text);
    previous = text;
  }
  EXPECT_EQ(previous, "2400-02-29T13:00:00.000Z");
}

}  // namespace
}  // namespace presenced::api
