#include "cluster/layer_codec.h"
#include "cluster/node.h"

#include <gtest/gtest.h>

#include <string>

namespace presenced::cluster {
namespace {

core::TimePoint at(std::int64_t ms) { return core::TimePoint(core::Duration(ms)); }

core::Layers sample() {
  core::Layers layers;
  layers.manual = core::ManualLayer{"lunch",        "back at 2",  at(1000), at(5000),
                                    core::Reachability::HomeOffice, at(900)};
  layers.telephony.calls = {
      {"desk", "c1", core::CallState::Connected, core::CallDirection::Outbound, at(10), at(20)},
      {"mobile", "c2", core::CallState::Ringing, core::CallDirection::Inbound, at(30), at(30)}};
  layers.calendar.appointments = {
      {"a1", "Review", "Room 4", at(100), at(200), core::CalendarKind::Tentative, true},
      {"a2", "", "", at(300), at(400), core::CalendarKind::OutOfOffice, false}};
  return layers;
}

TEST(LayerCodecTest, EachSharedLayerReadsBackAsWritten) {
  const core::Layers layers = sample();
  core::Layers read;
  for (const core::Layer layer :
       {core::Layer::Manual, core::Layer::Telephony, core::Layer::Calendar}) {
    ASSERT_TRUE(decode_layer(layer, "carol@x.org", encode_layer(layer, "carol@x.org", layers),
                             read));
  }
  ASSERT_TRUE(read.manual);
  EXPECT_EQ(read.manual->state_id, "lunch");
  EXPECT_EQ(read.manual->note, "back at 2");
  EXPECT_EQ(read.manual->from, at(1000));
  EXPECT_EQ(read.manual->until, at(5000));
  EXPECT_EQ(read.manual->reachability, core::Reachability::HomeOffice);
  EXPECT_EQ(read.manual->set_at, at(900));
  ASSERT_EQ(read.telephony.calls.size(), 2u);
  EXPECT_EQ(read.telephony.calls[0].device, "desk");
  EXPECT_EQ(read.telephony.calls[0].call_id, "c1");
  EXPECT_EQ(read.telephony.calls[0].state, core::CallState::Connected);
  EXPECT_EQ(read.telephony.calls[0].direction, core::CallDirection::Outbound);
  EXPECT_EQ(read.telephony.calls[0].started_at, at(10));
  EXPECT_EQ(read.telephony.calls[0].updated_at, at(20));
  EXPECT_EQ(read.telephony.calls[1].call_id, "c2");
  EXPECT_EQ(read.calendar.appointments, layers.calendar.appointments);
}

TEST(LayerCodecTest, EmptyLayersReplaceWhatWasThere) {
  core::Layers read = sample();
  const core::Layers empty;
  for (const core::Layer layer :
       {core::Layer::Manual, core::Layer::Telephony, core::Layer::Calendar}) {
    ASSERT_TRUE(decode_layer(layer, "u", encode_layer(layer, "u", empty), read));
  }
  EXPECT_FALSE(read.manual);
  EXPECT_TRUE(read.telephony.calls.empty());
  EXPECT_TRUE(read.calendar.appointments.empty());
}

TEST(LayerCodecTest, ANoteWithAnyBytesSurvives) {
  core::Layers layers = sample();
  layers.manual->note = std::string("a\0b\xff\n", 5);
  core::Layers read;
  ASSERT_TRUE(decode_layer(core::Layer::Manual, "u", encode_layer(core::Layer::Manual, "u", layers),
                           read));
  EXPECT_EQ(read.manual->note, layers.manual->note);
}

TEST(LayerCodecTest, MalformedValuesAreRefusedAndChangeNothing) {
  const core::Layers layers = sample();
  const std::string manual = encode_layer(core::Layer::Manual, "u", layers);
  const std::string calls = encode_layer(core::Layer::Telephony, "u", layers);
  std::vector<std::pair<core::Layer, std::string>> bad = {
      {core::Layer::Manual, ""},
      {core::Layer::Manual, manual + "x"},                                  // trailing bytes
      {core::Layer::Telephony, manual},                                     // another layer's
      {core::Layer::Manual, encode_layer(core::Layer::Manual, "v", layers)},  // another user's
      {core::Layer::Sessions, manual},                                      // not shared
  };
  for (std::size_t cut = 0; cut < calls.size(); ++cut) {
    bad.emplace_back(core::Layer::Telephony, calls.substr(0, cut));
  }
  std::string version = manual;
  version[0] = 2;
  bad.emplace_back(core::Layer::Manual, version);
  // A text column where the reachability integer belongs: the tag byte of column 6.
  std::string wrong_type = manual;
  const auto reach = wrong_type.size() - 9 - 9;
  ASSERT_EQ(wrong_type[reach], 'i');
  wrong_type[reach] = 's';
  bad.emplace_back(core::Layer::Manual, wrong_type);
  // An out-of-range reachability.
  std::string out_of_range = manual;
  out_of_range[reach + 1] = 42;
  bad.emplace_back(core::Layer::Manual, out_of_range);
  // Two manual rows.
  std::string twice = manual;
  twice[2] = 2;
  twice += manual.substr(6);
  bad.emplace_back(core::Layer::Manual, twice);

  for (const auto& [layer, value] : bad) {
    core::Layers read = layers;
    EXPECT_FALSE(decode_layer(layer, "u", value, read)) << value.size();
    EXPECT_EQ(read.manual->state_id, "lunch");
    EXPECT_EQ(read.telephony.calls.size(), 2u);
  }
}

TEST(LayerCodecTest, KeysNameLayerAndUser) {
  EXPECT_EQ(layer_key(core::Layer::Manual, "carol@x.org"), "manual.carol=40x=2Eorg");
  const auto key = parse_layer_key("telephony.carol=40x=2Eorg");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->layer, core::Layer::Telephony);
  EXPECT_EQ(key->user, "carol@x.org");
  const auto sessions = parse_layer_key(sessions_key("node-1", "a.b"));
  ASSERT_TRUE(sessions);
  EXPECT_EQ(sessions->layer, core::Layer::Sessions);
  EXPECT_EQ(sessions->node, "node-1");
  EXPECT_EQ(sessions->user, "a.b");
  const auto beat = parse_layer_key(heartbeat_key("n.2"));
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->layer, core::Layer::None);
  EXPECT_EQ(beat->node, "n.2");
  for (const char* other : {"job.x", "manual", "manual.a.b", "sessions.n", "sessions.n.u.v",
                            "node.a.b", "calendar.=4"}) {
    EXPECT_FALSE(parse_layer_key(other)) << other;
  }
}

