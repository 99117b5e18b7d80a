// The network side of SIP: UDP and TCP on the server's io_context. This is the only translation
// unit of src/sip that includes Asio; parsing, transactions and answers are pure and live in
// internal/. docs/sip.md, "The listener and its answers".

#include "sip/sip.h"
#include "sip/internal/branch.h"
#include "sip/internal/remote_watches.h"
#include "sip/internal/service.h"
#include "sip/internal/stateless.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <deque>
#include <regex>
#include <unordered_map>

namespace presenced::sip {

namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// The UDP socket's receive buffer. A change fans out to many subscriptions at once and their
// 200 OKs come back in one burst; the kernel counts a 400-byte datagram at about 1.3 KB, so the
// usual default (212,992 bytes) holds ~160 answers, and each one dropped costs a NOTIFY
// retransmission 500 ms later (T1). The kernel grants at most net.core.rmem_max.
constexpr int kUdpReceiveBufferBytes = 4 << 20;

// A change fans out to hundreds of NOTIFYs and their 200 OKs come back as many datagrams: they
// are sent and read this many to a system call (sendmmsg, recvmmsg), which halves the kernel's
// share of a NOTIFY where a system call is dear (virtual machines). Reading stops after
// kReceivesPerTurn datagrams so that timers and TCP get their turn.
constexpr std::size_t kUdpBatch = 32;
constexpr std::size_t kReceivesPerTurn = 256;

// One datagram of a recvmmsg or sendmmsg call: its bytes in `vector`, its address at `name`.
mmsghdr datagram_header(iovec& vector, void* name, socklen_t name_bytes) {
  mmsghdr header{};
  header.msg_hdr.msg_name = name;
  header.msg_hdr.msg_namelen = name_bytes;
  header.msg_hdr.msg_iov = &vector;
  header.msg_hdr.msg_iovlen = 1;
  return header;
}

// The address and port of a datagram's source, as Peer keeps them.
std::optional<std::pair<std::string, std::uint16_t>> source_of(const sockaddr_storage& from) {
  char text[INET6_ADDRSTRLEN] = {};
  if (from.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(from);
    if (inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text) != nullptr) {
      return std::pair{std::string(text), ntohs(v4.sin_port)};
    }
  } else if (from.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(from);
    if (inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text) != nullptr) {
      return std::pair{std::string(text), ntohs(v6.sin6_port)};
    }
  }
  return std::nullopt;
}

// One TCP connection: the bytes read but not yet framed, and the queue of bytes to write.
struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), idle(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer idle;
  std::deque<std::shared_ptr<const std::string>> queue;
  std::size_t queued_bytes = 0;
  bool writing = false;
  Peer peer;
};

class ListenerImpl final : public Listener {
 public:
  ListenerImpl(asio::io_context& io_context, SipConfig config, Directory& directory)
      : ioc_(io_context),
        config_(std::move(config)),
        udp_(ioc_),
        acceptor_(ioc_),
        timer_(ioc_),
        transactions_(config_.transactions),
        subscriptions_(subscription_config(config_), directory.engine(), &directory),
        publications_(publication_config(config_), directory),
        service_(config_.domain, directory, make_authenticator(config_), &subscriptions_),
        remote_(remote_watch_config(config_), presence_peers(config_)) {
    service_.set_publications(&publications_);
    service_.set_peers(config_.peers);
    if (!config_.md5_only_user_agents.empty()) {
      service_.set_md5_only(std::regex(config_.md5_only_user_agents));  // checked by the caller
    }
    // The engine wakes a subscription from inside its own calls: send its NOTIFYs just after.
    subscriptions_.set_on_wake([this] {
      if (!drain_posted_) {
        drain_posted_ = true;
        asio::post(ioc_, [this, alive = std::weak_ptr<bool>(alive_)] {
          if (alive.expired()) {
            return;  // the listener is gone; the io_context ran on without it
          }
          drain_posted_ = false;
          if (!stopping_) {
            subscriptions_.drain(std::chrono::steady_clock::now());
            apply(Actions{});
          }
        });
      }
    });
  }

  ~ListenerImpl() override { stop(); }

