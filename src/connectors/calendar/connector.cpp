// The connector's workers: each syncs the user due first, expands it and reports the layer.

#include "connectors/calendar/calendar.h"
#include "core/metrics_text.h"
#include "connectors/calendar/internal/source_sync.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace presenced::connectors::calendar {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Re-expands an unchanged calendar this often, so the window moves with the clock.
constexpr std::chrono::minutes kReexpandEvery{30};

struct UserState {
  std::unique_ptr<SourceSync> sync;
  SteadyClock::time_point due{};
  std::optional<core::TimePoint> last_good;
  std::optional<core::TimePoint> expanded_at;
  std::vector<core::Appointment> delivered;  // the layer as last reported
  bool reported_empty = true;
  bool busy = false;  // a worker is syncing it
};

std::vector<core::Appointment> live(const std::vector<core::Appointment>& all, core::TimePoint now) {
  std::vector<core::Appointment> out;
  std::copy_if(all.begin(), all.end(), std::back_inserter(out),
               [now](const core::Appointment& a) { return a.end > now; });
  return out;
}

class ConnectorImpl final : public Connector {
 public:
  ConnectorImpl(ConnectorConfig config, Deliver deliver, Clock clock)
      : config_(std::move(config)), deliver_(std::move(deliver)), clock_(std::move(clock)) {}
  ~ConnectorImpl() override { stop(); }

  void set_source(const std::string& user, std::optional<Source> source) override {
    {
      std::lock_guard lock(mutex_);
      inbox_.push_back({user, std::move(source), false});
    }
    wake_.notify_one();
  }

  void release_source(const std::string& user) override {
    {
      std::lock_guard lock(mutex_);
      inbox_.push_back({user, std::nullopt, true});
    }
    wake_.notify_one();
  }

  void start() override {
    // The clients are made here, before any worker runs: curl's global set-up is not
    // thread-safe in every libcurl build.
    const std::size_t workers = std::max<std::size_t>(config_.sync_workers, 1);
    for (std::size_t i = 0; i < workers; ++i) {
      clients_.push_back(std::make_unique<HttpClient>(http::HttpClientConfig::with(
          config_.timeout, config_.bounds.max_bytes, "presenced-calendar")));
    }
    for (auto& client : clients_) {
      workers_.emplace_back([this, http = client.get()] { run(*http); });
    }
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) {
      if (worker.joinable()) {
        worker.join();
      }
    }
    workers_.clear();
  }

  ConnectorStats stats() const override {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 private:
  // One worker: takes the user due first, syncs it without the lock, puts it back in the
  // schedule. A user is synced by one worker at a time; its source changes wait until then.
  void run(HttpClient& http) {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      take_inbox();
      const auto now = SteadyClock::now();
      if (schedule_.empty() || schedule_.begin()->first > now) {
        const auto next =
            schedule_.empty() ? now + std::chrono::seconds(1)
                              : std::min(schedule_.begin()->first, now + std::chrono::seconds(1));
        wake_.wait_until(lock, next, [this] { return stopping_ || !inbox_.empty(); });
        continue;
      }
      const std::string user = schedule_.begin()->second;
      schedule_.erase(schedule_.begin());
      UserState& state = users_.at(user);
      state.busy = true;
      lock.unlock();
      sync(http, user, state);
      lock.lock();
      state.busy = false;
      schedule_.emplace(state.due, user);
    }
  }

  // Under the lock. A change to a user being synced waits in deferred_ until that sync ends.
  void take_inbox() {
    std::vector<SourceChange> changes = std::move(deferred_);
    deferred_.clear();
    std::move(inbox_.begin(), inbox_.end(), std::back_inserter(changes));
    inbox_.clear();
    for (auto& [user, source, released] : changes) {
      auto it = users_.find(user);
      if (it != users_.end() && it->second.busy) {
        deferred_.push_back({user, std::move(source), released});
        continue;
      }
      if (it != users_.end()) {
        schedule_.erase({it->second.due, user});
      }
      if (!source) {
        if (it != users_.end()) {
          const bool had = !it->second.reported_empty;
          stats_.appointments -= std::min(stats_.appointments, it->second.delivered.size());
          users_.erase(it);
          if (had && !released) {
            deliver_({user, core::CalendarLayer{}, true, {}, clock_()});
          }
        }
        continue;
      }
      UserState& state = users_[user];
      if (!state.sync || !(state.sync->source() == *source)) {
        state.sync = std::make_unique<SourceSync>(std::move(*source), config_);
        state.expanded_at.reset();
      }
      state.due = SteadyClock::now();
      schedule_.emplace(state.due, user);
    }
    stats_.sources = users_.size();
  }

  void sync(HttpClient& http, const std::string& user, UserState& state) {
    state.due = SteadyClock::now() + config_.interval;
    const core::TimePoint now = clock_();
    auto fetched = state.sync->fetch(http);
    if (!fetched) {
      fail(user, state, fetched.error(), now);
      return;
    }
    state.last_good = now;
    if (!*fetched && state.expanded_at && now - *state.expanded_at < kReexpandEvery) {
      count([](ConnectorStats& s) { ++s.syncs_unchanged; });
      deliver_({user, std::nullopt, true, {}, now});
      return;
    }
    ExpansionBounds bounds = config_.bounds;
    bounds.from = now - config_.past;
    bounds.to = now + config_.ahead;
    std::vector<core::Appointment> all;
    std::size_t truncated = 0;
    std::string problem;
    for (const std::string* text : state.sync->documents()) {
      auto expanded = expand_ics(*text, config_.mapping, bounds);
      if (!expanded) {
        // One bad object does not hide the others; the report names it.
        problem = expanded.error().message;
        count([](ConnectorStats& s) { ++s.errors_parse; });
        continue;
      }
      truncated += expanded->truncated_events;
      truncated += merge_appointments(all, std::move(expanded->appointments),
                                      bounds.max_instances_per_calendar) > 0;
    }
    state.expanded_at = now;
    std::vector<core::Appointment> current = live(all, now);
    const bool changed = current != live(state.delivered, now) || state.reported_empty;
    count([&](ConnectorStats& s) {
      ++s.syncs_ok;
      s.truncated_events += truncated;
    });
    if (truncated > 0) {
      spdlog::warn("calendar {}: {} events cut at the expansion bounds", user, truncated);
    }
    std::optional<core::CalendarLayer> layer;
    if (changed) {
      count([&](ConnectorStats& s) {
        s.appointments = s.appointments - std::min(s.appointments, state.delivered.size()) +
                         current.size();
      });
      state.delivered = current;
      state.reported_empty = false;
      layer = core::CalendarLayer{std::move(current)};
    }
    deliver_({user, std::move(layer), problem.empty(), problem, now});
  }

  void fail(const std::string& user, UserState& state, const core::Error& error,
            core::TimePoint now) {
    count([&](ConnectorStats& s) {
      switch (error.code) {
        case core::ErrorCode::Unauthenticated: ++s.errors_unauthorized; break;
        case core::ErrorCode::Unavailable: ++s.errors_unreachable; break;
        case core::ErrorCode::InvalidArgument:
        case core::ErrorCode::ResourceExhausted: ++s.errors_parse; break;
        default: ++s.errors_http; break;
      }
    });
    spdlog::warn("calendar {}: {}", user, error.message);
    std::optional<core::CalendarLayer> layer;
    const bool too_old = !state.last_good || now - *state.last_good >= config_.keep_stale;
    if (too_old && !state.reported_empty) {
      // Never a stuck busy: a calendar we cannot read for keep_stale is dropped.
      spdlog::warn("calendar {}: no good sync for {} s, its appointments are dropped", user,
                   config_.keep_stale.count());
      count([&](ConnectorStats& s) {
        ++s.stale_dropped;
        s.appointments -= std::min(s.appointments, state.delivered.size());
      });
      state.delivered.clear();
      state.reported_empty = true;
      layer = core::CalendarLayer{};
    }
    deliver_({user, std::move(layer), false, error.message, now});
  }

  template <typename F>
  void count(F&& f) {
    std::lock_guard lock(mutex_);
    f(stats_);
  }

  const ConnectorConfig config_;
  const Deliver deliver_;
  const Clock clock_;
  // Guards inbox_, stats_, schedule_, users_ (the map; a UserState itself belongs to the
  // worker that marked it busy, or to whoever holds the lock while it is not).
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  struct SourceChange {
    std::string user;
    std::optional<Source> source;  // nullopt: removed or released
    bool released = false;         // removed without reporting an empty layer
  };
  std::vector<SourceChange> inbox_;
  std::vector<SourceChange> deferred_;
  std::atomic<bool> stopping_ = false;
  ConnectorStats stats_;
  std::map<std::string, UserState> users_;
  std::set<std::pair<SteadyClock::time_point, std::string>> schedule_;  // users not in a sync
  std::vector<std::unique_ptr<HttpClient>> clients_;  // one per worker
  std::vector<std::thread> workers_;
};

}  // namespace

