#pragma once

// dialog-info documents (RFC 4235, application/dialog-info+xml) for BLF lamps, and watcherinfo
// documents (RFC 3858, application/watcherinfo+xml) for a user's own watchers. Written only.
// Thread-safety: free functions without shared state.

#include "core/model.h"
#include "sip/internal/pidf.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace presenced::sip {

inline constexpr std::string_view kDialogInfoNamespace = "urn:ietf:params:xml:ns:dialog-info";
inline constexpr std::string_view kWatcherInfoNamespace = "urn:ietf:params:xml:ns:watcherinfo";

// A full dialog-info document (§4.1: state="full") with one <dialog> per call: ringing is
// early, connected and held are confirmed (held also says +sip.rendering=no in our local
// target, RFC 3840's feature tag), ended is terminated; inbound calls are direction="recipient",
// outbound "initiator". `version` counts the documents of one subscription from 0 (§4.1.1).
// No calls means an idle lamp: the caller passes none where the watcher may not see calls.
std::string write_dialog_info(Presentity presentity, std::uint32_t version,
                              std::span<const core::Call> calls);

// How much of a call a watcher may see (docs/sip.md, "The dialog package").
enum class DialogDetail : std::uint8_t {
  None,       // no dialogs: the lamp stays idle (a blocked watcher)
  StateOnly,  // the state under an opaque id: no call id, direction or hold
  Full,       // call id, direction, state, hold
};

// The <dialog> elements alone, for write_dialog_info_around: the engine encodes them once per
// visibility level and change, each subscription wraps them with its own version.
std::string write_dialogs(Presentity presentity, std::span<const core::Call> calls,
                          DialogDetail detail);
std::string write_dialog_info_around(Presentity presentity, std::uint32_t version,
                                     std::string_view dialogs);

// RFC 3858 §4.2: status and the event that led to it.
enum class WatcherStatus : std::uint8_t { Pending, Active, Waiting, Terminated };
enum class WatcherEvent : std::uint8_t {
  Subscribe,
  Approved,
  Deactivated,
  Probation,
  Rejected,
  Timeout,
  Giveup,
  Noresource,
};
std::string_view to_string(WatcherStatus status);
std::string_view to_string(WatcherEvent event);

struct Watcher {
  std::string id;            // stable per subscription (§4.2: the watcher's id attribute)
  std::string uri;           // the watcher's URI, e.g. sip:bob@example.com
  std::string display_name;  // empty: none
  WatcherStatus status = WatcherStatus::Pending;
  WatcherEvent event = WatcherEvent::Subscribe;
  std::optional<std::uint32_t> duration_subscribed;  // seconds
};

// A full watcherinfo document with one watcher list for `package` (e.g. "presence") of the
// presentity.
std::string write_watcherinfo(Presentity presentity, std::string_view package,
                              std::uint32_t version, std::span<const Watcher> watchers);
// The same in two steps: the <watcher> elements once per change, then each subscription's own
// versioned document around them.
std::string write_watchers(std::span<const Watcher> watchers);
std::string write_watcherinfo_around(Presentity presentity, std::string_view package,
                                     std::uint32_t version, std::string_view watchers);

}  // namespace presenced::sip
