// Publications of presence (RFC 3903, RFC 3856 §6) over a real engine and an in-memory store:
// each test reads like the exchange between a publishing phone and us, with the time passed in.

#include "sip/internal/publications.h"

#include "core/engine.h"
#include "sip/internal/service.h"
#include "memory_directory.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace presenced::sip {
namespace {

using std::chrono::seconds;
using test::lines;

const core::TimePoint kT0 = core::TimePoint(std::chrono::milliseconds(1'800'000'000'000));
constexpr NonceRandom kRandom1{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr NonceRandom kRandom2{2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr NonceRandom kRandom3{3, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

std::string pidf(std::string_view entity, std::string_view basic, std::string_view activity,
                 std::string_view note) {
  std::string body =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
      "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
      "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"" +
      std::string(entity) + "\">\n<tuple id=\"t1\"><status><basic>" + std::string(basic) +
      "</basic></status></tuple>\n";
  if (!activity.empty()) {
    body += "<dm:person id=\"p1\"><rpid:activities><rpid:" + std::string(activity) +
            "/></rpid:activities></dm:person>\n";
  }
  if (!note.empty()) {
    body += "<note>" + std::string(note) + "</note>\n";
  }
  return body + "</presence>\n";
}

const std::string kAwayBody = pidf("pres:alice@example.com", "open", "away", "back at 3");

// A PUBLISH from alice (RFC 3903 §4.1); empty values leave the header out.
struct Publish {
  std::string user = "alice";
  std::string if_match;
  std::string expires = "3600";
  std::string content_type = "application/pidf+xml";
  std::string body = kAwayBody;
  std::string event = "presence";
  int cseq = 1;

  // Builders, so that each test names only what differs from an initial PUBLISH of away.
  Publish& from(std::string v) {
    user = std::move(v);
    return *this;
  }
  Publish& match(std::string v) {
    if_match = std::move(v);
    return *this;
  }
  Publish& lasting(std::string v) {
    expires = std::move(v);
    return *this;
  }
  Publish& typed(std::string v) {
    content_type = std::move(v);
    return *this;
  }
  Publish& carrying(std::string v) {
    body = std::move(v);
    return *this;
  }
  Publish& about(std::string v) {
    event = std::move(v);
    return *this;
  }
};

Message make(const Publish& p) {
  std::vector<std::string> headers = {
      "PUBLISH sip:" + p.user + "@example.com SIP/2.0",
      "Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-p" + std::to_string(p.cseq),
      "From: <sip:alice@example.com>;tag=p1",
      "To: <sip:" + p.user + "@example.com>",
      "Call-ID: pub-1@192.0.2.10",
      "CSeq: " + std::to_string(p.cseq) + " PUBLISH",
      "Max-Forwards: 70",
      "Event: " + p.event};
  if (!p.if_match.empty()) headers.push_back("SIP-If-Match: " + p.if_match);
  if (!p.expires.empty()) headers.push_back("Expires: " + p.expires);
  if (!p.body.empty()) headers.push_back("Content-Type: " + p.content_type);
  std::string text;
  for (const std::string& h : headers) {
    text += h + "\r\n";
  }
  text += "Content-Length: " + std::to_string(p.body.size()) + "\r\n\r\n" + p.body;
  auto parsed = test::parse_datagram(text);
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
  return *parsed;
}

class PublicationsTest : public testing::Test {
 protected:
  PublicationsTest() {
    alice_ = engine().add_user(core::UserId{"alice"}, {}, kT0).value();
    bob_ = engine().add_user(core::UserId{"bob"}, {}, kT0).value();
  }

  core::Engine& engine() { return directory_.engine(); }
  const core::Presence& alice() { return engine().presence(alice_); }

  // Sends one PUBLISH; answers that come at once are returned, later ones land in answers_.
  std::optional<Message> send(const Publish& p, core::TimePoint now,
                              const NonceRandom& random = kRandom1) {
    const std::size_t before = answers_.size();
    publications_.publish(make(p), "alice", now, random,
                          [this](Message m) { answers_.push_back(std::move(m)); });
    if (answers_.size() > before) {
      Message m = answers_.back();
      answers_.pop_back();
      return m;
    }
    return std::nullopt;
  }
  // Sends, lets the store finish, and returns the answer.
  Message durable(const Publish& p, core::TimePoint now, const NonceRandom& random = kRandom1) {
    auto now_answer = send(p, now, random);
    EXPECT_FALSE(now_answer) << "answered before the store: " << now_answer->status;
    directory_.complete(true);
    EXPECT_EQ(answers_.size(), 1u);
    Message m = answers_.at(0);
    answers_.clear();
    return m;
  }
  std::size_t stored() { return directory_.stored(kPublicationKind).size(); }

  test::MemoryDirectory directory_;
  Publications publications_{PublicationConfig{}, directory_};
  core::UserIndex alice_ = 0;
  core::UserIndex bob_ = 0;
  std::vector<Message> answers_;
};

TEST_F(PublicationsTest, InitialPublishIsAnswered200OnlyOnceStored) {
  // RFC 3903 §4.1, §6 step 8: 200 with a new SIP-ETag and the Expires granted
  ASSERT_FALSE(send(Publish(), kT0));
  EXPECT_EQ(alice().availability, core::Availability::Offline);  // nothing before it is durable
  EXPECT_EQ(stored(), 1u);
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 1u);
  const Message& ok = answers_[0];
  EXPECT_EQ(ok.status, 200);
  ASSERT_TRUE(ok.sip_etag);
  EXPECT_EQ(ok.sip_etag->size(), 32u);
  EXPECT_EQ(ok.expires, 3600u);
  EXPECT_EQ(alice().availability, core::Availability::Away);
  EXPECT_EQ(alice().note, "back at 3");
  EXPECT_EQ(alice().explanation.rule, "sip_publication");
  EXPECT_EQ(publications_.size(kT0), 1u);
}

TEST_F(PublicationsTest, AFailedStoreIs500AndChangesNothing) {
  ASSERT_FALSE(send(Publish(), kT0));
  directory_.complete(false);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 500);
  EXPECT_EQ(alice().availability, core::Availability::Offline);
  EXPECT_EQ(publications_.size(kT0), 0u);
  EXPECT_TRUE(engine().layers(alice_).published.publications.empty());
}

TEST_F(PublicationsTest, AFailedRefreshKeepsTheOldTag) {
  const std::string etag = *durable(Publish(), kT0).sip_etag;
  const Publish refresh = Publish().match(etag).carrying("");
  ASSERT_FALSE(send(refresh, kT0 + seconds(10), kRandom2));
  directory_.complete(false);
  ASSERT_EQ(answers_.at(0).status, 500);
  answers_.clear();
  EXPECT_EQ(durable(refresh, kT0 + seconds(20), kRandom3).status, 200);
}

TEST_F(PublicationsTest, RefreshGivesANewTagAndExpiryAndKeepsWhatWasSaid) {
  // RFC 3903 §4.3: SIP-If-Match, no body
  const std::string first = *durable(Publish(), kT0).sip_etag;
  const Message ok =
      durable(Publish().match(first).lasting("600").carrying(""), kT0 + seconds(100), kRandom2);
  ASSERT_EQ(ok.status, 200);
  ASSERT_TRUE(ok.sip_etag);
  EXPECT_NE(*ok.sip_etag, first);
  EXPECT_EQ(ok.expires, 600u);
  const auto& layer = engine().layers(alice_).published.publications;
  ASSERT_EQ(layer.size(), 1u);
  EXPECT_EQ(layer[0].etag, *ok.sip_etag);
  EXPECT_EQ(layer[0].set_at, kT0);  // a refresh says nothing new: it does not win again
  EXPECT_EQ(layer[0].expires_at, kT0 + seconds(700));
  EXPECT_EQ(alice().availability, core::Availability::Away);
  EXPECT_EQ(stored(), 1u);
  // §4.3: the old tag is no longer valid
  auto stale = send(Publish().match(first).carrying(""), kT0 + seconds(101), kRandom3);
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 412);
}

TEST_F(PublicationsTest, ModifyReplacesWhatWasSaid) {
  // RFC 3903 §4.4: SIP-If-Match with a body
  const std::string first = *durable(Publish(), kT0).sip_etag;
  const Message ok = durable(
      Publish().match(first).carrying(pidf("sip:alice@example.com", "open", "on-the-phone", "")),
      kT0 + seconds(5), kRandom2);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(alice().availability, core::Availability::Busy);
  EXPECT_EQ(alice().activity, core::Activity::InACall);
  EXPECT_EQ(alice().note, "");
  EXPECT_EQ(engine().layers(alice_).published.publications.at(0).set_at, kT0 + seconds(5));
}

TEST_F(PublicationsTest, ExpiresZeroRemoves) {
  // RFC 3903 §4.5
  const std::string etag = *durable(Publish(), kT0).sip_etag;
  const Message ok = durable(Publish().match(etag).lasting("0").carrying(""), kT0 + seconds(5));
  ASSERT_EQ(ok.status, 200);
  EXPECT_FALSE(ok.sip_etag);
  EXPECT_EQ(ok.expires, 0u);
  EXPECT_EQ(alice().availability, core::Availability::Offline);
  EXPECT_EQ(stored(), 0u);
  EXPECT_EQ(publications_.size(kT0 + seconds(5)), 0u);
}

TEST_F(PublicationsTest, UnknownLapsedOrForeignTagsAre412) {
  // RFC 3903 §6 step 4
  auto unknown = send(Publish().match("nosuchtag").carrying(""), kT0);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 412);

