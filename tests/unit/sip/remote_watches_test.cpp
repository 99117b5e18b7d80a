// The client half of SIP federation (docs/sip.md, "Federation"), without sockets: the SUBSCRIBEs
// it writes, how it reads the peer's answers and NOTIFYs, refreshes, retries and unwatching.

#include "sip/internal/remote_watches.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

namespace presenced::sip {
namespace {

using std::chrono::seconds;

const TimePoint kStart{std::chrono::hours(1)};
const Peer kPeerAddress{Transport::Udp, "127.0.0.1", 5070, 0};

constexpr std::string_view kAwayPidf =
    "<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"sip:bob@remote.example\">"
    "<tuple id=\"a\"><status><basic>open</basic></status><note>lunch</note></tuple>"
    "<dm:person id=\"p\"><rpid:activities><rpid:away/></rpid:activities></dm:person></presence>";

class RemoteWatchesTest : public testing::Test {
 protected:
  RemoteWatchesTest() : watches_(config(), {{"remote.example", kPeerAddress}}) {
    watches_.set_local("127.0.0.1", 5060);
  }

  static RemoteWatchConfig config() {
    RemoteWatchConfig c;
    c.local_domain = "example.com";
    c.expires = seconds(600);
    return c;
  }

  OutgoingSubscribe only_request() {
    auto out = watches_.take_outbox();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? OutgoingSubscribe{} : std::move(out.front());
  }

  // The peer's answer to `request`, with its To tag and Contact.
  static Message answer(const Message& request, int status, std::string_view reason,
                        std::optional<std::uint32_t> expires = 600) {
    Message response = make_response(request, status, std::string(reason), "peer-tag");
    response.expires = expires;
    NameAddr contact;
    contact.uri.scheme = "sip";
    contact.uri.user = "bob";
    contact.uri.host = "127.0.0.1";
    contact.uri.port = 5070;
    response.contacts.addresses.push_back(contact);
    return response;
  }

  // A NOTIFY from the peer in the dialog `subscribe` opened.
  static Message notify(const Message& subscribe, std::uint32_t cseq, std::string state,
                        std::string_view body, std::string reason = {}) {
    Message m;
    m.method = Method::Notify;
    m.request_uri = subscribe.contacts.addresses.front().uri;
    Via via;
    via.transport = "UDP";
    via.host = "127.0.0.1";
    via.port = 5070;
    via.params.push_back(Param{"branch", "z9hG4bK-n" + std::to_string(cseq)});
    m.vias.push_back(via);
    m.from = subscribe.to;
    m.from.params = {Param{"tag", "peer-tag"}};
    m.to = subscribe.from;
    m.call_id = subscribe.call_id;
    m.cseq = CSeq{cseq, Method::Notify, {}};
    m.event = Event{"presence", std::nullopt, {}};
    m.subscription_state = SubscriptionState{std::move(state), std::move(reason), 600, {}, {}};
    if (!body.empty()) {
      m.content_type = MediaType{"application", "pidf+xml", {}};
      m.body = std::string(body);
    }
    return m;
  }

  // Watches bob and completes the SUBSCRIBE with a 200; returns that SUBSCRIBE.
  Message subscribed() {
    EXPECT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
    OutgoingSubscribe sent = only_request();
    watches_.on_response(sent.watch, answer(sent.request, 200, "OK"), kStart);
    return sent.request;
  }

  RemoteWatches watches_;
};

TEST_F(RemoteWatchesTest, TheFirstSubscribeGoesToThePeerAsOurServer) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  const OutgoingSubscribe sent = only_request();
  EXPECT_EQ(sent.destination, kPeerAddress);
  const Message& m = sent.request;
  EXPECT_EQ(m.method, Method::Subscribe);
  EXPECT_EQ(serialize(m.request_uri), "sip:bob@remote.example");
  EXPECT_EQ(serialize(m.from.uri), "sip:presenced@example.com");
  EXPECT_TRUE(m.from.tag().has_value());
  EXPECT_FALSE(m.to.tag().has_value());
  ASSERT_TRUE(m.event.has_value());
  EXPECT_EQ(m.event->package, "presence");
  EXPECT_EQ(m.expires, 600u);
  ASSERT_TRUE(m.accept.has_value());
  EXPECT_EQ(m.accept->front().subtype, "pidf+xml");
  EXPECT_EQ(m.cseq.number, 1u);
  // What we send parses back as what we built.
  auto parsed = test::parse_datagram(serialize(m));
  ASSERT_TRUE(parsed) << parsed.error().detail;
  EXPECT_EQ(*parsed, m);
}

TEST_F(RemoteWatchesTest, AUriOutsideThePeersDomainsIsRefused) {
  EXPECT_FALSE(watches_.watch("sip:bob@elsewhere.example", kStart));
  EXPECT_FALSE(watches_.watch("tel:+4989123", kStart));
  EXPECT_FALSE(watches_.watch("sip:remote.example", kStart));
  EXPECT_FALSE(watches_.watch("not a uri", kStart));
  EXPECT_TRUE(watches_.take_outbox().empty());
}

TEST_F(RemoteWatchesTest, TwoWatchesOfOnePresentityShareOneDialog) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  ASSERT_TRUE(watches_.watch("sip:bob@REMOTE.example", kStart));
  EXPECT_EQ(watches_.take_outbox().size(), 1u);
  EXPECT_EQ(watches_.size(), 1u);
}

