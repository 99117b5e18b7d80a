#pragma once

// One XEP-0114 component stream to the XMPP server, without the socket: the stream header we
// open with, the handshake (hex SHA-1 of the stream id and the shared secret, §3), then stanzas.
// Private to src/xmpp.
// Thread-safety: one session per connection, used on one thread.

#include "xmpp/internal/stream.h"

#include <string>
#include <string_view>
#include <vector>

namespace presenced::xmpp {

// hex(SHA-1(stream_id + secret)), XEP-0114 §3.
std::string handshake_digest(std::string_view stream_id, std::string_view secret);

class ComponentSession {
 public:
  enum class State : std::uint8_t { Opening, Handshaking, Ready, Closed };

  ComponentSession(std::string domain, std::string secret, StreamLimits limits);

  // What to send first on a new connection.
  std::string open() const;
  // Reads bytes from the server. Stanzas (once Ready) go to `stanzas`; what we must answer
  // (the handshake, a stream error and our stream's end) is appended to `out`. After Closed
  // the connection is to be closed once `out` is written.
  void feed(std::string_view bytes, std::vector<StreamEvent>& stanzas, std::string& out);
  // Ends our side of the stream.
  static std::string_view close() { return "</stream:stream>"; }

  State state() const { return state_; }
  // Why the stream closed: a stream error condition we sent or received, or "closed".
  const std::string& closed_because() const { return closed_because_; }
  // True when the server refused the handshake (wrong secret or domain): retrying will not help
  // until the configuration changes, but the server may be restarting, so we retry slowly.
  bool refused() const { return refused_; }

 private:
  void handle(StreamEvent event, std::vector<StreamEvent>& stanzas, std::string& out);
  void fail(std::string_view condition, std::string detail, std::string& out);

  std::string domain_;
  std::string secret_;
  StreamParser parser_;
  State state_ = State::Opening;
  std::string closed_because_;
  bool refused_ = false;
};

}  // namespace presenced::xmpp
