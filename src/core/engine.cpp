#include "core/engine.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <unordered_set>

namespace presenced::core {

// ---- WatcherQueue ----

void WatcherQueue::push(Delivery delivery) {
  entries_.push_back(std::move(delivery));
  if (entries_.size() > soft_limit_) {
    compact();
  }
}

std::vector<Delivery> WatcherQueue::take() {
  std::vector<Delivery> out;
  out.swap(entries_);
  return out;
}

// Keeps the newest entry per user, in the order of those newest entries.
void WatcherQueue::compact() {
  std::unordered_set<UserIndex> seen;
  seen.reserve(entries_.size());
  std::size_t keep = entries_.size();
  for (std::size_t i = entries_.size(); i-- > 0;) {
    if (seen.insert(entries_[i].user).second) {
      entries_[--keep] = std::move(entries_[i]);
    }
  }
  coalesced_ += keep;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(keep));
  // Never compact again before the queue has grown by half its size: amortized O(1) per push.
  soft_limit_ = std::max(soft_limit_, entries_.size() + entries_.size() / 2);
}

// ---- Engine internals ----

struct Engine::Subscriber {
  WatcherId watcher;
  VisibilityLevel level;
  FormatId format;
};

struct Engine::EndedCall {
  std::string device;
  std::string call_id;
  TimePoint at;
};

struct Engine::UserState {
  UserId id;
  UserSettings settings;
  Layers layers;
  Presence presence;
  std::uint64_t counter = 0;
  std::deque<EndedCall> ended_calls;  // oldest first, bounded by EngineConfig
  bool in_call = false;               // a connected or held call at the last aggregation
  std::optional<TimePoint> call_ended;  // set by an Ended event, taken by reaggregate()
  std::optional<TimePoint> last_call_end;
  std::vector<Subscriber> subscribers;
  std::vector<UserIndex> contacts;
  std::optional<std::multimap<TimePoint, UserIndex>::iterator> deadline;
};

struct Engine::Watcher {
  UserIndex user = 0;  // whose eyes it looks through, unless it is a peer
  std::optional<VisibilityLevel> peer_level;  // set for a peer watcher (another server)
  FormatId format = 0;
  bool live = false;
  WatcherSink* sink = nullptr;
  WatcherQueue queue;
  std::vector<UserIndex> subscriptions;
};

class Engine::Catalog final : public StateCatalog {
 public:
  const StateDefinition* find(std::string_view state_id) const override {
    for (const StateDefinition& s : built_in_states()) {
      if (s.id == state_id) {
        return &s;
      }
    }
    auto it = custom_.find(std::string(state_id));
    return it == custom_.end() ? nullptr : &it->second;
  }
  std::map<std::string, StateDefinition> custom_;
};

Engine::Engine(EngineConfig config, std::uint64_t sequence_base)
    : config_(config), sequence_base_(sequence_base), catalog_(std::make_unique<Catalog>()) {}

Engine::~Engine() = default;

Engine::UserState& Engine::user_state(UserIndex user) {
  assert(exists(user));
  return *users_[user];
}

const Engine::UserState& Engine::user_state(UserIndex user) const {
  assert(exists(user));
  return *users_[user];
}

// ---- Users ----

Result<UserIndex> Engine::add_user(UserId id, UserSettings settings, TimePoint now) {
  if (by_id_.contains(id.value)) {
    return Error::conflict("user " + id.value + " already exists");
  }
  // Indices are never reused: a watcher or pair level naming a removed user must not start to
  // refer to a new one.
  const auto index = static_cast<UserIndex>(users_.size());
  auto state = std::make_unique<UserState>();
  state->id = id;
  state->settings = settings;
  users_.push_back(std::move(state));
  by_id_.emplace(std::move(id.value), index);
  reaggregate(index, now);
  return index;
}

void Engine::reserve_users(std::size_t count) {
  users_.reserve(users_.size() + count);
  by_id_.reserve(by_id_.size() + count);
}