TEST_F(RemoteWatchesTest, ANotifyWithPidfBecomesAnUpdate) {
  const Message subscribe = subscribed();
  const Message answer = watches_.on_notify(notify(subscribe, 1, "active", kAwayPidf), kStart);
  EXPECT_EQ(answer.status, 200);
  const auto updates = watches_.take_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].uri, "sip:bob@remote.example");
  EXPECT_TRUE(updates[0].reachable);
  ASSERT_TRUE(updates[0].document.has_value());
  EXPECT_EQ(updates[0].document->activities, std::vector<std::string>{"away"});
  EXPECT_EQ(updates[0].document->notes, std::vector<std::string>{"lunch"});
  // The same document again changes nothing that is shown.
  EXPECT_EQ(watches_.on_notify(notify(subscribe, 2, "active", kAwayPidf), kStart).status, 200);
  EXPECT_TRUE(watches_.take_updates().empty());
}

TEST_F(RemoteWatchesTest, ANotifyBeforeThe2xxSetsUpTheDialog) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  const OutgoingSubscribe sent = only_request();
  EXPECT_TRUE(watches_.owns(notify(sent.request, 1, "active", kAwayPidf)));
  EXPECT_EQ(watches_.on_notify(notify(sent.request, 1, "active", kAwayPidf), kStart).status, 200);
  EXPECT_EQ(watches_.take_updates().size(), 1u);
  watches_.on_response(sent.watch, answer(sent.request, 200, "OK"), kStart);
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(540));
}

TEST_F(RemoteWatchesTest, NotifiesOutsideOurDialogsOrOutOfOrderAreRefused) {
  const Message subscribe = subscribed();
  Message stranger = notify(subscribe, 1, "active", kAwayPidf);
  stranger.call_id = "someone-else";
  EXPECT_FALSE(watches_.owns(stranger));
  EXPECT_EQ(watches_.on_notify(stranger, kStart).status, 481);

  Message fork = notify(subscribe, 1, "active", kAwayPidf);
  fork.from.params = {Param{"tag", "another-fork"}};
  EXPECT_EQ(watches_.on_notify(fork, kStart).status, 481);

  EXPECT_EQ(watches_.on_notify(notify(subscribe, 5, "active", ""), kStart).status, 200);
  EXPECT_EQ(watches_.on_notify(notify(subscribe, 4, "active", kAwayPidf), kStart).status, 500);
  EXPECT_TRUE(watches_.take_updates().empty());
}

TEST_F(RemoteWatchesTest, BadNotifyBodiesGetTheirAnswerAndChangeNothing) {
  const Message subscribe = subscribed();
  Message xml = notify(subscribe, 1, "active", "<presence");
  EXPECT_EQ(watches_.on_notify(xml, kStart).status, 400);
  Message doctype = notify(subscribe, 2, "active", "<!DOCTYPE x []><presence/>");
  EXPECT_EQ(watches_.on_notify(doctype, kStart).status, 400);
  Message text = notify(subscribe, 3, "active", "hello");
  text.content_type = MediaType{"text", "plain", {}};
  const Message unsupported = watches_.on_notify(text, kStart);
  EXPECT_EQ(unsupported.status, 415);
  ASSERT_TRUE(unsupported.accept.has_value());
  Message no_state = notify(subscribe, 4, "active", kAwayPidf);
  no_state.subscription_state.reset();
  EXPECT_EQ(watches_.on_notify(no_state, kStart).status, 400);
  Message dialog = notify(subscribe, 5, "active", kAwayPidf);
  dialog.event->package = "dialog";
  EXPECT_EQ(watches_.on_notify(dialog, kStart).status, 489);
  EXPECT_TRUE(watches_.take_updates().empty());
}

TEST_F(RemoteWatchesTest, TheDialogIsRefreshedBeforeItEnds) {
  const Message first = subscribed();
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(540));
  watches_.advance(kStart + seconds(539));
  EXPECT_TRUE(watches_.take_outbox().empty());
  watches_.advance(kStart + seconds(540));
  const OutgoingSubscribe refresh = only_request();
  // In the dialog: the remote target, both tags, the next CSeq.
  EXPECT_EQ(serialize(refresh.request.request_uri), "sip:bob@127.0.0.1:5070");
  EXPECT_EQ(refresh.request.call_id, first.call_id);
  EXPECT_EQ(refresh.request.to.tag(), std::optional<std::string_view>("peer-tag"));
  EXPECT_EQ(refresh.request.cseq.number, 2u);
  EXPECT_EQ(watches_.next_deadline(), std::nullopt);  // nothing until its answer
}

