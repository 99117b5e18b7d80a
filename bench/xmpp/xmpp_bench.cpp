// Presence stanzas per second over the federation link, in process: a change in the engine,
// projected and encoded once per domain level, written once per subscribed remote JID
// (docs/benchmarks.md, "XMPP federation"). The link is a byte counter.

#include "xmpp/internal/federation.h"

#include <benchmark/benchmark.h>

#include <array>
#include <string>
#include <vector>

namespace presenced::xmpp {
namespace {

constexpr core::TimePoint kNow{std::chrono::milliseconds(1'800'000'000'000)};

class BenchDirectory final : public Directory {
 public:
  core::Engine& engine() override { return engine_; }
  std::vector<StoredRecord> stored(std::string_view) const override { return {}; }
  void save(std::vector<StoredRecord>, std::function<void(bool)> done) override { done(true); }
  void set_remote_presence(core::RemotePresence) override {}
  core::Engine engine_{core::EngineConfig(), 0};
};

StreamEvent subscribe_event(const std::string& from, const std::string& to) {
  StreamEvent event;
  event.element.ns = std::string(kComponentNs);
  event.element.name = "presence";
  event.element.attributes = {{"from", from}, {"to", to}, {"type", "subscribe"}};
  return event;
}

// range(0): users; range(1): remote subscribers per user, spread over range(2) domains.
void BM_FederationFanOut(benchmark::State& state) {
  const auto users = static_cast<int>(state.range(0));
  const auto per_user = static_cast<int>(state.range(1));
  const auto domains = static_cast<int>(state.range(2));
  BenchDirectory directory;
  XmppConfig config;
  config.domain = "uc.test";
  config.subscribe_burst = 1'000'000;
  for (int d = 0; d < domains; ++d) {
    config.domain_levels["d" + std::to_string(d) + ".test"] =
        d % 2 == 0 ? core::VisibilityLevel::Team : core::VisibilityLevel::Business;
  }
  std::size_t stanzas = 0;
  std::size_t bytes = 0;
  Federation federation(config, directory, [&](std::string out) {
    ++stanzas;
    bytes += out.size();
  });
  federation.on_ready();
  std::vector<core::UserIndex> indices;
  for (int u = 0; u < users; ++u) {
    const std::string id = "user" + std::to_string(u);
    indices.push_back(*directory.engine_.add_user({id}, {}, kNow));
    for (int s = 0; s < per_user; ++s) {
      const std::string from =
          "r" + std::to_string(s) + "@d" + std::to_string(s % domains) + ".test";
      federation.on_stanza(subscribe_event(from, id + "@uc.test"), kNow);
    }
  }
  const std::array<const char*, 3> states = {"Busy", "Away", "Available"};
  std::size_t change = 0;
  stanzas = 0;
  bytes = 0;
  for (auto _ : state) {
    core::ManualLayer manual;
    manual.state_id = states[change % states.size()];
    manual.note = "note " + std::to_string(change);
    manual.set_at = kNow;
    directory.engine_.set_manual(indices[change % indices.size()], manual, kNow);
    ++change;
  }
  state.counters["stanzas/s"] =
      benchmark::Counter(static_cast<double>(stanzas), benchmark::Counter::kIsRate);
  state.counters["bytes/stanza"] =
      stanzas == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(stanzas);
}
BENCHMARK(BM_FederationFanOut)
    ->ArgNames({"users", "per_user", "domains"})
    ->Args({100, 1, 1})
    ->Args({100, 100, 1})
    ->Args({100, 100, 10});

}  // namespace
}  // namespace presenced::xmpp

BENCHMARK_MAIN();
