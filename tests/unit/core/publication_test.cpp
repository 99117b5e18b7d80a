// The `sip` layer: presence published by SIP clients (RFC 3903) competes with the manual layer as
// the user's own choice, counts as a signed-in client while it lives and goes when it expires.
// docs/presence-rules.md, "SIP publications".

#include "core/aggregation.h"
#include "core/engine.h"
#include "core/mappings.h"

#include "unit/core/core_test_util.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace presenced::core {
namespace {

using namespace fixtures;  // NOLINT(google-build-using-namespace): shared by the core tests

Publication publication(std::string etag, TimePoint set_at, Availability availability,
                        Activity activity, std::string note = {}) {
  Publication p;
  p.etag = std::move(etag);
  p.open = true;
  p.has_activity = true;
  p.availability = availability;
  p.activity = activity;
  p.note = std::move(note);
  p.set_at = set_at;
  p.expires_at = set_at + hours(1);
  return p;
}

Publication away(TimePoint set_at, std::string note = {}) {
  return publication("e-away", set_at, Availability::Away, Activity::Away, std::move(note));
}

// Open, no activity, no note: the device is online and says nothing else.
Publication online(TimePoint set_at) {
  Publication p;
  p.etag = "e-online";
  p.open = true;
  p.set_at = set_at;
  p.expires_at = set_at + hours(1);
  return p;
}

class PublicationAggregationTest : public ::testing::Test {
 protected:
  Presence at(TimePoint now) const {
    return aggregate(layers_, settings_, catalog_, rules_, now).presence;
  }
  void publish(Publication p) { layers_.published.publications.push_back(std::move(p)); }

  Layers layers_;
  UserSettings settings_;
  TestCatalog catalog_;
  RuleConfig rules_;
};

TEST_F(PublicationAggregationTest, PublishedAwayWithANoteShowsAway) {
  publish(away(kT0, "back at 3"));
  const Presence p = at(kT0);
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.activity, Activity::Away);
  EXPECT_EQ(p.note, "back at 3");
  EXPECT_TRUE(p.flags.has(Flag::Note));
  EXPECT_EQ(p.explanation.layer, Layer::Sip);
  EXPECT_EQ(p.explanation.rule, "sip_publication");
  EXPECT_EQ(p.state_id, "");
}

TEST_F(PublicationAggregationTest, AnOpenPublicationCountsAsASignedInClient) {
  publish(online(kT0));
  const Presence p = at(kT0);
  EXPECT_EQ(p.availability, Availability::Available);
  EXPECT_EQ(p.explanation.rule, "logged_in");
  EXPECT_EQ(p.explanation.layer, Layer::Sip);
}

// RFC 4479: basic describes the device; closed without an activity says only that it is offline.
TEST_F(PublicationAggregationTest, ClosedWithoutActivityIsNotASession) {
  Publication closed = online(kT0);
  closed.open = false;
  publish(closed);
  EXPECT_EQ(at(kT0).explanation.rule, "no_session");

  layers_.sessions.sessions.push_back(session("ws-1"));
  EXPECT_EQ(at(kT0).explanation.rule, "logged_in");
  EXPECT_EQ(at(kT0).explanation.layer, Layer::Sessions);
}

TEST_F(PublicationAggregationTest, ALaterPublicationOverridesAnOlderManualState) {
  layers_.manual = manual("Busy", kT0, "manual note");
  publish(away(kT0 + minutes(1), "sip note"));
  const Presence p = at(kT0 + minutes(1));
  EXPECT_EQ(p.availability, Availability::Away);
  EXPECT_EQ(p.explanation.rule, "sip_publication");
  EXPECT_EQ(p.note, "sip note");
}

TEST_F(PublicationAggregationTest, ALaterManualStateOverridesAnOlderPublication) {
  publish(away(kT0, "sip note"));
  layers_.manual = manual("Busy", kT0 + minutes(1));
  const Presence p = at(kT0 + minutes(1));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.explanation.rule, "manual");
  EXPECT_EQ(p.state_id, "Busy");
  EXPECT_EQ(p.note, "");
}

TEST_F(PublicationAggregationTest, OnATieTheManualStateWins) {
  layers_.manual = manual("Busy", kT0);
  publish(away(kT0));
  EXPECT_EQ(at(kT0).explanation.rule, "manual");
}

TEST_F(PublicationAggregationTest, TheNewestOfSeveralPublicationsWins) {
  publish(publication("e-1", kT0 + minutes(2), Availability::Busy, Activity::InAMeeting));
  publish(away(kT0 + minutes(1)));
  publish(online(kT0 + minutes(3)));  // says nothing: does not compete
  const Presence p = at(kT0 + minutes(3));
  EXPECT_EQ(p.activity, Activity::InAMeeting);
}

TEST_F(PublicationAggregationTest, ALaterCallOverridesAPublication) {
  publish(away(kT0));
  layers_.telephony.calls.push_back(call("desk", CallState::Connected, kT0 + minutes(1)));
  const Presence p = at(kT0 + minutes(1));
  EXPECT_EQ(p.activity, Activity::InACall);
  EXPECT_EQ(p.explanation.rule, "system_overrides_manual");
}

