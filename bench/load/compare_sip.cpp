// compare-sip: the side-by-side generator for SIP presence servers over UDP (presenced,
// Kamailio; bench/compare/README.md, "Generator line protocol"). Every watch relation is one
// SUBSCRIBE dialog; a publish is the user's PUBLISH (RFC 3903, refreshing its entity tag with
// SIP-If-Match) with the stamp in the PIDF <note>; every NOTIFY is answered 200 at once. A 401
// is answered with MD5 digest credentials (RFC 3261 §22.4, qop=auth); the nonce is then reused
// with a growing nc, as a phone does. Endpoint: {"sip": "127.0.0.1:PORT", "domain": D}.
// Requests unanswered are sent again (a full socket buffer on loopback
// drops datagrams like a network would), as RFC 3261's timers E and F say.

#include "compare_gen.h"
#include "http_client.h"
#include "sip_text.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <deque>
#include <memory>
#include <unordered_set>

namespace presenced::load::compare {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using udp = asio::ip::udp;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kSockets = 16;
constexpr std::size_t kSubscribesInFlight = 256;
// RFC 3261 §17.1.2.2 over UDP: again after T1 = 500 ms, doubling up to T2 = 4 s, given up
// after 64·T1 = 32 s (timer F).
constexpr std::uint64_t kT1Ns = 500'000'000;
constexpr std::uint64_t kT2Ns = 4'000'000'000;
constexpr std::uint64_t kTimerFNs = 64 * kT1Ns;

std::string_view rpid_activity(std::string_view state) {
  if (state == "busy" || state == "dnd") return "<rpid:busy/>";
  if (state == "on-the-phone") return "<rpid:on-the-phone/>";
  if (state == "away") return "<rpid:away/>";
  return "";
}

std::string_view tag_of(std::string_view value) {
  const std::size_t at = value.find(";tag=");
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + 5;
  const std::size_t end = value.find_first_of(";> ", start);
  return value.substr(start, end == std::string_view::npos ? end : end - start);
}

std::string_view uri_of(std::string_view contact) {
  const std::size_t open = contact.find('<');
  if (open == std::string_view::npos) return {};
  const std::size_t close = contact.find('>', open);
  return close == std::string_view::npos ? std::string_view{}
                                          : contact.substr(open + 1, close - open - 1);
}

// One request this side sent and awaits an answer to.
struct Pending {
  std::string text;
  std::uint64_t first_sent = 0;
  std::uint64_t sent_at = 0;
  int tries = 0;  // 0: nothing outstanding

  std::uint64_t interval() const {
    return std::min(kT1Ns << std::min(tries - 1, 4), kT2Ns);
  }
};

enum class DialogState : std::uint8_t { Idle, Subscribing, Active, Ended };

struct Dialog {
  DialogState state = DialogState::Idle;
  std::uint32_t cseq = 0;
  std::string to_tag;
  std::string target;  // the server's Contact: in-dialog requests go there
  Pending pending;
};

struct Publication {
  struct Job {
    std::string state;
    Stamp stamp;
  };
  std::deque<Job> jobs;  // one PUBLISH of a user at a time, in order: they share one tag
  bool busy = false;
  std::uint32_t cseq = 0;
  std::string etag;
  Pending pending;
};

struct Credentials {
  std::string realm;
  std::string nonce;
  std::string opaque;
  std::uint32_t nc = 0;
};

class SipProtocol final : public Protocol {
 public:
  SipProtocol(asio::io_context& ioc, Driver& driver, udp::endpoint server, std::string domain)
      : ioc_(ioc), driver_(driver), server_(server), domain_(std::move(domain)),
        dialogs_(driver.dataset().pairs.size()), publications_(driver.dataset().users),
        credentials_(driver.dataset().accounts.size()),
        answered_(driver.dataset().accounts.size(), 0),
        failed_(driver.dataset().accounts.size(), 0), held_(driver.dataset().accounts.size()),
        sweep_(ioc) {
    for (std::size_t s = 0; s < kSockets; ++s) {
      auto socket = std::make_unique<udp::socket>(ioc_, udp::endpoint(server.address(), 0));
      socket->set_option(asio::socket_base::receive_buffer_size(8 << 20));
      socket->set_option(asio::socket_base::send_buffer_size(8 << 20));
      ports_.push_back(socket->local_endpoint().port());
      sockets_.push_back(std::move(socket));
    }
    for (std::size_t s = 0; s < kSockets; ++s) {
      asio::co_spawn(ioc_, receive(s), asio::detached);
    }
    asio::co_spawn(ioc_, retransmit(), asio::detached);
  }