  const std::string etag = *durable(Publish().lasting("60"), kT0).sip_etag;
  auto lapsed = send(Publish().match(etag).carrying(""), kT0 + seconds(60), kRandom2);
  ASSERT_TRUE(lapsed);
  EXPECT_EQ(lapsed->status, 412);
  EXPECT_EQ(stored(), 0u);  // the lapsed record left the store

  const std::string alices = *durable(Publish(), kT0, kRandom3).sip_etag;
  answers_.clear();
  publications_.publish(make(Publish().from("bob").match(alices).carrying("")), "bob", kT0,
                        kRandom1, [this](Message m) { answers_.push_back(std::move(m)); });
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 412);
}

TEST_F(PublicationsTest, AnExpiredPublicationLeavesPresenceOnAdvance) {
  durable(Publish().lasting("60"), kT0);
  EXPECT_EQ(alice().availability, core::Availability::Away);
  engine().advance(kT0 + seconds(60));
  EXPECT_EQ(alice().availability, core::Availability::Offline);
}

TEST_F(PublicationsTest, InitialWithoutBodyIs400) {
  // RFC 3903 §6 step 6: an initial publication must carry state
  auto answer = send(Publish().carrying(""), kT0);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 400);
  auto zero = send(Publish().lasting("0"), kT0);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->status, 400);
}

