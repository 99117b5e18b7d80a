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
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t length = core::utf8_sequence_length(text.substr(i));
      if (length == 0) {
        out.append(kReplacement);
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '&': out.append("&amp;"); break;
      case '<': out.append("&lt;"); break;
      case '>': out.append("&gt;"); break;
      case '\'': out.append("&apos;"); break;
      case '"': out.append("&quot;"); break;
      case '\r': out.append("&#13;"); break;
      case '\t':
      case '\n': out.push_back(c); break;
      default: out.append(byte < 0x20 ? kReplacement : std::string_view(&text[i], 1)); break;
    }
    ++i;
  }
}

}  // namespace presenced::xmpp
