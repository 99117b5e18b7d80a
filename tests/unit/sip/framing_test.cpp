// Cutting a stream (TCP, TLS) into messages: Content-Length framing (RFC 3261 §18.3), CRLFs
// before a start line (§7.5) and RFC 5626 §3.5.1 keep-alives.

#include "sip/internal/message.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

namespace presenced::sip {
namespace {

using test::lines;

std::string options(std::string_view body) {
  return lines({"OPTIONS sip:example.com SIP/2.0", test::kVia, test::kFrom, test::kTo,
                test::kCallId, "CSeq: 1 OPTIONS", "l: " + std::to_string(body.size()), "", body});
}

// The kinds and sizes next_frame returns, in order, until it needs more or fails.
std::vector<Frame> frames(std::string_view stream, const Limits& limits = Limits{}) {
  std::vector<Frame> out;
  for (;;) {
    const auto frame = next_frame(stream, limits);
    if (!frame) {
      return out;
    }
    out.push_back(*frame);
    if (frame->kind == FrameKind::NeedMore) {
      return out;
    }
    stream.remove_prefix(frame->size);
  }
}

}  // namespace

void PrintTo(const Frame& frame, std::ostream* out) {
  *out << static_cast<int>(frame.kind) << ":" << frame.size;
}

namespace {

TEST(Framing, CutsMessagesKeepAlivesAndStrayLineEnds) {
  const std::string one = options("hello");
  const std::string two = options("");
  struct Row {
    const char* name;
    std::string stream;
    std::vector<Frame> expected;
  };
  const Row rows[] = {
      {"empty", "", {{FrameKind::NeedMore, 0}}},
      {"one", one, {{FrameKind::Message, one.size()}, {FrameKind::NeedMore, 0}}},
      {"two_back_to_back",
       one + two,
       {{FrameKind::Message, one.size()},
        {FrameKind::Message, two.size()},
        {FrameKind::NeedMore, 0}}},
      {"headers_not_complete", one.substr(0, 40), {{FrameKind::NeedMore, 0}}},
      {"body_not_complete", one.substr(0, one.size() - 1), {{FrameKind::NeedMore, 0}}},
      // RFC 5626 §3.5.1: a double CRLF is a ping, answered with one CRLF.
      {"ping", "\r\n\r\n", {{FrameKind::Ping, 4}, {FrameKind::NeedMore, 0}}},
      {"half_a_ping", "\r\n\r", {{FrameKind::NeedMore, 0}}},
      // §7.5: CRLFs before a start line are skipped.
      {"crlf_before_message",
       "\r\n" + two,
       {{FrameKind::Skip, 2}, {FrameKind::Message, two.size()}, {FrameKind::NeedMore, 0}}},
      {"ping_between_messages",
       two + "\r\n\r\n" + two,
       {{FrameKind::Message, two.size()},
        {FrameKind::Ping, 4},
        {FrameKind::Message, two.size()},
        {FrameKind::NeedMore, 0}}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(frames(row.stream), row.expected);
  }
}

TEST(Framing, AFramedMessageParsesAsAStreamMessage) {
  const std::string stream = options("<x/>") + options("");
  const auto frame = next_frame(stream, Limits{});
  ASSERT_TRUE(frame);
  const auto message = parse(std::string_view(stream).substr(0, frame->size), Framing::Stream, {});
  ASSERT_TRUE(message) << message.error().detail;
  EXPECT_EQ(message->body, "<x/>");
}

TEST(Framing, RefusesWhatCannotBeFramed) {
  Limits small;
  small.message_bytes = 200;
  small.body_bytes = 100;
  struct Row {
    const char* name;
    std::string stream;
    ParseProblem problem;
  };
  const Row rows[] = {
      // §18.3: Content-Length is required on a stream.
      {"no_content_length",
       lines({"OPTIONS sip:h SIP/2.0", test::kVia, test::kFrom, test::kTo, test::kCallId,
              "CSeq: 1 OPTIONS", "", ""}),
       ParseProblem::BadContentLength},
      {"two_content_lengths", lines({"OPTIONS sip:h SIP/2.0", "Content-Length: 0", "l: 0", "", ""}),
       ParseProblem::DuplicateHeader},
      {"content_length_not_a_number", lines({"OPTIONS sip:h SIP/2.0", "l: 1x", "", ""}),
       ParseProblem::BadContentLength},
      {"body_past_the_limit", lines({"OPTIONS sip:h SIP/2.0", "l: 101", "", ""}),
       ParseProblem::BodyTooLarge},
      {"message_past_the_limit",
       lines({"OPTIONS sip:h SIP/2.0", "X: " + std::string(150, 'x'), "l: 90", "", ""}),
       ParseProblem::MessageTooLarge},
      {"headers_never_end", "OPTIONS sip:h SIP/2.0\r\nX: " + std::string(300, 'x'),
       ParseProblem::MessageTooLarge},
      {"folded_content_length_still_counts",
       lines({"OPTIONS sip:h SIP/2.0", "Content-Length:", " 1x", "", ""}),
       ParseProblem::BadContentLength},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const auto frame = next_frame(row.stream, small);
    ASSERT_FALSE(frame);
    EXPECT_EQ(to_string(frame.error().problem), to_string(row.problem)) << frame.error().detail;
  }
}

TEST(Framing, StreamMessageMustBeExactlyItsContentLength) {
  const std::string message = options("abc");
  EXPECT_TRUE(parse(message, Framing::Stream, {}));
  const auto longer = parse(message + "x", Framing::Stream, {});
  ASSERT_FALSE(longer);
  EXPECT_EQ(longer.error().problem, ParseProblem::BadContentLength);
  const auto shorter = parse(message.substr(0, message.size() - 1), Framing::Stream, {});
  ASSERT_FALSE(shorter);
  EXPECT_EQ(shorter.error().problem, ParseProblem::Truncated);
}

}  // namespace
}  // namespace presenced::sip