TEST_F(PublicationsTest, OtherContentTypeIs415WithAccept) {
  auto answer = send(Publish().typed("text/plain"), kT0);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 415);
  ASSERT_TRUE(answer->accept);
  ASSERT_EQ(answer->accept->size(), 1u);
  EXPECT_EQ(answer->accept->at(0).subtype, "pidf+xml");
}

TEST_F(PublicationsTest, BelowMinimumExpiresIs423WithMinExpires) {
  // RFC 3903 §6 step 5
  auto answer = send(Publish().lasting("59"), kT0);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 423);
  EXPECT_EQ(answer->min_expires, 60u);
  // Above the maximum is cut down; without Expires the default applies.
  EXPECT_EQ(durable(Publish().lasting("86400"), kT0).expires, 3600u);
  EXPECT_EQ(durable(Publish().lasting(""), kT0, kRandom2).expires, 3600u);
}

TEST_F(PublicationsTest, PublishingAnotherUsersPresenceIs403) {
  // The Request-URI and To name bob, the authenticated user is alice.
  answers_.clear();
  publications_.publish(make(Publish().from("bob")), "alice", kT0, kRandom1,
                        [this](Message m) { answers_.push_back(std::move(m)); });
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 403);
  // The PIDF entity names bob.
  auto entity = send(Publish().carrying(pidf("pres:bob@example.com", "open", "away", "")), kT0);
  ASSERT_TRUE(entity);
  EXPECT_EQ(entity->status, 403);
  EXPECT_EQ(engine().presence(bob_).availability, core::Availability::Offline);
}

