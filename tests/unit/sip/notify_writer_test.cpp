// A subscription dialog kept as header text: what the store and refreshes need reads back as it
// was given, and the NOTIFY written from it is the one serialize() writes for the same fields.

#include "sip/internal/notify_writer.h"

#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::sip {
namespace {

NameAddr name_addr(std::string_view text) {
  auto parsed = parse_name_addr(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : NameAddr{};
}

Uri uri(std::string_view text) {
  auto parsed = parse_uri(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : Uri{};
}

struct Dialog {
  Uri target = uri("sip:bob@192.0.2.20:5080;transport=udp");
  std::vector<NameAddr> routes = {name_addr("<sip:p1.example.com;lr>"),
                                  name_addr("<sip:[2001:db8::1]:5062;lr>;x=y")};
  NameAddr local = name_addr("<sip:alice@example.com>;foo=bar");
  NameAddr remote = name_addr("\"Bob \\\"B\\\"\" <sip:bob@example.com>;x=1;TAG=w1;tag=w2");
  DialogText text{target, routes, local, "l1", remote, "c1@h", "dialog", std::string("7")};
};

TEST(DialogText, ReadsBackWhatItWasGiven) {
  const Dialog d;
  EXPECT_EQ(d.text.remote_target(), d.target);
  EXPECT_EQ(d.text.route_set(), d.routes);
  NameAddr local = d.local;
  local.params.push_back(Param{"tag", "l1"});
  EXPECT_EQ(d.text.local(), local);
  EXPECT_EQ(d.text.remote(), d.remote);
  EXPECT_EQ(d.text.call_id(), "c1@h");
  EXPECT_EQ(d.text.local_tag(), "l1");
  EXPECT_EQ(d.text.remote_tag(), "w1");  // the first tag, its name in any case, as tag() reads
  EXPECT_EQ(d.text.remote_tag(), d.remote.tag());
  EXPECT_EQ(d.text.event_id(), std::optional<std::string_view>("7"));
  EXPECT_EQ(d.text.next_hop(), d.routes.front().uri);
  EXPECT_TRUE(d.text.same_dialog("c1@h", "w1", "l1", std::string("7")));
  EXPECT_FALSE(d.text.same_dialog("c1@h", "w1", "l1", std::nullopt));
  EXPECT_FALSE(d.text.same_dialog("c1@h", "w2", "l1", std::string("7")));
}

TEST(DialogText, ATargetRefreshKeepsTheOtherParts) {
  for (const std::string_view target :
       {"sip:b@h", "sip:bob-with-a-longer-name@[2001:db8::99]:5099"}) {
    Dialog d;
    d.text.set_remote_target(uri(target));
    EXPECT_EQ(d.text.remote_target_text(), target);
    EXPECT_EQ(d.text.route_set(), d.routes);
    EXPECT_EQ(d.text.remote(), d.remote);
    EXPECT_EQ(d.text.call_id(), "c1@h");
    EXPECT_EQ(d.text.local_tag(), "l1");
    EXPECT_EQ(d.text.remote_tag(), "w1");
    EXPECT_EQ(d.text.event_id(), std::optional<std::string_view>("7"));
  }
}

TEST(DialogText, NoRouteNoEventIdNoRemoteTag) {
  const Uri target = uri("sip:bob@192.0.2.20");
  const DialogText text(target, {}, name_addr("<sip:alice@example.com>"), "l1",
                        name_addr("<sip:bob@example.com>"), "c2", "presence", std::nullopt);
  EXPECT_EQ(text.next_hop(), target);
  EXPECT_TRUE(text.route_set().empty());
  EXPECT_EQ(text.remote_tag(), "");
  EXPECT_FALSE(text.event_id());
  EXPECT_EQ(text.event_line(), "Event: presence\r\n");
  EXPECT_EQ(dialog_hash("c2", "", "l1", std::nullopt),
            dialog_hash(text.call_id(), text.remote_tag(), text.local_tag(), text.event_id()));
  EXPECT_NE(dialog_hash("c2", "", "l1", std::nullopt), dialog_hash("c2", "l1", "", std::nullopt));
}

// The NOTIFY the old path built as a Message, serialized, against the one written from the text.
TEST(WriteNotify, IsWhatSerializeWritesForTheSameMessage) {
  const Dialog d;
  for (const bool active : {true, false}) {
    Message m;
    m.method = Method::Notify;
    m.request_uri = d.target;
    Via via;
    via.transport = "TCP";
    via.host = "[2001:db8::2]";
    via.port = 5060;
    via.params.push_back(Param{"branch", "z9hG4bK-b1"});
    m.vias.push_back(via);
    m.routes = d.routes;
    m.from = d.local;
    m.from.params.push_back(Param{"tag", "l1"});
    m.to = d.remote;
    m.call_id = "c1@h";
    m.cseq = CSeq{42, Method::Notify, {}};
    m.max_forwards = 70;
    m.contacts.addresses.push_back(name_addr("<sip:[2001:db8::2]:5060>"));
    m.event = Event{"dialog", std::string("7"), {}};
    SubscriptionState state;
    state.state = active ? "active" : "terminated";
    if (active) {
      state.expires = 300;
    } else {
      state.reason = "timeout";
    }
    m.subscription_state = state;
    m.content_type = MediaType{"application", "dialog-info+xml", {}};
    m.body = "<dialog-info/>\n";

    NotifyLine line;
    line.via = "Via: SIP/2.0/TCP [2001:db8::2]:5060;branch=";
    line.branch = "z9hG4bK-b1";
    line.cseq = 42;
    line.contact = "Contact: <sip:[2001:db8::2]:5060>\r\n";
    line.state = state.state;
    line.reason = state.reason;
    line.expires = state.expires;
    line.content_subtype = "dialog-info+xml";
    const std::string written = write_notify(d.text, line, m.body);
    EXPECT_EQ(written, serialize(m));
    EXPECT_EQ(test::read_back(written), m);
  }
}

}  // namespace
}  // namespace presenced::sip
