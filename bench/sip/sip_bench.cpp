// What one SIP server transaction costs (RFC 3261 §17.2.2): a SUBSCRIBE datagram parsed, its
// transaction created (or matched), a 200 OK built from it, serialized and handed back as the
// bytes to send. The clock is fake and moves 1 ms per request, and advance() runs every time as
// the transport's timer would, so over UDP about 32,000 transactions sit in Completed (timer J,
// 64*T1) and each request also expires one; over TCP the transaction ends with its answer.
// BM_ClientTransaction and BM_CompletedClientMemory measure the other side: a NOTIFY's UDP client
// transaction (§17.1.2) at 50,000/s, started, answered 200 and forgotten at timer K (T4 = 5 s),
// so 250,000 completed ones are held.
// Release build, pinned (taskset -c 0); figures in docs/benchmarks.md, "SIP transactions".

#include "sip/internal/message.h"
#include "sip/internal/transactions.h"

#include <benchmark/benchmark.h>
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace {

using namespace presenced::sip;

// A SUBSCRIBE as a desk phone sends it; the 16 x after the cookie are replaced per request.
constexpr std::string_view kSubscribe =
    "SUBSCRIBE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKxxxxxxxxxxxxxxxx;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=3f2a9c1d\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: 6b8d2f0e-4a1c-4d3e-9f7a-2c5b8e1d0a93@192.0.2.10\r\n"
    "CSeq: 1 SUBSCRIBE\r\n"
    "Contact: <sip:alice@192.0.2.10:5060;transport=udp>\r\n"
    "Event: presence\r\n"
    "Accept: application/pidf+xml\r\n"
    "Expires: 3600\r\n"
    "User-Agent: Desk Phone 1.0\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

class Requests {
 public:
  Requests() : text_(kSubscribe), at_(text_.find("z9hG4bK") + 7) {}

  // The next request, with a branch no earlier request had.
  std::string_view next() {
    std::uint64_t n = counter_++;
    for (int i = 15; i >= 0; --i) {
      text_[at_ + static_cast<std::size_t>(i)] = "0123456789abcdef"[n & 0xf];
      n >>= 4;
    }
    return text_;
  }
  // The previous request again, as a retransmission.
  std::string_view same() const { return text_; }

 private:
  std::string text_;
  std::size_t at_;
  std::uint64_t counter_ = 0;
};

const Peer kSource{Transport::Udp, "192.0.2.10", 5060, 0};
const Limits kLimits{};

// One request through the layer: parse, create or match, answer 200, serialize. Returns the size
// of what is to be sent.
std::size_t serve(Transactions& layer, std::string_view bytes, const Peer& source, TimePoint now) {
  auto parsed = parse(bytes, Framing::Datagram, kLimits);
  if (!parsed) {
    return 0;
  }
  (void)layer.advance(now);
  Actions in = layer.on_request(std::move(*parsed), source, now);
  std::size_t sent = 0;
  for (const Action& action : in.actions) {
    if (const auto* send = std::get_if<SendAction>(&action)) {
      sent += send->bytes->size();  // an absorbed retransmission
    } else if (const auto* request = std::get_if<RequestAction>(&action)) {
      Message ok = make_response(request->request, 200, "OK", "srv8c1d");
      ok.expires = request->request.expires;
      ok.contacts.addresses.push_back(NameAddr{});
      ok.contacts.addresses.back().uri.scheme = "sip";
      ok.contacts.addresses.back().uri.host = "pres.example.com";
      Actions out = layer.respond(request->id, ok, now);
      sent += std::get<SendAction>(out.actions.front()).bytes->size();
    }
  }
  return sent;
}

void BM_ServerTransaction(benchmark::State& state) {
  Peer source = kSource;
  source.transport = state.range(0) == 0 ? Transport::Udp : Transport::Tcp;
  Transactions layer{TransactionConfig{}};
  Requests requests;
  TimePoint now{std::chrono::hours(1)};
  for (int i = 0; i < 40'000; ++i) {  // into the steady state: J expires one per request
    now += std::chrono::milliseconds(1);
    serve(layer, requests.next(), source, now);
  }
  for (auto _ : state) {
    now += std::chrono::milliseconds(1);
    benchmark::DoNotOptimize(serve(layer, requests.next(), source, now));
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["live"] = static_cast<double>(layer.server_count());
  state.SetLabel(state.range(0) == 0 ? "udp" : "tcp");
}
BENCHMARK(BM_ServerTransaction)->Arg(0)->Arg(1);

// A retransmitted SUBSCRIBE over UDP: parsed, matched and answered with the stored 200 OK.
void BM_AbsorbedRetransmission(benchmark::State& state) {
  Transactions layer{TransactionConfig{}};
  Requests requests;
  const TimePoint now{std::chrono::hours(1)};
  serve(layer, requests.next(), kSource, now);
  for (auto _ : state) {
    benchmark::DoNotOptimize(serve(layer, requests.same(), kSource, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AbsorbedRetransmission);

// The parts alone, for the ratios: parsing the SUBSCRIBE, and serializing the 200 OK.
void BM_ParseSubscribe(benchmark::State& state) {
  Requests requests;
  for (auto _ : state) {
    auto parsed = parse(requests.next(), Framing::Datagram, kLimits);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSubscribe);

void BM_SerializeOk(benchmark::State& state) {
  Requests requests;
  const auto request = parse(requests.next(), Framing::Datagram, kLimits);
  Message ok = make_response(*request, 200, "OK", "srv8c1d");
  ok.expires = request->expires;
  for (auto _ : state) {
    std::string bytes = serialize(ok);
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeOk);

// ---- client transactions (NOTIFY over UDP) ----

constexpr std::string_view kNotify =
    "NOTIFY sip:alice@192.0.2.10:5060;transport=udp SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK000000000000000000000000;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:bob@example.com>;tag=srv8c1d\r\n"
    "To: \"Alice\" <sip:alice@example.com>;tag=3f2a9c1d\r\n"
    "Call-ID: 6b8d2f0e-4a1c-4d3e-9f7a-2c5b8e1d0a93@192.0.2.10\r\n"
    "CSeq: 2 NOTIFY\r\n"
    "Contact: <sip:pres.example.com>\r\n"
    "Event: presence\r\n"
    "Subscription-State: active;expires=3600\r\n"
    "Content-Type: application/pidf+xml\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

const Peer kSubscriber{Transport::Udp, "192.0.2.10", 5060, 0};
constexpr auto kNotifyInterval = std::chrono::microseconds(20);  // 50,000/s

// Numbers a branch as make_branch() writes it (cookie and 24 hex digits) in place: its last
// 16 digits become n.
void number_branch(std::string& branch, std::uint64_t n) {
  for (std::size_t i = 0; i < 16; ++i) {
    branch[branch.size() - 1 - i] = "0123456789abcdef"[(n >> (4 * i)) & 0xf];
  }
}

// The NOTIFY and its 200 OK, reused with a new branch each time; the 200 travels through
// on_response and is taken back from its ResponseAction, so the loop itself allocates nothing.
class NotifyExchange {
 public:
  NotifyExchange()
      : request_(*parse(kNotify, Framing::Datagram, kLimits)),
        response_(make_response(request_, 200, "OK", "peer1")) {}

  // send_request, the 200 read back, and timer K of an older one, as the listener runs them.
  std::size_t run(Transactions& layer, TimePoint now) {
    number_branch(*request_.vias.front().params.front().value, counter_);
    number_branch(*response_.vias.front().params.front().value, counter_);
    ++counter_;
    (void)layer.advance(now);
    auto started = layer.send_request(request_, kSubscriber, now);
    if (!started) {
      return 0;
    }
    Actions answered = layer.on_response(std::move(response_), now);
    response_ = std::move(std::get<ResponseAction>(answered.actions.front()).response);
    return started->actions.actions.size();
  }

 private:
  Message request_;
  Message response_;
  std::uint64_t counter_ = 0;
};

TransactionConfig notify_config() {
  TransactionConfig config;
  config.max_client_transactions = 1'000'000;  // what 50,000/s needs without a separate bound
  return config;
}

void BM_ClientTransaction(benchmark::State& state) {
  Transactions layer{notify_config()};
  NotifyExchange exchange;
  TimePoint now{std::chrono::hours(1)};
  for (int i = 0; i < 300'000; ++i) {  // 6 s: into the steady state, K expiring one per NOTIFY
    now += kNotifyInterval;
    exchange.run(layer, now);
  }
  for (auto _ : state) {
    now += kNotifyInterval;
    benchmark::DoNotOptimize(exchange.run(layer, now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClientTransaction);

// Heap bytes (glibc's count, malloc headers included) held per completed client transaction:
// 5 s at 50,000/s leaves 250,000 of them in timer K and none live.
void BM_CompletedClientMemory(benchmark::State& state) {
  constexpr int kHeld = 250'000;
  for (auto _ : state) {
    const std::size_t before = mallinfo2().uordblks;
    auto layer = std::make_unique<Transactions>(notify_config());
    NotifyExchange exchange;
    TimePoint now{std::chrono::hours(1)};
    for (int i = 0; i < 2 * kHeld; ++i) {  // the first 250,000 expire, the last 250,000 are held
      now += kNotifyInterval;
      exchange.run(*layer, now);
    }
    const std::size_t after = mallinfo2().uordblks;
    state.counters["bytes_per_completed"] =
        static_cast<double>(after - before) / static_cast<double>(kHeld);
    state.counters["held"] = static_cast<double>(kHeld);
  }
}
BENCHMARK(BM_CompletedClientMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
