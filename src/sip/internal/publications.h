#pragma once

// Publications of the `presence` event package (RFC 3903, RFC 3856 §6): a PUBLISH with a PIDF
// body becomes a core::Publication in the user's `sip` layer, kept under an entity tag that the
// client refreshes, modifies or removes it by (docs/sip.md, "Publications"). A change is answered
// 200 only once the store holds it (Directory::save), so an acknowledged publication survives a
// restart. No sockets and no clock: the caller passes the time and the random bytes of new tags.
//
// Thread-safety: none; used only on the thread that owns the engine and the directory.

#include "core/model.h"
#include "sip/internal/digest.h"
#include "sip/internal/message.h"
#include "sip/internal/pidf.h"
#include "sip/sip.h"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace presenced::sip {

inline constexpr std::string_view kPublicationKind = "sip.publication";

struct PublicationConfig {
  // RFC 3903 §6 step 5: below the minimum is 423 with Min-Expires, above the maximum is cut
  // down; without Expires the package default applies (RFC 3856 §6.4 asks 3600 s).
  std::chrono::seconds min_expires{60};
  std::chrono::seconds max_expires{3600};
  std::chrono::seconds default_expires{3600};
  std::size_t max_per_user = 16;    // a user's live publications; more are refused 403
  std::size_t max_total = 100'000;  // over all users; more are refused 503
  PidfLimits pidf;
};

// Where the answer to one PUBLISH goes; it may be called after publish() returned.
using PublishAnswer = std::function<void(Message)>;

class Publications {
 public:
  // The directory (its engine and store) must outlive this object.
  Publications(PublicationConfig config, Directory& directory);
  ~Publications();
  Publications(const Publications&) = delete;
  Publications& operator=(const Publications&) = delete;

  // Puts the stored publications back into the engine; lapsed ones and those of users who are
  // gone are erased from the store.
  void restore(core::TimePoint now);
  // Answers a PUBLISH for `presence` from the authenticated `user`: refusals at once, changes
  // once durable (200 on done(true), 500 and no change on done(false)). `random` makes the new
  // entity tag.
  void publish(const Message& request, std::string_view user, core::TimePoint now,
               const NonceRandom& random, PublishAnswer answer);

  // Live publications known here (lapsed ones are dropped first).
  std::size_t size(core::TimePoint now);

 private:
  struct Entry {
    std::string user;
    core::Publication publication;
  };
  struct Change;

  std::optional<Message> refusal(const Message& request, std::string_view user,
                                 std::uint32_t& expires) const;
  std::optional<Message> conditional(const Message& request, Change& change,
                                     core::Publication& publication) const;
  std::optional<Message> initial(const Message& request, const Change& change) const;
  void apply(Change change, const Message& request, core::TimePoint now, PublishAnswer answer);
  void commit(const Change& change, core::TimePoint now);
  void undo(const Change& change, const std::optional<Entry>& replaced);
  void index(std::string user, core::Publication publication);
  std::optional<Entry> unindex(const std::string& etag);
  void drop_lapsed(core::TimePoint now);

  PublicationConfig config_;
  Directory& directory_;
  std::unordered_map<std::string, Entry> by_etag_;
  std::unordered_map<std::string, std::size_t> per_user_;
  std::set<std::pair<core::TimePoint, std::string>> expiries_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The stored form of one publication (StoredRecord::body) and back; nullopt for a body this
// version cannot read.
std::string encode_publication(const core::Publication& publication);
std::optional<core::Publication> decode_publication(std::string_view etag, std::string_view body);

}  // namespace presenced::sip
