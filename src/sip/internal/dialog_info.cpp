#include "sip/internal/dialog_info.h"

#include "sip/internal/xml_text.h"

#include <charconv>

namespace presenced::sip {
namespace {

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
}

std::string_view dialog_state(core::CallState state) {
  switch (state) {
    case core::CallState::Ringing: return "early";
    case core::CallState::Connected:
    case core::CallState::Held: return "confirmed";
    case core::CallState::Ended: return "terminated";
  }
  return "terminated";
}

void append_dialog(std::string& out, std::string_view entity, const core::Call& call) {
  out.append("<dialog id=\"");
  xml::append_attribute(out, call.call_id);
  out.append(call.direction == core::CallDirection::Inbound ? "\" direction=\"recipient\">"
                                                            : "\" direction=\"initiator\">");
  out.append("<state>").append(dialog_state(call.state)).append("</state>");
  if (call.state == core::CallState::Held) {
    // Our side stopped rendering the media: how phones tell hold from talk.
    out.append("<local><identity>");
    xml::append_text(out, entity);
    out.append("</identity><target uri=\"");
    xml::append_attribute(out, entity);
    out.append("\"><param pname=\"+sip.rendering\" pvalue=\"no\"/></target></local>");
  }
  out.append("</dialog>\n");
}

}  // namespace

std::string write_dialog_info(Presentity presentity, std::uint32_t version,
                              std::span<const core::Call> calls) {
  const std::string entity = presentity_uri(presentity);
  std::string out;
  out.reserve(200 + entity.size() * 3 + calls.size() * 100);
  out.append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"");
  append_number(out, version);
  out.append("\" state=\"full\" entity=\"");
  xml::append_attribute(out, entity);
  out.append("\">\n");
  for (const core::Call& call : calls) {
    append_dialog(out, entity, call);
  }
  out.append("</dialog-info>\n");
  return out;
}

std::string_view to_string(WatcherStatus status) {
  switch (status) {
    case WatcherStatus::Pending: return "pending";
    case WatcherStatus::Active: return "active";
    case WatcherStatus::Waiting: return "waiting";
    case WatcherStatus::Terminated: return "terminated";
  }
  return "pending";
}

std::string_view to_string(WatcherEvent event) {
  switch (event) {
    case WatcherEvent::Subscribe: return "subscribe";
    case WatcherEvent::Approved: return "approved";
    case WatcherEvent::Deactivated: return "deactivated";
    case WatcherEvent::Probation: return "probation";
    case WatcherEvent::Rejected: return "rejected";
    case WatcherEvent::Timeout: return "timeout";
    case WatcherEvent::Giveup: return "giveup";
    case WatcherEvent::Noresource: return "noresource";
  }
  return "subscribe";
}

std::string write_watcherinfo(Presentity presentity, std::string_view package,
                              std::uint32_t version, std::span<const Watcher> watchers) {
  const std::string resource = presentity_uri(presentity);
  std::string out;
  out.reserve(250 + resource.size() + watchers.size() * 150);
  out.append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"");
  append_number(out, version);
  out.append("\" state=\"full\">\n<watcher-list resource=\"");
  xml::append_attribute(out, resource);
  out.append("\" package=\"");
  xml::append_attribute(out, package);
  out.append("\">\n");
  for (const Watcher& watcher : watchers) {
    out.append("<watcher id=\"");
    xml::append_attribute(out, watcher.id);
    out.append("\" status=\"").append(to_string(watcher.status));
    out.append("\" event=\"").append(to_string(watcher.event)).append("\"");
    if (!watcher.display_name.empty()) {
      out.append(" display-name=\"");
      xml::append_attribute(out, watcher.display_name);
      out.append("\"");
    }
    if (watcher.duration_subscribed) {
      out.append(" duration-subscribed=\"");
      append_number(out, *watcher.duration_subscribed);
      out.append("\"");
    }
    out.append(">");
    xml::append_text(out, watcher.uri);
    out.append("</watcher>\n");
  }
  out.append("</watcher-list>\n</watcherinfo>\n");
  return out;
}

}  // namespace presenced::sip
