#include "api/internal/codec.h"

#include "codec_test_util.h"
#include "core/mappings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace presenced::api {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using codec_testing::at;
using codec_testing::error_of;
using codec_testing::expect_errors;
using codec_testing::kLimits;
using codec_testing::kNov23At15;

TEST(CodecEventDecodeTest, ListsOverTheLimitAreRejected) {
  Limits small;
  small.list_items = 3;
  EXPECT_TRUE(decode_contacts(R"({"users":["a","b","c"]})", small));
  EXPECT_EQ(error_of(decode_contacts(R"({"users":["a","b","c","d"]})", small)),
            "users: 4 items, limit 3");

  std::string huge = R"({"users":[)";
  for (int i = 0; i <= 10000; ++i) {
    huge += i == 0 ? "\"u\"" : ",\"u\"";
  }
  huge += "]}";
  EXPECT_EQ(error_of(decode_contacts(huge, kLimits)), "users: 10001 items, limit 10000");
  EXPECT_EQ(error_of(decode_ws_message(R"({"op":"subscribe",)" + huge.substr(1), kLimits)),
            "users: 10001 items, limit 10000");
}

TEST(CodecEventDecodeTest, TelephonyEventAcceptsAnyPrintableDevice) {
  auto request = decode_telephony_event(
      R"({"user":"alice","device":"Desk phone (Zürich) #2","call_id":"a84b4c76e66710@pc33/x"
          ,"state":"connected","direction":"outbound"})",
      kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->user, "alice");
  EXPECT_EQ(request->device, "Desk phone (Zürich) #2");
  EXPECT_EQ(request->call_id, "a84b4c76e66710@pc33/x");
  EXPECT_EQ(request->state, core::CallState::Connected);
  EXPECT_EQ(request->direction, core::CallDirection::Outbound);

  auto defaulted = decode_telephony_event(
      R"({"user":"alice","device":"desk","call_id":"1","state":"ended"})", kLimits);
  ASSERT_TRUE(defaulted) << defaulted.error().message;
  EXPECT_EQ(defaulted->state, core::CallState::Ended);
  EXPECT_EQ(defaulted->direction, core::CallDirection::Inbound);
}

TEST(CodecEventDecodeTest, TelephonyEventRejectsBadFields) {
  const std::string ok = R"("user":"alice","device":"desk","call_id":"c1")";
  expect_errors(decode_telephony_event,
                {
                    {"{" + ok + "}", "state: required"},
                    {"{" + ok + R"(,"state":"ringingg"})",
                     "state: \"ringingg\" is not one of ringing, connected, held, ended"},
                    {"{" + ok + R"(,"state":"Ringing"})", "state: \"Ringing\" is not one of"},
                    {"{" + ok + R"(,"state":"ringing","direction":"sideways"})",
                     "direction: \"sideways\" is not one of inbound, outbound"},
                    {R"({"device":"desk","call_id":"c1","state":"ringing"})", "user: required"},
                    {R"({"user":"al ice","device":"desk","call_id":"c1","state":"ringing"})",
                     "user: \"al ice\" has a character outside"},
                    {R"({"user":"alice","call_id":"c1","state":"ringing"})", "device: required"},
                    {R"({"user":"alice","device":"","call_id":"c1","state":"ringing"})",
                     "device: empty, expected 1..128 bytes"},
                    {R"({"user":"alice","device":"de\nsk","call_id":"c1","state":"ringing"})",
                     "device: \"de\nsk\" has a control character"},
                    {R"({"user":"alice","device":"desk","call_id":1,"state":"ringing"})",
                     "call_id: expected a string, got number"},
                    {R"({"user":"alice","device":"desk","call_id":")" + std::string(129, 'c') +
                         R"(","state":"ringing"})",
                     "call_id: 129 bytes, limit 128"},
                });
}

TEST(CodecEventDecodeTest, RoutingReadsCallerAsNumberOrId) {
  auto request = decode_routing(R"({"callee":"alice","caller":"+49 89 1234-5"})", kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->callee, "alice");
  EXPECT_EQ(request->caller, "+49 89 1234-5");
  EXPECT_EQ(request->type, routing::CallType::Direct);

  auto queue = decode_routing(R"({"callee":"alice","caller":"bob","type":"queue"})", kLimits);
  ASSERT_TRUE(queue) << queue.error().message;
  EXPECT_EQ(queue->type, routing::CallType::Queue);

  expect_errors(decode_routing, {
                                    {R"({"caller":"bob"})", "callee: required"},
                                    {R"({"callee":"alice"})", "caller: required"},
                                    {R"({"callee":"alice","caller":""})", "caller: empty"},
                                    {R"({"callee":"alice","caller":"bob","type":"ring"})",
                                     "type: \"ring\" is not one of direct, group, queue"},
                                });
}

