#pragma once

// Stanzas as a small element tree (RFC 6120 §8), JIDs (RFC 7622, bare form only) and the XML we
// write. Private to src/xmpp.
// Thread-safety: values and free functions without shared state.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace presenced::xmpp {

inline constexpr std::string_view kComponentNs = "jabber:component:accept";
inline constexpr std::string_view kStreamNs = "http://etherx.jabber.org/streams";
inline constexpr std::string_view kStanzaErrorNs = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view kStreamErrorNs = "urn:ietf:params:xml:ns:xmpp-streams";

// One element as the stream parser read it: names split into namespace URI and local name.
// Attributes without a prefix keep their local name; prefixed ones read "uri local".
struct Element {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::vector<Element> children;
  std::string text;  // character data directly inside, concatenated

  const std::string* attribute(std::string_view key) const;
  std::string_view attribute_or_empty(std::string_view key) const;
  const Element* child(std::string_view child_ns, std::string_view child_name) const;
};

// A JID split into its parts; `resource` is dropped by bare().
struct Jid {
  std::string local;
  std::string domain;
  std::string resource;
  std::string bare() const;  // local@domain, or domain
};

// RFC 7622 §3 in the form we need: ASCII lower-cased domain, local part and resource kept as
// written (presenced's user ids are case-sensitive), each part 1..1023 bytes, no spaces or
// controls, local part without `"&'/:<>@`. nullopt for anything else.
std::optional<Jid> parse_jid(std::string_view text);

// Appends text as XML character data or a single-quoted attribute value: `&`, `<`, `>`, `'` and
// `"` become references; what XML 1.0 cannot carry (C0 controls but TAB/LF/CR, bytes that are
// not UTF-8) becomes U+FFFD.
void append_escaped(std::string& out, std::string_view text);

// `<presence from='FROM' to='TO'`, escaped, for the caller to finish: the start of every
// presence stanza we send.
std::string presence_head(std::string_view from, std::string_view to);

// `<presence from='FROM' to='TO' type='TYPE'/>` (subscribe, subscribed, unavailable, ...).
std::string typed_presence(std::string_view from, std::string_view to, std::string_view type);

}  // namespace presenced::xmpp
