#pragma once

// The presence engine: owns every user's layers, aggregates once per change, projects once per
// visibility level, encodes once per (level, format) and hands the result to each watcher's
// bounded queue. Pure: time comes in as a parameter, nothing here does I/O.
//
// Thread-safety: none. One engine is owned by one thread (its shard's executor); adapters post
// work there.

#include "core/aggregation.h"
#include "core/model.h"
#include "core/result.h"
#include "core/visibility.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace presenced::core {

using UserIndex = std::uint32_t;
using WatcherId = std::uint32_t;
using FormatId = std::uint8_t;

// Encodes one projected presence for one wire format (JSON for the WebSocket, PIDF for SIP...).
class PresenceEncoder {
 public:
  virtual ~PresenceEncoder() = default;
  virtual std::string encode(const UserId& user, const Presence& projected, std::uint64_t sequence,
                             VisibilityLevel level) const = 0;
};

struct Delivery {
  UserIndex user = 0;
  std::uint64_t sequence = 0;
  std::shared_ptr<const std::string> payload;
};

// One watcher's outbound queue. Past `soft_limit` entries it keeps only the newest entry per
// user, so a slow watcher skips intermediate states and never holds the engine back; it can
// then hold at most one entry per subscribed user.
class WatcherQueue {
 public:
  WatcherQueue() = default;
  explicit WatcherQueue(std::size_t soft_limit) : soft_limit_(soft_limit) {}
  void push(Delivery delivery);
  // Moves the queued deliveries out, oldest first.
  std::vector<Delivery> take();
  bool empty() const { return entries_.empty(); }
  std::size_t size() const { return entries_.size(); }
  std::uint64_t coalesced() const { return coalesced_; }

 private:
  void compact();
  std::vector<Delivery> entries_;
  std::size_t soft_limit_ = 256;
  std::uint64_t coalesced_ = 0;
};

// The connection side of a watcher; wake() is called on the engine's thread when its queue goes
// from empty to non-empty.
class WatcherSink {
 public:
  virtual ~WatcherSink() = default;
  virtual void wake() = 0;
};

// Told of every visible change after it is queued to watchers (SIP, federation, metrics).
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  virtual void on_change(UserIndex user, const Presence& presence, std::uint64_t sequence) = 0;
  // Told before a user is removed, while its id, layers and watchers are still there.
  virtual void on_remove(UserIndex user) { (void)user; }
};

struct EngineConfig {
  RuleConfig rules;
  VisibilityPolicy visibility;
  std::size_t queue_soft_limit = 256;
  // Calls ended lately, remembered per user so that a late or retried event for one cannot
  // bring it back (a PBX posting over HTTP retries and reorders). Both bounds hold: at most
  // `ended_calls_kept` calls per user, none older than `ended_calls_age`.
  std::size_t ended_calls_kept = 32;
  Duration ended_calls_age = std::chrono::minutes(30);
};

// What apply_call did with one telephony event, for the caller to log and count.
enum class CallOutcome : std::uint8_t {
  Applied,            // the call was added, changed state or ended
  Duplicate,          // same device, call id and state as already known: nothing visible changed
  IgnoredEnded,       // ringing/connected/held for a call that ended lately: it stays ended
  IgnoredUnknownEnd,  // ended for a call never seen: nothing to end (remembered as ended)
  IgnoredBackwards,   // ringing for a connected or held call: it stays connected or held
};
std::string_view to_string(CallOutcome outcome);  // "applied", "duplicate", "ignored_ended", ...

struct EngineStats {
  std::uint64_t changes = 0;       // visible changes
  std::uint64_t aggregations = 0;  // aggregate() calls
  std::uint64_t deliveries = 0;    // entries queued to watchers
  std::uint64_t encodings = 0;     // encoder calls
  std::uint64_t subscriptions = 0; // live (watcher, user) pairs
  std::uint64_t watchers = 0;
};

