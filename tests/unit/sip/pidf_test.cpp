// PIDF (RFC 3863) with RPID (RFC 4480): what we write for a presence reads back as the same
// fields, and what a client publishes reads into those fields or is refused with its problem.

#include "sip/internal/pidf.h"

#include "core/mappings.h"
#include "sip/internal/xml_text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace presenced::sip {
namespace {

using core::Activity;
using core::Availability;
using core::Flag;
using namespace std::chrono_literals;

// 2026-11-30T19:36:40.123Z
const core::TimePoint kNow = core::TimePoint(1'796'067'400'123ms);
constexpr Presentity kAlice{"alice", "example.com"};

core::Presence presence(Availability availability, Activity activity,
                        std::initializer_list<Flag> flags = {}, std::string note = "") {
  core::Presence out;
  out.availability = availability;
  out.activity = activity;
  for (const Flag flag : flags) {
    out.flags.set(flag);
  }
  out.note = std::move(note);
  return out;
}

PidfDocument read(std::string_view body) {
  const auto document = read_pidf(body);
  EXPECT_TRUE(document.has_value()) << (document ? "" : document.error().detail);
  return document ? *document : PidfDocument{};
}

std::string presence_doc(std::string_view inner) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
         "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
         "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:bob@example.com\">" +
         std::string(inner) + "</presence>";
}

TEST(PidfWrite, ADocumentAsWatchersSeeIt) {
  const std::string body = write_pidf(
      kAlice, presence(Availability::Busy, Activity::InACall, {Flag::Call}, "on a call"), kNow);
  EXPECT_EQ(body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""
            " xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\""
            " xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:alice@example.com\">\n"
            "<tuple id=\"t\">\n"
            "<status><basic>open</basic></status>\n"
            "<note>on a call</note>\n"
            "<timestamp>2026-11-30T19:36:40.123Z</timestamp>\n"
            "</tuple>\n"
            "<dm:person id=\"p\">\n"
            "<rpid:activities><rpid:on-the-phone/></rpid:activities>\n"
            "<rpid:user-input>active</rpid:user-input>\n"
            "</dm:person>\n"
            "</presence>\n");
}

// Blocked watchers and unknown users see PresenceUnknown (core::project): closed, nothing else.
TEST(PidfWrite, UnknownIsANeutralClosedDocument) {
  core::Presence unknown =
      presence(Availability::PresenceUnknown, Activity::PresenceUnknown, {}, "secret");
  const PidfDocument document = read(write_pidf(kAlice, unknown, kNow));
  EXPECT_EQ(document.basic, Basic::Closed);
  EXPECT_TRUE(document.notes.empty());
  EXPECT_TRUE(document.activities.empty());
  EXPECT_EQ(document.user_input, UserInput::Absent);
  EXPECT_EQ(document.entity, "sip:alice@example.com");
}

struct RoundTrip {
  const char* name;
  core::Presence presence;
  Basic basic;
  std::vector<std::string> activities;
  UserInput input;
  core::GraphPresence read_as;  // core::from_pidf of what was read
};