TEST_F(PublicationsTest, BadDocumentsAre400) {
  auto broken = send(Publish().carrying("<presence"), kT0);
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 400);
  auto doctype = send(Publish().carrying("<!DOCTYPE x [<!ENTITY a 'b'>]><presence/>"), kT0);
  ASSERT_TRUE(doctype);
  EXPECT_EQ(doctype->status, 400);
}

TEST_F(PublicationsTest, AUserHasAtMostMaxPerUser) {
  PublicationConfig config;
  config.max_per_user = 2;
  Publications limited(config, directory_);
  std::vector<int> statuses;
  for (std::uint8_t i = 0; i < 3; ++i) {
    NonceRandom random = kRandom1;
    random[0] = i;
    limited.publish(make(Publish()), "alice", kT0, random,
                    [&](Message m) { statuses.push_back(m.status); });
    directory_.complete(true);
  }
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 403}));
  EXPECT_EQ(PublicationConfig{}.max_per_user, 16u);
}

TEST_F(PublicationsTest, TheTotalIsBounded) {
  PublicationConfig config;
  config.max_total = 1;
  Publications limited(config, directory_);
  std::vector<int> statuses;
  limited.publish(make(Publish()), "alice", kT0, kRandom1,
                  [&](Message m) { statuses.push_back(m.status); });
  directory_.complete(true);
  limited.publish(make(Publish()), "alice", kT0, kRandom2,
                  [&](Message m) { statuses.push_back(m.status); });
  EXPECT_EQ(statuses, (std::vector<int>{200, 503}));
}

TEST_F(PublicationsTest, ClosedWithoutActivityIsOnlyAnOfflineDevice) {
  const Message ok =
      durable(Publish().carrying(pidf("pres:alice@example.com", "closed", "", "")), kT0);
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(alice().availability, core::Availability::Offline);
  EXPECT_EQ(alice().explanation.rule, "no_session");
}

TEST_F(PublicationsTest, RestoreAfterARestartPutsLivePublicationsBack) {
  const std::string etag = *durable(Publish(), kT0).sip_etag;
  durable(Publish().lasting("60").carrying(pidf("pres:alice@example.com", "open", "meeting", "")),
          kT0, kRandom2);
  // A new server: a fresh engine and publications over the same stored records.
  test::MemoryDirectory restarted;
  restarted.records = directory_.records;
  const core::UserIndex alice = restarted.engine().add_user(core::UserId{"alice"}, {}, kT0).value();
  Publications publications(PublicationConfig{}, restarted);
  publications.restore(kT0 + seconds(120));  // the meeting one has lapsed
  EXPECT_EQ(restarted.engine().presence(alice).availability, core::Availability::Away);
  EXPECT_EQ(restarted.engine().presence(alice).note, "back at 3");
  EXPECT_EQ(restarted.stored(kPublicationKind).size(), 1u);
  // The restored tag still refreshes.
  std::vector<int> statuses;
  publications.publish(make(Publish().match(etag).carrying("")), "alice", kT0 + seconds(130),
                       kRandom3, [&](Message m) { statuses.push_back(m.status); });
  restarted.complete(true);
  EXPECT_EQ(statuses, std::vector<int>{200});
}

