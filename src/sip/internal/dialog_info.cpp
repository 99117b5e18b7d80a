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

// A stable id that says nothing about the call (FNV-1a of device and call id).
std::string opaque_id(const core::Call& call) {
  std::uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](std::string_view text) {
    for (const char c : text) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
  };
  mix(call.device);
  mix(std::string_view("\n", 1));
  mix(call.call_id);
  std::string out = "d";
  append_number(out, hash);
  return out;
}

void append_dialog(std::string& out, std::string_view entity, const core::Call& call,
                   DialogDetail detail) {
  out.append("<dialog id=\"");
  if (detail == DialogDetail::StateOnly) {
    out.append(opaque_id(call)).append("\">");
    out.append("<state>").append(dialog_state(call.state)).append("</state></dialog>\n");
    return;
  }
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

std::string write_dialogs(Presentity presentity, std::span<const core::Call> calls,
                          DialogDetail detail) {
  std::string out;
  if (detail == DialogDetail::None) {
    return out;
  }
  const std::string entity = presentity_uri(presentity);
  out.reserve(calls.size() * (100 + entity.size() * 2));
  for (const core::Call& call : calls) {
    append_dialog(out, entity, call, detail);
  }
  return out;
}

std::string write_dialog_info_around(Presentity presentity, std::uint32_t version,
                                     std::string_view dialogs) {
  const std::string entity = presentity_uri(presentity);
  std::string out;
  out.reserve(200 + entity.size() + dialogs.size());
  out.append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"");
  append_number(out, version);
  out.append("\" state=\"full\" entity=\"");
  xml::append_attribute(out, entity);
  out.append("\">\n");
  out.append(dialogs);
  out.append("</dialog-info>\n");
  return out;
}

std::string write_dialog_info(Presentity presentity, std::uint32_t version,
                              std::span<const core::Call> calls) {
  return write_dialog_info_around(presentity, version,
                                  write_dialogs(presentity, calls, DialogDetail::Full));
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

std::string write_watchers(std::span<const Watcher> watchers) {
  std::string out;
  out.reserve(watchers.size() * 150);
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
  return out;
}

std::string write_watcherinfo_around(Presentity presentity, std::string_view package,
                                     std::uint32_t version, std::string_view watchers) {
  const std::string resource = presentity_uri(presentity);
  std::string out;
  out.reserve(250 + resource.size() + watchers.size());
  out.append(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<watcherinfo xmlns=\"urn:ietf:params:xml:ns:watcherinfo\" version=\"");
  append_number(out, version);
  out.append("\" state=\"full\">\n<watcher-list resource=\"");
  xml::append_attribute(out, resource);
  out.append("\" package=\"");
  xml::append_attribute(out, package);
  out.append("\">\n");
  out.append(watchers);
  out.append("</watcher-list>\n</watcherinfo>\n");
  return out;
}

std::string write_watcherinfo(Presentity presentity, std::string_view package,
                              std::uint32_t version, std::span<const Watcher> watchers) {
  return write_watcherinfo_around(presentity, package, version, write_watchers(watchers));
}

}  // namespace presenced::sip