Result<void> Engine::remove_user(UserIndex user) {
  if (!exists(user)) {
    return Error::not_found("no such user");
  }
  for (ChangeListener* listener : listeners_) {
    listener->on_remove(user);
  }
  // Its index may be reused by a user whose sequence meets one of these.
  for (SnapshotSlot& slot : snapshots_) {
    if (slot.user == user) {
      slot = {};
    }
  }
  UserState& state = user_state(user);
  // Watchers of this user see it go: a last "unknown" state, then no more events.
  Presence gone;
  gone.availability = Availability::PresenceUnknown;
  gone.activity = Activity::PresenceUnknown;
  state.presence = gone;
  ++state.counter;
  publish(user);
  for (const Subscriber& s : state.subscribers) {
    auto& subs = watchers_[s.watcher].subscriptions;
    subs.erase(std::remove(subs.begin(), subs.end(), user), subs.end());
    --stats_.subscriptions;
  }
  schedule(user, std::nullopt);
  by_id_.erase(state.id.value);
  users_[user].reset();
  return {};
}

std::optional<UserIndex> Engine::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) {
    return std::nullopt;
  }
  return it->second;
}

const UserId& Engine::id_of(UserIndex user) const { return user_state(user).id; }

bool Engine::exists(UserIndex user) const { return user < users_.size() && users_[user]; }

const UserSettings& Engine::settings(UserIndex user) const { return user_state(user).settings; }

void Engine::set_settings(UserIndex user, UserSettings settings, TimePoint now) {
  user_state(user).settings = std::move(settings);
  reaggregate(user, now);
}

// ---- States ----

Result<void> Engine::put_state(StateDefinition state, TimePoint now) {
  for (const StateDefinition& s : built_in_states()) {
    if (s.id == state.id) {
      return Error::conflict("state " + state.id + " is built in");
    }
  }
  const std::string id = state.id;
  catalog_->custom_[id] = std::move(state);
  // Users in that state show its new definition.
  for (UserIndex u = 0; u < users_.size(); ++u) {
    if (users_[u] && users_[u]->layers.manual && users_[u]->layers.manual->state_id == id) {
      reaggregate(u, now);
    }
  }
  return {};
}

Result<void> Engine::remove_state(std::string_view id, TimePoint now) {
  auto it = catalog_->custom_.find(std::string(id));
  if (it == catalog_->custom_.end()) {
    return Error::not_found("no admin-defined state " + std::string(id));
  }
  catalog_->custom_.erase(it);
  for (UserIndex u = 0; u < users_.size(); ++u) {
    if (users_[u] && users_[u]->layers.manual && users_[u]->layers.manual->state_id == id) {
      reaggregate(u, now);
    }
  }
  return {};
}

const StateCatalog& Engine::states() const { return *catalog_; }

std::vector<StateDefinition> Engine::list_states() const {
  std::vector<StateDefinition> out = built_in_states();
  std::vector<StateDefinition> custom;
  for (const auto& [id, s] : catalog_->custom_) {
    custom.push_back(s);
  }
  std::stable_sort(custom.begin(), custom.end(),
                   [](const StateDefinition& a, const StateDefinition& b) {
                     return a.order < b.order;
                   });
  out.insert(out.end(), custom.begin(), custom.end());
  return out;
}

// ---- Layers ----

void Engine::set_manual(UserIndex user, std::optional<ManualLayer> manual, TimePoint now) {
  user_state(user).layers.manual = std::move(manual);
  reaggregate(user, now);
}

std::string_view to_string(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::Applied:
      return "applied";
    case CallOutcome::Duplicate:
      return "duplicate";
    case CallOutcome::IgnoredEnded:
      return "ignored_ended";
    case CallOutcome::IgnoredUnknownEnd:
      return "ignored_unknown_end";
    case CallOutcome::IgnoredBackwards:
      return "ignored_backwards";
  }
  return "unknown";
}

namespace {

// Connected or held: the call was answered and the user is on it.
bool answered(CallState state) { return state == CallState::Connected || state == CallState::Held; }

// Decides what one event does to a known call. A call only moves forward: ringing, then
// connected and held in any order, then ended.
CallOutcome outcome_for(const Call& known, CallState event) {
  if (event == known.state) {
    return CallOutcome::Duplicate;
  }
  if (event == CallState::Ringing && answered(known.state)) {
    return CallOutcome::IgnoredBackwards;  // a late or retried ringing
  }
  return CallOutcome::Applied;
}

}  // namespace

