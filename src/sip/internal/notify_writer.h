#pragma once

// A subscription dialog kept as the header text its NOTIFYs carry (docs/sip.md, "Subscriptions"):
// the remote target, Route, From, To, Call-ID and Event written once when the dialog is made,
// so that a NOTIFY is the start line, a fresh Via, that text, CSeq, Subscription-State and the
// body, written into one buffer of the exact size without a Message in between. The bytes are
// the ones serialize() writes for the same NOTIFY. The dialog's parts (for the store, the
// watcher list and refreshes) are read back from the text.
// Thread-safety: none; a value type.

#include "sip/internal/message.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::sip {

class DialogText {
 public:
  DialogText() = default;
  // `local` is our side without its tag, which is `local_tag`; `remote` carries its own tag.
  DialogText(const Uri& remote_target, const std::vector<NameAddr>& route_set,
             const NameAddr& local, std::string_view local_tag, const NameAddr& remote,
             std::string_view call_id, std::string_view package,
             const std::optional<std::string>& event_id);

  std::string_view remote_target_text() const { return view(target_); }
  std::string_view call_id() const { return view(call_id_); }
  std::string_view local_tag() const { return view(local_tag_); }
  std::string_view remote_tag() const { return view(remote_tag_); }
  std::optional<std::string_view> event_id() const;
  // The first Route's URI when there is a route set, else the remote target.
  Uri next_hop() const;

  // Parsed back, for what is not on the NOTIFY path.
  Uri remote_target() const;
  std::vector<NameAddr> route_set() const;
  NameAddr local() const;  // with its tag
  NameAddr remote() const;

  // A target refresh (RFC 6665 §4.1.2.2).
  void set_remote_target(const Uri& target);

  // Route..Call-ID lines, then the Event line; a NOTIFY puts CSeq, Max-Forwards and Contact
  // between them.
  std::string_view before_cseq() const;
  std::string_view event_line() const;

  bool same_dialog(std::string_view call_id, std::string_view remote_tag,
                   std::string_view local_tag, const std::optional<std::string>& event_id) const;

 private:
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  std::string_view view(Span span) const {
    return span.size == 0 ? std::string_view()
                          : std::string_view(text_).substr(span.offset, span.size);
  }
  std::string_view header_value(std::string_view name) const;  // From or To

  std::string text_;  // target, Route..Call-ID lines, Event line
  Span target_;
  Span call_id_;
  Span local_tag_;
  Span remote_tag_;
  Span event_id_;
  std::uint32_t headers_at_ = 0;  // where the Route..Call-ID lines start
  std::uint32_t event_at_ = 0;    // where the Event line starts
  bool has_event_id_ = false;
};

// The key of a dialog in a hash map: Call-ID, both tags and the Event id (RFC 6665 §4.1.2).
std::uint64_t dialog_hash(std::string_view call_id, std::string_view remote_tag,
                          std::string_view local_tag,
                          const std::optional<std::string_view>& event_id);

// What changes from one NOTIFY to the next.
struct NotifyLine {
  std::string_view via;      // "Via: SIP/2.0/UDP host:port;branch=" (the branch follows)
  std::string_view branch;
  std::uint32_t cseq = 0;
  std::string_view contact;  // the whole Contact line
  std::string_view state;    // "active" or "terminated"
  std::string_view reason;   // empty: none
  std::optional<std::uint32_t> expires;
  std::string_view content_subtype;  // application/<subtype>
};

// NOTIFY in the dialog (RFC 3261 §12.2.1.1, RFC 6665 §4.2.2) with `body`, one allocation.
std::string write_notify(const DialogText& dialog, const NotifyLine& line, std::string_view body);

}  // namespace presenced::sip
