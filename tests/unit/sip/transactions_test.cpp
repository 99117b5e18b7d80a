// The non-INVITE transaction layer (RFC 3261 §17.1.2, §17.2.2, §17.1.3, §17.2.3) and the random
// identifiers it relies on (§8.1.1.7, §19.3). Time is a parameter: every instant below is exact.

#include "sip/internal/transactions.h"

#include "sip/internal/branch.h"
#include "sip_test_util.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <variant>
#include <vector>

namespace presenced::sip {
namespace {

using std::chrono::milliseconds;
using test::lines;

constexpr TimePoint kStart{std::chrono::hours(1)};
TimePoint at(int ms) {
  return kStart + milliseconds(ms);
}

const Peer kUdpPeer{Transport::Udp, "192.0.2.10", 5060, 0};
const Peer kTcpPeer{Transport::Tcp, "192.0.2.10", 49152, 7};

// A request as a phone writes it; `via` is the whole top Via line.
std::string request_text(
    std::string_view method,
    std::string_view via = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1") {
  const std::string start = std::string(method) + " sip:bob@example.com SIP/2.0";
  const std::string cseq = "CSeq: 1 " + std::string(method);
  return lines({start, via, test::kFrom, test::kTo, test::kCallId, cseq, "Max-Forwards: 70",
                "Event: presence", "Content-Length: 0", "", ""});
}

Message request(std::string_view method = "SUBSCRIBE",
                std::string_view via = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1") {
  auto parsed = test::parse_datagram(request_text(method, via));
  EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().detail);
  return parsed ? *parsed : Message{};
}

// The response a peer sends to our request, read back from the bytes we sent.
Message response_to(const std::string& request_bytes, int status) {
  auto parsed = test::parse_datagram(request_bytes);
  EXPECT_TRUE(parsed);
  return make_response(*parsed, status, status < 200 ? "Trying" : "OK", "peer1");
}

std::string first_token(const std::string& bytes) {
  if (bytes.starts_with("SIP/2.0 ")) {
    return bytes.substr(8, 3);
  }
  return bytes.substr(0, bytes.find(' '));
}

// Each action as one short line: "send 200", "request SUBSCRIBE", "response 100",
// "failed timeout", "failed transport", "unanswered".
std::vector<std::string> describe(const Actions& actions) {
  std::vector<std::string> out;
  for (const Action& action : actions.actions) {
    if (const auto* send = std::get_if<SendAction>(&action)) {
      out.push_back("send " + first_token(*send->bytes));
    } else if (const auto* req = std::get_if<RequestAction>(&action)) {
      out.push_back("request " + std::string(req->request.method_name()));
    } else if (const auto* resp = std::get_if<ResponseAction>(&action)) {
      out.push_back("response " + std::to_string(resp->response.status));
    } else if (const auto* failed = std::get_if<ClientFailedAction>(&action)) {
      out.push_back(failed->failure == ClientFailure::Timeout ? "failed timeout"
                                                              : "failed transport");
    } else {
      out.push_back("unanswered");
    }
  }
  return out;
}

using Lines = std::vector<std::string>;

// ---- server transactions (§17.2.2) ----

enum class ServerEvent { Request, Answer, Advance };

struct ServerStep {
  int at_ms = 0;
  ServerEvent event = ServerEvent::Request;
  int status = 0;  // Answer: the application's status
  Lines expect;
  std::size_t live = 0;  // server transactions after the step
};

struct ServerCase {
  const char* name = "";
  Peer source;
  std::vector<ServerStep> steps;
};

void run(const ServerCase& c) {
  Transactions layer{TransactionConfig{}};
  std::optional<ServerTransactionId> id;
  std::optional<Message> received;
  for (const ServerStep& step : c.steps) {
    SCOPED_TRACE(testing::Message() << c.name << " at " << step.at_ms << " ms");
    Actions actions;
    switch (step.event) {
      case ServerEvent::Request:
        actions = layer.on_request(request(), c.source, at(step.at_ms));
        for (const Action& action : actions.actions) {
          if (const auto* req = std::get_if<RequestAction>(&action)) {
            id = req->id;
            received = req->request;
          }
        }
        break;
      case ServerEvent::Answer:
        ASSERT_TRUE(id && received);
        actions =
            layer.respond(*id, make_response(*received, step.status, "X", "srv1"), at(step.at_ms));
        break;
      case ServerEvent::Advance:
        actions = layer.advance(at(step.at_ms));
        break;
    }
    EXPECT_EQ(describe(actions), step.expect);
    EXPECT_EQ(layer.server_count(), step.live);
  }
}

constexpr auto kReq = ServerEvent::Request;
constexpr auto kAnswer = ServerEvent::Answer;
constexpr auto kAdvance = ServerEvent::Advance;

TEST(ServerTransaction, StateTransitions) {
  const std::vector<ServerCase> cases = {
      // §17.2.2: Trying -> Completed on a final answer; retransmissions get it again; timer J
      // (64*T1) then forgets the transaction, and the same request is new again.
      {"udp: final, absorbed, timer J",
       kUdpPeer,
       {{0, kReq, 0, {"request SUBSCRIBE"}, 1},
        {10, kAnswer, 200, {"send 200"}, 1},
        {20, kReq, 0, {"send 200"}, 1},
        {32'009, kAdvance, 0, {}, 1},
        {32'010, kAdvance, 0, {}, 0},
        {32'011, kReq, 0, {"request SUBSCRIBE"}, 1}}},
      // In Trying a retransmission is discarded; in Proceeding the provisional is resent.
      {"udp: trying silent, proceeding resends 1xx",
       kUdpPeer,
       {{0, kReq, 0, {"request SUBSCRIBE"}, 1},
        {500, kReq, 0, {}, 1},
        {600, kAnswer, 100, {"send 100"}, 1},
        {1'500, kReq, 0, {"send 100"}, 1},
        {1'600, kAnswer, 202, {"send 202"}, 1},
        {3'500, kReq, 0, {"send 202"}, 1},
        // §17.2.2: a second final answer in Completed is discarded.
        {3'600, kAnswer, 500, {}, 1}}},
      // Reliable transport: timer J is zero, the transaction ends with its final answer.
      {"tcp: final ends it",
       kTcpPeer,
       {{0, kReq, 0, {"request SUBSCRIBE"}, 1},
        {5, kAnswer, 100, {"send 100"}, 1},
        {10, kAnswer, 200, {"send 200"}, 0},
        {11, kAnswer, 200, {}, 0}}},
      // The application never answers: after answer_timeout (64*T1, when the client's timer F
      // has fired) the transaction is dropped and the application told; nothing is sent.
      {"udp: unanswered",
       kUdpPeer,
       {{0, kReq, 0, {"request SUBSCRIBE"}, 1},
        {31'999, kAdvance, 0, {}, 1},
        {32'000, kAdvance, 0, {"unanswered"}, 0},
        {32'001, kAnswer, 200, {}, 0}}},
  };
  for (const ServerCase& c : cases) {
    run(c);
  }
}

TEST(ServerTransaction, ResponseGoesBackToTheSourceOverItsConnection) {
  Transactions layer{TransactionConfig{}};
  const Actions in = layer.on_request(request(), kTcpPeer, at(0));
  const auto& req = std::get<RequestAction>(in.actions.at(0));
  EXPECT_EQ(req.source, kTcpPeer);
  const Actions out = layer.respond(req.id, make_response(req.request, 200, "OK", "s"), at(1));
  EXPECT_EQ(std::get<SendAction>(out.actions.at(0)).to, kTcpPeer);
}

TEST(ServerTransaction, NextDeadlineIsTheAnswerTimeoutThenTimerJ) {
  Transactions layer{TransactionConfig{}};
  const Actions in = layer.on_request(request(), kUdpPeer, at(0));
  EXPECT_EQ(in.next_deadline, at(32'000));
  const auto& req = std::get<RequestAction>(in.actions.at(0));
  const Actions out = layer.respond(req.id, make_response(req.request, 200, "OK", "s"), at(100));
  EXPECT_EQ(out.next_deadline, at(100 + 64 * 500));
}

// §17.2.3: branch, sent-by and method must all be equal; ACK is not matched here.
struct MatchCase {
  const char* name = "";
  const char* method = "SUBSCRIBE";
  const char* via = "";
  bool matches = false;
};

TEST(ServerTransaction, MatchingRules) {
  const std::vector<MatchCase> cases = {
      {"port 5060 written out", "SUBSCRIBE",
       "Via: SIP/2.0/UDP phone.example.com:5060;branch=z9hG4bK-a1", true},
      {"host in other case", "SUBSCRIBE", "Via: SIP/2.0/UDP PHONE.example.COM;branch=z9hG4bK-a1",
       true},
      {"over another transport", "SUBSCRIBE",
       "Via: SIP/2.0/TCP phone.example.com;branch=z9hG4bK-a1", true},
      {"other branch", "SUBSCRIBE", "Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-a2", false},
      {"branch in other case", "SUBSCRIBE", "Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-A1",
       false},
      {"other sent-by host", "SUBSCRIBE", "Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bK-a1", false},
      {"other sent-by port", "SUBSCRIBE",
       "Via: SIP/2.0/UDP phone.example.com:5070;branch=z9hG4bK-a1", false},
      {"other method", "NOTIFY", "Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-a1", false},
  };
  for (const MatchCase& c : cases) {
    SCOPED_TRACE(c.name);
    Transactions layer{TransactionConfig{}};
    // The first request's sent-by has no port: 5060 on UDP.
    const Actions first = layer.on_request(
        request("SUBSCRIBE", "Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bK-a1"), kUdpPeer,
        at(0));
    ASSERT_EQ(describe(first), Lines{"request SUBSCRIBE"});
    const Actions second = layer.on_request(request(c.method, c.via), kUdpPeer, at(1));
    if (c.matches) {
      EXPECT_EQ(describe(second), Lines{});
      EXPECT_EQ(layer.stats().absorbed_requests, 1u);
      EXPECT_EQ(layer.server_count(), 1u);
    } else {
      EXPECT_EQ(describe(second), Lines{"request " + std::string(c.method)});
      EXPECT_EQ(layer.server_count(), 2u);
    }
  }
}

// A sent-by without a port means the transport's default: 5061 for TLS (§18.2.1, §19.1.2).
TEST(ServerTransaction, TlsSentByDefaultsTo5061) {
  Transactions layer{TransactionConfig{}};
  const Peer tls{Transport::Tls, "192.0.2.10", 49153, 9};
  ASSERT_EQ(
      describe(layer.on_request(
          request("PUBLISH", "Via: SIP/2.0/TLS phone.example.com;branch=z9hG4bK-t"), tls, at(0))),
      Lines{"request PUBLISH"});
  EXPECT_EQ(describe(layer.on_request(
                request("PUBLISH", "Via: SIP/2.0/TLS phone.example.com:5061;branch=z9hG4bK-t"), tls,
                at(1))),
            Lines{});
  EXPECT_EQ(describe(layer.on_request(
                request("PUBLISH", "Via: SIP/2.0/TLS phone.example.com:5060;branch=z9hG4bK-t"), tls,
                at(2))),
            Lines{"request PUBLISH"});
}

// A presence server holds no INVITE transactions.
TEST(ServerTransaction, AckCancelAndInviteAreAnsweredByTheLayer) {
  Transactions layer{TransactionConfig{}};
  // §17.2.1, §13.2.2.4: an ACK belongs to an INVITE transaction or is end to end: dropped.
  EXPECT_EQ(describe(layer.on_request(request("ACK"), kUdpPeer, at(0))), Lines{});
  EXPECT_EQ(layer.stats().dropped_acks, 1u);
  EXPECT_EQ(layer.server_count(), 0u);
  // §9.2: a CANCEL that matches no INVITE transaction gets 481, in a transaction of its own, so
  // its retransmission gets the same answer.
  EXPECT_EQ(describe(layer.on_request(request("CANCEL"), kUdpPeer, at(1))), Lines{"send 481"});
  EXPECT_EQ(describe(layer.on_request(request("CANCEL"), kUdpPeer, at(2))), Lines{"send 481"});
  EXPECT_EQ(layer.server_count(), 1u);
  // An INVITE is refused 501 the same way; the phone's ACK for it is dropped.
  EXPECT_EQ(
      describe(layer.on_request(request("INVITE", "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-inv"),
                                kUdpPeer, at(3))),
      Lines{"send 501"});
  EXPECT_EQ(layer.server_count(), 2u);
}

// RFC 2543 transactions (no magic cookie) are out of scope: refused 400, nothing kept.
TEST(ServerTransaction, RequestWithoutMagicCookieIsRefused) {
  Transactions layer{TransactionConfig{}};
  for (const char* via : {"Via: SIP/2.0/UDP 192.0.2.10;branch=1234", "Via: SIP/2.0/UDP 192.0.2.10",
                          "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK"}) {
    SCOPED_TRACE(via);
    const Actions out = layer.on_request(request("SUBSCRIBE", via), kUdpPeer, at(0));
    ASSERT_EQ(describe(out), Lines{"send 400"});
    EXPECT_TRUE(std::get<SendAction>(out.actions[0])
                    .bytes->starts_with("SIP/2.0 400 Missing Via Branch\r\n"));
  }
  EXPECT_EQ(layer.server_count(), 0u);
  EXPECT_EQ(layer.stats().refused_branch, 3u);
}

TEST(ServerTransaction, FullTableRefuses503WithRetryAfterAndKeepsNothing) {
  TransactionConfig config;
  config.max_server_transactions = 2;
  config.retry_after_s = 7;
  Transactions layer{config};
  const auto via = [](int n) {
    return "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-" + std::to_string(n);
  };
  const Actions first = layer.on_request(request("SUBSCRIBE", via(1)), kUdpPeer, at(0));
  const auto& req = std::get<RequestAction>(first.actions.at(0));
  ASSERT_EQ(describe(layer.on_request(request("SUBSCRIBE", via(2)), kUdpPeer, at(0))),
            Lines{"request SUBSCRIBE"});

  const Actions refused = layer.on_request(request("SUBSCRIBE", via(3)), kUdpPeer, at(1));
  ASSERT_EQ(describe(refused), Lines{"send 503"});
  const auto answer = test::parse_datagram(*std::get<SendAction>(refused.actions[0]).bytes);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->header("Retry-After"), "7");
  EXPECT_TRUE(answer->to.tag());
  EXPECT_EQ(layer.server_count(), 2u);
  EXPECT_EQ(layer.stats().refused_full, 1u);

  // Known transactions still absorb their retransmissions when the table is full.
  EXPECT_EQ(describe(layer.on_request(request("SUBSCRIBE", via(1)), kUdpPeer, at(2))), Lines{});
  // Room again as soon as one is answered: a Completed transaction waiting for timer J does not
  // count against the live bound.
  (void)layer.respond(req.id, make_response(req.request, 200, "OK", "s"), at(3));
  EXPECT_EQ(layer.live_server_count(), 1u);
  EXPECT_EQ(layer.completed_server_count(), 1u);
  EXPECT_EQ(describe(layer.on_request(request("SUBSCRIBE", via(3)), kUdpPeer, at(4))),
            Lines{"request SUBSCRIBE"});
  // The answered one still absorbs its retransmissions with its response.
  EXPECT_EQ(describe(layer.on_request(request("SUBSCRIBE", via(1)), kUdpPeer, at(5))),
            Lines{"send 200"});
  EXPECT_EQ(describe(layer.advance(at(3 + 32'000))), Lines{"unanswered"});
  EXPECT_EQ(layer.server_count(), 1u);
  EXPECT_EQ(layer.completed_server_count(), 0u);
}

TEST(ServerTransaction, CompletedOnesBeyondTheirBoundAreForgottenOldestFirst) {
  TransactionConfig config;
  config.max_completed_server_transactions = 2;
  Transactions layer{config};
  const auto via = [](int n) {
    return "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-" + std::to_string(n);
  };
  for (int n = 1; n <= 3; ++n) {
    const Actions started = layer.on_request(request("PUBLISH", via(n)), kUdpPeer, at(n));
    const auto& req = std::get<RequestAction>(started.actions.at(0));
    (void)layer.respond(req.id, make_response(req.request, 200, "OK", "s"), at(n));
  }
  EXPECT_EQ(layer.completed_server_count(), 2u);
  EXPECT_EQ(layer.stats().forgotten_completed_servers, 1u);
  // The oldest is gone: its retransmission is a new request; the two newer still absorb theirs.
  EXPECT_EQ(describe(layer.on_request(request("PUBLISH", via(1)), kUdpPeer, at(10))),
            Lines{"request PUBLISH"});
  EXPECT_EQ(describe(layer.on_request(request("PUBLISH", via(3)), kUdpPeer, at(10))),
            Lines{"send 200"});
  // Timer J forgets the rest; the one still waiting for its answer stays.
  (void)layer.advance(at(3 + 32'000));
  EXPECT_EQ(layer.completed_server_count(), 0u);
  EXPECT_EQ(layer.server_count(), 1u);
}

// ---- client transactions (§17.1.2) ----

Message outgoing(std::string_view branch = "z9hG4bK-c1") {
  Message m =
      request("NOTIFY", "Via: SIP/2.0/UDP pres.example.com:5060;branch=" + std::string(branch));
  return m;
}

struct ClientRun {
  Transactions layer{TransactionConfig{}};
  ClientTransactionId id;
  std::string bytes;
  Actions first;
};

void start(ClientRun& run, const Peer& to, std::string_view branch = "z9hG4bK-c1") {
  auto started = run.layer.send_request(outgoing(branch), to, at(0));
  ASSERT_TRUE(started);
  run.id = started->id;
  run.first = started->actions;
  run.bytes = *std::get<SendAction>(started->actions.actions.at(0)).bytes;
}

// §17.1.2.2: timer E starts at T1 and doubles up to T2; timer F at 64*T1 ends it with a timeout
// (408 to the application).
TEST(ClientTransaction, UdpRetransmissionScheduleUntilTimerF) {
  ClientRun run;
  start(run, kUdpPeer);
  EXPECT_EQ(describe(run.first), Lines{"send NOTIFY"});
  EXPECT_EQ(run.first.next_deadline, at(500));
  const std::vector<int> resends = {500,    1'500,  3'500,  7'500,  11'500,
                                    15'500, 19'500, 23'500, 27'500, 31'500};
  for (std::size_t i = 0; i < resends.size(); ++i) {
    SCOPED_TRACE(resends[i]);
    EXPECT_EQ(describe(run.layer.advance(at(resends[i] - 1))), Lines{});
    const Actions fired = run.layer.advance(at(resends[i]));
    EXPECT_EQ(describe(fired), Lines{"send NOTIFY"});
    EXPECT_EQ(*std::get<SendAction>(fired.actions[0]).bytes, run.bytes);
    EXPECT_EQ(fired.next_deadline, i + 1 < resends.size() ? at(resends[i + 1]) : at(32'000));
  }
  EXPECT_EQ(describe(run.layer.advance(at(31'999))), Lines{});
  const Actions timeout = run.layer.advance(at(32'000));
  EXPECT_EQ(describe(timeout), Lines{"failed timeout"});
  EXPECT_EQ(std::get<ClientFailedAction>(timeout.actions[0]).id, run.id);
  EXPECT_EQ(timeout.next_deadline, std::nullopt);
  EXPECT_EQ(run.layer.client_count(), 0u);
}

TEST(ClientTransaction, ConfiguredTimersScaleTheSchedule) {
  TransactionConfig config;
  config.t1 = milliseconds(100);
  config.t2 = milliseconds(250);
  Transactions layer{config};
  ASSERT_TRUE(layer.send_request(outgoing(), kUdpPeer, at(0)));
  std::vector<int> sends;
  for (int ms = 0; ms <= 6'400; ++ms) {
    for (const std::string& line : describe(layer.advance(at(ms)))) {
      if (line == "send NOTIFY") {
        sends.push_back(ms);
      } else {
        EXPECT_EQ(line, "failed timeout");
        EXPECT_EQ(ms, 6'400);  // 64*T1
      }
    }
  }
  // E: 100, 200, 250, 250, ... (T2)
  std::vector<int> expected = {100, 300};
  for (int t = 550; t < 6'400; t += 250) {
    expected.push_back(t);
  }
  EXPECT_EQ(sends, expected);
}

// §17.1.2.2: a provisional moves to Proceeding, where timer E is T2.
TEST(ClientTransaction, UdpProceedingResendsEveryT2) {
  ClientRun run;
  start(run, kUdpPeer);
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 100), at(100))),
            Lines{"response 100"});
  EXPECT_EQ(describe(run.layer.advance(at(500))), Lines{"send NOTIFY"});  // E set in Trying
  EXPECT_EQ(describe(run.layer.advance(at(4'499))), Lines{});
  EXPECT_EQ(describe(run.layer.advance(at(4'500))), Lines{"send NOTIFY"});
  EXPECT_EQ(describe(run.layer.advance(at(8'500))), Lines{"send NOTIFY"});
  // Further provisionals go to the application too.
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 100), at(8'600))),
            Lines{"response 100"});
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 200), at(9'000))),
            Lines{"response 200"});
}

// §17.1.2.2: the final response moves to Completed; retransmissions of it are absorbed until
// timer K (T4) fires; after that a response matches nothing.
TEST(ClientTransaction, UdpCompletedAbsorbsUntilTimerK) {
  ClientRun run;
  start(run, kUdpPeer);
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 200), at(200))),
            Lines{"response 200"});
  EXPECT_EQ(run.layer.client_count(), 0u);  // no longer live
  EXPECT_EQ(run.layer.completed_client_count(), 1u);
  const Actions again = run.layer.on_response(response_to(run.bytes, 200), at(300));
  EXPECT_EQ(describe(again), Lines{});
  EXPECT_EQ(again.next_deadline, at(5'200));
  EXPECT_EQ(run.layer.stats().absorbed_responses, 1u);
  EXPECT_EQ(describe(run.layer.advance(at(5'199))), Lines{});  // no E in Completed
  EXPECT_EQ(run.layer.completed_client_count(), 1u);
  const Actions expired = run.layer.advance(at(5'200));
  EXPECT_EQ(describe(expired), Lines{});
  EXPECT_EQ(expired.next_deadline, std::nullopt);
  EXPECT_EQ(run.layer.completed_client_count(), 0u);
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 200), at(5'300))), Lines{});
  EXPECT_EQ(run.layer.stats().stray_responses, 1u);
}

// In Completed only the key and timer K are kept: the request's bytes are released at the final
// response, so the sender's copy is the last one.
TEST(ClientTransaction, CompletedKeepsNoRequestBytes) {
  Transactions layer{TransactionConfig{}};
  auto started = layer.send_request(outgoing(), kUdpPeer, at(0));
  ASSERT_TRUE(started);
  const auto bytes = std::get<SendAction>(started->actions.actions.at(0)).bytes;
  started->actions.actions.clear();
  EXPECT_EQ(bytes.use_count(), 2);  // ours and the transaction's, for timer E
  EXPECT_EQ(describe(layer.on_response(response_to(*bytes, 200), at(10))), Lines{"response 200"});
  EXPECT_EQ(bytes.use_count(), 1);
  EXPECT_EQ(describe(layer.advance(at(500))), Lines{});  // no timer E any more
}

// A request we wrote ourselves goes in as bytes with its branch and method: the same bytes go
// out, and the response to them is matched by that branch.
TEST(ClientTransaction, OwnBytesAreSentAsGivenAndMatchedByTheirBranch) {
  Transactions layer{TransactionConfig{}};
  const std::string written = serialize(outgoing("z9hG4bK-own1"));
  auto started = layer.send_request(written, "z9hG4bK-own1", Method::Notify, kUdpPeer, at(0));
  ASSERT_TRUE(started);
  EXPECT_EQ(*std::get<SendAction>(started->actions.actions.at(0)).bytes, written);
  EXPECT_EQ(describe(layer.on_response(response_to(written, 200), at(10))),
            Lines{"response 200"});
  // The branch stays taken through timer K, and the same rules refuse what they refuse.
  EXPECT_FALSE(layer.send_request(written, "z9hG4bK-own1", Method::Notify, kUdpPeer, at(20)));
  EXPECT_FALSE(layer.send_request(written, "no-cookie", Method::Notify, kUdpPeer, at(20)));
  EXPECT_FALSE(layer.send_request(written, "z9hG4bK-own2", Method::Other, kUdpPeer, at(20)));
}

// Timer K and the live transactions' timers interleave: next_deadline is the earliest of both.
TEST(ClientTransaction, TimerKAndTimerEShareTheNextDeadline) {
  Transactions layer{TransactionConfig{}};
  auto first = layer.send_request(outgoing("z9hG4bK-k1"), kUdpPeer, at(0));
  ASSERT_TRUE(first);
  const std::string bytes = *std::get<SendAction>(first->actions.actions.at(0)).bytes;
  EXPECT_EQ(layer.on_response(response_to(bytes, 200), at(100)).next_deadline, at(5'100));
  auto second = layer.send_request(outgoing("z9hG4bK-k2"), kUdpPeer, at(5'000));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->actions.next_deadline, at(5'100));  // K of the first before E at 5,500
  EXPECT_EQ(describe(layer.advance(at(5'100))), Lines{});
  EXPECT_EQ(layer.next_deadline(), at(5'500));
  EXPECT_EQ(layer.completed_client_count(), 0u);
  EXPECT_EQ(describe(layer.advance(at(5'500))), Lines{"send NOTIFY"});
}

// Completed transactions have their own bound; at it the oldest is forgotten before timer K. A
// late retransmission of its response is then stray and dropped, as it would be after K.
TEST(ClientTransaction, CompletedBoundForgetsTheOldest) {
  TransactionConfig config;
  config.max_completed_client_transactions = 2;
  Transactions layer{config};
  std::vector<std::string> sent;
  for (const char* branch : {"z9hG4bK-o1", "z9hG4bK-o2", "z9hG4bK-o3"}) {
    auto started = layer.send_request(outgoing(branch), kUdpPeer, at(0));
    ASSERT_TRUE(started);
    sent.push_back(*std::get<SendAction>(started->actions.actions.at(0)).bytes);
    EXPECT_EQ(describe(layer.on_response(response_to(sent.back(), 200), at(10))),
              Lines{"response 200"});
  }
  EXPECT_EQ(layer.completed_client_count(), 2u);
  EXPECT_EQ(layer.stats().forgotten_completed, 1u);
  EXPECT_EQ(describe(layer.on_response(response_to(sent[0], 200), at(20))), Lines{});
  EXPECT_EQ(describe(layer.on_response(response_to(sent[1], 200), at(20))), Lines{});
  EXPECT_EQ(describe(layer.on_response(response_to(sent[2], 200), at(20))), Lines{});
  EXPECT_EQ(layer.stats().stray_responses, 1u);
  EXPECT_EQ(layer.stats().absorbed_responses, 2u);
  // The forgotten one's branch may be used again; the held ones' may not.
  EXPECT_TRUE(layer.send_request(outgoing("z9hG4bK-o1"), kUdpPeer, at(30)));
  const auto held = layer.send_request(outgoing("z9hG4bK-o3"), kUdpPeer, at(30));
  ASSERT_FALSE(held);
  EXPECT_EQ(held.error().kind, RefusalKind::BranchInUse);
}

// The live bound counts Trying and Proceeding only: completed transactions do not use it up, so
// UDP is not capped at max_client_transactions / T4.
TEST(ClientTransaction, LiveBoundIgnoresCompletedTransactions) {
  TransactionConfig config;
  config.max_client_transactions = 2;
  Transactions layer{config};
  for (int i = 0; i < 100; ++i) {
    const std::string branch = "z9hG4bK-n" + std::to_string(i);
    auto started = layer.send_request(outgoing(branch), kUdpPeer, at(i));
    ASSERT_TRUE(started) << started.error().detail;
    const std::string bytes = *std::get<SendAction>(started->actions.actions.at(0)).bytes;
    EXPECT_EQ(describe(layer.on_response(response_to(bytes, 200), at(i))), Lines{"response 200"});
  }
  EXPECT_EQ(layer.completed_client_count(), 100u);
  EXPECT_EQ(layer.client_count(), 0u);
  ASSERT_TRUE(layer.send_request(outgoing("z9hG4bK-l1"), kUdpPeer, at(200)));
  ASSERT_TRUE(layer.send_request(outgoing("z9hG4bK-l2"), kUdpPeer, at(200)));
  const auto full = layer.send_request(outgoing("z9hG4bK-l3"), kUdpPeer, at(200));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().kind, RefusalKind::Full);
  EXPECT_EQ(full.error().detail, "client transactions: 2 live, limit 2");
  EXPECT_EQ(layer.stats().forgotten_completed, 0u);
}

// A make_branch() branch (24 hex digits after the cookie) is the longest a client key holds.
TEST(ClientTransaction, BranchLengthAndMethodLimits) {
  Transactions layer{TransactionConfig{}};
  const std::string ours = make_branch();
  auto started = layer.send_request(outgoing(ours), kUdpPeer, at(0));
  ASSERT_TRUE(started);
  const std::string bytes = *std::get<SendAction>(started->actions.actions.at(0)).bytes;
  EXPECT_EQ(describe(layer.on_response(response_to(bytes, 200), at(1))), Lines{"response 200"});
  EXPECT_EQ(describe(layer.on_response(response_to(bytes, 200), at(2))), Lines{});
  EXPECT_EQ(layer.stats().absorbed_responses, 1u);

  const std::string too_long = ours + "0";
  const auto refused = layer.send_request(outgoing(too_long), kUdpPeer, at(0));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, RefusalKind::BranchTooLong);
  EXPECT_EQ(refused.error().detail,
            "Via branch: '" + too_long + "' has 25 characters after z9hG4bK, limit 24");
  // A response with such a branch can match nothing.
  Message long_response = response_to(bytes, 200);
  long_response.vias.front().params = {Param{"branch", too_long}};
  EXPECT_EQ(describe(layer.on_response(long_response, at(3))), Lines{});
  EXPECT_EQ(layer.stats().stray_responses, 1u);

  const auto extension = layer.send_request(request("FOO", "Via: SIP/2.0/UDP h;branch=z9hG4bK-x"),
                                            kUdpPeer, at(0));
  ASSERT_FALSE(extension);
  EXPECT_EQ(extension.error().kind, RefusalKind::NotRequest);
}

// Reliable transports: no retransmission, timer F only, timer K zero.
TEST(ClientTransaction, TcpSendsOnceAndEndsWithTheFinalResponse) {
  ClientRun run;
  start(run, kTcpPeer);
  EXPECT_EQ(run.first.next_deadline, at(32'000));
  EXPECT_EQ(describe(run.layer.advance(at(31'999))), Lines{});
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 100), at(100))),
            Lines{"response 100"});
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 404), at(200))),
            Lines{"response 404"});
  EXPECT_EQ(run.layer.client_count(), 0u);
  EXPECT_EQ(run.layer.completed_client_count(), 0u);
  EXPECT_EQ(run.layer.next_deadline(), std::nullopt);
}

TEST(ClientTransaction, TcpTimesOutAtTimerF) {
  ClientRun run;
  start(run, kTcpPeer);
  EXPECT_EQ(describe(run.layer.advance(at(32'000))), Lines{"failed timeout"});
}

// §17.1.4: a transport error ends the transaction; the application treats it as a 503.
TEST(ClientTransaction, TransportErrorFailsTheTransaction) {
  ClientRun run;
  start(run, kTcpPeer);
  const Actions failed = run.layer.on_transport_error(run.id, at(1));
  EXPECT_EQ(describe(failed), Lines{"failed transport"});
  EXPECT_EQ(run.layer.client_count(), 0u);
  EXPECT_EQ(describe(run.layer.on_transport_error(run.id, at(2))), Lines{});
}

// §17.1.3: the branch of the top Via and the CSeq method must match.
TEST(ClientTransaction, ResponsesOfOtherBranchOrMethodAreStray) {
  ClientRun run;
  start(run, kUdpPeer);
  Message other_branch = response_to(run.bytes, 200);
  other_branch.vias.front().params = {Param{"branch", "z9hG4bK-c2"}};
  Message other_method = response_to(run.bytes, 200);
  other_method.cseq.method = Method::Subscribe;
  EXPECT_EQ(describe(run.layer.on_response(other_branch, at(10))), Lines{});
  EXPECT_EQ(describe(run.layer.on_response(other_method, at(10))), Lines{});
  EXPECT_EQ(run.layer.stats().stray_responses, 2u);
  EXPECT_EQ(describe(run.layer.on_response(response_to(run.bytes, 200), at(10))),
            Lines{"response 200"});
}

TEST(ClientTransaction, RefusedWithoutCookieWhenFullOrOnABranchInUse) {
  TransactionConfig config;
  config.max_client_transactions = 1;
  Transactions layer{config};
  const auto no_cookie = layer.send_request(outgoing("abc"), kUdpPeer, at(0));
  ASSERT_FALSE(no_cookie);
  EXPECT_EQ(no_cookie.error().kind, RefusalKind::NoBranch);
  ASSERT_TRUE(layer.send_request(outgoing("z9hG4bK-a"), kUdpPeer, at(0)));
  const auto full = layer.send_request(outgoing("z9hG4bK-b"), kUdpPeer, at(0));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().kind, RefusalKind::Full);
  EXPECT_EQ(full.error().detail, "client transactions: 1 live, limit 1");

  Transactions roomy{TransactionConfig{}};
  ASSERT_TRUE(roomy.send_request(outgoing("z9hG4bK-a"), kUdpPeer, at(0)));
  const auto in_use = roomy.send_request(outgoing("z9hG4bK-a"), kUdpPeer, at(0));
  ASSERT_FALSE(in_use);
  EXPECT_EQ(in_use.error().kind, RefusalKind::BranchInUse);
}

// The ring and its index through growth (rehashes) while the front moves: every held key is
// found, every expired or forgotten one is not.
ClientKey numbered_key(int n) {
  ClientKey key;
  key.branch.fill('0');
  for (std::size_t i = 0; n > 0; ++i, n /= 16) {
    key.branch[key.branch.size() - 1 - i] = "0123456789abcdef"[n % 16];
  }
  key.size = static_cast<std::uint8_t>(key.branch.size());
  key.method = Method::Notify;
  return key;
}

TEST(CompletedClients, KeysExpireOldestFirstAndTheRestStayFindable) {
  CompletedClients completed{30'000};
  EXPECT_EQ(completed.next_deadline(), std::nullopt);
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(completed.add(numbered_key(i), at(i)));
  }
  completed.expire(at(9'999));
  EXPECT_EQ(completed.size(), 10'000u);
  EXPECT_EQ(completed.next_deadline(), at(10'000));
  for (int i = 20'000; i < 50'000; ++i) {  // 10,000 past the bound: the oldest go first
    EXPECT_EQ(completed.add(numbered_key(i), at(i)), i < 40'000);
  }
  EXPECT_EQ(completed.size(), 30'000u);
  for (int i = 0; i < 50'000; ++i) {
    ASSERT_EQ(completed.contains(numbered_key(i)), i >= 20'000) << i;
  }
  ClientKey subscribe = numbered_key(30'000);
  subscribe.method = Method::Subscribe;  // §17.1.3: the method is part of the key
  EXPECT_FALSE(completed.contains(subscribe));
  completed.expire(at(50'000));
  EXPECT_EQ(completed.size(), 0u);
  EXPECT_FALSE(completed.contains(numbered_key(49'999)));
}

// ---- identifiers ----

TEST(Branch, BranchesCarryTheCookieAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1'000; ++i) {
    const std::string branch = make_branch();
    ASSERT_TRUE(branch.starts_with(kBranchCookie));
    ASSERT_EQ(branch.size(), kBranchCookie.size() + 24);
    seen.insert(branch);
  }
  EXPECT_EQ(seen.size(), 1'000u);
}

TEST(Branch, TagsAndCallIdsAreHex) {
  const std::string tag = make_tag();
  EXPECT_EQ(tag.size(), 16u);
  EXPECT_EQ(tag.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(make_tag(), tag);
  const std::string call_id = make_call_id("pres.example.com");
  EXPECT_EQ(call_id.size(), 32u + 1 + 16);
  EXPECT_TRUE(call_id.ends_with("@pres.example.com"));
  EXPECT_EQ(make_call_id("").size(), 32u);
}

}  // namespace
}  // namespace presenced::sip