TEST(CodecEventDecodeTest, CalendarReadsAppointments) {
  const std::string tentative(core::to_string(core::CalendarKind::Tentative));
  auto request = decode_calendar(R"({"appointments":[
      {"id":"AAMkAGI2=/x","subject":"Review","location":"Room 1","start":"2026-11-23T15:00:00Z",
       "end":"2026-11-23T17:00:00+01:00","kind":")" +
                                     tentative + R"(","private":true},
      {"id":"2","start":"2026-11-23T15:00:00Z","end":"2026-11-23T15:00:00.001Z"}]})",
                                 kLimits);
  ASSERT_TRUE(request) << request.error().message;
  ASSERT_EQ(request->appointments.size(), 2u);
  const core::Appointment& first = request->appointments[0];
  EXPECT_EQ(first.id, "AAMkAGI2=/x");
  EXPECT_EQ(first.subject, "Review");
  EXPECT_EQ(first.location, "Room 1");
  EXPECT_EQ(first.start, at(kNov23At15));
  EXPECT_EQ(first.end, at(kNov23At15 + 3600 * 1000));
  EXPECT_EQ(first.kind, core::CalendarKind::Tentative);
  EXPECT_TRUE(first.is_private);
  const core::Appointment& second = request->appointments[1];
  EXPECT_EQ(second.kind, core::CalendarKind::Busy);
  EXPECT_FALSE(second.is_private);
  EXPECT_EQ(second.end - second.start, 1ms);

  auto empty = decode_calendar(R"({"appointments":[]})", kLimits);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->appointments.empty());
}

TEST(CodecEventDecodeTest, CalendarRejectsBadAppointments) {
  // The names are the mappings' (docs/mappings.md); the codec lists them all, in enum order.
  std::string calendar_kinds;
  for (const core::CalendarKind kind :
       {core::CalendarKind::Busy, core::CalendarKind::Tentative, core::CalendarKind::OutOfOffice,
        core::CalendarKind::Free}) {
    calendar_kinds += (calendar_kinds.empty() ? "" : ", ") + std::string(core::to_string(kind));
  }
  const std::string times = R"("start":"2026-11-23T15:00:00Z","end":"2026-11-23T16:00:00Z")";
  expect_errors(
      decode_calendar,
      {
          {R"({})", "appointments: required"},
          {R"({"appointments":{}})", "appointments: expected an array, got object"},
          {R"({"appointments":["x"]})", "appointments[0]: expected an object, got string"},
          {R"({"appointments":[{"id":"1",)" + times + R"(},{)" + times + "}]}",
           "appointments[1].id: required"},
          {R"({"appointments":[{"id":"1","start":"2026-11-23T15:00:00Z"}]})",
           "appointments[0].end: required"},
          {R"({"appointments":[{"id":"1","start":"2026-11-23T16:00:00Z",
                         "end":"2026-11-23T15:00:00Z"}]})",
           "appointments[0].end: must be after start"},
          {R"({"appointments":[{"id":"1","start":"2026-11-23T16:00:00+01:00",
                         "end":"2026-11-23T15:00:00Z"}]})",
           "appointments[0].end: must be after start"},
          {R"({"appointments":[{"id":"1","start":"2026-11-23","end":"2026-11-24"}]})",
           "appointments[0].start: \"2026-11-23\" is not an RFC 3339 time"},
          {R"({"appointments":[{"id":"1",)" + times + R"(,"kind":"maybe"}]})",
           "appointments[0].kind: \"maybe\" is not one of " + calendar_kinds},
          {R"({"appointments":[{"id":"1",)" + times + R"(,"private":"yes"}]})",
           "appointments[0].private: expected a boolean, got string"},
          {R"({"appointments":[{"id":"1",)" + times + R"(,"subject":")" + std::string(257, 's') +
               "\"}]}",
           "appointments[0].subject: 257 bytes, limit 256"},
      });
}

TEST(CodecEventDecodeTest, InputReadsStateAndSince) {
  auto request = decode_input(
      R"({"client_id":"laptop-1","state":"locked","since":"2026-11-23T15:00:00Z"})", kLimits);
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->client_id, "laptop-1");
  EXPECT_EQ(request->state, core::InputState::Locked);
  EXPECT_EQ(request->since, at(kNov23At15));

  auto minimal = decode_input(R"({"state":"idle"})", kLimits);
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->client_id, "");
  EXPECT_FALSE(minimal->since);

  expect_errors(decode_input, {
                                  {R"({})", "state: required"},
                                  {R"({"state":"asleep"})",
                                   "state: \"asleep\" is not one of active, idle, locked"},
                                  {R"({"state":"idle","since":"now"})", "since: \"now\" is not"},
                                  {R"({"state":"idle","client_id":""})", "client_id: empty"},
                              });
}

