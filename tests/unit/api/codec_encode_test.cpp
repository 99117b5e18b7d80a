#include "api/internal/codec.h"

#include "api/internal/codec_json.h"
#include "core/mappings.h"
#include "core/visibility.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <set>
#include <string>

namespace presenced::api {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNov23At15 = 1795446000000;  // 2026-11-23T15:00:00Z

core::TimePoint at(std::int64_t unix_ms) {
  return core::TimePoint{std::chrono::milliseconds{unix_ms}};
}

std::set<std::string> keys(const json::object& object) {
  std::set<std::string> out;
  for (const auto& member : object) {
    out.emplace(member.key());
  }
  return out;
}

core::Presence busy_in_a_call() {
  core::Presence p;
  p.availability = core::Availability::Busy;
  p.activity = core::Activity::InACall;
  p.flags.set(core::Flag::Note);
  p.flags.set(core::Flag::Call);
  p.flags.set(core::Flag::Ringing);
  p.state_id = "lunch";
  p.note = "back at 3";
  p.until = at(kNov23At15);
  p.reachability = core::Reachability::Vacation;
  p.current_appointment = core::Appointment{.id = "a1",
                                            .subject = "Review",
                                            .location = "Room 1",
                                            .start = at(kNov23At15 - 3600000),
                                            .end = at(kNov23At15)};
  p.busy_devices = {"desk", "mobile"};
  p.explanation = {core::Layer::Telephony, "call", "connected on desk"};
  return p;
}

json::value display_of(const core::Presence& presence) {
  const core::Display display = core::to_display(presence);
  return json::object{{"color", display.color}, {"icon", display.icon}};
}

TEST(CodecEncodeTest, BlockedWatcherSeesTheContractShapeOnly) {
  const core::Presence blocked = core::project(busy_in_a_call(), core::VisibilityLevel::Blocked);
  const json::object object = presence_json("alice", blocked, 42, false);

  EXPECT_EQ(keys(object), (std::set<std::string>{"user", "availability", "activity", "flags",
                                                 "sequence", "display"}));
  EXPECT_EQ(object.at("user"), "alice");
  EXPECT_EQ(object.at("availability"), "PresenceUnknown");
  EXPECT_EQ(object.at("activity"), "PresenceUnknown");
  EXPECT_EQ(object.at("flags"), json::array());
  EXPECT_EQ(object.at("sequence"), 42);
  EXPECT_EQ(object.at("display"), display_of(blocked));
}

TEST(CodecEncodeTest, PresenceCarriesEveryVisibleLayer) {
  const core::Presence presence = busy_in_a_call();
  const json::object object = presence_json("alice", presence, 7, false);

  EXPECT_EQ(keys(object),
            (std::set<std::string>{"user", "availability", "activity", "note", "until", "flags",
                                   "sequence", "state", "reachability", "display", "appointment"}));
  EXPECT_EQ(object.at("availability"), "Busy");
  EXPECT_EQ(object.at("activity"), "InACall");
  EXPECT_EQ(object.at("note"), "back at 3");
  EXPECT_EQ(object.at("until"), "2026-11-23T15:00:00.000Z");
  EXPECT_EQ(object.at("flags"), (json::array{"ringing", "call", "note"}));  // kAllFlags order
  EXPECT_EQ(object.at("sequence"), 7);
  EXPECT_EQ(object.at("state"), "lunch");
  EXPECT_EQ(object.at("reachability"), "vacation");
  EXPECT_EQ(object.at("display"), display_of(presence));
  EXPECT_EQ(object.at("appointment"), (json::object{{"subject", "Review"},
                                                    {"start", "2026-11-23T14:00:00.000Z"},
                                                    {"end", "2026-11-23T15:00:00.000Z"},
                                                    {"location", "Room 1"}}));
}

TEST(CodecEncodeTest, ExplainAddsTheWinningLayerAndBusyDevices) {
  const json::object object = presence_json("alice", busy_in_a_call(), 7, true);
  EXPECT_EQ(object.at("explanation"),
            (json::object{{"layer", core::to_string(core::Layer::Telephony)},
                          {"rule", "call"},
                          {"detail", "connected on desk"}}));
  EXPECT_EQ(object.at("devices"), (json::array{"desk", "mobile"}));
}

TEST(CodecEncodeTest, NormalReachabilityAndEmptyNoteAreOmitted) {
  core::Presence presence;
  presence.availability = core::Availability::Available;
  presence.activity = core::Activity::Available;
  const json::object object = presence_json("bob", presence, 1, false);
  EXPECT_EQ(keys(object), (std::set<std::string>{"user", "availability", "activity", "flags",
                                                 "sequence", "display"}));
  EXPECT_EQ(object.at("availability"), "Available");
}

TEST(CodecEncodeTest, PresenceEventIsThePresenceObjectWithAType) {
  core::Presence tricky = busy_in_a_call();
  tricky.note = "say \"hi\" \\ tab\there\nline\x01 Grüße 🎉 </script>";
  tricky.current_appointment->subject = "1:1 \"Q4\"";
  core::Presence sparse;
  sparse.flags.set(core::Flag::OutOfOffice);
  const core::Presence presences[] = {
      busy_in_a_call(),
      tricky,
      sparse,
      core::project(busy_in_a_call(), core::VisibilityLevel::Blocked),
      core::project(busy_in_a_call(), core::VisibilityLevel::Public),
      core::project(busy_in_a_call(), core::VisibilityLevel::Team),
  };
  for (const core::Presence& presence : presences) {
    const std::string event = presence_event("al\"ice", presence, 18446744073709551615u);
    boost::system::error_code ec;
    json::value parsed = json::parse(event, ec);
    ASSERT_FALSE(ec) << event;
    ASSERT_TRUE(parsed.is_object()) << event;
    json::object& object = parsed.as_object();
    EXPECT_EQ(object.at("type"), "presence");
    object.erase("type");
    EXPECT_EQ(object, presence_json("al\"ice", presence, 18446744073709551615u, false)) << event;
  }
  EXPECT_EQ(presence_event("bob", sparse, 3).rfind("{\"type\":\"presence\",\"user\":\"bob\"", 0),
            0u);
}

TEST(CodecEncodeTest, NextAppointmentGoesBesideTheCurrentOne) {
  core::Presence presence = busy_in_a_call();
  presence.next_appointment = core::Appointment{.id = "a2",
                                                .subject = "1:1",
                                                .location = "",
                                                .start = at(kNov23At15 + 3600000),
                                                .end = at(kNov23At15 + 7200000)};
  const json::object object = presence_json("alice", presence, 7, false);
  EXPECT_EQ(object.at("next_appointment"), (json::object{{"subject", "1:1"},
                                                         {"start", "2026-11-23T16:00:00.000Z"},
                                                         {"end", "2026-11-23T17:00:00.000Z"},
                                                         {"location", ""}}));
  EXPECT_EQ(json::parse(presence_event("alice", presence, 7)).at("next_appointment"),
            object.at("next_appointment"));
}

TEST(CodecEncodeTest, InvalidUtf8InANoteBecomesReplacementCharacters) {
  core::Presence presence;
  presence.note =
      "a\xff"
      "b\xc3";
  const std::string event = presence_event("bob", presence, 1);
  boost::system::error_code ec;
  const json::value parsed = json::parse(event, ec);  // Boost.JSON rejects invalid UTF-8
  ASSERT_FALSE(ec) << event;
  EXPECT_EQ(parsed.at("note"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(presence_json("bob", presence, 1, false).at("note"), parsed.at("note"));
}

TEST(CodecEncodeTest, Utf8ValidationFollowsRfc3629) {
  const std::pair<std::string, bool> cases[] = {
      {"", true},
      {"plain", true},
      {"\xc3\xa4", true},           // ä
      {"\xe2\x82\xac", true},       // €
      {"\xf0\x9f\x8e\x89", true},   // 🎉
      {"\xf4\x8f\xbf\xbf", true},   // U+10FFFF
      {"\xc3", false},              // truncated
      {"\xa4", false},              // lone continuation
      {"\xc0\x80", false},          // overlong NUL
      {"\xe0\x80\x80", false},      // overlong
      {"\xed\xa0\x80", false},      // surrogate
      {"\xf4\x90\x80\x80", false},  // above U+10FFFF
      {"\xf5\x80\x80\x80", false},
      {"\xe2\x82", false},
      {"\xe2\x28\xa1", false},
  };
  for (const auto& [text, valid] : cases) {
    EXPECT_EQ(codec::is_valid_utf8(text), valid) << text;
    std::string quoted;
    codec::append_json_string(quoted, text);
    boost::system::error_code ec;
    const json::value parsed = json::parse(quoted, ec);
    ASSERT_FALSE(ec) << quoted;
    EXPECT_EQ(parsed == json::value(text), valid) << text;
  }
}

TEST(CodecEncodeTest, ErrorsMapToCodesAndStatuses) {
  const std::tuple<core::ErrorCode, std::string_view, int> cases[] = {
      {core::ErrorCode::InvalidArgument, "invalid_argument", 400},
      {core::ErrorCode::NotFound, "not_found", 404},
      {core::ErrorCode::Unauthenticated, "unauthenticated", 401},
      {core::ErrorCode::PermissionDenied, "permission_denied", 403},
      {core::ErrorCode::Conflict, "conflict", 409},
      {core::ErrorCode::FailedPrecondition, "failed_precondition", 412},
      {core::ErrorCode::ResourceExhausted, "resource_exhausted", 429},
      {core::ErrorCode::Unavailable, "unavailable", 503},
      {core::ErrorCode::Internal, "internal", 500},
  };
  for (const auto& [code, name, status] : cases) {
    EXPECT_EQ(error_code_name(code), name);
    EXPECT_EQ(http_status(code), status);
    const std::string message = "state: \"x\\y\" is not\none of\x02";
    const json::value parsed = json::parse(error_json(code, message));
    EXPECT_EQ(parsed, (json::object{{"error", {{"code", name}, {"message", message}}}}));
  }
}

TEST(CodecEncodeTest, UserJsonNeverShowsSecrets) {
  store::UserRecord user;
  user.id = "alice";
  user.display_name = "Alice A.";
  user.role = store::Role::Admin;
  user.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$SECRET-HASH";
  user.sip_password = "SIP-SECRET";
  user.groups = {"sales"};
  user.settings.idle_after = std::chrono::minutes{10};
  user.settings.login_state = "Available";

  const json::object object = user_json(user);
  EXPECT_EQ(
      object,
      (json::object{{"id", "alice"},
                    {"display_name", "Alice A."},
                    {"role", "admin"},
                    {"groups", json::array{"sales"}},
                    {"has_sip_password", true},
                    {"settings",
                     {{"idle_minutes", 10}, {"login_state", "Available"}, {"logout_state", ""}}}}));
  const std::string text = json::serialize(object);
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;

  user.sip_password.clear();
  EXPECT_EQ(user_json(user).at("has_sip_password"), false);
}

TEST(CodecEncodeTest, StateAndDecisionJson) {
  core::StateDefinition state{.id = "lunch",
                              .type = core::StateType::Away,
                              .message = "Lunch",
                              .availability = core::Availability::Away,
                              .activity = core::Activity::Away,
                              .built_in = false,
                              .order = 4};
  EXPECT_EQ(state_json(state, true), (json::object{{"id", "lunch"},
                                                   {"type", core::to_string(core::StateType::Away)},
                                                   {"message", "Lunch"},
                                                   {"availability", "Away"},
                                                   {"activity", "Away"},
                                                   {"built_in", false},
                                                   {"order", 4},
                                                   {"default", true}}));
  EXPECT_EQ(state_json(state, false).at("default"), false);

  routing::Decision ring;
  ring.targets = {{"desk", 0}, {"mobile", 10}};
  ring.reason = "available";
  EXPECT_EQ(decision_json(ring),
            (json::object{{"action", routing::to_string(routing::Action::Ring)},
                          {"targets", json::array{{{"device", "desk"}, {"delay_s", 0}},
                                                  {{"device", "mobile"}, {"delay_s", 10}}}},
                          {"reason", "available"}}));
  routing::Decision forward;
  forward.action = routing::Action::Forward;
  forward.destination = "+498912345";
  forward.reason = "forward_always";
  const json::object object = decision_json(forward);
  EXPECT_EQ(object.at("destination"), "+498912345");
  EXPECT_EQ(object.at("targets"), json::array());
  EXPECT_EQ(object.at("caller_id"), "caller");

  routing::Decision failover;
  failover.targets = {{"desk", 0}};
  failover.reason = "available";
  failover.no_answer =
      routing::NoAnswer{20, routing::Action::Forward, "carol", "forward_no_answer"};
  failover.show_original_caller = false;
  const json::object with_fallback = decision_json(failover);
  EXPECT_EQ(with_fallback.at("no_answer"), (json::object{{"after_s", 20},
                                                        {"action", "forward"},
                                                        {"reason", "forward_no_answer"},
                                                        {"destination", "carol"}}));
  EXPECT_EQ(with_fallback.at("caller_id"), "callee");
  EXPECT_FALSE(decision_json(ring).contains("caller_id"));
  EXPECT_FALSE(decision_json(ring).contains("no_answer"));
}

}  // namespace
}  // namespace presenced::api
