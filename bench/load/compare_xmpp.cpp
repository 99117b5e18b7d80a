// compare-xmpp: the side-by-side generator for XMPP servers (bench/compare/README.md). Every
// account is one c2s stream without TLS: SASL PLAIN, resource bind, then an initial presence;
// the arm provisioned the rosters, so the server's roster decides who hears whom. A publish is a
// <presence> with <show> and the stamp in <status>; watchers read presences off their streams
// with a small expat parser.

#include "compare_stream.h"

#include <expat.h>
#include <fmt/format.h>

#include <deque>

namespace presenced::load::compare {
namespace {

using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kStepTimeout = std::chrono::seconds(60);  // each login step

// The states of the data set as XMPP <show> values; "available" has none.
std::string_view show_of(std::string_view state) {
  if (state == "away") {
    return "away";
  }
  if (state == "available") {
    return "";
  }
  return "dnd";  // busy, on-the-phone, dnd
}

std::string presence_stanza(std::string_view state, const std::string& stamp) {
  const auto show = show_of(state);
  if (show.empty()) {
    return fmt::format("<presence><status>{}</status></presence>", stamp);
  }
  return fmt::format("<presence><show>{}</show><status>{}</status></presence>", show, stamp);
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63],
            kAlphabet[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// One top-level element of the server's stream, with the little the generator looks at.
struct Stanza {
  std::string name;
  std::string from;
  std::string type;
  std::string status;
  bool plain = false;  // features offer SASL PLAIN
  bool bind = false;   // features offer resource binding
};

// Incremental parse of the server's stream into stanzas; reset() for the stream restart after
// SASL.
class StreamParser {
 public:
  StreamParser() { reset(); }
  ~StreamParser() { XML_ParserFree(parser_); }
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  void reset() {
    if (parser_ == nullptr) {
      parser_ = XML_ParserCreate("UTF-8");
    } else {
      XML_ParserReset(parser_, "UTF-8");
    }
    XML_SetUserData(parser_, this);
    XML_SetElementHandler(parser_, &StreamParser::on_start, &StreamParser::on_end);
    XML_SetCharacterDataHandler(parser_, &StreamParser::on_text);
    depth_ = 0;
    ended_ = false;
  }

  // False when the bytes are not well-formed XML.
  bool feed(std::string_view bytes) {
    return XML_Parse(parser_, bytes.data(), static_cast<int>(bytes.size()), 0) == XML_STATUS_OK;
  }

  std::deque<Stanza>& stanzas() { return done_; }
  bool ended() const { return ended_; }

 private:
  static void on_start(void* self_ptr, const XML_Char* name, const XML_Char** attributes) {
    auto& self = *static_cast<StreamParser*>(self_ptr);
    const std::string_view element(name);
    ++self.depth_;
    if (self.depth_ == 2) {
      self.current_ = Stanza{};
      self.current_.name = element;
      for (auto** a = attributes; *a != nullptr; a += 2) {
        const std::string_view key(a[0]);
        if (key == "from") {
          self.current_.from = a[1];
        } else if (key == "type") {
          self.current_.type = a[1];
        }
      }
    } else if (self.depth_ > 2) {
      self.in_status_ = self.depth_ == 3 && element == "status";
      self.in_mechanism_ = element == "mechanism";
      self.current_.bind |= element == "bind";
    }
  }

  static void on_end(void* self_ptr, const XML_Char*) {
    auto& self = *static_cast<StreamParser*>(self_ptr);
    if (self.depth_ == 2) {
      self.done_.push_back(std::move(self.current_));
    } else if (self.depth_ == 1) {
      self.ended_ = true;
    }
    self.in_status_ = false;
    self.in_mechanism_ = false;
    --self.depth_;
  }

  static void on_text(void* self_ptr, const XML_Char* text, int length) {
    auto& self = *static_cast<StreamParser*>(self_ptr);
    const std::string_view chunk(text, static_cast<std::size_t>(length));
    if (self.in_status_) {
      self.current_.status += chunk;
    } else if (self.in_mechanism_ && chunk == "PLAIN") {
      self.current_.plain = true;
    }
  }

  XML_Parser parser_ = nullptr;
  int depth_ = 0;
  bool ended_ = false;
  bool in_status_ = false;
  bool in_mechanism_ = false;
  Stanza current_;
  std::deque<Stanza> done_;
};

// What every client of one run shares, from the arm's endpoint.
struct Shared {
  explicit Shared(const boost::json::object& endpoint)
      : address(server_address(endpoint)), domain(endpoint.at("domain").as_string()) {}
  ServerAddress address;
  std::string domain;
};

// One account's stream.
class Client : public StreamClient {
 public:
  Client(asio::io_context& context, Driver& driver, const Shared& shared, std::uint32_t account)
      : StreamClient(context, driver, shared.address, account), shared_(shared) {}

  void publish(std::string_view state, Stamp stamp) {
    state_ = state;
    stamp_ = stamp;
    if (online_) {
      send(presence_stanza(state, stamp_text(state, stamp)), stamp.serial);
    } else {
      driver_.answered(stamp.serial, false, "no open stream");
    }
  }

  void close() {
    if (online_) {
      send("</stream:stream>");
      close_after_writes();
    } else {
      closing_ = true;
      drop();
    }
  }

 private:
  std::string stream_header() const {
    return fmt::format(
        "<?xml version='1.0'?><stream:stream to='{}' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        shared_.domain);
  }

  // Waits for the next stanza during login, within kStepTimeout.
  awaitable<std::optional<Stanza>> next_stanza(const char* step) {
    asio::steady_timer deadline(context_, kStepTimeout);
    deadline.async_wait([self = shared_from_this(), this](boost::system::error_code ec) {
      if (!ec) {
        drop();
      }
    });
    while (parser_.stanzas().empty()) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), kAsTuple);
      if (ec) {
        why_ = fmt::format("{}: {}", step,
                           deadline.expiry() <= asio::steady_timer::clock_type::now()
                               ? "timed out" : ec.message());
        co_return std::nullopt;
      }
      if (!parser_.feed({buffer_.data(), n}) || parser_.ended()) {
        why_ = fmt::format("{}: the stream ended or is not XML", step);
        co_return std::nullopt;
      }
    }
    Stanza stanza = std::move(parser_.stanzas().front());
    parser_.stanzas().pop_front();
    co_return stanza;
  }