class Engine {
 public:
  // `sequence_base` makes sequences grow across restarts: every user's sequence starts there.
  Engine(EngineConfig config, std::uint64_t sequence_base);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- Users ----
  Result<UserIndex> add_user(UserId id, UserSettings settings, TimePoint now);
  // Room for `count` more users without rehashing the id index (start-up adds a million).
  void reserve_users(std::size_t count);
  // Watchers of the user get a last PresenceUnknown; watchers looking through it stay until
  // their owner removes them.
  Result<void> remove_user(UserIndex user);
  std::optional<UserIndex> find(std::string_view id) const;
  const UserId& id_of(UserIndex user) const;
  bool exists(UserIndex user) const;
  std::size_t user_count() const { return by_id_.size(); }
  const UserSettings& settings(UserIndex user) const;
  void set_settings(UserIndex user, UserSettings settings, TimePoint now);

  // ---- States ----
  // Admin-defined states; built-ins always exist and cannot be replaced.
  Result<void> put_state(StateDefinition state, TimePoint now);
  Result<void> remove_state(std::string_view id, TimePoint now);
  const StateCatalog& states() const;
  std::vector<StateDefinition> list_states() const;  // built-ins first, then by order

  // ---- Layers. Each re-aggregates the user and notifies watchers if the result changed. ----
  void set_manual(UserIndex user, std::optional<ManualLayer> manual, TimePoint now);
  // One telephony event for one call (device, call id). Ringing/Connected/Held add or update the
  // call; Ended removes it. Events may come twice, late or out of order: only the ones that
  // move a call forward change anything (docs/presence-rules.md, "Call events").
  CallOutcome apply_call(UserIndex user, Call call, TimePoint now);
  void set_calendar(UserIndex user, CalendarLayer calendar, TimePoint now);
  // Makes `user` a remote presentity showing what its server reported (rule remote_presence);
  // nullopt makes it an ordinary user again.
  void set_remote(UserIndex user, std::optional<RemotePresence> remote, TimePoint now);
  // Returns true when this is the user's first session (login).
  bool open_session(UserIndex user, Session session, TimePoint now);
  // Returns true when this was the user's last session (logout).
  bool close_session(UserIndex user, std::string_view client_id, TimePoint now);
  // Idle / lock reports of one client; unknown clients are ignored (false).
  bool report_input(UserIndex user, std::string_view client_id, InputState input,
                    TimePoint since, TimePoint now);
  // A SIP publication (RFC 3903): adds it, or replaces the one whose entity tag is
  // `replaced_etag` (a refresh or modify gives it a new tag) in one step, so watchers never see
  // the gap. The engine drops it at its expires_at.
  void set_publication(UserIndex user, std::string_view replaced_etag, Publication publication,
                       TimePoint now);
  // Returns false when the user has no live publication with that tag.
  bool remove_publication(UserIndex user, std::string_view etag, TimePoint now);
  // Puts back publications read from the store at startup (the lapsed ones are dropped); one
  // aggregation.
  void restore_publications(UserIndex user, PublishedLayer published, TimePoint now);
  // What Teams shows for the user (nullopt: not known, not mapped).
  void set_teams(UserIndex user, std::optional<TeamsLayer> teams, TimePoint now);
  const Layers& layers(UserIndex user) const;
  // Puts back durable layers read from the store at startup, keeping their timestamps; one
  // aggregation.
  void restore(UserIndex user, std::optional<ManualLayer> manual, TelephonyLayer telephony,
               CalendarLayer calendar, TimePoint now);

  // ---- Reads ----
  const Presence& presence(UserIndex user) const;
  std::uint64_t sequence(UserIndex user) const;
  // When the user's last connected or held call ended (an Ended event, or the lease end of a
  // call whose end never came), for longest-idle queue routing; nullopt: no call ended since
  // this engine started. Not persisted: after a restart everyone counts as idle since then.
  std::optional<TimePoint> last_call_end(UserIndex user) const;
  VisibilityLevel level_for(UserIndex user, UserIndex watcher) const;
  Presence presence_for(UserIndex user, UserIndex watcher) const;

  // ---- Visibility ----
  // nullopt removes the pair's level (back to the default).
  void set_visibility(UserIndex owner, UserIndex watcher, std::optional<VisibilityLevel> level);
  std::optional<VisibilityLevel> pair_level(UserIndex owner, UserIndex watcher) const;
  void set_policy(VisibilityPolicy policy);
  const VisibilityPolicy& policy() const { return config_.visibility; }

  // ---- Contacts (a user's favourites) ----
  void set_contacts(UserIndex owner, std::vector<UserIndex> contacts);
  const std::vector<UserIndex>& contacts(UserIndex owner) const;