  core::Result<std::string> listen() override {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(config_.host, ec);
    if (ec) {
      return core::Error::invalid_argument("sip: " + config_.host + " is not an address");
    }
    // Port 0: the port UDP got must be free for TCP too; a few tries find one.
    for (int attempt = 0; attempt < 10; ++attempt) {
      ec = bind(address, config_.port);
      if (!ec || config_.port != 0) {
        break;
      }
    }
    if (ec) {
      return core::Error::unavailable("sip: cannot listen on " + config_.host + ":" +
                                      std::to_string(config_.port) + ": " + ec.message());
    }
    udp_.set_option(asio::socket_base::receive_buffer_size(kUdpReceiveBufferBytes), ec);
    asio::socket_base::receive_buffer_size granted;
    udp_.get_option(granted, ec);
    if (!ec && granted.value() < kUdpReceiveBufferBytes) {
      spdlog::warn("sip: UDP receive buffer {} bytes, asked for {} (raise net.core.rmem_max): "
                   "bursts of NOTIFY answers may be dropped and the NOTIFYs resent",
                   granted.value(), kUdpReceiveBufferBytes);
    }
    const udp::endpoint bound = udp_.local_endpoint();
    subscriptions_.set_local(bound.address().to_string(), bound.port());
    remote_.set_local(bound.address().to_string(), bound.port());
    return bound.address().to_string() + ":" + std::to_string(bound.port());
  }