// Write, read back, map back (docs/mappings.md, "PIDF and RPID").
TEST(PidfWrite, ReadsBackTheSameFields) {
  const RoundTrip rows[] = {
      {"available",
       presence(Availability::Available, Activity::Available),
       Basic::Open,
       {},
       UserInput::Active,
       {Availability::Available, Activity::Available}},
      {"idle",
       presence(Availability::AvailableIdle, Activity::Inactive, {Flag::Idle}),
       Basic::Open,
       {},
       UserInput::Idle,
       {Availability::Available, Activity::Available}},
      {"call",
       presence(Availability::Busy, Activity::InACall, {Flag::Call}),
       Basic::Open,
       {"on-the-phone"},
       UserInput::Active,
       {Availability::Busy, Activity::InACall}},
      {"dnd_appointment",
       presence(Availability::DoNotDisturb, Activity::DoNotDisturb, {Flag::Appointment}),
       Basic::Open,
       {"busy", "appointment"},
       UserInput::Active,
       {Availability::Busy, Activity::Busy}},
      {"meeting",
       presence(Availability::Busy, Activity::InAMeeting),
       Basic::Open,
       {"meeting"},
       UserInput::Active,
       {Availability::Busy, Activity::InAMeeting}},
      {"away_idle",
       presence(Availability::Away, Activity::Away, {Flag::Idle}),
       Basic::Open,
       {"away"},
       UserInput::Idle,
       {Availability::Away, Activity::Away}},
      {"vacation",
       presence(Availability::Away, Activity::OutOfOffice),
       Basic::Open,
       {"vacation"},
       UserInput::Active,
       {Availability::Away, Activity::OutOfOffice}},
      {"offline",
       presence(Availability::Offline, Activity::Offline),
       Basic::Closed,
       {},
       UserInput::Absent,
       {Availability::Offline, Activity::Offline}},
  };
  for (const RoundTrip& row : rows) {
    SCOPED_TRACE(row.name);
    const PidfDocument document = read(write_pidf(kAlice, row.presence, kNow));
    EXPECT_EQ(document.basic, row.basic);
    EXPECT_EQ(document.activities, row.activities);
    EXPECT_EQ(document.user_input, row.input);
    EXPECT_EQ(document.timestamp, kNow);
    EXPECT_EQ(document.status(), core::to_pidf(row.presence));
    EXPECT_EQ(core::from_pidf(document.status()), row.read_as);
  }
}

struct Escape {
  const char* name;
  std::string note;
  std::string written;  // inside <note>
  std::string read;
};

TEST(PidfWrite, EscapesNotes) {
  const Escape rows[] = {
      {"markup", "<b>&\"'</b>", "&lt;b&gt;&amp;&quot;'&lt;/b&gt;", "<b>&\"'</b>"},
      {"entity_text", "&amp;", "&amp;amp;", "&amp;"},
      {"cdata_end", "]]>", "]]&gt;", "]]>"},
      {"tab_lf_kept", "a\tb\nc", "a\tb\nc", "a\tb\nc"},
      {"cr_as_reference", "a\r\nb", "a&#13;\nb", "a\r\nb"},  // XML 1.0 §2.11
      {"controls_replaced", std::string("a\0b\x01\x1f\x7f", 6), "a\uFFFDb\uFFFD\uFFFD\x7f",
       "a\uFFFDb\uFFFD\uFFFD\x7f"},
      {"utf8_kept", "gr\u00fc\u00dfe \u2603 \U0001F600", "gr\u00fc\u00dfe \u2603 \U0001F600",
       "gr\u00fc\u00dfe \u2603 \U0001F600"},
      {"lone_continuation", "a\x80z", "a\uFFFDz", "a\uFFFDz"},
      {"truncated_sequence", "a\xE2\x98", "a\uFFFD\uFFFD", "a\uFFFD\uFFFD"},
      {"overlong", "\xC0\xAF", "\uFFFD\uFFFD", "\uFFFD\uFFFD"},
      {"surrogate", "\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD"},
      {"past_10ffff", "\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD\uFFFD"},
      {"noncharacter_fffe", "\xEF\xBF\xBE", "\uFFFD\uFFFD\uFFFD", "\uFFFD\uFFFD\uFFFD"},
  };
  for (const Escape& row : rows) {
    SCOPED_TRACE(row.name);
    const std::string body = write_pidf(
        kAlice, presence(Availability::Available, Activity::Available, {}, row.note), kNow);
    EXPECT_NE(body.find("<note>" + row.written + "</note>"), std::string::npos) << body;
    const PidfDocument document = read(body);
    ASSERT_EQ(document.notes.size(), 1u);
    EXPECT_EQ(document.notes[0], row.read);
  }
}

TEST(PidfWrite, EscapesTheEntity) {
  // `&` is allowed in a SIP user part (RFC 3261 §25.1), a space is not.
  const std::string body = write_pidf({"a&b c", "example.com"},
                                      presence(Availability::Offline, Activity::Offline), kNow);
  EXPECT_NE(body.find("entity=\"sip:a&amp;b%20c@example.com\""), std::string::npos) << body;
  EXPECT_EQ(read(body).entity, "sip:a&b%20c@example.com");
}