  void login(std::uint32_t a) override {
    const auto& pairs = driver_.dataset().watching[a];
    answered_[a] = failed_[a] = 0;
    if (pairs.empty()) {
      driver_.logged_in(a, true, 0);
      return;
    }
    // The first SUBSCRIBE alone: its 401 gives the nonce the others then use at once, so each
    // of them is one transaction at the server, not two.
    waiting_.push_back(pairs.front());
    held_[a].assign(pairs.begin() + 1, pairs.end());
    start_subscribes();
  }

  void publish(std::uint32_t u, std::string_view state, Stamp stamp) override {
    Publication& p = publications_[u];
    p.jobs.push_back(Publication::Job{std::string(state), stamp});
    if (!p.busy) send_publish(u);
  }

  bool refresh(std::uint32_t pair) override {
    Dialog& d = dialogs_[pair];
    if (d.state == DialogState::Active && d.pending.tries == 0) {
      send_subscribe(pair, false);
    }
    return true;
  }

  bool reconnect(std::uint32_t) override { return false; }  // UDP: no connection to drop
  bool set_reading(std::uint32_t, bool) override { return false; }

  void close() override {
    closing_ = true;
    for (auto& socket : sockets_) {
      boost::system::error_code ec;
      socket->close(ec);
    }
    sweep_.cancel();
  }

 private:
  std::string pid_ = std::to_string(::getpid());

  std::size_t socket_of_pair(std::uint32_t pair) const { return pair % kSockets; }
  std::size_t socket_of_user(std::uint32_t u) const { return (u * 7 + 3) % kSockets; }

  void send(std::size_t socket, const std::string& text) {
    boost::system::error_code ec;
    sockets_[socket]->send_to(asio::buffer(text), server_, 0, ec);
  }

  // RFC 3261 §22.4 with qop=auth (RFC 2617 §3.2.2); empty without a challenge yet.
  std::string authorization(std::uint32_t account, std::string_view method, std::string_view uri) {
    Credentials& c = credentials_[account];
    if (c.nonce.empty()) return {};
    const std::string& user = driver_.dataset().accounts[account];
    const std::string nc = fmt::format("{:08x}", ++c.nc);
    const std::string cnonce = fmt::format("c{:x}", monotonic_ns());
    const std::string ha1 = md5_hex(fmt::format("{}:{}:{}", user, c.realm, driver_.dataset().password));
    const std::string ha2 = md5_hex(fmt::format("{}:{}", method, uri));
    const std::string response =
        md5_hex(fmt::format("{}:{}:{}:{}:auth:{}", ha1, c.nonce, nc, cnonce, ha2));
    std::string out = fmt::format(
        "Authorization: Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", "
        "response=\"{}\", algorithm=MD5, cnonce=\"{}\", qop=auth, nc={}",
        user, c.realm, c.nonce, uri, response, cnonce, nc);
    if (!c.opaque.empty()) out += fmt::format(", opaque=\"{}\"", c.opaque);
    out += "\r\n";
    return out;
  }

  // True when the 401 carried an MD5 challenge, now remembered for the account.
  bool challenged(std::uint32_t account, std::string_view message) {
    for (const std::string_view line : headers(message, "WWW-Authenticate")) {
      if (param(line, "algorithm") == "MD5") {
        Credentials& c = credentials_[account];
        c.realm = param(line, "realm");
        c.nonce = param(line, "nonce");
        c.opaque = param(line, "opaque");
        c.nc = 0;
        return true;
      }
    }
    return false;
  }

  void start_subscribes() {
    while (subscribing_ < kSubscribesInFlight && !waiting_.empty()) {
      const std::uint32_t pair = waiting_.front();
      waiting_.pop_front();
      ++subscribing_;
      dialogs_[pair].state = DialogState::Subscribing;
      send_subscribe(pair, true);
    }
  }

