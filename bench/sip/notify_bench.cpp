// What one NOTIFY costs on the fan-out path (docs/benchmarks.md, "SIP NOTIFY fan-out"): a manual
// state set in the engine, aggregated, projected and encoded as PIDF once per visibility level,
// queued to every subscription watching that user; Subscriptions::drain writes each woken
// queue's NOTIFY as bytes. With `transactions:1` the NOTIFY also starts a UDP client transaction
// (RFC 3261 §17.1.2; the layer takes a Message, so the bytes are parsed back first, as the
// listener does) and the subscriber's 200 OK is parsed and matched, so that share shows too.
//
// And what one subscription holds in memory: the bytes allocated and not freed across 10,000
// SUBSCRIBEs (their first NOTIFYs sent and answered), counted by the global operator new below
// and by glibc's mallinfo2 (which adds malloc's own headers).
//
// Release build, pinned (taskset -c 0). items_per_second counts NOTIFYs per CPU-second.

#include "core/engine.h"
#include "sip/internal/message.h"
#include "sip/internal/subscriptions.h"
#include "sip/internal/transactions.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

// ---- counting allocator: live bytes as malloc sees them (usable size), and live blocks ----

namespace {
std::atomic<long long> g_live_bytes{0};
std::atomic<long long> g_live_blocks{0};

void* counted_alloc(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  g_live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) {
    return;
  }
  g_live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) { return counted_alloc(size); }