  // ---- Watchers ----
  FormatId add_format(std::unique_ptr<PresenceEncoder> encoder);
  // `watcher_user` is whose eyes the watcher looks through (visibility).
  WatcherId add_watcher(UserIndex watcher_user, FormatId format, WatcherSink* sink);
  // A watcher that is another server (a federated domain): it sees every user it subscribes to
  // at `level`, whatever the users' own lists say.
  WatcherId add_peer_watcher(VisibilityLevel level, FormatId format, WatcherSink* sink);
  // Changes a peer watcher's level; its subscriptions get the state as they may now see it.
  void set_peer_level(WatcherId watcher, VisibilityLevel level);
  void remove_watcher(WatcherId watcher);
  // Subscribes and queues the user's current state, unless `since` is at or above its sequence
  // (a resuming client already has it).
  void subscribe(WatcherId watcher, UserIndex user, std::optional<std::uint64_t> since = {});
  void unsubscribe(WatcherId watcher, UserIndex user);
  WatcherQueue& queue(WatcherId watcher);
  std::size_t subscription_count(WatcherId watcher) const;

  void add_listener(ChangeListener* listener);
  void remove_listener(ChangeListener* listener);

  // ---- Time ----
  // The earliest instant at which some user's presence may change by itself.
  std::optional<TimePoint> next_deadline() const;
  // Re-evaluates every user whose deadline is at or before `now`.
  void advance(TimePoint now);
  // Users whose last session ended because its lease lapsed (not by close_session), since the
  // last call: a logout all the same, for which the caller applies the logout state.
  std::vector<UserIndex> take_lapsed_logouts();

  const EngineStats& stats() const { return stats_; }

 private:
  struct EndedCall;
  struct Subscriber;
  struct UserState;
  struct Watcher;
  class Catalog;

  UserState& user_state(UserIndex user);
  const UserState& user_state(UserIndex user) const;
  void reaggregate(UserIndex user, TimePoint now);
  CallOutcome apply_unknown_call(UserState& state, UserIndex user, Call call, TimePoint now);
  void forget_ended_calls(UserState& state, TimePoint now) const;
  void publish(UserIndex user);
  void refresh_levels(UserIndex owner, UserIndex watcher_user);
  VisibilityLevel watcher_level(const Watcher& watcher, UserIndex user) const;
  void deliver_at_level(Subscriber& subscriber, UserIndex owner, VisibilityLevel level);
  void schedule(UserIndex user, std::optional<TimePoint> at);
  std::shared_ptr<const std::string> encode_for(UserIndex user, FormatId format,
                                                VisibilityLevel level);
  std::shared_ptr<const std::string> encode_current(UserIndex user, FormatId format,
                                                    VisibilityLevel level);

  EngineConfig config_;
  std::uint64_t sequence_base_;
  std::unique_ptr<Catalog> catalog_;
  std::vector<std::unique_ptr<UserState>> users_;  // by UserIndex; null once removed
  std::unordered_map<std::string, UserIndex> by_id_;
  std::vector<UserIndex> free_indices_;
  std::vector<Watcher> watchers_;  // by WatcherId
  std::vector<WatcherId> free_watchers_;
  std::vector<std::unique_ptr<PresenceEncoder>> encoders_;
  std::unordered_map<std::uint64_t, VisibilityLevel> pair_levels_;  // owner << 32 | watcher
  std::multimap<TimePoint, UserIndex> deadlines_;
  std::vector<ChangeListener*> listeners_;
  // Per publish: encodings by (format, level), filled lazily.
  std::vector<std::shared_ptr<const std::string>> encode_cache_;
  // Current states encoded by subscribe(), held weakly and direct-mapped by user: while one is
  // still queued to some watcher, the next subscriber at the same level and sequence shares it
  // (a team that logs in subscribes to each member twenty times). Bounded, and it keeps no
  // payload alive.
  struct SnapshotSlot {
    UserIndex user = 0;
    std::uint32_t kind = 0;  // format * kVisibilityLevels + level
    std::uint64_t sequence = 0;
    std::weak_ptr<const std::string> payload;
  };
  std::vector<SnapshotSlot> snapshots_;
  std::vector<UserIndex> lapsed_logouts_;
  EngineStats stats_;
};

}  // namespace presenced::core