struct ReadRow {
  const char* name;
  std::string body;
  PidfDocument expected;
};

PidfDocument doc(Basic basic, std::vector<std::string> activities, UserInput input,
                 std::vector<std::string> notes,
                 std::optional<core::TimePoint> timestamp = std::nullopt,
                 std::string entity = "sip:bob@example.com") {
  PidfDocument out;
  out.entity = std::move(entity);
  out.basic = basic;
  out.activities = std::move(activities);
  out.user_input = input;
  out.notes = std::move(notes);
  out.timestamp = timestamp;
  return out;
}

TEST(PidfRead, WhatClientsPublish) {
  const core::TimePoint t1 = core::TimePoint(1'796'067'400'000ms);  // 19:36:40Z
  const ReadRow rows[] = {
      // RFC 3863 §4.1 minimal: a tuple with a basic status.
      {"minimal",
       "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='pres:bob@example.com'>"
       "<tuple id='a'><status><basic>open</basic></status></tuple></presence>",
       doc(Basic::Open, {}, UserInput::Absent, {}, std::nullopt, "pres:bob@example.com")},
      // Namespaces are URIs: any prefix, or a default namespace on each element.
      {"other_prefixes",
       "<p:presence xmlns:p='urn:ietf:params:xml:ns:pidf' "
       "xmlns:x='urn:ietf:params:xml:ns:pidf:rpid'"
       " xmlns:y='urn:ietf:params:xml:ns:pidf:data-model' entity='sip:bob@example.com'>"
       "<p:tuple id='a'><p:status><p:basic>open</p:basic></p:status></p:tuple>"
       "<y:person id='p'><x:activities><x:away/></x:activities>"
       "<x:user-input>idle</x:user-input><y:note>back at 3</y:note></y:person></p:presence>",
       doc(Basic::Open, {"away"}, UserInput::Idle, {"back at 3"})},
      {"default_namespaces",
       "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:bob@example.com'>"
       "<tuple id='a'><status><basic>closed</basic></status></tuple>"
       "<person xmlns='urn:ietf:params:xml:ns:pidf:data-model' id='p'>"
       "<activities xmlns='urn:ietf:params:xml:ns:pidf:rpid'><meeting/></activities></person>"
       "</presence>",
       doc(Basic::Closed, {"meeting"}, UserInput::Absent, {})},
      // A prefix bound to another URI is another element, whatever its name.
      {"wrong_uri_for_prefix",
       presence_doc("<tuple id='a'><status><basic>open</basic></status></tuple>"
                    "<dm:person xmlns:rpid='urn:example:not-rpid' id='p'>"
                    "<rpid:activities><rpid:away/></rpid:activities></dm:person>"),
       doc(Basic::Open, {}, UserInput::Absent, {})},
      {"whitespace",
       presence_doc("\n  <tuple id='a'>\n    <status>\n      <basic>\n open \n</basic>\n"
                    "    </status>\n    <note>  two  spaces  </note>\n"
                    "    <timestamp> 2026-11-30T20:36:40+01:00 </timestamp>\n  </tuple>\n"
                    "  <dm:person id='p'><rpid:user-input> active </rpid:user-input>"
                    "</dm:person>\n"),
       doc(Basic::Open, {}, UserInput::Active, {"  two  spaces  "}, t1)},
      {"unknown_elements_skipped",
       presence_doc("<tuple id='a'><status><basic>open</basic><x:y xmlns:x='urn:x'><basic>"
                    "closed</basic></x:y></status><contact>sip:b@h</contact>"
                    "<foo xmlns='urn:foo'><note>not ours</note></foo></tuple>"
                    "<dm:device id='d'><rpid:activities><rpid:away/></rpid:activities>"
                    "</dm:device>"),
       doc(Basic::Open, {}, UserInput::Absent, {})},
      {"notes_in_order",
       presence_doc("<tuple id='a'><status><basic>open</basic></status><note>tuple</note>"
                    "</tuple><note xml:lang='en'>doc en</note><note xml:lang='de'>doc de</note>"
                    "<dm:person id='p'><dm:note>person</dm:note></dm:person>"),
       doc(Basic::Open, {}, UserInput::Absent, {"doc en", "doc de", "person", "tuple"})},
      {"activities_in_tuple_status",
       presence_doc("<tuple id='a'><status><basic>open</basic><rpid:activities>"
                    "<rpid:on-the-phone/><rpid:other>golf</rpid:other></rpid:activities>"
                    "<rpid:user-input>idle</rpid:user-input></status></tuple>"),
       doc(Basic::Open, {"on-the-phone", "other"}, UserInput::Idle, {})},
      {"person_wins_over_tuple",
       presence_doc("<tuple id='a'><status><basic>open</basic><rpid:activities><rpid:busy/>"
                    "</rpid:activities></status></tuple><dm:person id='p'><rpid:activities>"
                    "<rpid:away/></rpid:activities></dm:person>"),
       doc(Basic::Open, {"away"}, UserInput::Absent, {})},
      {"unknown_user_input_value",
       presence_doc("<dm:person id='p'><rpid:user-input>sleepy</rpid:user-input></dm:person>"),
       doc(Basic::Absent, {}, UserInput::Absent, {})},
      {"no_tuple", presence_doc("<note>just a note</note>"),
       doc(Basic::Absent, {}, UserInput::Absent, {"just a note"})},
      {"mixed_content_note", presence_doc("<note>a<b>x</b>c</note>"),
       doc(Basic::Absent, {}, UserInput::Absent, {"ac"})},
      {"cdata_and_references", presence_doc("<note><![CDATA[<b>]]>&#x263A;&lt;&#13;</note>"),
       doc(Basic::Absent, {}, UserInput::Absent, {"<b>\u263A<\r"})},
      {"declared_encoding_ignored",
       "<?xml version='1.0' encoding='ISO-8859-1'?>" +
           presence_doc("<note>gr\u00fc\u00df</note>").substr(39),
       doc(Basic::Absent, {}, UserInput::Absent, {"gr\u00fc\u00df"})},
      {"bad_timestamp_ignored",
       presence_doc("<tuple id='a'><status><basic>open</basic></status>"
                    "<timestamp>yesterday</timestamp></tuple>"),
       doc(Basic::Open, {}, UserInput::Absent, {})},
  };
  for (const ReadRow& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(read(row.body), row.expected);
  }
}

