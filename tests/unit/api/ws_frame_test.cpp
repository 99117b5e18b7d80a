// The text frame header the server writes before each message (RFC 6455 section 5.2): the
// three length encodings at their edges, checked against the bytes the RFC gives.

#include "api/internal/ws_frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace presenced::api {
namespace {

std::vector<unsigned> bytes_of(std::uint64_t length) {
  const TextFrameHeader header(length);
  return {header.bytes.begin(), header.bytes.begin() + static_cast<std::ptrdiff_t>(header.size)};
}

TEST(TextFrameHeaderTest, ShortLengthsFitTheSecondByte) {
  EXPECT_EQ(bytes_of(0), (std::vector<unsigned>{0x81, 0}));
  EXPECT_EQ(bytes_of(5), (std::vector<unsigned>{0x81, 5}));  // the RFC's "Hello" example
  EXPECT_EQ(bytes_of(125), (std::vector<unsigned>{0x81, 125}));
}

TEST(TextFrameHeaderTest, From126To65535TheLengthFollowsIn16Bits) {
  EXPECT_EQ(bytes_of(126), (std::vector<unsigned>{0x81, 126, 0x00, 0x7E}));
  EXPECT_EQ(bytes_of(256), (std::vector<unsigned>{0x81, 126, 0x01, 0x00}));  // RFC 5.7
  EXPECT_EQ(bytes_of(65535), (std::vector<unsigned>{0x81, 126, 0xFF, 0xFF}));
}

TEST(TextFrameHeaderTest, LongerLengthsFollowIn64BitsNetworkOrder) {
  EXPECT_EQ(bytes_of(65536), (std::vector<unsigned>{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(bytes_of(0x0102030405060708ULL),
            (std::vector<unsigned>{0x81, 127, 1, 2, 3, 4, 5, 6, 7, 8}));
}

}  // namespace
}  // namespace presenced::api