  void send_subscribe(std::uint32_t pair, bool initial) {
    const Dataset& ds = driver_.dataset();
    const Pair& p = ds.pairs[pair];
    Dialog& d = dialogs_[pair];
    if (initial) d.to_tag.clear();
    const std::string& watcher = ds.accounts[p.watcher];
    const std::string& presentity = ds.accounts[p.presentity];
    const std::string aor = fmt::format("sip:{}@{}", presentity, domain_);
    const std::string uri = d.target.empty() || initial ? aor : d.target;
    const std::size_t s = socket_of_pair(pair);
    d.cseq += 1;
    d.pending.text = fmt::format(
        "SUBSCRIBE {0} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{1};branch=z9hG4bKd{2}x{3};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:{4}@{5}>;tag=f{2}\r\n"
        "To: <{6}>{7}\r\n"
        "Call-ID: d{2}.{8}\r\n"
        "CSeq: {3} SUBSCRIBE\r\n"
        "Contact: <sip:{4}@127.0.0.1:{1}>\r\n"
        "Event: presence\r\n"
        "Accept: application/pidf+xml\r\n"
        "Expires: 3600\r\n"
        "{9}"
        "Content-Length: 0\r\n\r\n",
        uri, ports_[s], pair, d.cseq, watcher, domain_, aor,
        d.to_tag.empty() ? std::string() : ";tag=" + d.to_tag, pid_,
        authorization(p.watcher, "SUBSCRIBE", uri));
    d.pending.sent_at = d.pending.first_sent = monotonic_ns();
    d.pending.tries = 1;
    send(s, d.pending.text);
    outstanding_.insert(pair);
  }

  void send_publish(std::uint32_t u) {
    Publication& p = publications_[u];
    if (p.jobs.empty()) {
      p.busy = false;
      return;
    }
    p.busy = true;
    const Publication::Job& job = p.jobs.front();
    const std::string& user = driver_.dataset().accounts[u];
    const std::string uri = fmt::format("sip:{}@{}", user, domain_);
    const std::string body = fmt::format(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
        "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
        "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
        "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"{0}\">\r\n"
        "<tuple id=\"t{1}\"><status><basic>open</basic></status>"
        "<note>{2}</note></tuple>\r\n"
        "<dm:person id=\"p{1}\"><rpid:activities>{3}</rpid:activities></dm:person>\r\n"
        "</presence>\r\n",
        uri, u, stamp_text(job.state, job.stamp), rpid_activity(job.state));
    const std::size_t s = socket_of_user(u);
    p.cseq += 1;
    p.pending.text = fmt::format(
        "PUBLISH {0} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{1};branch=z9hG4bKp{2}x{3};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <{0}>;tag=p{2}\r\n"
        "To: <{0}>\r\n"
        "Call-ID: p{2}.{4}\r\n"
        "CSeq: {3} PUBLISH\r\n"
        "Event: presence\r\n"
        "Expires: 3600\r\n"
        "{5}{6}"
        "Content-Type: application/pidf+xml\r\n"
        "Content-Length: {7}\r\n\r\n{8}",
        uri, ports_[s], u, p.cseq, pid_,
        p.etag.empty() ? std::string() : "SIP-If-Match: " + p.etag + "\r\n",
        authorization(u, "PUBLISH", uri), body.size(), body);
    p.pending.sent_at = p.pending.first_sent = monotonic_ns();
    p.pending.tries = 1;
    send(s, p.pending.text);
    outstanding_.insert(kPublicationBit | u);
  }