void* operator new[](std::size_t size) { return counted_alloc(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }

namespace {

using namespace presenced;
using namespace presenced::sip;

const core::TimePoint kWall = core::TimePoint(std::chrono::milliseconds(1'800'000'000'000));
const Limits kLimits{};

std::string subscriber_id(std::size_t i) { return fmt::format("w{:05}", i); }
std::string presentity_id(std::size_t i) { return fmt::format("p{:05}", i); }

// A SUBSCRIBE as a softphone on 127.0.0.1 sends it, one dialog per subscription.
Message subscribe_request(std::size_t subscriber, std::size_t presentity) {
  const std::string from = subscriber_id(subscriber);
  const std::string to = presentity_id(presentity);
  const std::string text = fmt::format(
      "SUBSCRIBE sip:{1}@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:{2};branch=z9hG4bK-{0}-1;rport\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:{0}@example.com>;tag=t{0}\r\n"
      "To: <sip:{1}@example.com>\r\n"
      "Call-ID: sub-{0}-{1}@127.0.0.1\r\n"
      "CSeq: 1 SUBSCRIBE\r\n"
      "Contact: <sip:{0}@127.0.0.1:{2}>\r\n"
      "Event: presence\r\n"
      "Accept: application/pidf+xml\r\n"
      "Expires: 3600\r\n"
      "Content-Length: 0\r\n"
      "\r\n",
      from, to, 20000 + subscriber % 40000);
  auto parsed = parse(text, Framing::Datagram, kLimits);
  if (!parsed) {
    std::abort();  // the text above is ours
  }
  return std::move(*parsed);
}

Peer source_of(std::size_t subscriber) {
  Peer peer;
  peer.transport = Transport::Udp;
  peer.address = "127.0.0.1";
  peer.port = static_cast<std::uint16_t>(20000 + subscriber % 40000);
  return peer;
}

// The engine with `presentities` users to watch and one user per subscriber, and the
// subscriptions, each with its first NOTIFY sent and answered.
struct Fixture {
  Fixture(std::size_t subscriptions_wanted, std::size_t presentities_wanted)
      : engine(core::EngineConfig(), 0),
        subscriptions(
            [] {
              SubscriptionConfig config;
              config.domain = "example.com";
              return config;
            }(),
            engine) {
    subscriptions.set_local("127.0.0.1", 5060);
    for (std::size_t i = 0; i < presentities_wanted; ++i) {
      presentities.push_back(
          engine.add_user(core::UserId{presentity_id(i)}, core::UserSettings{}, kWall).value());
    }
    for (std::size_t i = 0; i < subscriptions_wanted; ++i) {
      (void)engine.add_user(core::UserId{subscriber_id(i)}, core::UserSettings{}, kWall).value();
    }
  }

  // Subscribes subscriber i to presentity i % presentities; answers the first NOTIFY.
  void add(const Message& request, std::size_t subscriber, TimePoint now) {
    // Without a store the answer comes at once.
    int status = 0;
    subscriptions.subscribe(request, source_of(subscriber), subscriber_id(subscriber), now,
                            [&status](Message ok) { status = ok.status; });
    if (status != 200) {
      std::abort();
    }
    for (const OutgoingNotify& notify : subscriptions.take_outbox()) {
      subscriptions.on_response(notify.subscription, 200, now);
    }
  }

  // A visible change of presentity `p`: the state flips each time, the note counts.
  void change(std::size_t p, std::uint64_t n) {
    core::ManualLayer manual;
    manual.state_id = (n & 1) != 0 ? "Busy" : "Available";
    manual.note = fmt::format("n={}", n);
    manual.set_at = kWall;
    engine.set_manual(presentities[p], std::move(manual), kWall);
  }

  core::Engine engine;
  Subscriptions subscriptions;
  std::vector<core::UserIndex> presentities;
};

// args: subscriptions, presentities, transactions (0: drain, the NOTIFY written; 1: also the client
// transaction and the subscriber's 200 OK parsed and matched).
void BM_NotifyFanOut(benchmark::State& state) {
  const auto subscription_count = static_cast<std::size_t>(state.range(0));
  const auto presentity_count = static_cast<std::size_t>(state.range(1));
  const bool with_transactions = state.range(2) != 0;
  Fixture fixture(subscription_count, presentity_count);
  TimePoint now{std::chrono::hours(1)};
  for (std::size_t i = 0; i < subscription_count; ++i) {
    fixture.add(subscribe_request(i, i % presentity_count), i, now);
  }
  // The clock moves as it would at 50,000 NOTIFY/s, so completed client transactions live their
  // timer K (T4, 5 s) and the layer holds what it holds at that rate: 250,000 of them, within
  // the default bound for completed ones (1,000,000; live ones have their own, 65,536).
  Transactions layer{TransactionConfig{}};
  const auto per_change = std::chrono::nanoseconds(20'000 * subscription_count / presentity_count);
  std::vector<std::string> answers;
  std::vector<std::shared_ptr<const std::string>> sent;
  std::uint64_t n = 0;
  std::uint64_t notifies = 0;
  std::uint64_t bytes = 0;

  auto one_change = [&](bool timed) {
    now += std::chrono::duration_cast<TimePoint::duration>(per_change);
    fixture.change(n % presentity_count, n);
    ++n;
    fixture.subscriptions.drain(now);
    std::vector<OutgoingNotify> outbox = fixture.subscriptions.take_outbox();
    if (!with_transactions) {
      for (const OutgoingNotify& notify : outbox) {
        bytes += notify.bytes.size();
        benchmark::DoNotOptimize(notify.bytes.data());
        fixture.subscriptions.on_response(notify.subscription, 200, now);
      }
      notifies += outbox.size();
      return;
    }
    (void)layer.advance(now);
    sent.clear();
    for (OutgoingNotify& notify : outbox) {
      // As the listener does: the written bytes, their branch and method.
      auto started = layer.send_request(std::move(notify.bytes), notify.branch, Method::Notify,
                                        notify.destination, now);
      if (!started) {
        std::abort();
      }
      const auto& wire = std::get<SendAction>(started->actions.actions.front()).bytes;
      bytes += wire->size();
      sent.push_back(wire);
    }
    // The subscribers' 200 OKs, as bytes on the wire: their making is not ours to time.
    if (timed) state.PauseTiming();
    answers.clear();
    for (const auto& wire : sent) {
      auto request = parse(*wire, Framing::Datagram, kLimits);
      answers.push_back(serialize(make_response(*request, 200, "OK")));
    }
    if (timed) state.ResumeTiming();
    for (std::size_t i = 0; i < outbox.size(); ++i) {
      auto parsed = parse(answers[i], Framing::Datagram, kLimits);
      Actions actions = layer.on_response(std::move(*parsed), now);
      for (const Action& action : actions.actions) {
        if (std::get_if<ResponseAction>(&action) != nullptr) {
          fixture.subscriptions.on_response(outbox[i].subscription, 200, now);
        }
      }
    }
    notifies += outbox.size();
  };

  // Into the steady state: timer K has started to expire client transactions.
  const std::uint64_t warmup = with_transactions ? 6 * 1'000'000'000ull / per_change.count() : 100;
  for (std::uint64_t i = 0; i < warmup; ++i) {
    one_change(false);
  }
  notifies = 0;
  bytes = 0;
  for (auto _ : state) {
    one_change(true);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(notifies));
  state.counters["notifies/change"] =
      static_cast<double>(notifies) / static_cast<double>(state.iterations());
  state.counters["bytes/notify"] =
      notifies == 0 ? 0 : static_cast<double>(bytes) / static_cast<double>(notifies);
  state.counters["live_client_tx"] = static_cast<double>(layer.client_count());
  state.counters["completed_client_tx"] = static_cast<double>(layer.completed_client_count());
}
BENCHMARK(BM_NotifyFanOut)
    ->ArgNames({"subs", "presentities", "transactions"})
    ->Args({10'000, 100, 0})
    ->Args({10'000, 100, 1})
    ->Args({10'000, 10'000, 0})
    ->Args({10'000, 10'000, 1});

// Memory held per subscription: 10,000 SUBSCRIBEs (parsed beforehand) answered, their first
// NOTIFYs sent and answered; the SUBSCRIBE server transactions (gone after timer J) are not
// counted, nor the engine's users.
void BM_SubscriptionMemory(benchmark::State& state) {
  const auto subscription_count = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t kPresentities = 100;
  double per_subscription = 0;
  double blocks_per_subscription = 0;
  double malloc_per_subscription = 0;
  for (auto _ : state) {
    Fixture fixture(subscription_count, kPresentities);
    std::vector<Message> requests;
    requests.reserve(subscription_count);
    for (std::size_t i = 0; i < subscription_count; ++i) {
      requests.push_back(subscribe_request(i, i % kPresentities));
    }
    const TimePoint now{std::chrono::hours(1)};
    malloc_trim(0);
    const long long bytes_before = g_live_bytes.load();
    const long long blocks_before = g_live_blocks.load();
    const std::size_t malloc_before = mallinfo2().uordblks;
    for (std::size_t i = 0; i < subscription_count; ++i) {
      fixture.add(requests[i], i, now);
    }
    const auto count = static_cast<double>(subscription_count);
    per_subscription = static_cast<double>(g_live_bytes.load() - bytes_before) / count;
    blocks_per_subscription = static_cast<double>(g_live_blocks.load() - blocks_before) / count;
    malloc_per_subscription =
        (static_cast<double>(mallinfo2().uordblks) - static_cast<double>(malloc_before)) / count;
  }
  state.counters["new_bytes/sub"] = per_subscription;
  state.counters["blocks/sub"] = blocks_per_subscription;
  state.counters["malloc_bytes/sub"] = malloc_per_subscription;
}
BENCHMARK(BM_SubscriptionMemory)->Arg(10'000)->Arg(100'000)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