std::unique_ptr<Connector> Connector::create(ConnectorConfig config, Deliver deliver, Clock clock) {
  return std::make_unique<ConnectorImpl>(std::move(config), std::move(deliver), std::move(clock));
}

void render_metrics(const ConnectorStats& s, std::string& out) {
  core::metric_family(out, "presenced_calendar_syncs_total",
                      "Calendar syncs that succeeded, by whether anything changed.",
                      "counter");
  out += fmt::format("presenced_calendar_syncs_total{{result=\"changed_or_expanded\"}} {}\n"
                     "presenced_calendar_syncs_total{{result=\"unchanged\"}} {}\n",
                     s.syncs_ok, s.syncs_unchanged);
  core::metric_family(out, "presenced_calendar_errors_total",
                      "Calendar syncs that failed, by cause.", "counter");
  out += fmt::format("presenced_calendar_errors_total{{cause=\"unauthorized\"}} {}\n"
                     "presenced_calendar_errors_total{{cause=\"unreachable\"}} {}\n"
                     "presenced_calendar_errors_total{{cause=\"http\"}} {}\n"
                     "presenced_calendar_errors_total{{cause=\"parse\"}} {}\n",
                     s.errors_unauthorized, s.errors_unreachable, s.errors_http, s.errors_parse);
  core::metric_family(out, "presenced_calendar_stale_dropped_total",
                      "Calendars dropped after no good sync for the keep-stale time.", "counter");
  out += fmt::format("presenced_calendar_stale_dropped_total {}\n", s.stale_dropped);
  core::metric_family(out, "presenced_calendar_truncated_events_total",
                      "Events whose expansion stopped at a bound.", "counter");
  out += fmt::format("presenced_calendar_truncated_events_total {}\n", s.truncated_events);
  core::metric_family(out, "presenced_calendar_sources", "Users with a calendar source.", "gauge");
  out += fmt::format("presenced_calendar_sources {}\n", s.sources);
  core::metric_family(out, "presenced_calendar_appointments",
                      "Appointments in the layers last delivered.", "gauge");
  out += fmt::format("presenced_calendar_appointments {}\n", s.appointments);
}

}  // namespace presenced::connectors::calendar