// Forgets ended calls past either bound; the oldest go first.
void Engine::forget_ended_calls(UserState& state, TimePoint now) const {
  auto& ended = state.ended_calls;
  while (!ended.empty() && (ended.size() > config_.ended_calls_kept ||
                            ended.front().at + config_.ended_calls_age <= now)) {
    ended.pop_front();
  }
}

CallOutcome Engine::apply_call(UserIndex user, Call call, TimePoint now) {
  UserState& state = user_state(user);
  auto& calls = state.layers.telephony.calls;
  auto it = std::find_if(calls.begin(), calls.end(), [&](const Call& c) {
    return c.device == call.device && c.call_id == call.call_id;
  });
  if (it == calls.end()) {
    return apply_unknown_call(state, user, std::move(call), now);
  }
  const CallOutcome outcome = outcome_for(*it, call.state);
  if (outcome == CallOutcome::IgnoredBackwards) {
    return outcome;
  }
  if (call.state == CallState::Ended) {
    if (answered(it->state)) {
      state.call_ended = now;
    }
    state.ended_calls.push_back({std::move(call.device), std::move(call.call_id), now});
    forget_ended_calls(state, now);
    calls.erase(it);
  } else {
    // A duplicate still shows that the call is alive: it renews the lease, which no watcher
    // sees, so it queues nothing.
    it->state = call.state;
    it->direction = call.direction;
    it->updated_at = now;
  }
  reaggregate(user, now);
  return outcome;
}

// An event for a call not in the layer: new, ended lately, or an end we never saw begin.
CallOutcome Engine::apply_unknown_call(UserState& state, UserIndex user, Call call,
                                       TimePoint now) {
  forget_ended_calls(state, now);
  const bool ended_lately =
      std::any_of(state.ended_calls.begin(), state.ended_calls.end(), [&](const EndedCall& e) {
        return e.device == call.device && e.call_id == call.call_id;
      });
  if (ended_lately) {
    return call.state == CallState::Ended ? CallOutcome::Duplicate : CallOutcome::IgnoredEnded;
  }
  if (call.state == CallState::Ended) {
    // Remembered, so that the ringing or connected it overtook is not taken for a new call.
    state.ended_calls.push_back({std::move(call.device), std::move(call.call_id), now});
    forget_ended_calls(state, now);
    return CallOutcome::IgnoredUnknownEnd;
  }
  call.started_at = now;
  call.updated_at = now;
  state.layers.telephony.calls.push_back(std::move(call));
  reaggregate(user, now);
  return CallOutcome::Applied;
}

void Engine::set_calendar(UserIndex user, CalendarLayer calendar, TimePoint now) {
  user_state(user).layers.calendar = std::move(calendar);
  reaggregate(user, now);
}

void Engine::set_remote(UserIndex user, std::optional<RemotePresence> remote, TimePoint now) {
  user_state(user).layers.remote = std::move(remote);
  reaggregate(user, now);
}

void Engine::set_teams(UserIndex user, std::optional<TeamsLayer> teams, TimePoint now) {
  user_state(user).layers.teams = std::move(teams);
  reaggregate(user, now);
}

// A session with a lease is gone once the lease runs out, whether or not a timer ran since.
static bool lapsed(const Session& session, TimePoint now) {
  return session.lease_until && *session.lease_until <= now;
}

bool Engine::open_session(UserIndex user, Session session, TimePoint now) {
  auto& sessions = user_state(user).layers.sessions.sessions;
  // A lapsed lease is a logout even if no timer has run since: without this, the next session
  // would not count as a login and the start-session state would not be applied.
  std::erase_if(sessions, [&](const Session& s) { return lapsed(s, now); });
  const bool first = sessions.empty();
  auto it = std::find_if(sessions.begin(), sessions.end(),
                         [&](const Session& s) { return s.client_id == session.client_id; });
  if (it != sessions.end()) {
    *it = std::move(session);  // a refresh of a reported session
  } else {
    sessions.push_back(std::move(session));
  }
  reaggregate(user, now);
  return first;
}

