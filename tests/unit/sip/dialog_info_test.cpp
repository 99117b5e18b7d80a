// dialog-info (RFC 4235) for BLF lamps and watcherinfo (RFC 3858), as a phone receives them.

#include "sip/internal/dialog_info.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace presenced::sip {
namespace {

constexpr Presentity kAlice{"alice", "example.com"};

core::Call call(std::string id, core::CallState state, core::CallDirection direction) {
  core::Call out;
  out.device = "desk";
  out.call_id = std::move(id);
  out.state = state;
  out.direction = direction;
  return out;
}

constexpr std::string_view kDialogInfoOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" ";

// RFC 4235 §4.1: no dialog is an idle lamp.
TEST(DialogInfo, NoCallIsAnIdleLamp) {
  EXPECT_EQ(write_dialog_info(kAlice, 0, {}),
            std::string(kDialogInfoOpen) +
                "version=\"0\" state=\"full\" entity=\"sip:alice@example.com\">\n"
                "</dialog-info>\n");
}

struct Row {
  const char* name;
  core::CallState state;
  core::CallDirection direction;
  std::string dialog;
};

// RFC 4235 §3.7.1 states; §4.1.6.1 direction: initiator for the caller, recipient for the callee.
TEST(DialogInfo, OneDialogPerCall) {
  const Row rows[] = {
      {"ringing_in", core::CallState::Ringing, core::CallDirection::Inbound,
       "<dialog id=\"c1\" direction=\"recipient\"><state>early</state></dialog>\n"},
      {"ringing_out", core::CallState::Ringing, core::CallDirection::Outbound,
       "<dialog id=\"c1\" direction=\"initiator\"><state>early</state></dialog>\n"},
      {"connected", core::CallState::Connected, core::CallDirection::Inbound,
       "<dialog id=\"c1\" direction=\"recipient\"><state>confirmed</state></dialog>\n"},
      {"held", core::CallState::Held, core::CallDirection::Outbound,
       "<dialog id=\"c1\" direction=\"initiator\"><state>confirmed</state><local><identity>"
       "sip:alice@example.com</identity><target uri=\"sip:alice@example.com\"><param "
       "pname=\"+sip.rendering\" pvalue=\"no\"/></target></local></dialog>\n"},
      {"ended", core::CallState::Ended, core::CallDirection::Inbound,
       "<dialog id=\"c1\" direction=\"recipient\"><state>terminated</state></dialog>\n"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    const std::vector<core::Call> calls{call("c1", row.state, row.direction)};
    EXPECT_EQ(write_dialog_info(kAlice, 7, calls),
              std::string(kDialogInfoOpen) +
                  "version=\"7\" state=\"full\" entity=\"sip:alice@example.com\">\n" + row.dialog +
                  "</dialog-info>\n");
  }
}

TEST(DialogInfo, SeveralCallsAndEscapedIds) {
  const std::vector<core::Call> calls{
      call("a\"<&>", core::CallState::Connected, core::CallDirection::Outbound),
      call("b", core::CallState::Ringing, core::CallDirection::Inbound)};
  const std::string body = write_dialog_info({"al&ce", "example.com"}, 4'294'967'295u, calls);
  EXPECT_NE(body.find("version=\"4294967295\""), std::string::npos);
  EXPECT_NE(body.find("entity=\"sip:al&amp;ce@example.com\""), std::string::npos) << body;
  EXPECT_NE(body.find("<dialog id=\"a&quot;&lt;&amp;&gt;\" direction=\"initiator\">"
                      "<state>confirmed</state></dialog>\n<dialog id=\"b\""),
            std::string::npos)
      << body;
}

// RFC 3858 §4: one watcher list for the package, one <watcher> per subscription.
TEST(WatcherInfo, ListsWatchersWithStatusAndEvent) {
  Watcher pending;
  pending.id = "w1";
  pending.uri = "sip:bob@example.com";
  Watcher active;
  active.id = "w2";
  active.uri = "sip:carol@example.com";
  active.display_name = "Carol \"C\" & co";
  active.status = WatcherStatus::Active;
  active.event = WatcherEvent::Approved;
  active.duration_subscribed = 509;
  Watcher gone;
  gone.id = "w3";
  gone.uri = "sip:dave@example.com";
  gone.status = WatcherStatus::Terminated;
  gone.event = WatcherEvent::Timeout;
  const std::vector<Watcher> watchers{pending, active, gone};
  EXPECT_EQ(write_watcherinfo(kAlice, "presence", 2, watchers),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"2\" "
            "state=\"full\">\n"
            "<watcher-list resource=\"sip:alice@example.com\" package=\"presence\">\n"
            "<watcher id=\"w1\" status=\"pending\" event=\"subscribe\">sip:bob@example.com"
            "</watcher>\n"
            "<watcher id=\"w2\" status=\"active\" event=\"approved\" display-name=\"Carol "
            "&quot;C&quot; &amp; co\" duration-subscribed=\"509\">sip:carol@example.com</watcher>\n"
            "<watcher id=\"w3\" status=\"terminated\" event=\"timeout\">sip:dave@example.com"
            "</watcher>\n"
            "</watcher-list>\n</watcherinfo>\n");
}

TEST(WatcherInfo, NoWatchers) {
  EXPECT_EQ(write_watcherinfo(kAlice, "presence", 0, {}),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"0\" "
            "state=\"full\">\n"
            "<watcher-list resource=\"sip:alice@example.com\" package=\"presence\">\n"
            "</watcher-list>\n</watcherinfo>\n");
}

TEST(WatcherInfo, NamesAsRfc3858SpellsThem) {
  EXPECT_EQ(to_string(WatcherStatus::Waiting), "waiting");
  EXPECT_EQ(to_string(WatcherEvent::Deactivated), "deactivated");
  EXPECT_EQ(to_string(WatcherEvent::Probation), "probation");
  EXPECT_EQ(to_string(WatcherEvent::Rejected), "rejected");
  EXPECT_EQ(to_string(WatcherEvent::Giveup), "giveup");
  EXPECT_EQ(to_string(WatcherEvent::Noresource), "noresource");
}

}  // namespace
}  // namespace presenced::sip