  awaitable<std::optional<std::uint64_t>> log_in() override {
    parser_.reset();
    const bool connected = co_await connect();
    if (!connected) {
      co_return std::nullopt;
    }
    send(stream_header());
    auto features = co_await next_stanza("stream features");
    if (!features || features->name != "stream:features" || !features->plain) {
      co_return std::nullopt;
    }
    send(fmt::format("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
                     base64(std::string("\0", 1) + name() + '\0' + driver_.dataset().password)));
    auto outcome = co_await next_stanza("SASL PLAIN");
    if (!outcome || outcome->name != "success") {
      co_return std::nullopt;
    }
    parser_.reset();
    send(stream_header());
    features = co_await next_stanza("stream restart");
    if (!features || !features->bind) {
      co_return std::nullopt;
    }
    send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
         "<resource>gen</resource></bind></iq>");
    auto bound = co_await next_stanza("resource bind");
    if (!bound || bound->name != "iq" || bound->type != "result") {
      co_return std::nullopt;
    }
    // The initial presence announces the account's last state again, with its stamp: a
    // watcher that already has that serial ignores it.
    send(presence_stanza(state_, stamp_text(state_, stamp_)));
    online_ = true;
    co_return driver_.dataset().watching[account_].size();
  }

  awaitable<void> read_loop() override {
    for (;;) {
      const std::uint64_t now = monotonic_ns();
      for (auto& stanza : parser_.stanzas()) {
        handle(stanza, now);
      }
      parser_.stanzas().clear();
      if (parser_.ended()) {
        drop();
        co_return;
      }
      co_await wait_reading();
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), kAsTuple);
      if (ec) {
        co_return;
      }
      if (!parser_.feed({buffer_.data(), n})) {
        driver_.failure(fmt::format("{}: the server's stream is not XML", name()));
        drop();
        co_return;
      }
    }
  }

  void handle(const Stanza& stanza, std::uint64_t now) {
    if (stanza.name == "presence") {
      if (!stanza.type.empty()) {
        return;  // unavailable, subscription requests, errors
      }
      const auto local = std::string_view(stanza.from).substr(0, stanza.from.find('@'));
      const auto it = driver_.dataset().index.find(std::string(local));
      if (it == driver_.dataset().index.end()) {
        return;
      }
      if (const auto pair = pair_of(it->second)) {
        driver_.received(*pair, read_stamp(stanza.status), now);
      }
    } else if (stanza.name == "stream:error") {
      driver_.failure(fmt::format("{}: stream error", name()));
    }
  }

  const Shared& shared_;
  StreamParser parser_;
  std::array<char, 16384> buffer_{};
  std::string state_ = "available";
  Stamp stamp_;  // of the last publish; serial 0 before the first
};

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  using namespace presenced::load::compare;
  return run_stream_generator<Client, Shared>(argc, argv);
}
