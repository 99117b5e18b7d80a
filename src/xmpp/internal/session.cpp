#include "xmpp/internal/session.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <array>
#include <utility>

namespace presenced::xmpp {

std::string handshake_digest(std::string_view stream_id, std::string_view secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha1(), nullptr);
  EVP_DigestUpdate(context, stream_id.data(), stream_id.size());
  EVP_DigestUpdate(context, secret.data(), secret.size());
  EVP_DigestFinal_ex(context, digest.data(), &length);
  EVP_MD_CTX_free(context);
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    fmt::format_to(std::back_inserter(hex), "{:02x}", digest[i]);
  }
  return hex;
}

ComponentSession::ComponentSession(std::string domain, std::string secret, StreamLimits limits)
    : domain_(std::move(domain)), secret_(std::move(secret)), parser_(limits) {}

std::string ComponentSession::open() const {
  std::string out =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='";
  append_escaped(out, domain_);
  out += "'>";
  return out;
}

void ComponentSession::feed(std::string_view bytes, std::vector<StreamEvent>& stanzas,
                            std::string& out) {
  if (state_ == State::Closed) {
    return;
  }
  std::vector<StreamEvent> events;
  const bool ok = parser_.feed(bytes, events);
  for (StreamEvent& event : events) {
    if (state_ == State::Closed) {
      return;
    }
    handle(std::move(event), stanzas, out);
  }
  if (!ok && state_ != State::Closed) {
    fail(condition(parser_.failure().problem), parser_.failure().detail, out);
  }
}

void ComponentSession::handle(StreamEvent event, std::vector<StreamEvent>& stanzas,
                              std::string& out) {
  switch (event.kind) {
    case StreamEvent::Kind::Opened: {
      const std::string* id = event.element.attribute("id");
      if (state_ != State::Opening || id == nullptr || id->empty()) {
        fail("invalid-id", "stream header without an id", out);
        return;
      }
      state_ = State::Handshaking;
      out += "<handshake>";
      out += handshake_digest(*id, secret_);
      out += "</handshake>";
      return;
    }
    case StreamEvent::Kind::Closed:
      state_ = State::Closed;
      closed_because_ = "closed";
      out += close();
      return;
    case StreamEvent::Kind::Stanza: break;
  }
  const Element& element = event.element;
  if (element.ns == kStreamNs && element.name == "error") {
    // The server's stream error (RFC 6120 §4.9); not-authorized is a refused handshake.
    state_ = State::Closed;
    closed_because_ =
        element.children.empty() ? "undefined-condition" : element.children.front().name;
    refused_ = closed_because_ == "not-authorized" || closed_because_ == "conflict" ||
               closed_because_ == "host-unknown";
    out += close();
    return;
  }
  if (state_ == State::Handshaking) {
    if (element.ns == kComponentNs && element.name == "handshake") {
      state_ = State::Ready;
      return;
    }
    fail("not-authorized", fmt::format("<{}> before the handshake was accepted", element.name),
         out);
    return;
  }
  stanzas.push_back(std::move(event));
}

void ComponentSession::fail(std::string_view condition_name, std::string detail, std::string& out) {
  state_ = State::Closed;
  closed_because_ = fmt::format("{}: {}", condition_name, detail);
  out +=
      fmt::format("<stream:error><{} xmlns='{}'/></stream:error>", condition_name, kStreamErrorNs);
  out += close();
}

}  // namespace presenced::xmpp
