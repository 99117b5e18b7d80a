// xmpp-gen: the side-by-side generator for XMPP servers (bench/compare/README.md). Every
// account is one c2s stream without TLS: SASL PLAIN, resource bind, then an initial presence;
// the arm provisioned the rosters, so the server's roster decides who hears whom. A publish is a
// <presence> with <show> and the stamp in <status>; watchers read presences off their streams
// with a small expat parser.

#include "client_pool.h"

#include <expat.h>
#include <fmt/format.h>

#include <deque>
#include <iostream>

namespace presenced::load::compare {
namespace {

using asio::awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kStepTimeout = std::chrono::seconds(30);  // each login step

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

struct Shared {
  const Dataset& dataset;
  Receipts& receipts;
  ServerAddress address;
  std::string domain;
  LoginTally* tally = nullptr;  // of the login command running, if any
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> errors{0};
};

// One account's stream. Lives on one worker thread; other threads only post to it.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Shared& shared, asio::io_context& context, std::size_t thread, AccountId account)
      : shared_(shared), context_(context), thread_(thread), account_(account),
        socket_(context), resume_(context, asio::steady_timer::time_point::max()) {}

  asio::io_context& context() { return context_; }

  void start() {
    asio::co_spawn(context_, session(shared_from_this()), asio::detached);
  }

  void publish(const std::string& state, std::uint64_t seq) {
    state_ = state;
    seq_ = seq;
    if (!online_) {
      return;  // not accepted: no open stream
    }
    send(presence_stanza(state, format_stamp(state, seq, monotonic_ns())), true);
  }

  void set_reading(bool reading) {
    reading_ = reading;
    if (reading) {
      resume_.cancel();
    }
  }

  void reconnect() {
    if (online_) {
      relogin_ = true;
      drop();
    }
  }

  void close() {
    if (online_) {
      closing_ = true;
      send("</stream:stream>", false);
    } else {
      drop();
    }
  }

 private:
  static awaitable<void> session(std::shared_ptr<Client> self) {
    const bool ok = co_await self->log_in();
    if (!ok) {
      self->fail();
      co_return;
    }
    co_await self->read_loop();
    self->online_ = false;
    if (!self->closing_) {
      if (!self->relogin_) {
        ++self->shared_.errors;  // the server closed an online stream
      }
    }
    if (self->relogin_) {
      self->relogin_ = false;
      self->socket_ = tcp::socket(self->context_);
      self->parser_.reset();
      self->outbox_.clear();
      self->start();
    }
  }

  void fail() {
    if (auto* tally = shared_.tally) {
      ++tally->failed;
    }
    drop();
  }

  void drop() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  std::string stream_header() const {
    return fmt::format(
        "<?xml version='1.0'?><stream:stream to='{}' xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        shared_.domain);
  }

  // Waits for the next stanza during login, within kStepTimeout.
  awaitable<std::optional<Stanza>> next_stanza() {
    asio::steady_timer deadline(context_, kStepTimeout);
    deadline.async_wait([this](boost::system::error_code ec) {
      if (!ec) {
        drop();
      }
    });
    while (parser_.stanzas().empty()) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), kAsTuple);
      if (ec || !parser_.feed({buffer_.data(), n}) || parser_.ended()) {
        co_return std::nullopt;
      }
    }
    Stanza stanza = std::move(parser_.stanzas().front());
    parser_.stanzas().pop_front();
    co_return stanza;
  }

  awaitable<bool> log_in() {
    const auto& address = shared_.address;
    boost::system::error_code ec;
    socket_.open(address.server.protocol(), ec);
    socket_.bind(tcp::endpoint(address.sources[account_ % address.sources.size()], 0), ec);
    if (ec) {
      co_return false;
    }
    std::tie(ec) = co_await socket_.async_connect(address.server, kAsTuple);
    if (ec) {
      co_return false;
    }
    socket_.set_option(tcp::no_delay(true), ec);
    const auto& name = shared_.dataset.accounts[account_];
    send(stream_header(), false);
    auto features = co_await next_stanza();
    if (!features || features->name != "stream:features" || !features->plain) {
      co_return false;
    }
    send(fmt::format("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{}</auth>",
                     base64(std::string("\0", 1) + name + '\0' + shared_.dataset.password)),
         false);
    auto outcome = co_await next_stanza();
    if (!outcome || outcome->name != "success") {
      co_return false;
    }
    parser_.reset();
    send(stream_header(), false);
    features = co_await next_stanza();
    if (!features || !features->bind) {
      co_return false;
    }
    send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
         "<resource>gen</resource></bind></iq>",
         false);
    auto bound = co_await next_stanza();
    if (!bound || bound->name != "iq" || bound->type != "result") {
      co_return false;
    }
    // The initial presence replays the account's last state (ns 0: not a new publish).
    send(presence_stanza(state_, format_stamp(state_, seq_, 0)), false);
    online_ = true;
    if (auto* tally = shared_.tally) {
      tally->subscriptions += shared_.dataset.watches[account_].size();
      ++tally->done;
    }
    // Stanzas that came with the bind result.
    while (!parser_.stanzas().empty()) {
      handle(parser_.stanzas().front());
      parser_.stanzas().pop_front();
    }
    co_return true;
  }

  awaitable<void> read_loop() {
    for (;;) {
      while (!reading_) {
        resume_.expires_at(asio::steady_timer::time_point::max());
        co_await resume_.async_wait(kAsTuple);
      }
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_), kAsTuple);
      if (ec) {
        co_return;
      }
      if (!parser_.feed({buffer_.data(), n})) {
        ++shared_.errors;
        drop();
        co_return;
      }
      for (auto& stanza : parser_.stanzas()) {
        handle(stanza);
      }
      parser_.stanzas().clear();
      if (parser_.ended()) {
        drop();
        co_return;
      }
    }
  }

  void handle(const Stanza& stanza) {
    if (stanza.name == "presence") {
      if (!stanza.type.empty()) {
        return;  // unavailable, subscription requests, errors
      }
      const auto local = std::string_view(stanza.from).substr(0, stanza.from.find('@'));
      const auto it = shared_.dataset.index.find(std::string(local));
      if (it != shared_.dataset.index.end()) {
        shared_.receipts.received(thread_, account_, it->second, stanza.status);
      }
    } else if (stanza.name == "stream:error") {
      ++shared_.errors;
    }
  }

  // Queues bytes; `counted` publishes are accepted once written to the open stream.
  void send(std::string bytes, bool counted) {
    outbox_ += bytes;
    pending_publishes_ += counted ? 1 : 0;
    if (!writing_) {
      flush();
    }
  }

  void flush() {
    if (outbox_.empty()) {
      return;
    }
    writing_ = true;
    inflight_.swap(outbox_);
    outbox_.clear();
    const auto publishes = std::exchange(pending_publishes_, 0);
    asio::async_write(socket_, asio::buffer(inflight_),
                      [self = shared_from_this(), publishes](boost::system::error_code ec,
                                                             std::size_t) {
                        self->writing_ = false;
                        if (ec) {
                          self->outbox_.clear();
                          self->pending_publishes_ = 0;
                          return;
                        }
                        self->shared_.accepted += publishes;
                        if (self->closing_ && self->outbox_.empty()) {
                          self->drop();
                          return;
                        }
                        self->flush();
                      });
  }

  Shared& shared_;
  asio::io_context& context_;
  std::size_t thread_;
  AccountId account_;
  tcp::socket socket_;
  asio::steady_timer resume_;
  StreamParser parser_;
  std::array<char, 16384> buffer_{};
  std::string outbox_;
  std::string inflight_;
  std::uint64_t pending_publishes_ = 0;
  bool writing_ = false;
  bool online_ = false;
  bool reading_ = true;
  bool relogin_ = false;
  bool closing_ = false;
  std::string state_ = "available";
  std::uint64_t seq_ = 0;
};

