#include "xmpp/internal/stanza.h"

#include "core/utf8.h"

#include <algorithm>

namespace presenced::xmpp {
namespace {

constexpr std::size_t kJidPartBytes = 1023;  // RFC 7622 §3.2-3.4
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// A resource may hold spaces (RFC 7622 §3.4, OpaqueString); local part and domain may not.
bool valid_part(std::string_view part, std::string_view forbidden, bool spaces = false) {
  if (part.empty() || part.size() > kJidPartBytes) {
    return false;
  }
  return std::none_of(part.begin(), part.end(), [&](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F || (byte == 0x20 && !spaces) ||
           forbidden.find(c) != std::string_view::npos;
  });
}

// What XML 1.0 needs instead of an ASCII byte in text or a quoted attribute; empty: the byte.
std::string_view reference_for(unsigned char byte) {
  switch (byte) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '\'': return "&apos;";
    case '"': return "&quot;";
    case '\r': return "&#13;";
    case '\t':
    case '\n': return {};
    default: return byte < 0x20 ? kReplacement : std::string_view();
  }
}

}  // namespace

const std::string* Element::attribute(std::string_view key) const {
  for (const auto& [attribute_name, value] : attributes) {
    if (attribute_name == key) {
      return &value;
    }
  }
  return nullptr;
}

std::string_view Element::attribute_or_empty(std::string_view key) const {
  const std::string* value = attribute(key);
  return value != nullptr ? std::string_view(*value) : std::string_view();
}

const Element* Element::child(std::string_view child_ns, std::string_view child_name) const {
  for (const Element& element : children) {
    if (element.ns == child_ns && element.name == child_name) {
      return &element;
    }
  }
  return nullptr;
}

std::string Jid::bare() const { return local.empty() ? domain : local + "@" + domain; }

std::optional<Jid> parse_jid(std::string_view text) {
  Jid jid;
  const std::size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    jid.resource = std::string(text.substr(slash + 1));
    text = text.substr(0, slash);
    if (!valid_part(jid.resource, "", true)) {
      return std::nullopt;
    }
  }
  const std::size_t at = text.find('@');
  if (at != std::string_view::npos) {
    jid.local = std::string(text.substr(0, at));
    text = text.substr(at + 1);
    if (!valid_part(jid.local, "\"&'/:<>@")) {
      return std::nullopt;
    }
  }
  if (!valid_part(text, "@/\"&'<>")) {
    return std::nullopt;
  }
  jid.domain.reserve(text.size());
  for (char c : text) {
    jid.domain.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return jid;
}

void append_escaped(std::string& out, std::string_view text) {
  // Copies runs of bytes that stand for themselves in one append; stops at each byte that
  // needs a reference or a replacement.
  std::size_t run = 0;
  std::size_t i = 0;
  const auto flush = [&] { out.append(text.substr(run, i - run)); };
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    std::string_view replacement;
    if (byte >= 0x80) {
      length = core::utf8_sequence_length(text.substr(i));
      replacement = length == 0 ? kReplacement : std::string_view();
    } else {
      replacement = reference_for(byte);
    }
    if (replacement.empty()) {
      i += length;
      continue;
    }
    flush();
    out.append(replacement);
    i += 1;
    run = i;
  }
  flush();
}

std::string presence_head(std::string_view from, std::string_view to) {
  std::string out = "<presence from='";
  append_escaped(out, from);
  out += "' to='";
  append_escaped(out, to);
  out += "'";
  return out;
}

std::string typed_presence(std::string_view from, std::string_view to, std::string_view type) {
  std::string out = presence_head(from, to);
  out += " type='";
  out += type;
  out += "'/>";
  return out;
}

}  // namespace presenced::xmpp
