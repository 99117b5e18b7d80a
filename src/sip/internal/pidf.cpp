#include "sip/internal/pidf.h"

#include "sip/internal/grammar.h"
#include "sip/internal/xml_text.h"

namespace presenced::sip {
namespace {

// Prefixes as RFC 4480's examples write them; readers match by namespace URI.
constexpr std::string_view kPresenceOpen =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\""
    " xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\""
    " xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"";

void append_note(std::string& out, std::string_view note) {
  out.append("<note>");
  xml::append_text(out, note);
  out.append("</note>\n");
}

std::size_t text_size(const PidfDocument& document) {
  std::size_t size = document.entity.size();
  for (const std::string& note : document.notes) {
    size += note.size() + 16;
  }
  for (const std::string& activity : document.activities) {
    size += activity.size() + 10;
  }
  return size;
}

// One tuple with a stable id, so watchers see the same service on every NOTIFY (§4.1.2). Its
// notes come after the status and before the timestamp (§4.1).
void append_tuple(std::string& out, const PidfDocument& document) {
  out.append("<tuple id=\"t\">\n<status>");
  if (document.basic != Basic::Absent) {
    out.append(document.basic == Basic::Open ? "<basic>open</basic>" : "<basic>closed</basic>");
  }
  out.append("</status>\n");
  for (const std::string& note : document.notes) {
    append_note(out, note);
  }
  if (document.timestamp) {
    out.append("<timestamp>");
    xml::append_timestamp(out, *document.timestamp);
    out.append("</timestamp>\n");
  }
  out.append("</tuple>\n");
}

// RPID elements belong to the person (RFC 4480 §3, RFC 4479 §3.1).
void append_person(std::string& out, const PidfDocument& document) {
  bool any_activity = false;
  for (const std::string& activity : document.activities) {
    any_activity = any_activity || xml::is_simple_name(activity);
  }
  if (!any_activity && document.user_input == UserInput::Absent) {
    return;
  }
  out.append("<dm:person id=\"p\">\n");
  if (any_activity) {
    out.append("<rpid:activities>");
    for (const std::string& activity : document.activities) {
      if (xml::is_simple_name(activity)) {
        out.append("<rpid:").append(activity).append("/>");
      }
    }
    out.append("</rpid:activities>\n");
  }
  if (document.user_input != UserInput::Absent) {
    out.append(document.user_input == UserInput::Idle
                   ? "<rpid:user-input>idle</rpid:user-input>\n"
                   : "<rpid:user-input>active</rpid:user-input>\n");
  }
  out.append("</dm:person>\n");
}

bool is_idle(const core::Presence& presence) {
  return presence.flags.has(core::Flag::Idle) ||
         presence.availability == core::Availability::AvailableIdle ||
         presence.availability == core::Availability::BusyIdle;
}

}  // namespace

std::string presentity_uri(Presentity presentity) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "sip:";
  out.reserve(5 + presentity.user.size() * 3 + presentity.domain.size());
  for (const char c : presentity.user) {
    if (grammar::is_user_char(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  out.push_back('@');
  out.append(presentity.domain);
  return out;
}

core::PidfStatus PidfDocument::status() const {
  core::PidfStatus status;
  status.open = basic == Basic::Open;
  status.activities = activities;
  if (!notes.empty()) {
    status.note = notes.front();
  }
  return status;
}

std::string write_pidf(const PidfDocument& document) {
  std::string out;
  out.reserve(kPresenceOpen.size() + 400 + text_size(document));
  out.append(kPresenceOpen);
  xml::append_attribute(out, document.entity);
  out.append("\">\n");
  if (document.basic != Basic::Absent || document.timestamp.has_value()) {
    append_tuple(out, document);
  } else {
    // The document's notes come before elements of other namespaces (§4.1).
    for (const std::string& note : document.notes) {
      append_note(out, note);
    }
  }
  append_person(out, document);
  out.append("</presence>\n");
  return out;
}

std::string write_pidf(Presentity presentity, const core::Presence& presence, core::TimePoint now) {
  PidfDocument document;
  document.entity = presentity_uri(presentity);
  document.timestamp = now;
  if (presence.availability == core::Availability::PresenceUnknown) {
    document.basic = Basic::Closed;
    return write_pidf(document);
  }
  core::PidfStatus status = core::to_pidf(presence);
  document.basic = status.open ? Basic::Open : Basic::Closed;
  document.activities = std::move(status.activities);
  if (!status.note.empty()) {
    document.notes.push_back(std::move(status.note));
  }
  if (status.open) {
    document.user_input = is_idle(presence) ? UserInput::Idle : UserInput::Active;
  }
  return write_pidf(document);
}

}  // namespace presenced::sip