  asio::awaitable<void> receive(std::size_t s) {
    std::vector<char> buffer(65536);
    udp::endpoint from;
    while (!closing_) {
      auto [ec, n] = co_await sockets_[s]->async_receive_from(asio::buffer(buffer), from, kAsTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      const std::string_view message(buffer.data(), n);
      if (message.starts_with("SIP/2.0 ")) {
        response(message);
      } else if (message.starts_with("NOTIFY ")) {
        notify(s, message, from);
      }
    }
  }

  void response(std::string_view message) {
    const auto status = number_after(message, "SIP/2.0 ");
    const auto cseq = number_after(header(message, "CSeq"), "");
    const std::string_view call_id = header(message, "Call-ID");
    if (!status || !cseq || call_id.size() < 2 || *status < 200) return;
    const auto index = number_after(call_id, call_id.substr(0, 1));
    if (!index) return;
    if (call_id[0] == 'd' && *index < dialogs_.size()) {
      subscribe_answered(static_cast<std::uint32_t>(*index), *status, *cseq, message);
    } else if (call_id[0] == 'p' && *index < publications_.size()) {
      publish_answered(static_cast<std::uint32_t>(*index), *status, *cseq, message);
    }
  }

  void subscribe_answered(std::uint32_t pair, std::uint64_t status, std::uint64_t cseq,
                          std::string_view message) {
    Dialog& d = dialogs_[pair];
    if (cseq != d.cseq || d.pending.tries == 0) return;  // an answer to an earlier try
    d.pending.tries = 0;
    outstanding_.erase(pair);
    const std::uint32_t account = driver_.dataset().pairs[pair].watcher;
    if (status == 401 && challenged(account, message)) {
      send_subscribe(pair, d.state == DialogState::Subscribing);
      return;
    }
    if (status == 503) {
      defer(pair, message);
      return;
    }
    release_held(account);
    // A denied watcher refused at once (403) is the rules at work: the pair is served.
    const bool refused = status == 403 && driver_.dataset().pairs[pair].denied;
    const bool ok = status < 300 || refused;
    if (status < 300) {
      if (d.to_tag.empty()) d.to_tag = tag_of(header(message, "To"));
      if (const std::string_view contact = uri_of(header(message, "Contact")); !contact.empty()) {
        d.target = contact;
      }
    } else if (!refused) {
      driver_.failure(fmt::format("SUBSCRIBE {} -> {}: {}", driver_.dataset().accounts[account],
                                  driver_.dataset().accounts[driver_.dataset().pairs[pair].presentity],
                                  message.substr(0, message.find("\r\n"))));
    }
    if (d.state == DialogState::Subscribing) {
      d.state = status < 300 ? DialogState::Active : DialogState::Ended;
      --subscribing_;
      subscribe_done(account, ok);
      start_subscribes();
    }
  }

  // Sends again after the Retry-After of a 503 (5 s without one): the server is full for now.
  void defer(std::uint64_t id, std::string_view message) {
    const auto after = number_after(header(message, "Retry-After"), "").value_or(5);
    deferred_.emplace_back(monotonic_ns() + after * 1'000'000'000ull, id);
  }

  void release_held(std::uint32_t account) {
    if (held_[account].empty()) return;
    waiting_.insert(waiting_.end(), held_[account].begin(), held_[account].end());
    held_[account].clear();
    held_[account].shrink_to_fit();
  }

  void subscribe_done(std::uint32_t account, bool ok) {
    ++answered_[account];
    failed_[account] += ok ? 0 : 1;
    const auto total = driver_.dataset().watching[account].size();
    if (answered_[account] == total) {
      driver_.logged_in(account, failed_[account] == 0, total - failed_[account]);
    }
  }

  void publish_answered(std::uint32_t u, std::uint64_t status, std::uint64_t cseq,
                        std::string_view message) {
    Publication& p = publications_[u];
    if (cseq != p.cseq || p.pending.tries == 0) return;
    p.pending.tries = 0;
    outstanding_.erase(kPublicationBit | u);
    if (status == 401 && challenged(u, message)) {
      send_publish(u);
      return;
    }
    if (status == 503) {
      defer(kPublicationBit | u, message);
      return;
    }
    if (status == 412) {  // the tag lapsed or was never known: publish afresh
      p.etag.clear();
      send_publish(u);
      return;
    }
    const Stamp stamp = p.jobs.front().stamp;
    p.jobs.pop_front();
    if (status == 200) {
      p.etag = header(message, "SIP-ETag");
      driver_.answered(stamp.serial, true);
    } else {
      driver_.answered(stamp.serial, false, message.substr(0, message.find("\r\n")));
    }
    send_publish(u);
  }

  // Answers 200 (RFC 3261 §8.2.6.2: Via, From, To, Call-ID and CSeq copied) and reads the stamp.
  void notify(std::size_t s, std::string_view message, const udp::endpoint& from) {
    const std::uint64_t now = monotonic_ns();
    const std::string ok = ok_response(message);
    boost::system::error_code ec;
    sockets_[s]->send_to(asio::buffer(ok), from, 0, ec);

    const std::string_view call_id = header(message, "Call-ID");
    if (call_id.empty() || call_id[0] != 'd') return;
    const auto index = number_after(call_id, "d");
    if (!index || *index >= dialogs_.size()) return;
    const auto pair = static_cast<std::uint32_t>(*index);
    Dialog& d = dialogs_[pair];
    const auto cseq = number_after(header(message, "CSeq"), "");
    if (cseq && *cseq <= last_notify_cseq(pair)) return;  // a retransmission
    if (cseq) notify_cseq_[pair] = static_cast<std::uint32_t>(*cseq);
    if (d.to_tag.empty()) d.to_tag = tag_of(header(message, "From"));
    if (header(message, "Subscription-State").starts_with("terminated") &&
        d.state == DialogState::Active && !driver_.dataset().pairs[pair].denied) {
      d.state = DialogState::Ended;
      driver_.failure(fmt::format("dialog {} ended by the server: {}", pair,
                                  header(message, "Subscription-State")));
    }
    const std::size_t body = message.find("\r\n\r\n");
    const std::string_view text = body == std::string_view::npos ? std::string_view{}
                                                                 : message.substr(body + 4);
    const std::size_t note = text.find("<note");
    if (driver_.dataset().pairs[pair].denied && note != std::string_view::npos &&
        ++denied_reports_ <= 3) {
      driver_.failure(fmt::format("denied pair {} got a state: {}", pair,
                                  message.substr(0, 600)));
    }
    driver_.received(pair, note == std::string_view::npos ? std::nullopt
                                                          : read_stamp(text.substr(note)),
                     now);
  }

  std::uint32_t last_notify_cseq(std::uint32_t pair) {
    if (notify_cseq_.empty()) notify_cseq_.assign(dialogs_.size(), 0);
    return notify_cseq_[pair];
  }

  asio::awaitable<void> retransmit() {
    while (!closing_) {
      sweep_.expires_after(std::chrono::milliseconds(200));
      co_await sweep_.async_wait(kAsTuple);
      const std::uint64_t now = monotonic_ns();
      while (!deferred_.empty() && deferred_.front().first <= now) {
        const std::uint64_t id = deferred_.front().second;
        deferred_.pop_front();
        if ((id & kPublicationBit) != 0) {
          send_publish(static_cast<std::uint32_t>(id & ~kPublicationBit));
        } else {
          send_subscribe(static_cast<std::uint32_t>(id), true);
        }
      }
      std::vector<std::uint64_t> due;
      for (const std::uint64_t id : outstanding_) {
        const Pending& pending = (id & kPublicationBit) != 0
                                     ? publications_[id & ~kPublicationBit].pending
                                     : dialogs_[id].pending;
        if (now - pending.sent_at > pending.interval()) due.push_back(id);
      }
      for (const std::uint64_t id : due) {
        const bool publication = (id & kPublicationBit) != 0;
        const auto index = static_cast<std::uint32_t>(id & ~kPublicationBit);
        Pending& pending = publication ? publications_[index].pending : dialogs_[index].pending;
        if (now - pending.first_sent < kTimerFNs) {
          ++pending.tries;
          pending.sent_at = now;
          send(publication ? socket_of_user(index) : socket_of_pair(index), pending.text);
          continue;
        }
        pending.tries = 0;
        outstanding_.erase(id);
        if (publication) {
          Publication& p = publications_[index];
          const Stamp stamp = p.jobs.front().stamp;
          p.jobs.pop_front();
          driver_.answered(stamp.serial, false, "no answer to PUBLISH");
          send_publish(index);
        } else if (dialogs_[index].state == DialogState::Subscribing) {
          dialogs_[index].state = DialogState::Ended;
          --subscribing_;
          driver_.failure(fmt::format("no answer to SUBSCRIBE of dialog {}", index));
          release_held(driver_.dataset().pairs[index].watcher);
          subscribe_done(driver_.dataset().pairs[index].watcher, false);
          start_subscribes();
        }
      }
    }
  }

  static constexpr std::uint64_t kPublicationBit = std::uint64_t{1} << 40;
  asio::io_context& ioc_;
  Driver& driver_;
  udp::endpoint server_;
  std::string domain_;
  std::vector<std::unique_ptr<udp::socket>> sockets_;
  std::vector<std::uint16_t> ports_;
  std::vector<Dialog> dialogs_;
  std::vector<std::uint32_t> notify_cseq_;
  std::vector<Publication> publications_;
  std::vector<Credentials> credentials_;
  std::vector<std::uint32_t> answered_;  // account -> SUBSCRIBEs answered in its login
  std::vector<std::uint32_t> failed_;
  std::vector<std::vector<std::uint32_t>> held_;  // account -> pairs after its first answer
  std::deque<std::uint32_t> waiting_;  // pairs to subscribe
  // 503 with Retry-After: (when, pair or kPublicationBit | user) to send again then.
  std::deque<std::pair<std::uint64_t, std::uint64_t>> deferred_;
  std::size_t subscribing_ = 0;
  std::unordered_set<std::uint64_t> outstanding_;  // pair, or kPublicationBit | user
  asio::steady_timer sweep_;
  bool closing_ = false;
  int denied_reports_ = 0;
};

std::unique_ptr<Protocol> make(asio::io_context& ioc, Driver& driver, const json::object& endpoint) {
  const auto sip = endpoint_address(endpoint, "sip");
  boost::system::error_code ec;
  const auto address = sip ? asio::ip::make_address(sip->host, ec) : asio::ip::address();
  if (!sip || ec) {
    return nullptr;
  }
  return std::make_unique<SipProtocol>(ioc, driver, udp::endpoint(address, sip->port),
                                       json::value_to<std::string>(endpoint.at("domain")));
}

}  // namespace
}  // namespace presenced::load::compare

int main(int argc, char** argv) {
  return presenced::load::compare::generator_main(argc, argv, presenced::load::compare::make);
}