TEST_F(RemoteWatchesTest, AFailureShowsUnreachableAndRetriesWithBackoff) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  OutgoingSubscribe sent = only_request();
  Message refused = make_response(sent.request, 403, "Forbidden", "peer-tag");
  watches_.on_response(sent.watch, refused, kStart);
  // Nothing was shown before, so "unreachable" is no change yet.
  EXPECT_TRUE(watches_.take_updates().empty());
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(5));
  watches_.advance(kStart + seconds(5));
  sent = only_request();
  EXPECT_NE(sent.request.call_id, "");
  EXPECT_FALSE(sent.request.to.tag().has_value());  // a new dialog
  watches_.on_response(sent.watch, make_response(sent.request, 408, "Timeout"), kStart + seconds(5));
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(15));  // doubled
}

TEST_F(RemoteWatchesTest, RetryAfterIsHonoured) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  const OutgoingSubscribe sent = only_request();
  Message busy = make_response(sent.request, 503, "Service Unavailable");
  busy.other_headers.push_back(Header{"Retry-After", "120"});
  watches_.on_response(sent.watch, busy, kStart);
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(120));
}

TEST_F(RemoteWatchesTest, TooBriefIsAskedAgainWithThePeersMinimum) {
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));
  const OutgoingSubscribe sent = only_request();
  Message brief = make_response(sent.request, 423, "Interval Too Brief");
  brief.min_expires = 1800;
  watches_.on_response(sent.watch, brief, kStart);
  const OutgoingSubscribe again = only_request();
  EXPECT_EQ(again.request.expires, 1800u);
}

TEST_F(RemoteWatchesTest, TerminatedNotifiesEndOrRenewTheSubscription) {
  Message subscribe = subscribed();
  ASSERT_EQ(watches_.on_notify(notify(subscribe, 1, "active", kAwayPidf), kStart).status, 200);
  ASSERT_EQ(watches_.take_updates().size(), 1u);

  // deactivated: subscribe again at once, in a new dialog; what is shown stays.
  EXPECT_EQ(
      watches_.on_notify(notify(subscribe, 2, "terminated", "", "deactivated"), kStart).status,
      200);
  const OutgoingSubscribe again = only_request();
  EXPECT_NE(again.request.call_id, subscribe.call_id);
  EXPECT_TRUE(watches_.take_updates().empty());
  watches_.on_response(again.watch, answer(again.request, 200, "OK"), kStart);

  // rejected: unreachable, and tried again only after the longest pause.
  EXPECT_EQ(
      watches_.on_notify(notify(again.request, 1, "terminated", "", "rejected"), kStart).status,
      200);
  const auto updates = watches_.take_updates();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_FALSE(updates[0].reachable);
  EXPECT_FALSE(updates[0].document.has_value());
  EXPECT_EQ(watches_.next_deadline(), kStart + seconds(300));
}

TEST_F(RemoteWatchesTest, ThePeerForgettingTheDialogStartsANewOne) {
  const Message first = subscribed();
  watches_.advance(kStart + seconds(540));
  const OutgoingSubscribe refresh = only_request();
  watches_.on_response(refresh.watch,
                       make_response(refresh.request, 481, "Subscription Does Not Exist"),
                       kStart + seconds(540));
  const OutgoingSubscribe fresh = only_request();
  EXPECT_NE(fresh.request.call_id, first.call_id);
  EXPECT_FALSE(fresh.request.to.tag().has_value());
}

TEST_F(RemoteWatchesTest, TheLastUnwatchEndsTheDialog) {
  const Message subscribe = subscribed();
  ASSERT_TRUE(watches_.watch("sip:bob@remote.example", kStart));  // a second watcher
  watches_.unwatch("sip:bob@remote.example", kStart);
  EXPECT_TRUE(watches_.take_outbox().empty());
  watches_.unwatch("sip:bob@remote.example", kStart);
  const OutgoingSubscribe end = only_request();
  EXPECT_EQ(end.request.expires, 0u);
  EXPECT_EQ(end.request.call_id, subscribe.call_id);
  EXPECT_EQ(watches_.size(), 0u);
  EXPECT_EQ(watches_.next_deadline(), std::nullopt);
  // The peer's final NOTIFY finds no dialog any more.
  EXPECT_EQ(watches_.on_notify(notify(subscribe, 9, "terminated", "", "timeout"), kStart).status,
            481);
}

TEST_F(RemoteWatchesTest, TheNumberOfPresentitiesIsBounded) {
  RemoteWatchConfig small = config();
  small.max_watches = 2;
  RemoteWatches watches(small, {{"remote.example", kPeerAddress}});
  EXPECT_TRUE(watches.watch("sip:a@remote.example", kStart));
  EXPECT_TRUE(watches.watch("sip:b@remote.example", kStart));
  const auto third = watches.watch("sip:c@remote.example", kStart);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, core::ErrorCode::ResourceExhausted);
  EXPECT_TRUE(watches.watch("sip:a@remote.example", kStart));  // known ones still count up
}

}  // namespace
}  // namespace presenced::sip