class XmppTransport : public Transport {
 public:
  XmppTransport(const Dataset& dataset, Receipts& receipts, const boost::json::object& endpoint,
                std::size_t threads)
      : shared_{dataset, receipts, server_address(endpoint),
                std::string(endpoint.at("domain").as_string())},
        pool_(threads) {
    for (AccountId account = 0; account < dataset.accounts.size(); ++account) {
      clients_.push_back(std::make_shared<Client>(shared_, pool_.context(account), account % threads,
                                                  account));
    }
  }

  ~XmppTransport() override { close(); }

  Login login(double rate) override {
    LoginTally tally;
    shared_.tally = &tally;
    auto result = paced_login(clients_.size(), rate, tally, [this](std::size_t i) {
      asio::post(clients_[i]->context(), [client = clients_[i]] { client->start(); });
    });
    shared_.tally = nullptr;
    return result;
  }

  void publish(AccountId user, std::string state, std::uint64_t seq) override {
    auto& client = clients_[user];
    asio::post(client->context(),
               [client, state = std::move(state), seq] { client->publish(state, seq); });
  }

  void set_reading(AccountId account, bool reading) override {
    auto& client = clients_[account];
    asio::post(client->context(), [client, reading] { client->set_reading(reading); });
  }

  void reconnect(AccountId account) override {
    auto& client = clients_[account];
    asio::post(client->context(), [client] { client->reconnect(); });
  }

  void close() override {
    if (closed_) {
      return;
    }
    closed_ = true;
    for (auto& client : clients_) {
      asio::post(client->context(), [client] { client->close(); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (auto& client : clients_) {
      asio::post(client->context(), [client] { client->set_reading(true); });
    }
    pool_.stop();
  }

  std::uint64_t accepted() const override { return shared_.accepted; }
  std::uint64_t errors() const override { return shared_.errors; }
  std::string refresh_note() const override {
    return "XMPP roster subscriptions do not expire: nothing to refresh";
  }
  std::uint64_t refresh(AccountId) override { return 0; }

 private:
  Shared shared_;
  ClientPool pool_;
  std::vector<std::shared_ptr<Client>> clients_;
  bool closed_ = false;
};

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  using namespace presenced::load::compare;
  return generator_main(
      argc, argv, "xmpp-gen: side-by-side load over XMPP c2s (bench/compare/README.md)",
      [](const Dataset& dataset, Receipts& receipts, const std::string& endpoint,
         std::size_t threads) -> std::unique_ptr<Transport> {
        return std::make_unique<XmppTransport>(dataset, receipts,
                                               boost::json::parse(endpoint).as_object(), threads);
      });
}