TEST(PublicationRecordTest, EncodeDecodeRoundTripsAndRefusesGarbage) {
  core::Publication p;
  p.etag = "e1";
  p.open = true;
  p.has_activity = true;
  p.availability = core::Availability::Busy;
  p.activity = core::Activity::InAMeeting;
  p.note = "two\nlines";
  p.set_at = kT0;
  p.expires_at = kT0 + seconds(60);
  EXPECT_EQ(decode_publication("e1", encode_publication(p)), p);
  EXPECT_EQ(decode_publication("e1", "v2\n1\n2\n1\n1\nBusy\nBusy\n"), std::nullopt);
  EXPECT_EQ(decode_publication("e1", "v1\nx\n2\n1\n1\nBusy\nBusy\n"), std::nullopt);
  EXPECT_EQ(decode_publication("e1", "v1\n1\n2"), std::nullopt);
}

// ---- Through the service: digest first, 489 for another event, the deferred answer. ----

class PublishServiceTest : public PublicationsTest {
 protected:
  PublishServiceTest()
      : service_("example.com", directory_,
                 DigestAuthenticator(DigestConfig{"example.com", std::chrono::seconds(300), 64},
                                     DigestSecret{})) {
    service_.set_publications(&publications_);
  }

  // Answers the 401's SHA-256 challenge as a client would (RFC 7616 §3.4).
  Message with_credentials(Message message, const Message& challenge) {
    const Auth& offer = challenge.www_authenticate.at(0);
    const std::string nonce(*offer.param("nonce"));
    const std::string uri = serialize(message.request_uri);
    const auto response =
        digest_response(DigestAlgorithm::Sha256, "alice", "example.com", "s3cret",
                        message.method_name(), uri, nonce, "00000001", "c0ffee", "auth");
    Auth auth;
    auth.scheme = "Digest";
    auth.params = {
        {"username", "alice", true},   {"realm", "example.com", true},
        {"nonce", nonce, true},        {"uri", uri, true},
        {"response", *response, true}, {"algorithm", "SHA-256", false},
        {"qop", "auth", false},        {"nc", "00000001", false},
        {"cnonce", "c0ffee", true},    {"opaque", std::string(*offer.param("opaque")), true}};
    message.authorization = {auth};
    return message;
  }

  // The answer if it came at once; a later one lands in answers_.
  std::optional<Message> handle(const Message& request) {
    const std::size_t before = answers_.size();
    service_.handle(request, Peer{}, kNow, TimePoint{}, kRandom1,
                    [this](Message m) { answers_.push_back(std::move(m)); });
    if (answers_.size() == before) {
      return std::nullopt;
    }
    Message answer = std::move(answers_.back());
    answers_.pop_back();
    return answer;
  }

  const std::chrono::system_clock::time_point kNow =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'000));
  Service service_;
};

TEST_F(PublishServiceTest, UnauthenticatedIs401ThenTheAnswerWaitsForTheStore) {
  const auto challenge = handle(make(Publish()));
  ASSERT_TRUE(challenge);
  ASSERT_EQ(challenge->status, 401);
  const auto early = handle(with_credentials(make(Publish()), *challenge));
  EXPECT_FALSE(early) << early->status << " " << early->reason;
  EXPECT_TRUE(answers_.empty());
  directory_.complete(true);
  ASSERT_EQ(answers_.size(), 1u);
  EXPECT_EQ(answers_[0].status, 200);
  EXPECT_EQ(alice().availability, core::Availability::Away);
}

TEST_F(PublishServiceTest, AnotherEventIs489WithAllowEventsPresence) {
  // RFC 3903 §6 step 2
  const auto challenge = handle(make(Publish()));
  const auto answer = handle(with_credentials(make(Publish().about("dialog")), *challenge));
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 489);
  EXPECT_EQ(answer->allow_events, std::vector<std::string>{"presence"});
}

TEST_F(PublishServiceTest, ACallerThatCannotWaitIsNotGivenPublications) {
  const Message challenge = service_.handle(make(Publish()), kNow, kRandom1);
  const Message answer = service_.handle(with_credentials(make(Publish()), challenge), kNow,
                                         kRandom1);
  EXPECT_EQ(answer.status, 501);
  EXPECT_TRUE(directory_.waiting.empty());  // nothing was written
}

}  // namespace
}  // namespace presenced::sip