TEST(PidfRead, OfSeveralTuplesTheOpenMostRecentOne) {
  const auto tuple = [](std::string id, std::string basic, std::string time, std::string note) {
    return "<tuple id='" + id + "'><status><basic>" + basic + "</basic></status><note>" + note +
           "</note>" + (time.empty() ? "" : "<timestamp>" + time + "</timestamp>") + "</tuple>";
  };
  struct Row {
    const char* name;
    std::string tuples;
    Basic basic;
    std::string note;
  };
  const Row rows[] = {
      {"open_beats_newer_closed",
       tuple("a", "closed", "2026-11-30T19:00:00Z", "desk") +
           tuple("b", "open", "2026-11-30T18:00:00Z", "mobile"),
       Basic::Open, "mobile"},
      {"newest_open",
       tuple("a", "open", "2026-11-30T18:00:00Z", "desk") +
           tuple("b", "open", "2026-11-30T19:00:00Z", "mobile") + tuple("c", "open", "", "soft"),
       Basic::Open, "mobile"},
      {"without_timestamp_first_wins",
       tuple("a", "open", "", "desk") + tuple("b", "open", "", "mobile"), Basic::Open, "desk"},
      {"all_closed_newest",
       tuple("a", "closed", "2026-11-30T19:00:00Z", "desk") +
           tuple("b", "closed", "2026-11-30T18:00:00Z", "mobile"),
       Basic::Closed, "desk"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const PidfDocument document = read(presence_doc(row.tuples));
    EXPECT_EQ(document.basic, row.basic);
    EXPECT_EQ(document.notes, std::vector<std::string>{row.note});
  }
}

struct Refusal {
  const char* name;
  std::string body;
  PidfProblem problem;
  int status;
};

TEST(PidfRead, RefusesWithItsProblem) {
  const std::string laughs =
      "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
      "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
      "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>" +
      presence_doc("<note>&lol3;</note>").substr(39);
  const Refusal rows[] = {
      {"billion_laughs", laughs, PidfProblem::Doctype, 400},
      {"doctype_alone", "<!DOCTYPE presence>" + presence_doc(""), PidfProblem::Doctype, 400},
      {"external_entity",
       "<!DOCTYPE p [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + presence_doc("<note>&x;</note>"),
       PidfProblem::Doctype, 400},
      // The scan before parsing does not know comments.
      {"doctype_in_comment", presence_doc("<!-- <!DOCTYPE -->"), PidfProblem::Doctype, 400},
      {"undeclared_entity", presence_doc("<note>&lol;</note>"), PidfProblem::NotWellFormed, 400},
      {"empty", "", PidfProblem::NotWellFormed, 400},
      {"unclosed", presence_doc("<tuple id='a'>"), PidfProblem::NotWellFormed, 400},
      {"two_roots", presence_doc("") + "<presence/>", PidfProblem::NotWellFormed, 400},
      {"unbound_prefix", presence_doc("<x:y/>"), PidfProblem::NotWellFormed, 400},
      {"control_reference", presence_doc("<note>&#1;</note>"), PidfProblem::NotWellFormed, 400},
      {"invalid_utf8", presence_doc("<note>\xC0\xAF</note>"), PidfProblem::NotWellFormed, 400},
      {"utf16_bom", std::string("\xFF\xFE<\0p\0/\0>\0", 10), PidfProblem::NotWellFormed, 400},
      // A DOCTYPE in UTF-16 without a byte order mark would escape a byte scan.
      {"utf16_doctype", std::string("<\0!\0D\0O\0C\0T\0Y\0P\0E\0 \0p\0>\0<\0p\0/\0>\0", 30),
       PidfProblem::NotWellFormed, 400},
      {"no_namespace", "<presence entity='sip:bob@example.com'/>", PidfProblem::NotPidf, 400},
      {"other_root",
       "<dialog-info xmlns='urn:ietf:params:xml:ns:dialog-info' version='0' state='full' "
       "entity='sip:bob@example.com'/>",
       PidfProblem::NotPidf, 400},
      {"no_entity", "<presence xmlns='urn:ietf:params:xml:ns:pidf'/>", PidfProblem::NotPidf, 400},
      {"bad_basic", presence_doc("<tuple id='a'><status><basic>Open</basic></status></tuple>"),
       PidfProblem::BadValue, 400},
  };
  for (const Refusal& row : rows) {
    SCOPED_TRACE(row.name);
    const auto document = read_pidf(row.body);
    ASSERT_FALSE(document.has_value());
    EXPECT_EQ(document.error().problem, row.problem) << document.error().detail;
    EXPECT_EQ(document.error().status(), row.status);
    EXPECT_FALSE(document.error().detail.empty());
  }
}

// Each limit: at the limit a document reads, one past it is refused.
TEST(PidfRead, Limits) {
  struct Row {
    const char* name;
    std::function<void(PidfLimits&)> set;
    std::string at_limit;
    std::string past_limit;
    PidfProblem problem;
  };
  const std::string tuple = "<tuple id='a'><status><basic>open</basic></status></tuple>";
  const std::string small = presence_doc("");
  const Row rows[] = {
      {"body_bytes", [&](PidfLimits& l) { l.body_bytes = small.size(); }, small, small + " ",
       PidfProblem::TooLarge},
      {"depth", [](PidfLimits& l) { l.depth = 3; }, presence_doc("<a><b/></a>"),
       presence_doc("<a><b><c/></b></a>"), PidfProblem::LimitExceeded},
      {"elements", [](PidfLimits& l) { l.elements = 3; }, presence_doc("<a/><b/>"),
       presence_doc("<a/><b/><c/>"), PidfProblem::LimitExceeded},
      {"tuples", [](PidfLimits& l) { l.tuples = 2; }, presence_doc(tuple + tuple),
       presence_doc(tuple + tuple + tuple), PidfProblem::LimitExceeded},
      {"activities", [](PidfLimits& l) { l.activities = 2; },
       presence_doc("<dm:person><rpid:activities><rpid:a/><rpid:b/></rpid:activities>"
                    "</dm:person>"),
       presence_doc("<dm:person><rpid:activities><rpid:a/><rpid:b/><rpid:c/></rpid:activities>"
                    "</dm:person>"),
       PidfProblem::LimitExceeded},
      {"notes", [](PidfLimits& l) { l.notes = 2; }, presence_doc("<note/><note/>"),
       presence_doc("<note/><note/><note/>"), PidfProblem::LimitExceeded},
      // Counted over the document: written back, they all go into the one tuple.
      {"notes_document_and_tuple", [](PidfLimits& l) { l.notes = 2; },
       presence_doc("<tuple id='a'><note/></tuple><note/>"),
       presence_doc("<tuple id='a'><note/><note/></tuple><note/>"), PidfProblem::LimitExceeded},
      {"text_bytes", [](PidfLimits& l) { l.text_bytes = 4; },
       presence_doc("<note>&lt;bc&amp;</note>"), presence_doc("<note>abcde</note>"),
       PidfProblem::LimitExceeded},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    PidfLimits limits;
    row.set(limits);
    EXPECT_TRUE(read_pidf(row.at_limit, limits).has_value());
    const auto past = read_pidf(row.past_limit, limits);
    ASSERT_FALSE(past.has_value());
    EXPECT_EQ(past.error().problem, row.problem) << past.error().detail;
  }
}

// What read_pidf accepts, write_pidf writes so that it reads back the same (the fuzz target
// checks this on every accepted input).
TEST(PidfRead, ReadWriteReadIsStable) {
  const std::string bodies[] = {
      presence_doc("<tuple id='a'><status><basic>closed</basic></status>"
                   "<timestamp>2026-11-30T19:36:40.5-08:00</timestamp></tuple>"),
      presence_doc("<note>a&#13;b\tc</note><dm:person id='p'><rpid:activities><rpid:away/>"
                   "<rpid:lunch/></rpid:activities><rpid:user-input>idle</rpid:user-input>"
                   "</dm:person>"),
      presence_doc("<tuple id='a'><status/><timestamp>2026-11-30T19:36:40Z</timestamp></tuple>"),
      "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:a&#9;b&#10;&#13;c'/>",
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    const PidfDocument first = read(body);
    const std::string written = write_pidf(first);
    EXPECT_EQ(read(written), first) << written;
    EXPECT_EQ(write_pidf(read(written)), written);
  }
}

// RFC 3339 §5.6 date-time, as <timestamp> carries it (RFC 3863 §4.1.7).
TEST(PidfTimestamp, ReadsRfc3339) {
  const core::TimePoint t = core::TimePoint(1'796'067'400'000ms);  // 2026-11-30T19:36:40Z
  struct Row {
    const char* text;
    std::optional<core::TimePoint> time;
  };
  const Row rows[] = {
      {"2026-11-30T19:36:40Z", t},
      {"2026-11-30t19:36:40z", t},
      {"2026-11-30T19:36:40.1239Z", t + 123ms},  // past milliseconds cut
      {"2026-11-30T11:36:40-08:00", t},
      {"2026-11-30T19:36:60Z", t + 20s},  // a leap second
      {"0001-01-01T00:00:00Z",
       core::TimePoint(std::chrono::sys_days(std::chrono::year(1) / 1 / 1))},
      {"0001-01-01T00:00:00+00:01", std::nullopt},  // before year 1: not writable
      {"2026-11-30T19:36:40", std::nullopt},        // no offset
      {"2026-02-30T19:36:40Z", std::nullopt},
      {"2026-11-30T24:00:00Z", std::nullopt},
      {"2026-11-30T19:36:40.Z", std::nullopt},
      {"2026-11-30 19:36:40Z", std::nullopt},
      {"2026-11-30T19:36:40+0100", std::nullopt},
      {"", std::nullopt},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.text);
    EXPECT_EQ(xml::parse_timestamp(row.text), row.time);
    if (row.time) {
      std::string written;
      xml::append_timestamp(written, *row.time);
      EXPECT_EQ(xml::parse_timestamp(written), row.time) << written;
    }
  }
}

}  // namespace
}  // namespace presenced::sip