  void start() override {
    // Publications first, so that restored subscriptions' first NOTIFYs show them.
    publications_.restore(core::to_time_point(std::chrono::system_clock::now()));
    // Subscriptions of the earlier run, each with a NOTIFY of the current state.
    subscriptions_.restore(std::chrono::steady_clock::now(),
                           std::chrono::time_point_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now()));
    apply(Actions{});
    asio::co_spawn(ioc_, udp_loop(), asio::detached);
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    asio::co_spawn(ioc_, timer_loop(), asio::detached);
  }

  ListenerStats stats() const override {
    ListenerStats out;
    for (std::size_t i = 0; i < requests_.size(); ++i) {
      const auto method = static_cast<Method>(i);
      out.requests.emplace_back(method == Method::Other ? "other" : to_string(method),
                                requests_[i]);
    }
    out.subscriptions = {{"presence", subscriptions_.size()}};
    static constexpr const char* kNotifyOutcomes[] = {"accepted", "rejected", "timeout",
                                                      "transport_error", "deferred"};
    for (std::size_t i = 0; i < notifies_by_outcome_.size(); ++i) {
      out.notifies.emplace_back(kNotifyOutcomes[i], notifies_by_outcome_[i]);
    }
    out.auth_failures = service_.auth_failures();
    out.overload_refusals = transactions_.stats().refused_full;
    out.server_transactions = transactions_.live_server_count();
    out.client_transactions = transactions_.client_count();
    out.tcp_connections = connections_.size();
    return out;
  }

  std::optional<core::Error> refuse_remote(std::string_view uri) const override {
    const auto parsed = parse_uri(uri);
    if (!parsed || !parsed->is_sip() || parsed->user.empty()) {
      return core::Error::invalid_argument("address: " + std::string(uri) +
                                           " is not sip:user@domain");
    }
    if (remote_.peer_for(parsed->host) == nullptr) {
      return core::Error::failed_precondition("address: no SIP peer is configured for domain " +
                                              parsed->host + " (--sip-peer)");
    }
    return std::nullopt;
  }

  void watch_remote(const std::string& uri) override {
    if (auto watched = remote_.watch(uri, std::chrono::steady_clock::now()); !watched) {
      spdlog::warn("sip: cannot watch {}: {}", uri, watched.error().message);
      return;
    }
    apply(Actions{});
  }

  void unwatch_remote(const std::string& uri) override {
    remote_.unwatch(uri, std::chrono::steady_clock::now());
    apply(Actions{});
  }

  void set_remote_sink(std::function<void(core::RemotePresence)> sink) override {
    remote_sink_ = std::move(sink);
  }

  void stop() override {
    boost::system::error_code ignored;
    stopping_ = true;
    udp_.close(ignored);
    acceptor_.close(ignored);
    timer_.cancel();
    for (auto& [id, connection] : connections_) {
      connection->socket.close(ignored);
      connection->idle.cancel();
    }
    connections_.clear();
  }

 private:
  static SubscriptionConfig subscription_config(const SipConfig& config) {
    SubscriptionConfig out;
    out.domain = config.domain;
    out.min_expires = config.min_expires;
    out.max_expires = config.max_expires;
    out.default_expires = config.default_expires;
    out.max_subscriptions = config.max_subscriptions;
    for (const SipPeerConfig& peer : config.peers) {
      out.peer_levels.emplace_back(peer.domain, peer.level);
    }
    return out;
  }

  static RemoteWatchConfig remote_watch_config(const SipConfig& config) {
    RemoteWatchConfig out;
    out.local_domain = config.domain;
    out.pidf.body_bytes = config.limits.body_bytes;
    return out;
  }

  static std::vector<PresencePeer> presence_peers(const SipConfig& config) {
    std::vector<PresencePeer> out;
    for (const SipPeerConfig& peer : config.peers) {
      out.push_back(PresencePeer{peer.domain, peer.address});
    }
    return out;
  }

  static PublicationConfig publication_config(const SipConfig& config) {
    PublicationConfig out;
    out.min_expires = config.min_expires;
    out.max_expires = config.max_expires;
    out.default_expires = config.default_expires;
    return out;
  }

  static DigestAuthenticator make_authenticator(const SipConfig& config) {
    DigestConfig digest;
    digest.realm = config.domain;
    digest.nonce_lifetime = config.nonce_lifetime;
    // A fresh secret per start: nonces of an earlier run are answered as stale, and clients
    // retry without asking their user.
    DigestSecret secret{};
    randombytes_buf(secret.data(), secret.size());
    return DigestAuthenticator(std::move(digest), secret);
  }

  boost::system::error_code bind(const asio::ip::address& address, std::uint16_t port) {
    boost::system::error_code ec;
    boost::system::error_code ignored;
    udp_.close(ignored);
    acceptor_.close(ignored);
    udp::endpoint udp_endpoint(address, port);
    udp_.open(udp_endpoint.protocol(), ec);
    if (!ec) udp_.bind(udp_endpoint, ec);
    if (ec) {
      return ec;
    }
    tcp::endpoint tcp_endpoint(address, udp_.local_endpoint().port());
    acceptor_.open(tcp_endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(tcp_endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    return ec;
  }

  awaitable<void> udp_loop() {
    const std::size_t capacity = config_.limits.message_bytes + 1;
    std::vector<char> buffers(kUdpBatch * capacity);
    std::array<mmsghdr, kUdpBatch> headers{};
    std::array<iovec, kUdpBatch> vectors{};
    std::array<sockaddr_storage, kUdpBatch> sources{};
    while (udp_.is_open()) {
      auto [ec] = co_await udp_.async_wait(udp::socket::wait_read, kAsTuple);
      if (stopping_ || ec == asio::error::operation_aborted) {
        co_return;
      }
      for (std::size_t taken = 0; taken < kReceivesPerTurn && udp_.is_open();) {
        for (std::size_t i = 0; i < kUdpBatch; ++i) {
          vectors[i] = iovec{buffers.data() + i * capacity, capacity};
          headers[i] = datagram_header(vectors[i], &sources[i], sizeof(sockaddr_storage));
        }
        const int got = ::recvmmsg(udp_.native_handle(), headers.data(), kUdpBatch, MSG_DONTWAIT,
                                   nullptr);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        }
        if (got <= 0) {
          ++taken;  // e.g. ICMP port unreachable reported on the socket: nothing to do
          continue;
        }
        for (int i = 0; i < got; ++i) {
          auto source = source_of(sources[i]);
          if (!source) {
            continue;
          }
          Peer peer;
          peer.transport = Transport::Udp;
          peer.address = std::move(source->first);
          peer.port = source->second;
          received(std::string_view(buffers.data() + i * capacity, headers[i].msg_len),
                   Framing::Datagram, std::move(peer));
          if (stopping_) {
            co_return;
          }
        }
        taken += static_cast<std::size_t>(got);
      }
    }
  }

  awaitable<void> accept_loop() {
    while (acceptor_.is_open()) {
      auto [ec, socket] = co_await acceptor_.async_accept(kAsTuple);
      if (stopping_ || ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec) {
        spdlog::warn("sip: accept: {}", ec.message());
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      if (connections_.size() >= config_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto connection = std::make_shared<Connection>(std::move(socket));
      const auto remote = connection->socket.remote_endpoint(ec);
      if (ec) {
        continue;
      }
      connection->peer.transport = Transport::Tcp;
      connection->peer.address = remote.address().to_string();
      connection->peer.port = remote.port();
      connection->peer.connection = next_connection_++;
      connections_.emplace(connection->peer.connection, connection);
      asio::co_spawn(ioc_, tcp_loop(connection), asio::detached);
    }
  }

  // Reads and frames one connection (RFC 3261 §18.3) until it closes, fails or idles out.
  awaitable<void> tcp_loop(std::shared_ptr<Connection> connection) {
    using namespace asio::experimental::awaitable_operators;
    std::string stream;
    std::array<char, 8192> chunk;
    bool open = true;
    while (open && !stopping_) {
      connection->idle.expires_after(config_.idle_timeout);
      auto first = co_await (connection->socket.async_read_some(asio::buffer(chunk), kAsTuple) ||
                             connection->idle.async_wait(kAsTuple));
      if (stopping_ || first.index() == 1) {
        break;
      }
      auto [ec, n] = std::get<0>(first);
      if (ec) {
        break;
      }
      stream.append(chunk.data(), n);
      open = frame(*connection, stream);
    }
    if (!stopping_) {
      close(connection->peer.connection);
    }
  }

  // Takes every whole message off the front of `stream`; false when the stream cannot be framed
  // any more (the connection is then closed after the answer, if any, is written).
  bool frame(Connection& connection, std::string& stream) {
    std::size_t used = 0;
    bool open = true;
    while (open) {
      const std::string_view rest = std::string_view(stream).substr(used);
      auto next = next_frame(rest, config_.limits);
      if (!next) {
        if (auto answer =
                stateless_answer(rest, next.error(), config_.limits, make_tag())) {
          send(connection.peer, std::make_shared<const std::string>(std::move(*answer)));
        }
        spdlog::debug("sip: tcp {}:{}: {}", connection.peer.address, connection.peer.port,
                      next.error().detail);
        open = false;
        break;
      }
      if (next->kind == FrameKind::NeedMore) {
        break;
      }
      if (next->kind == FrameKind::Ping) {
        send(connection.peer, std::make_shared<const std::string>("\r\n"));  // RFC 5626 §3.5.1
      } else if (next->kind == FrameKind::Message) {
        received(rest.substr(0, next->size), Framing::Stream, connection.peer);
      }
      used += next->size;
    }
    stream.erase(0, used);
    return open;
  }

  void received(std::string_view bytes, Framing framing, Peer peer) {
    auto parsed = parse(bytes, framing, config_.limits);
    if (!parsed) {
      spdlog::debug("sip: {} {}:{}: {}", framing == Framing::Datagram ? "udp" : "tcp",
                    peer.address, peer.port, parsed.error().detail);
      if (auto answer = stateless_answer(bytes, parsed.error(), config_.limits, make_tag())) {
        send(peer, std::make_shared<const std::string>(std::move(*answer)));
      }
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (parsed->is_request()) {
      ++requests_[static_cast<std::size_t>(parsed->method)];
      apply(transactions_.on_request(std::move(*parsed), std::move(peer), now));
    } else {
      apply(transactions_.on_response(std::move(*parsed), now));
    }
  }

  void apply(Actions actions) {
    for (Action& action : actions.actions) {
      if (auto* send_action = std::get_if<SendAction>(&action)) {
        send(send_action->to, std::move(send_action->bytes));
      } else if (auto* request = std::get_if<RequestAction>(&action);
                 request != nullptr && request->request.method == Method::Notify &&
                 remote_.owns(request->request)) {
        // A NOTIFY in one of our own subscriptions to a peer (docs/sip.md, "Federation").
        const auto now = std::chrono::steady_clock::now();
        Message answer = remote_.on_notify(request->request, now);
        apply(transactions_.respond(request->id, answer, now));
      } else if (request != nullptr) {
        NonceRandom random{};
        fill_random(random.data(), random.size());
        // A SUBSCRIBE or PUBLISH is answered once the store holds it, maybe after this returns: the
        // server transaction waits for the answer (§17.2.2).
        service_.handle(request->request, request->source, std::chrono::system_clock::now(),
                        std::chrono::steady_clock::now(), random,
                        [this, id = request->id, alive = std::weak_ptr<bool>(alive_)](
                            Message response) {
                          if (alive.expired() || stopping_) {
                            return;
                          }
                          apply(transactions_.respond(id, response,
                                                      std::chrono::steady_clock::now()));
                        });
      } else if (auto* response = std::get_if<ResponseAction>(&action);
                 response != nullptr && remote_requests_.contains(response->id.value)) {
        remote_answered(response->id.value, response->response);
      } else if (auto* failed = std::get_if<ClientFailedAction>(&action);
                 failed != nullptr && remote_requests_.contains(failed->id.value)) {
        // §17.1.2.2 and §8.1.3.1: a timeout counts as 408, a transport error as 503.
        const auto it = remote_requests_.find(failed->id.value);
        const bool timeout = failed->failure == ClientFailure::Timeout;
        remote_answered(failed->id.value,
                        make_response(it->second.request, timeout ? 408 : 503,
                                      timeout ? "Request Timeout" : "Service Unavailable"));
      } else if (response != nullptr) {
        const int status = response->response.status;
        notify_answered(response->id, status,
                        status < 300 ? NotifyOutcome::Accepted : NotifyOutcome::Rejected);
      } else if (failed != nullptr) {
        const bool timeout = failed->failure == ClientFailure::Timeout;
        notify_answered(failed->id, timeout ? 408 : 503,
                        timeout ? NotifyOutcome::Timeout : NotifyOutcome::TransportError);
      }
      // UnansweredAction: the store took longer than answer_timeout to hold a SUBSCRIBE or
      // PUBLISH; the client has given up, and the late answer is dropped by the transactions.
    }
    send_notifies();
    send_subscribes();
    report_remote();
    rearm();
  }

  // A final answer to one of our SUBSCRIBEs to a peer.
  void remote_answered(std::uint64_t transaction, const Message& response) {
    if (response.status < 200) {
      return;
    }
    const auto it = remote_requests_.find(transaction);
    const RemoteWatchId watch = it->second.watch;
    remote_requests_.erase(it);
    remote_.on_response(watch, response, std::chrono::steady_clock::now());
  }

  // Each SUBSCRIBE waiting in the remote watches' outbox becomes a client transaction.
  void send_subscribes() {
    for (int round = 0; round < 4; ++round) {
      std::vector<OutgoingSubscribe> outbox = remote_.take_outbox();
      if (outbox.empty()) {
        return;
      }
      for (OutgoingSubscribe& subscribe : outbox) {
        const auto now = std::chrono::steady_clock::now();
        auto started = transactions_.send_request(subscribe.request, subscribe.destination, now);
        if (!started) {
          spdlog::debug("sip: SUBSCRIBE to {} not sent: {}", subscribe.destination.address,
                        started.error().detail);
          if (subscribe.watch != 0) {
            remote_.on_response(subscribe.watch,
                                make_response(subscribe.request, 503, "Service Unavailable"), now);
          }
          continue;
        }
        if (subscribe.watch != 0) {
          remote_requests_.emplace(started->id.value,
                                   RemoteRequest{subscribe.watch, std::move(subscribe.request)});
        }
        send_first(started->actions);
      }
    }
  }

  // A new client transaction's first transmission.
  void send_first(Actions& actions) {
    for (Action& action : actions.actions) {
      if (auto* send_action = std::get_if<SendAction>(&action)) {
        send(send_action->to, std::move(send_action->bytes));
      }
    }
  }

  // What remote presentities show now goes to the engine through the sink.
  void report_remote() {
    for (const RemoteUpdate& update : remote_.take_updates()) {
      if (remote_sink_) {
        remote_sink_(to_remote_presence(update));
      }
    }
  }

  // Deferred: not started, our client-transaction table was full; the subscription stays.
  enum class NotifyOutcome : std::uint8_t { Accepted, Rejected, Timeout, TransportError, Deferred };

  void notify_answered(ClientTransactionId id, int status, NotifyOutcome outcome) {
    if (status < 200) {
      return;
    }
    const auto it = notifies_.find(id.value);
    if (it == notifies_.end()) {
      return;
    }
    ++notifies_by_outcome_[static_cast<std::size_t>(outcome)];
    const SubscriptionId subscription = it->second;
    notifies_.erase(it);
    subscriptions_.on_response(subscription, status, std::chrono::steady_clock::now());
  }

  // Each NOTIFY waiting in the subscriptions' outbox becomes a client transaction.
  void send_notifies() {
    for (int round = 0; round < 4; ++round) {
      std::vector<OutgoingNotify> outbox = subscriptions_.take_outbox();
      if (outbox.empty()) {
        return;
      }
      for (OutgoingNotify& notify : outbox) {
        const auto now = std::chrono::steady_clock::now();
        auto started = transactions_.send_request(std::move(notify.bytes), notify.branch,
                                                  Method::Notify, notify.destination, now);
        if (!started) {
          spdlog::debug("sip: NOTIFY not sent: {}", started.error().detail);
          if (started.error().kind == RefusalKind::Full) {
            ++notifies_by_outcome_[static_cast<std::size_t>(NotifyOutcome::Deferred)];
            subscriptions_.on_not_started(notify.subscription, now);
          } else {
            subscriptions_.on_response(notify.subscription, 503, now);
          }
          continue;
        }
        notifies_.emplace(started->id.value, notify.subscription);
        send_first(started->actions);
      }
    }
  }

  // The timer loop sleeps until the transactions' earliest deadline; a sooner one wakes it.
  void rearm() {
    const auto next = next_deadline();
    if (next && *next < timer_.expiry()) {
      timer_.cancel();
    }
  }

  awaitable<void> timer_loop() {
    while (!stopping_) {
      const auto next = next_deadline();
      timer_.expires_at(next ? *next : asio::steady_timer::time_point::max());
      co_await timer_.async_wait(kAsTuple);
      if (stopping_) {
        co_return;
      }
      const auto now = std::chrono::steady_clock::now();
      subscriptions_.advance(now);
      remote_.advance(now);
      apply(transactions_.advance(now));
    }
  }

  std::optional<TimePoint> next_deadline() const {
    auto next = transactions_.next_deadline();
    if (const auto expiry = subscriptions_.next_deadline(); expiry && (!next || *expiry < *next)) {
      next = expiry;
    }
    if (const auto due = remote_.next_deadline(); due && (!next || *due < *next)) {
      next = due;
    }
    return next;
  }

  void send(const Peer& to, std::shared_ptr<const std::string> bytes) {
    if (to.transport == Transport::Udp) {
      boost::system::error_code ec;
      const auto address = asio::ip::make_address(to.address, ec);
      if (ec || !udp_.is_open()) {
        return;
      }
      udp_pending_.push_back(PendingDatagram{udp::endpoint(address, to.port), std::move(bytes)});
      if (!udp_flush_posted_ && !udp_waiting_writable_) {
        udp_flush_posted_ = true;
        asio::post(ioc_, [this, alive = std::weak_ptr<bool>(alive_)] {
          if (!alive.expired()) {
            udp_flush_posted_ = false;
            flush_datagrams();
          }
        });
      }
      return;
    }
    const auto it = connections_.find(to.connection);
    if (it == connections_.end()) {
      return;  // closed: the response cannot go anywhere else (§18.2.2)
    }
    Connection& connection = *it->second;
    connection.queued_bytes += bytes->size();
    if (connection.queued_bytes > config_.max_queued_bytes) {
      spdlog::debug("sip: tcp {}:{}: not reading its responses, closed", to.address, to.port);
      close(to.connection);
      return;
    }
    connection.queue.push_back(std::move(bytes));
    if (!connection.writing) {
      connection.writing = true;
      asio::co_spawn(ioc_, write_loop(it->second), asio::detached);
    }
  }

  // Sends the datagrams queued during this turn of the io_context, kUdpBatch to a system call,
  // in order. A full socket buffer waits until it drains; a datagram the kernel refuses (no
  // route) is lost as the network would lose it, and the transaction's retransmissions or
  // timeout deal with it.
  void flush_datagrams() {
    if (!udp_.is_open() || stopping_) {
      udp_pending_.clear();
      return;
    }
    std::array<mmsghdr, kUdpBatch> headers{};
    std::array<iovec, kUdpBatch> vectors{};
    std::size_t done = 0;
    while (done < udp_pending_.size()) {
      const std::size_t count = std::min(kUdpBatch, udp_pending_.size() - done);
      for (std::size_t i = 0; i < count; ++i) {
        PendingDatagram& datagram = udp_pending_[done + i];
        vectors[i] = iovec{const_cast<char*>(datagram.bytes->data()), datagram.bytes->size()};
        headers[i] = datagram_header(vectors[i], datagram.to.data(),
                                     static_cast<socklen_t>(datagram.to.size()));
      }
      const int sent = ::sendmmsg(udp_.native_handle(), headers.data(),
                                  static_cast<unsigned>(count), MSG_DONTWAIT);
      if (sent > 0) {
        done += static_cast<std::size_t>(sent);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        udp_waiting_writable_ = true;
        udp_.async_wait(udp::socket::wait_write,
                        [this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code) {
                          if (!alive.expired()) {
                            udp_waiting_writable_ = false;
                            flush_datagrams();
                          }
                        });
        break;
      } else {
        ++done;
      }
    }
    udp_pending_.erase(udp_pending_.begin(),
                       udp_pending_.begin() + static_cast<std::ptrdiff_t>(done));
  }

  awaitable<void> write_loop(std::shared_ptr<Connection> connection) {
    while (!connection->queue.empty()) {
      const auto bytes = connection->queue.front();
      auto [ec, n] = co_await asio::async_write(connection->socket, asio::buffer(*bytes),
                                                kAsTuple);
      if (ec) {
        break;
      }
      connection->queue.pop_front();
      connection->queued_bytes -= bytes->size();
    }
    connection->writing = false;
  }

  void close(std::uint64_t id) {
    const auto it = connections_.find(id);
    if (it == connections_.end()) {
      return;
    }
    const std::shared_ptr<Connection> connection = it->second;
    connections_.erase(it);
    connection->idle.cancel();
    if (!connection->writing) {
      boost::system::error_code ignored;
      connection->socket.close(ignored);
      return;
    }
    // Let the answer being written leave first, then close.
    asio::co_spawn(ioc_, close_after_writes(connection), asio::detached);
  }

  awaitable<void> close_after_writes(std::shared_ptr<Connection> connection) {
    asio::steady_timer pause(ioc_);
    for (int i = 0; i < 50 && connection->writing; ++i) {
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(kAsTuple);
    }
    boost::system::error_code ignored;
    connection->socket.shutdown(tcp::socket::shutdown_both, ignored);
    connection->socket.close(ignored);
  }

  asio::io_context& ioc_;
  SipConfig config_;
  udp::socket udp_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_;
  Transactions transactions_;
  Subscriptions subscriptions_;
  Publications publications_;
  Service service_;
  std::unordered_map<std::uint64_t, SubscriptionId> notifies_;  // client transaction -> subscription
  RemoteWatches remote_;
  struct RemoteRequest {
    RemoteWatchId watch = 0;
    Message request;  // for the 408 or 503 of a failure
  };
  std::unordered_map<std::uint64_t, RemoteRequest> remote_requests_;  // by client transaction
  std::function<void(core::RemotePresence)> remote_sink_;
  bool drain_posted_ = false;
  struct PendingDatagram {
    udp::endpoint to;
    std::shared_ptr<const std::string> bytes;
  };
  std::vector<PendingDatagram> udp_pending_;  // sent together at the end of this turn
  bool udp_flush_posted_ = false;
  bool udp_waiting_writable_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_connection_ = 1;
  bool stopping_ = false;
  std::array<std::uint64_t, static_cast<std::size_t>(Method::Other) + 1> requests_{};
  std::array<std::uint64_t, 5> notifies_by_outcome_{};
};

}  // namespace

std::unique_ptr<Listener> Listener::create(boost::asio::io_context& io_context, SipConfig config,
                                           Directory& directory) {
  return std::make_unique<ListenerImpl>(io_context, std::move(config), directory);
}

}  // namespace presenced::sip