bool Engine::close_session(UserIndex user, std::string_view client_id, TimePoint now) {
  auto& sessions = user_state(user).layers.sessions.sessions;
  auto it = std::find_if(sessions.begin(), sessions.end(),
                         [&](const Session& s) { return s.client_id == client_id; });
  if (it == sessions.end()) {
    return false;
  }
  sessions.erase(it);
  // Lapsed ones go now, so this logout is reported here and not again as a lapsed one.
  std::erase_if(sessions, [&](const Session& s) { return lapsed(s, now); });
  reaggregate(user, now);
  return sessions.empty();
}

bool Engine::report_input(UserIndex user, std::string_view client_id, InputState input,
                          TimePoint since, TimePoint now) {
  auto& sessions = user_state(user).layers.sessions.sessions;
  auto it = std::find_if(sessions.begin(), sessions.end(),
                         [&](const Session& s) { return s.client_id == client_id; });
  if (it == sessions.end()) {
    return false;
  }
  it->input = input;
  it->input_since = since;
  reaggregate(user, now);
  return true;
}

void Engine::set_publication(UserIndex user, std::string_view replaced_etag,
                             Publication publication, TimePoint now) {
  auto& publications = user_state(user).layers.published.publications;
  const std::string_view match = replaced_etag.empty() ? publication.etag : replaced_etag;
  auto it = std::find_if(publications.begin(), publications.end(),
                         [&](const Publication& p) { return p.etag == match; });
  if (it != publications.end()) {
    *it = std::move(publication);
  } else {
    publications.push_back(std::move(publication));
  }
  reaggregate(user, now);
}

bool Engine::remove_publication(UserIndex user, std::string_view etag, TimePoint now) {
  auto& publications = user_state(user).layers.published.publications;
  const auto removed = std::erase_if(publications, [&](const Publication& p) {
    return p.etag == etag && p.expires_at > now;
  });
  reaggregate(user, now);
  return removed > 0;
}

void Engine::restore_publications(UserIndex user, PublishedLayer published, TimePoint now) {
  user_state(user).layers.published = std::move(published);
  reaggregate(user, now);
}

const Layers& Engine::layers(UserIndex user) const { return user_state(user).layers; }

void Engine::restore(UserIndex user, std::optional<ManualLayer> manual, TelephonyLayer telephony,
                     CalendarLayer calendar, TimePoint now) {
  Layers& layers = user_state(user).layers;
  layers.manual = std::move(manual);
  layers.telephony = std::move(telephony);
  layers.calendar = std::move(calendar);
  reaggregate(user, now);
}

// ---- Reads ----

const Presence& Engine::presence(UserIndex user) const { return user_state(user).presence; }

std::uint64_t Engine::sequence(UserIndex user) const {
  return sequence_base_ + user_state(user).counter;
}

std::optional<TimePoint> Engine::last_call_end(UserIndex user) const {
  return user_state(user).last_call_end;
}

VisibilityLevel Engine::level_for(UserIndex user, UserIndex watcher) const {
  return effective_level(pair_level(user, watcher), user == watcher, config_.visibility);
}

Presence Engine::presence_for(UserIndex user, UserIndex watcher) const {
  return project(presence(user), level_for(user, watcher));
}

// ---- Visibility ----

namespace {
std::uint64_t pair_key(UserIndex owner, UserIndex watcher) {
  return (static_cast<std::uint64_t>(owner) << 32) | watcher;
}
}  // namespace

void Engine::set_visibility(UserIndex owner, UserIndex watcher,
                            std::optional<VisibilityLevel> level) {
  if (level) {
    pair_levels_[pair_key(owner, watcher)] = *level;
  } else {
    pair_levels_.erase(pair_key(owner, watcher));
  }
  refresh_levels(owner, watcher);
}

