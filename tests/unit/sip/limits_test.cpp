// Every limit on untrusted input refuses with its own problem and the answer RFC 3261 §21 has
// for it; at the limit itself a message still reads.

#include "sip/internal/message.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace presenced::sip {
namespace {

using test::lines;

struct Row {
  const char* name;
  std::function<void(Limits&)> set;  // the limit under test
  std::string at_limit;              // reads
  std::string past_limit;            // refused
  ParseProblem problem;
  int status;
};

std::string with(std::initializer_list<std::string_view> extra, std::string_view body = "") {
  std::string out = test::subscribe(extra);
  out.replace(out.find("Content-Length: 0"), 17, "Content-Length: " + std::to_string(body.size()));
  return out + std::string(body);
}

TEST(Limits, EachLimitRefusesWithItsAnswer) {
  const std::string base = test::subscribe();
  const Row rows[] = {
      {"message_bytes", [&](Limits& l) { l.message_bytes = base.size(); }, base, base + "x",
       ParseProblem::MessageTooLarge, 513},
      {"body_bytes", [](Limits& l) { l.body_bytes = 4; }, with({}, "abcd"), with({}, "abcde"),
       ParseProblem::BodyTooLarge, 413},
      {"header_bytes", [](Limits& l) { l.header_bytes = 60; },
       with({"X-A: " + std::string(55, 'a')}), with({"X-A: " + std::string(56, 'a')}),
       ParseProblem::HeaderTooLong, 400},
      // Folded lines count with their line ends.
      {"header_bytes_folded", [](Limits& l) { l.header_bytes = 62; },
       with({"X-A: " + std::string(50, 'a'), "  123"}),
       with({"X-A: " + std::string(50, 'a'), "   123"}), ParseProblem::HeaderTooLong, 400},
      {"header_count", [](Limits& l) { l.header_count = 10; }, with({"X-A: 1", "X-B: 2"}),
       with({"X-A: 1", "X-B: 2", "X-C: 3"}), ParseProblem::TooManyHeaders, 400},
      {"list_items", [](Limits& l) { l.list_items = 2; }, with({"Contact: <sip:a@h>, <sip:b@h>"}),
       with({"Contact: <sip:a@h>, <sip:b@h>", "m: <sip:c@h>"}), ParseProblem::BadHeader, 400},
      {"uri_bytes", [](Limits& l) { l.uri_bytes = 19; },
       lines({"SUBSCRIBE sip:bob@example.com SIP/2.0", test::kVia, test::kFrom, test::kTo,
              test::kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       lines({"SUBSCRIBE sip:bob@example.com1 SIP/2.0", test::kVia, test::kFrom, test::kTo,
              test::kCallId, "CSeq: 1 SUBSCRIBE", "", ""}),
       ParseProblem::UriTooLong, 414},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Limits limits;
    row.set(limits);
    const auto fits = parse(row.at_limit, Framing::Datagram, limits);
    EXPECT_TRUE(fits) << fits.error().detail;
    const auto refused = parse(row.past_limit, Framing::Datagram, limits);
    ASSERT_FALSE(refused);
    EXPECT_EQ(to_string(refused.error().problem), to_string(row.problem));
    EXPECT_EQ(refused.error().status(), row.status);
    EXPECT_NE(refused.error().detail.find("limit"), std::string::npos) << refused.error().detail;
  }
}

// A header line of 8 KB and 1,000 commas reads in bounded memory and is refused, not crashed on.
TEST(Limits, ManyEmptyListElementsAreRefused) {
  std::string commas(1000, ',');
  const auto refused = test::parse_datagram(with({"Contact: " + commas}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().problem, ParseProblem::BadHeader);
}

}  // namespace
}  // namespace presenced::sip
