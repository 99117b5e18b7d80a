#pragma once

// PIDF presence documents (RFC 3863, application/pidf+xml) with RPID activities and user input
// (RFC 4480) in the person of the data model (RFC 4479): written for NOTIFY from a projected
// presence, read from the body of a PUBLISH. docs/sip.md says what is read and what is refused.
// Thread-safety: free functions without shared state; values are safe to share when not modified.

#include "core/mappings.h"
#include "core/model.h"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip {

inline constexpr std::string_view kPidfNamespace = "urn:ietf:params:xml:ns:pidf";
inline constexpr std::string_view kRpidNamespace = "urn:ietf:params:xml:ns:pidf:rpid";
inline constexpr std::string_view kDataModelNamespace = "urn:ietf:params:xml:ns:pidf:data-model";

// The user a document is about: `sip:user@domain`.
struct Presentity {
  std::string_view user;
  std::string_view domain;
};

// `sip:user@domain`, the user part escaped as RFC 3261 §25.1 asks.
std::string presentity_uri(Presentity presentity);

enum class Basic : std::uint8_t { Absent, Open, Closed };      // RFC 3863 §4.1.4
enum class UserInput : std::uint8_t { Absent, Active, Idle };  // RFC 4480 §3.7

// What a PIDF document says, as far as we read it.
struct PidfDocument {
  std::string entity;  // <presence entity="...">, as written (the caller compares it)
  Basic basic = Basic::Absent;
  std::vector<std::string> activities;  // RPID activity names in document order, e.g. "away"
  UserInput user_input = UserInput::Absent;
  std::vector<std::string> notes;            // document notes first, then the tuple's
  std::optional<core::TimePoint> timestamp;  // the chosen tuple's <timestamp>

  // For core::from_pidf: open only on <basic>open</basic>; the first note.
  core::PidfStatus status() const;
  friend bool operator==(const PidfDocument&, const PidfDocument&) = default;
};

// What we publish to a watcher: `presence` already projected to the watcher's visibility level.
// PresenceUnknown (what a blocked watcher or an unknown user gets) writes a neutral document:
// closed, no note, no activity. Otherwise core::to_pidf decides basic, activities and note; an
// open document says whether the user is idle (flag idle, AvailableIdle, BusyIdle) or active.
// `now` is the tuple's timestamp.
std::string write_pidf(Presentity presentity, const core::Presence& presence, core::TimePoint now);

// Writes a document that read_pidf reads back as `document`: one tuple (when there is a basic
// status or a timestamp) carrying the notes, and one person with the activities and user input.
// Activities that are not simple names (xml::is_simple_name) are left out.
std::string write_pidf(const PidfDocument& document);

struct PidfLimits {
  std::size_t body_bytes = 60'000;  // as the SIP message layer's body limit
  std::size_t depth = 16;           // element nesting
  std::size_t elements = 500;
  std::size_t tuples = 32;
  std::size_t activities = 16;     // outside the tuples, and in each tuple
  std::size_t notes = 16;          // in the whole document
  std::size_t text_bytes = 4'096;  // one note, basic, timestamp or user input, as read
};

enum class PidfProblem : std::uint8_t {
  TooLarge,       // the body past body_bytes: 413
  Doctype,        // any DOCTYPE, and so any entity declaration: 400
  NotWellFormed,  // not well-formed XML 1.0 with namespaces in UTF-8: 400
  NotPidf,        // the root is not PIDF's <presence>, or it has no entity: 400
  LimitExceeded,  // depth, elements, tuples, activities, notes or one text past its limit: 400
  BadValue,       // <basic> other than open or closed: 400
};

std::string_view to_string(PidfProblem problem);

struct PidfError {
  PidfProblem problem = PidfProblem::NotWellFormed;
  std::string detail;  // for logs: names the field, the value (printable, cut short), the limit

  int status() const;  // the answer to the PUBLISH: 413 or 400
};

[[noreturn]] void throw_exception_from_error(const PidfError& error,
                                             const boost::source_location& location);

template <typename T>
using PidfResult = boost::system::result<T, PidfError>;

// Reads a PIDF body (the caller has checked Content-Type: application/pidf+xml, else 415).
// Elements are matched by namespace URI and local name, whatever the prefix; unknown elements
// and attributes are skipped. Of several tuples the one chosen is the open one with the latest
// <timestamp> (a tuple without one counts as oldest; on a tie, the first); without an open tuple
// the same rule picks among the others. RPID activities and user input are read from
// <dm:person> or from a tuple's <status>: the person's win, else the chosen tuple's.
[[nodiscard]] PidfResult<PidfDocument> read_pidf(std::string_view body,
                                                 const PidfLimits& limits = {});

}  // namespace presenced::sip