TEST(CodecEventDecodeTest, WsSubscribeReadsUsersResumePointsAndContacts) {
  auto message = decode_ws_message(
      R"({"op":"subscribe","users":["alice","bob"],"since":{"alice":42,"bob":0},"id":"r1"})",
      kLimits);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->op, WsOp::Subscribe);
  EXPECT_EQ(message->users, (std::vector<std::string>{"alice", "bob"}));
  ASSERT_EQ(message->since.size(), 2u);
  EXPECT_EQ(message->since[0], (std::pair<std::string, std::uint64_t>{"alice", 42}));
  EXPECT_EQ(message->since[1], (std::pair<std::string, std::uint64_t>{"bob", 0}));
  EXPECT_FALSE(message->contacts);
  EXPECT_EQ(message->id, "r1");
  EXPECT_FALSE(message->input);

  auto contacts = decode_ws_message(R"({"op":"subscribe","contacts":true})", kLimits);
  ASSERT_TRUE(contacts) << contacts.error().message;
  EXPECT_TRUE(contacts->contacts);
  EXPECT_TRUE(contacts->users.empty());

  auto big = decode_ws_message(
      R"({"op":"subscribe","users":["a"],"since":{"a":18446744073709551615}})", kLimits);
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->since[0].second, 18446744073709551615u);
}

TEST(CodecEventDecodeTest, WsSubscribeNamesRemoteContactsByAddress) {
  // docs/api.md, "Remote contacts": the address is the remote presentity's user id.
  auto message = decode_ws_message(
      R"({"op":"subscribe","users":["sip:carol@remote.test"],"since":{"sip:carol@remote.test":7}})",
      kLimits);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->users, std::vector<std::string>{"sip:carol@remote.test"});
  ASSERT_EQ(message->since.size(), 1u);
  EXPECT_EQ(message->since[0].first, "sip:carol@remote.test");

  auto bad = decode_ws_message(R"({"op":"subscribe","users":["tel:carol@remote.test"]})",
                               kLimits);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("users[0]: address: scheme"), std::string::npos)
      << bad.error().message;
}

TEST(CodecEventDecodeTest, WsReadsOtherOps) {
  auto unsubscribe = decode_ws_message(R"({"op":"unsubscribe","users":["bob"]})", kLimits);
  ASSERT_TRUE(unsubscribe) << unsubscribe.error().message;
  EXPECT_EQ(unsubscribe->op, WsOp::Unsubscribe);
  EXPECT_EQ(unsubscribe->users, std::vector<std::string>{"bob"});

  auto ping = decode_ws_message(R"({"op":"ping","id":"p-7"})", kLimits);
  ASSERT_TRUE(ping) << ping.error().message;
  EXPECT_EQ(ping->op, WsOp::Ping);
  EXPECT_EQ(ping->id, "p-7");

  auto input = decode_ws_message(
      R"({"op":"input","state":"idle","since":"2026-11-23T15:00:00Z","client_id":"tab"})", kLimits);
  ASSERT_TRUE(input) << input.error().message;
  EXPECT_EQ(input->op, WsOp::Input);
  ASSERT_TRUE(input->input);
  EXPECT_EQ(input->input->state, core::InputState::Idle);
  EXPECT_EQ(input->input->since, at(kNov23At15));
  EXPECT_EQ(input->input->client_id, "tab");
  EXPECT_TRUE(input->since.empty());
}

TEST(CodecEventDecodeTest, WsRejectsBadMessages) {
  expect_errors(
      decode_ws_message,
      {
          {R"({"users":["a"]})", "op: required"},
          {R"({"op":"sub","users":["a"]})",
           "op: \"sub\" is not one of subscribe, unsubscribe, ping, input"},
          {R"({"op":"subscribe"})", "users: required unless contacts is true"},
          {R"({"op":"subscribe","users":[],"contacts":false})",
           "users: required unless contacts is true"},
          {R"({"op":"subscribe","users":"alice"})", "users: expected an array, got string"},
          {R"({"op":"subscribe","users":["a"],"contacts":1})",
           "contacts: expected a boolean, got number"},
          {R"({"op":"subscribe","users":["a"],"since":[1]})",
           "since: expected an object, got array"},
          {R"({"op":"subscribe","users":["a"],"since":{"a":-1}})", "since.a: -1 is negative"},
          {R"({"op":"subscribe","users":["a"],"since":{"a":1.5}})",
           "since.a: 1.5 is not an integer"},
          {R"({"op":"subscribe","users":["a"],"since":{"a":"4"}})",
           "since.a: expected an integer, got string"},
          {R"({"op":"subscribe","users":["a"],"since":{"a b":4}})",
           "since: key \"a b\" has a character outside"},
          {R"({"op":"ping","id":")" + std::string(65, 'i') + "\"}", "id: 65 bytes, limit 64"},
          {R"({"op":"input"})", "state: required"},
          {R"({"op":"input","state":"idle","since":{"a":1}})",
           "since: expected a string, got object"},
      });
}

}  // namespace
}  // namespace presenced::api