TEST(LayerCodecTest, SessionsReadBackAndBadOnesAreRefused) {
  std::vector<core::Session> sessions(2);
  sessions[0] = {"ws-1", "websocket", at(100), std::nullopt, core::InputState::Idle, at(150)};
  sessions[1] = {"desk", "api", at(200), at(9000), core::InputState::Active, at(200)};
  const std::string value = encode_sessions("u", sessions);
  auto read = decode_sessions("u", value);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].client_id, "ws-1");
  EXPECT_EQ((*read)[0].kind, "websocket");
  EXPECT_EQ((*read)[0].since, at(100));
  EXPECT_EQ((*read)[0].lease_until, std::nullopt);
  EXPECT_EQ((*read)[0].input, core::InputState::Idle);
  EXPECT_EQ((*read)[0].input_since, at(150));
  EXPECT_EQ((*read)[1].lease_until, at(9000));
  EXPECT_TRUE(decode_sessions("u", encode_sessions("u", {}))->empty());
  EXPECT_FALSE(decode_sessions("v", value));
  EXPECT_FALSE(decode_sessions("u", value + "x"));
  EXPECT_FALSE(decode_sessions("u", encode_layer(core::Layer::Manual, "u", sample())));
  for (std::size_t cut = 0; cut < value.size(); ++cut) {
    EXPECT_FALSE(decode_sessions("u", value.substr(0, cut))) << cut;
  }
}

TEST(ClusterAddressTest, NatsServersAndOnePostgresUrl) {
  auto a = parse_cluster_address("nats://n1:4222,nats://n2:4222,postgresql://db1:5432,db2:5432/p");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->nats, "nats://n1:4222,nats://n2:4222");
  EXPECT_EQ(a->postgres, "postgresql://db1:5432,db2:5432/p");
  auto b = parse_cluster_address("postgres://u@h/db,nats://n:4222");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->nats, "nats://n:4222");
  EXPECT_EQ(b->postgres, "postgres://u@h/db");
  for (const char* bad : {"", "nats://n:4222", "postgres://h/db", "http://x,postgres://h/db",
                          "n:4222,postgres://h/db", "nats://n,postgres://a,postgres://b"}) {
    EXPECT_FALSE(parse_cluster_address(bad)) << bad;
  }
}

}  // namespace
}  // namespace presenced::cluster