TEST_F(PublicationAggregationTest, APublicationAfterACallStartedWins) {
  layers_.telephony.calls.push_back(call("desk", CallState::Connected, kT0));
  publish(away(kT0 + minutes(1)));
  EXPECT_EQ(at(kT0 + minutes(1)).explanation.rule, "sip_publication");
}

// RFC 4480 "presentation" maps to DoNotDisturb/Presenting, which no call overrides (seed 001).
TEST_F(PublicationAggregationTest, PublishedDndIsNotOverriddenByACall) {
  publish(publication("e-1", kT0, Availability::DoNotDisturb, Activity::Presenting));
  layers_.telephony.calls.push_back(call("desk", CallState::Connected, kT0 + minutes(1)));
  const Presence p = at(kT0 + minutes(1));
  EXPECT_EQ(p.availability, Availability::DoNotDisturb);
  EXPECT_EQ(p.explanation.rule, "dnd_not_overridden");
  EXPECT_EQ(p.explanation.layer, Layer::Sip);
}

TEST_F(PublicationAggregationTest, AnExpiredPublicationSaysNothingAndItsEndIsTheNextChange) {
  layers_.manual = manual("Busy", kT0);
  publish(away(kT0 + minutes(1)));
  const Aggregated live = aggregate(layers_, settings_, catalog_, rules_, kT0 + minutes(1));
  EXPECT_EQ(live.presence.explanation.rule, "sip_publication");
  EXPECT_EQ(live.next_change, kT0 + minutes(61));
  const Presence p = at(kT0 + minutes(61));
  EXPECT_EQ(p.availability, Availability::Busy);
  EXPECT_EQ(p.explanation.rule, "manual");
}

TEST_F(PublicationAggregationTest, AnOpenPublicationKeepsAnIdleUserActive) {
  layers_.sessions.sessions.push_back(session("ws-1", InputState::Locked));
  EXPECT_EQ(at(kT0).availability, Availability::AvailableIdle);
  publish(online(kT0));
  EXPECT_EQ(at(kT0).availability, Availability::Available);
}

// ---- person_from_pidf: what a published document says about the person ----

TEST(PersonFromPidfTest, ActivitiesCountWhateverTheBasic) {
  EXPECT_EQ(person_from_pidf({false, {"away"}, ""}),
            (GraphPresence{Availability::Away, Activity::Away}));
  EXPECT_EQ(person_from_pidf({true, {"on-the-phone"}, ""}),
            (GraphPresence{Availability::Busy, Activity::InACall}));
  EXPECT_EQ(person_from_pidf({true, {}, "note"}), std::nullopt);
  EXPECT_EQ(person_from_pidf({true, {"unknown"}, ""}), std::nullopt);
}

// ---- Engine: set, replace, remove, expire, restore ----

class PublicationEngineTest : public ::testing::Test {
 protected:
  PublicationEngineTest() : alice_(engine_.add_user(UserId{"alice"}, {}, kT0).value()) {}
  Engine engine_{EngineConfig{}, 0};
  UserIndex alice_;
};

TEST_F(PublicationEngineTest, SetReplaceAndRemove) {
  engine_.set_publication(alice_, "", away(kT0), kT0);
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Away);
  const std::uint64_t before = engine_.sequence(alice_);

  // A modify gives a new tag and replaces the old one in one change.
  Publication busy = publication("e-2", kT0 + minutes(1), Availability::Busy, Activity::Busy);
  engine_.set_publication(alice_, "e-away", busy, kT0 + minutes(1));
  EXPECT_EQ(engine_.sequence(alice_), before + 1);
  ASSERT_EQ(engine_.layers(alice_).published.publications.size(), 1u);
  EXPECT_EQ(engine_.layers(alice_).published.publications[0].etag, "e-2");
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Busy);

  EXPECT_FALSE(engine_.remove_publication(alice_, "e-away", kT0 + minutes(2)));
  EXPECT_TRUE(engine_.remove_publication(alice_, "e-2", kT0 + minutes(2)));
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Offline);
}

TEST_F(PublicationEngineTest, ExpiresOnAdvance) {
  engine_.set_publication(alice_, "", away(kT0), kT0);
  EXPECT_EQ(engine_.next_deadline(), kT0 + hours(1));
  engine_.advance(kT0 + hours(1) - milliseconds(1));
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Away);
  engine_.advance(kT0 + hours(1));
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Offline);
  EXPECT_TRUE(engine_.layers(alice_).published.publications.empty());
  EXPECT_FALSE(engine_.remove_publication(alice_, "e-away", kT0 + hours(1)));
}

TEST_F(PublicationEngineTest, RestoreDropsLapsedOnesAndKeepsSetAt) {
  engine_.set_manual(alice_, manual("Busy", kT0 + minutes(1)), kT0 + minutes(1));
  PublishedLayer stored;
  stored.publications.push_back(away(kT0 + minutes(2)));
  Publication lapsed = publication("e-old", kT0 - hours(2), Availability::Busy, Activity::Busy);
  stored.publications.push_back(lapsed);
  engine_.restore_publications(alice_, stored, kT0 + minutes(3));
  EXPECT_EQ(engine_.layers(alice_).published.publications.size(), 1u);
  EXPECT_EQ(engine_.presence(alice_).explanation.rule, "sip_publication");
  EXPECT_EQ(engine_.presence(alice_).availability, Availability::Away);
}

}  // namespace
}  // namespace presenced::core