std::optional<VisibilityLevel> Engine::pair_level(UserIndex owner, UserIndex watcher) const {
  auto it = pair_levels_.find(pair_key(owner, watcher));
  if (it == pair_levels_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void Engine::set_policy(VisibilityPolicy policy) {
  config_.visibility = policy;
  for (UserIndex u = 0; u < users_.size(); ++u) {
    if (!users_[u]) {
      continue;
    }
    std::vector<UserIndex> watcher_users;
    for (const Subscriber& s : users_[u]->subscribers) {
      if (!watchers_[s.watcher].peer_level) {
        watcher_users.push_back(watchers_[s.watcher].user);
      }
    }
    std::sort(watcher_users.begin(), watcher_users.end());
    watcher_users.erase(std::unique(watcher_users.begin(), watcher_users.end()),
                        watcher_users.end());
    for (UserIndex w : watcher_users) {
      refresh_levels(u, w);
    }
  }
}

// A level change takes effect at once: affected watchers get the state as they may now see it.
void Engine::refresh_levels(UserIndex owner, UserIndex watcher_user) {
  if (!exists(owner)) {
    return;
  }
  UserState& state = user_state(owner);
  const VisibilityLevel level = level_for(owner, watcher_user);
  for (Subscriber& s : state.subscribers) {
    const Watcher& w = watchers_[s.watcher];
    if (!w.peer_level && w.user == watcher_user && s.level != level) {
      deliver_at_level(s, owner, level);
    }
  }
  std::fill(encode_cache_.begin(), encode_cache_.end(), nullptr);
}

void Engine::deliver_at_level(Subscriber& subscriber, UserIndex owner, VisibilityLevel level) {
  Watcher& w = watchers_[subscriber.watcher];
  subscriber.level = level;
  const bool was_empty = w.queue.empty();
  w.queue.push({owner, sequence(owner), encode_for(owner, subscriber.format, level)});
  ++stats_.deliveries;
  if (was_empty && w.sink != nullptr) {
    w.sink->wake();
  }
}

VisibilityLevel Engine::watcher_level(const Watcher& watcher, UserIndex user) const {
  return watcher.peer_level ? *watcher.peer_level : level_for(user, watcher.user);
}

// ---- Contacts ----

void Engine::set_contacts(UserIndex owner, std::vector<UserIndex> contacts) {
  user_state(owner).contacts = std::move(contacts);
}

const std::vector<UserIndex>& Engine::contacts(UserIndex owner) const {
  return user_state(owner).contacts;
}

// ---- Watchers ----

FormatId Engine::add_format(std::unique_ptr<PresenceEncoder> encoder) {
  encoders_.push_back(std::move(encoder));
  encode_cache_.assign(encoders_.size() * kVisibilityLevels, nullptr);
  return static_cast<FormatId>(encoders_.size() - 1);
}

WatcherId Engine::add_watcher(UserIndex watcher_user, FormatId format, WatcherSink* sink) {
  WatcherId id;
  if (!free_watchers_.empty()) {
    id = free_watchers_.back();
    free_watchers_.pop_back();
  } else {
    id = static_cast<WatcherId>(watchers_.size());
    watchers_.emplace_back();
  }
  Watcher& w = watchers_[id];
  w.user = watcher_user;
  w.peer_level.reset();
  w.format = format;
  w.live = true;
  w.sink = sink;
  w.queue = WatcherQueue(config_.queue_soft_limit);
  w.subscriptions.clear();
  ++stats_.watchers;
  return id;
}

WatcherId Engine::add_peer_watcher(VisibilityLevel level, FormatId format, WatcherSink* sink) {
  const WatcherId id = add_watcher(0, format, sink);
  watchers_[id].peer_level = level;
  return id;
}

void Engine::set_peer_level(WatcherId watcher, VisibilityLevel level) {
  Watcher& w = watchers_[watcher];
  if (!w.live || !w.peer_level || *w.peer_level == level) {
    return;
  }
  w.peer_level = level;
  for (UserIndex user : w.subscriptions) {
    if (!exists(user)) {
      continue;
    }
    for (Subscriber& s : user_state(user).subscribers) {
      if (s.watcher == watcher) {
        deliver_at_level(s, user, level);
      }
    }
    std::fill(encode_cache_.begin(), encode_cache_.end(), nullptr);  // it holds one user's
  }
}

void Engine::remove_watcher(WatcherId watcher) {
  if (watcher >= watchers_.size() || !watchers_[watcher].live) {
    return;
  }
  Watcher& w = watchers_[watcher];
  for (UserIndex user : w.subscriptions) {
    if (!exists(user)) {
      continue;
    }
    auto& subs = user_state(user).subscribers;
    auto it = std::find_if(subs.begin(), subs.end(),
                           [&](const Subscriber& s) { return s.watcher == watcher; });
    if (it != subs.end()) {
      *it = subs.back();
      subs.pop_back();
      --stats_.subscriptions;
    }
  }
  w = Watcher{};
  free_watchers_.push_back(watcher);
  --stats_.watchers;
}

void Engine::subscribe(WatcherId watcher, UserIndex user, std::optional<std::uint64_t> since) {
  Watcher& w = watchers_[watcher];
  if (!w.live || !exists(user)) {
    return;
  }
  UserState& state = user_state(user);
  const VisibilityLevel level = watcher_level(w, user);
  const bool already =
      std::find(w.subscriptions.begin(), w.subscriptions.end(), user) != w.subscriptions.end();
  if (!already) {
    state.subscribers.push_back({watcher, level, w.format});
    w.subscriptions.push_back(user);
    ++stats_.subscriptions;
  }
  if (since && *since >= sequence(user)) {
    return;  // the resuming client already has this state
  }
  const bool was_empty = w.queue.empty();
  w.queue.push({user, sequence(user), encode_current(user, w.format, level)});
  ++stats_.deliveries;
  if (was_empty && w.sink != nullptr) {
    w.sink->wake();
  }
}

void Engine::unsubscribe(WatcherId watcher, UserIndex user) {
  Watcher& w = watchers_[watcher];
  if (!w.live) {
    return;
  }
  auto it = std::find(w.subscriptions.begin(), w.subscriptions.end(), user);
  if (it == w.subscriptions.end()) {
    return;
  }
  *it = w.subscriptions.back();
  w.subscriptions.pop_back();
  if (exists(user)) {
    auto& subs = user_state(user).subscribers;
    auto s = std::find_if(subs.begin(), subs.end(),
                          [&](const Subscriber& sub) { return sub.watcher == watcher; });
    if (s != subs.end()) {
      *s = subs.back();
      subs.pop_back();
    }
  }
  --stats_.subscriptions;
}

WatcherQueue& Engine::queue(WatcherId watcher) { return watchers_[watcher].queue; }

std::size_t Engine::subscription_count(WatcherId watcher) const {
  return watchers_[watcher].subscriptions.size();
}

void Engine::add_listener(ChangeListener* listener) { listeners_.push_back(listener); }

void Engine::remove_listener(ChangeListener* listener) {
  listeners_.erase(std::remove(listeners_.begin(), listeners_.end(), listener), listeners_.end());
}

// ---- Time ----

std::optional<TimePoint> Engine::next_deadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

void Engine::advance(TimePoint now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const UserIndex user = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    user_state(user).deadline.reset();
    reaggregate(user, now);
  }
}

std::vector<UserIndex> Engine::take_lapsed_logouts() {
  return std::exchange(lapsed_logouts_, {});
}

void Engine::schedule(UserIndex user, std::optional<TimePoint> at) {
  UserState& state = user_state(user);
  if (state.deadline) {
    if (at && (*state.deadline)->first == *at) {
      return;
    }
    deadlines_.erase(*state.deadline);
    state.deadline.reset();
  }
  if (at) {
    state.deadline = deadlines_.emplace(*at, user);
  }
}

// Drops what has lapsed, so layers show only live entries (honest liveness). Returns the latest
// lease end of the connected or held calls it dropped: the moment such a call counts as ended.
static std::optional<TimePoint> prune(Layers& layers, const RuleConfig& rules, TimePoint now) {
  if (layers.manual && layers.manual->until && *layers.manual->until <= now) {
    layers.manual.reset();
  }
  std::optional<TimePoint> call_lapsed;
  std::erase_if(layers.telephony.calls, [&](const Call& c) {
    const Duration lease = c.state == CallState::Ringing ? rules.ringing_lease : rules.call_lease;
    const TimePoint expires = c.updated_at + lease;
    if (expires > now) {
      return false;
    }
    if (answered(c.state) && (!call_lapsed || expires > *call_lapsed)) {
      call_lapsed = expires;
    }
    return true;
  });
  std::erase_if(layers.calendar.appointments, [&](const Appointment& a) { return a.end <= now; });
  std::erase_if(layers.sessions.sessions,
                [&](const Session& s) { return lapsed(s, now); });
  std::erase_if(layers.published.publications,
                [&](const Publication& p) { return p.expires_at <= now; });
  return call_lapsed;
}

void Engine::reaggregate(UserIndex user, TimePoint now) {
  UserState& state = user_state(user);
  const bool had_sessions = !state.layers.sessions.sessions.empty();
  const std::optional<TimePoint> call_lapsed = prune(state.layers, config_.rules, now);
  // The last connected or held call is over when none is left: ended by an event (at the
  // event) or by its lease (at the lease end), whichever came last.
  const auto& calls = state.layers.telephony.calls;
  const bool in_call_now =
      std::any_of(calls.begin(), calls.end(), [](const Call& c) { return answered(c.state); });
  const std::optional<TimePoint> call_ended =
      std::max(std::exchange(state.call_ended, std::nullopt), call_lapsed);
  if (state.in_call && !in_call_now && call_ended) {
    state.last_call_end = call_ended;
  }
  state.in_call = in_call_now;
  if (had_sessions && state.layers.sessions.sessions.empty()) {
    lapsed_logouts_.push_back(user);
  }
  Aggregated result = aggregate(state.layers, state.settings, *catalog_, config_.rules, now);
  ++stats_.aggregations;
  schedule(user, result.next_change);
  if (result.presence == state.presence && state.counter != 0) {
    return;
  }
  state.presence = std::move(result.presence);
  ++state.counter;
  publish(user);
}

std::shared_ptr<const std::string> Engine::encode_for(UserIndex user, FormatId format,
                                                      VisibilityLevel level) {
  auto& slot = encode_cache_[format * kVisibilityLevels + static_cast<std::size_t>(level)];
  if (!slot) {
    const UserState& state = user_state(user);
    slot = std::make_shared<const std::string>(encoders_[format]->encode(
        state.id, project(state.presence, level), sequence(user), level));
    ++stats_.encodings;
  }
  return slot;
}

std::shared_ptr<const std::string> Engine::encode_current(UserIndex user, FormatId format,
                                                          VisibilityLevel level) {
  constexpr std::size_t kSnapshotSlots = 4096;  // a power of two
  if (snapshots_.empty()) {
    snapshots_.resize(kSnapshotSlots);
  }
  const auto kind =
      static_cast<std::uint32_t>(format * kVisibilityLevels + static_cast<std::size_t>(level));
  SnapshotSlot& slot = snapshots_[(user * kVisibilityLevels + kind) & (kSnapshotSlots - 1)];
  const std::uint64_t seq = sequence(user);
  if (slot.user == user && slot.kind == kind && slot.sequence == seq) {
    if (auto shared = slot.payload.lock()) {
      return shared;
    }
  }
  const UserState& state = user_state(user);
  auto payload = std::make_shared<const std::string>(
      encoders_[format]->encode(state.id, project(state.presence, level), seq, level));
  ++stats_.encodings;
  slot = {user, kind, seq, payload};
  return payload;
}

// One aggregation, one projection and encoding per (format, level), then a pointer copy per
// watcher.
void Engine::publish(UserIndex user) {
  ++stats_.changes;
  UserState& state = user_state(user);
  const std::uint64_t seq = sequence(user);
  for (const Subscriber& s : state.subscribers) {
    Watcher& w = watchers_[s.watcher];
    const bool was_empty = w.queue.empty();
    w.queue.push({user, seq, encode_for(user, s.format, s.level)});
    if (was_empty && w.sink != nullptr) {
      w.sink->wake();
    }
  }
  stats_.deliveries += state.subscribers.size();
  std::fill(encode_cache_.begin(), encode_cache_.end(), nullptr);
  for (ChangeListener* listener : listeners_) {
    listener->on_change(user, state.presence, seq);
  }
}

}  // namespace presenced::core
