#pragma once

// The presence side of XMPP federation, without sockets (docs/xmpp.md, "Serving presence"):
// answers remote users' subscriptions (RFC 6121 §3) and probes (§4.3) for presenced's users,
// sends their presence at the remote domain's level through one engine peer watcher per domain,
// keeps the subscriptions of record in the store, and answers what it cannot serve with the
// stanza errors of RFC 6120 §8.3. Private to src/xmpp.
// Thread-safety: none; used on the engine's thread.

#include "core/engine.h"
#include "xmpp/internal/remote_watches.h"
#include "xmpp/internal/stanza.h"
#include "xmpp/internal/stream.h"
#include "xmpp/xmpp.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace presenced::xmpp {

inline constexpr std::string_view kSubscriptionKind = "xmpp.subscription";

// `<show>`/`<status>` of a presence already projected to `level`, as the rest of a presence
// stanza after its `to` attribute: `>...</presence>` or ` type='unavailable'/>`. The note is
// the status only from Team up (seed 000: notes to federation contacts only from Team level).
std::string presence_payload(const core::Presence& projected, core::VisibilityLevel level);

class Federation final : public core::ChangeListener {
 public:
  using Send = std::function<void(std::string bytes)>;
  Federation(XmppConfig config, Directory& directory, Send send);
  ~Federation() override;
  Federation(const Federation&) = delete;
  Federation& operator=(const Federation&) = delete;

  // Puts back the stored subscriptions (erasing those of removed users or blocked domains).
  void restore();
  // The link is up: every subscriber gets the current presence (it may have missed changes).
  void on_ready();
  void on_link_down() { ready_ = false; }
  void on_stanza(const StreamEvent& event, core::TimePoint now);

  // Remote contacts (docs/api.md): why `address` cannot be watched, or nullopt; then watch
  // and unwatch it. What is learned goes to Directory::set_remote_presence.
  std::optional<core::Error> refuse_remote(std::string_view address) const;
  void watch_remote(std::string_view address);
  void unwatch_remote(std::string_view address);

  void on_change(core::UserIndex, const core::Presence&, std::uint64_t) override {}
  void on_remove(core::UserIndex user) override;

  void fill(ComponentStats& stats) const;

 private:
  struct Domain;
  class DomainSink;
  struct Incoming;

  std::optional<core::UserIndex> local_user(const Jid& jid) const;
  std::optional<Jid> remote_jid(std::string_view address) const;
  core::VisibilityLevel level_of(std::string_view domain) const;
  Domain& domain(const std::string& name, core::VisibilityLevel level);
  void drain(Domain& domain);
  void on_presence(const Incoming& in, core::TimePoint now);
  void on_subscribe(const Incoming& in, core::TimePoint now);
  void on_unsubscribe(const Incoming& in);
  void on_probe(const Incoming& in);
  bool take_token(Domain& domain, core::TimePoint now);
  void add_subscriber(Domain& domain, core::UserIndex user, const std::string& jid);
  void remove_subscriber(Domain& domain, core::UserIndex user, const std::string& jid);
  bool subscribed(const Domain* domain, core::UserIndex user, const std::string& jid) const;
  void send_presence(const Domain& domain, core::UserIndex user, const std::string& jid);
  void send_type(std::string_view from, std::string_view to, std::string_view type);
  void send_error(const Incoming& in, std::string_view type, std::string_view condition);
  void emit(std::string bytes);

  XmppConfig config_;
  Directory& directory_;
  Send send_;
  core::Engine& engine_;
  core::FormatId format_;
  std::map<std::string, std::unique_ptr<Domain>> domains_;
  std::size_t subscriptions_ = 0;
  bool ready_ = false;
  RemoteWatches remote_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::map<std::string, std::uint64_t> stanzas_in_;
  std::map<std::string, std::uint64_t> errors_out_;
  std::uint64_t presence_out_ = 0;
  std::uint64_t subscribe_limited_ = 0;
  std::uint64_t oversized_ = 0;
};

}  // namespace presenced::xmpp
