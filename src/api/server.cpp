// The network side of the API: Asio + Beast, HTTP/1.1 and WebSocket. This is the only
// translation unit that includes Beast; everything it serves comes from Service.

#include "api/api.h"
#include "api/internal/service.h"
#include "api/internal/ws_frame.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <functional>
#include <filesystem>
#include <fstream>
#include <set>

namespace presenced::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

namespace {

std::string access_token_param(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) {
    return {};
  }
  auto params = url->params();
  auto it = params.find("access_token");
  return it == params.end() ? std::string() : std::string((*it).value);
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Scripts, styles and connections (the WebSocket included) only from this origin; no inline
// script or style, no framing.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

std::string_view mime_type(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

class ServerImpl;

// Every byte of a WebSocket leaves through here, in order: the session's own text frames
// (write_now) and Beast's control frames (pong, ping, close, through async_write_some). A write
// goes straight to the socket when nothing is waiting; what the socket does not take at once is
// kept and sent by one asynchronous write, and later writes queue behind it. The session takes
// nothing more from its engine queue while that write is out (busy()), so a slow reader's
// backlog stays in the engine, where it is coalesced, and on_drained tells it to come back.
class BufferedStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using next_layer_type = beast::tcp_stream;

  explicit BufferedStream(beast::tcp_stream stream)
      : out_(std::make_shared<Outgoing>(stream.get_executor())), next_(std::move(stream)) {}
  BufferedStream(BufferedStream&&) = delete;
  ~BufferedStream() {
    out_->gone = true;
  }

  executor_type get_executor() { return next_.get_executor(); }
  next_layer_type& next_layer() { return next_; }

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  // Beast's writes: copied behind what is queued (they are rare and small), done at once.
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& data) {
          beast::error_code ec = out_->error;
          std::size_t n = 0;
          if (!ec) {
            n = keep(data);
            send();
          }
          auto executor = asio::get_associated_executor(handler, get_executor());
          asio::post(executor, beast::bind_front_handler(std::move(handler), ec, n));
        },
        token, buffers);
  }

  // Called once everything kept has left after busy() was true.
  void on_drained(std::function<void()> callback) { on_drained_ = std::move(callback); }
  bool busy() const { return out_->sending || !out_->pending.empty(); }
  bool failed() const { return static_cast<bool>(out_->error); }

  // Writes what the socket takes now without blocking, keeps the rest for an asynchronous
  // write. The socket must be in non-blocking mode.
  template <typename ConstBuffers>
  void write_now(const ConstBuffers& buffers) {
    if (out_->error) {
      return;
    }
    beast::buffers_suffix<ConstBuffers> rest(buffers);
    if (!busy()) {
      beast::error_code ec;
      while (beast::buffer_bytes(rest) > 0) {
        const std::size_t n = next_.socket().write_some(rest, ec);
        if (ec) {
          break;
        }
        rest.consume(n);
      }
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        fail(ec);
        return;
      }
    }
    keep(rest);
    send();
  }

  // Resumes once everything written so far is on the socket (or the socket failed).
  awaitable<void> wait_drained() {
    auto out = out_;  // `this` is gone once `out->gone` is set
    while (out->sending && !out->gone) {
      co_await out->drained.async_wait(kAsTuple);
    }
  }

  // Beast's close handshake ends with a teardown. Beast's own for TCP stops reading after 2 KB,
  // so a client still sending (a message over the limit) would get a reset instead of the
  // close frame; this one sends what is buffered, then reads to EOF (at most 1 MiB or 5 s).
  template <typename Handler>
  friend void async_teardown(beast::role_type, BufferedStream& stream, Handler&& handler) {
    auto executor = stream.get_executor();
    asio::co_spawn(executor, stream.teardown(),
                   [handler = std::forward<Handler>(handler)](std::exception_ptr,
                                                              beast::error_code ec) mutable {
                     std::move(handler)(ec);
                   });
  }
  // Beast's synchronous close path; the server only closes asynchronously, hence maybe unused.
  [[maybe_unused]] friend void teardown(beast::role_type role, BufferedStream& stream,
                                        beast::error_code& ec) {
    using websocket::teardown;  // with ADL: the one for beast::tcp_stream
    teardown(role, stream.next_, ec);
  }

 private:
  // Shared with the socket write in flight, which may complete after the stream is gone.
  struct Outgoing {
    explicit Outgoing(const executor_type& executor) : drained(executor) {
      drained.expires_at(asio::steady_timer::time_point::max());  // woken by cancel() only
    }
    std::string pending;  // written since the socket write in flight began
    std::string in_flight;
    bool sending = false;
    bool gone = false;
    beast::error_code error;
    asio::steady_timer drained;
  };

  template <typename ConstBuffers>
  std::size_t keep(const ConstBuffers& buffers) {
    std::size_t n = 0;
    for (const asio::const_buffer b : beast::buffers_range_ref(buffers)) {
      out_->pending.append(static_cast<const char*>(b.data()), b.size());
      n += b.size();
    }
    return n;
  }

  // The peer is gone or broke the connection: the reader sees it too and ends the session.
  void fail(beast::error_code ec) {
    out_->error = ec;
    out_->pending.clear();
    beast::error_code ignored;
    next_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  awaitable<beast::error_code> teardown() {
    using namespace asio::experimental::awaitable_operators;
    auto out = out_;  // `this` is gone once `out->gone` is set
    co_await wait_drained();
    if (out->gone) {
      co_return asio::error::operation_aborted;
    }
    tcp::socket& socket = next_.socket();
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    asio::steady_timer deadline(get_executor(), std::chrono::seconds(5));
    std::array<char, 2048> discard;
    std::size_t drained = 0;
    while (!ec && drained < (1 << 20)) {
      auto first = co_await (socket.async_read_some(asio::buffer(discard), kAsTuple) ||
                             deadline.async_wait(kAsTuple));
      if (out->gone) {
        co_return asio::error::operation_aborted;
      }
      if (first.index() == 1) {
        break;
      }
      std::size_t n = 0;
      std::tie(ec, n) = std::get<0>(first);
      drained += n;
    }
    beast::error_code ignored;
    socket.close(ignored);
    co_return ec == asio::error::eof ? beast::error_code() : ec;
  }

  void send() {
    if (out_->sending || out_->pending.empty()) {
      return;
    }
    out_->sending = true;
    out_->in_flight.swap(out_->pending);
    asio::async_write(next_.socket(), asio::buffer(out_->in_flight),
                      [this, out = out_](beast::error_code ec, std::size_t) {
                        if (out->gone) {
                          return;
                        }
                        out->sending = false;
                        out->in_flight.clear();
                        if (ec) {
                          fail(ec);
                        } else if (!out->pending.empty()) {
                          send();
                          return;
                        }
                        // Idle again: an idle connection keeps no write buffer.
                        std::string().swap(out->in_flight);
                        std::string().swap(out->pending);
                        out->drained.cancel();
                        if (!ec && on_drained_) {
                          on_drained_();
                        }
                      });
  }

  std::shared_ptr<Outgoing> out_;
  beast::tcp_stream next_;
  std::function<void()> on_drained_;
};

// One WebSocket client. Lives while its reader runs; the engine holds it as a WatcherSink until
// ws_close() removes the watcher. Beast does the handshake, the reading and the control frames;
// the session frames its own messages, so a notification costs one socket write and no
// coroutine switch (flush()).
class WsSession final : public core::WatcherSink, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(ServerImpl& server, beast::tcp_stream stream)
      : server_(server), ws_(std::move(stream)) {}

  // Called by the engine during a fan-out: the session is flushed once the fan-out is over.
  void wake() override;

  // The handshake; false if it failed. The upgrade request is not kept past it.
  awaitable<bool> accept(http::request<http::string_body> request, Principal principal);
  awaitable<void> read_loop();
  void close() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }
  // Writes the replies and the queued deliveries, unless a write is still out.
  void flush();

 private:
  void reply(std::string text) {
    outbox_.push_back(std::move(text));
    wake();
  }

  ServerImpl& server_;
  websocket::stream<BufferedStream> ws_;
  std::vector<std::string> outbox_;  // direct replies: errors, pongs
  std::optional<std::chrono::steady_clock::time_point> woken_at_;
  WsClient client_;
  bool open_ = false;         // accepted, and its reader has not ended
  bool flush_waiting_ = false;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(ApiConfig config, store::Store& store, store::Snapshot snapshot)
      : ioc_(1),
        acceptor_(ioc_),
        signals_(ioc_, SIGINT, SIGTERM),
        workers_(1),
        service_(
            std::move(config), store, std::move(snapshot),
            [this](Task task) { asio::post(ioc_, std::move(task)); },
            [this](Task task) { asio::post(workers_, std::move(task)); }) {}

  ~ServerImpl() override {
    workers_.join();
  }

  core::Result<std::string> listen() override {
    const ApiConfig& config = service_.config();
    beast::error_code ec;
    auto address = asio::ip::make_address(config.http_host, ec);
    if (ec) {
      return core::Error::invalid_argument("http: " + config.http_host + " is not an address");
    }
    tcp::endpoint endpoint(address, config.http_port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return core::Error::unavailable("http: cannot listen on " + config.http_host + ":" +
                                      std::to_string(config.http_port) + ": " + ec.message());
    }
    const tcp::endpoint bound = acceptor_.local_endpoint();
    return bound.address().to_string() + ":" + std::to_string(bound.port());
  }

  void run() override {
    signals_.async_wait([this](beast::error_code ec, int signal) {
      if (!ec) {
        spdlog::info("signal {}: shutting down", signal);
        stop();
      }
    });
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    asio::co_spawn(ioc_, timer_loop(), asio::detached);
    ioc_.run();
  }

  void stop() override {
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      signals_.cancel(ec);
      for (const auto& weak : sessions_) {
        if (auto session = weak.lock()) {
          session->close();
        }
      }
      stopping_ = true;
      ioc_.stop();
    });
  }

  asio::io_context& io_context() override { return ioc_; }
  core::Engine& engine() override { return service_.engine(); }
  std::optional<SipCredentials> sip_credentials(std::string_view username) const override {
    return service_.sip_credentials(username);
  }
  const std::vector<std::string>* groups_of(const std::string& id) const override {
    const store::UserRecord* user = service_.find_user(id);
    return user == nullptr ? nullptr : &user->groups;
  }
  void add_metrics_source(MetricsSource source) override {
    service_.add_metrics_source(std::move(source));
  }

  std::vector<store::DocumentRecord> documents(std::string_view kind) const override {
    return service_.documents(kind);
  }
  void save_documents(std::vector<store::Mutation> mutations,
                      std::function<void(bool)> done) override {
    service_.save_documents(std::move(mutations), std::move(done));
  }
  void post(std::function<void()> task) override { asio::post(ioc_, std::move(task)); }
  void add_hook(std::string path, Hook hook) override {
    service_.add_hook(std::move(path), std::move(hook));
  }
  void watch_documents(std::string kind, DocumentWatch watch) override {
    service_.watch_documents(std::move(kind), std::move(watch));
  }

  void watch_calendar_sources(CalendarSourceListener listener) override {
    service_.watch_calendar_sources(std::move(listener));
  }
  void report_calendar(CalendarReport report) override {
    asio::post(ioc_, [this, report = std::move(report)]() mutable {
      service_.report_calendar(std::move(report));
    });
  }
  void add_remote_watcher(std::string scheme, RemoteWatcher& watcher) override {
    service_.add_remote_watcher(std::move(scheme), watcher);
  }
  void set_remote_presence(core::RemotePresence presence) override {
    service_.set_remote_presence(std::move(presence));
  }
  void set_cluster(ClusterLink& link) override { service_.set_cluster(link); }
  void apply_directory(const store::Mutation& change) override {
    service_.apply_directory(change);
  }
  void apply_orphaned_logout(const std::string& user) override {
    service_.apply_orphaned_logout(user);
  }

  Service& service() { return service_; }
  void forget(const std::shared_ptr<WsSession>& session) { sessions_.erase(session); }

  // Sessions woken during a fan-out are written after it, all in one task: the engine's loop
  // over its watchers does no I/O, and a fan-out costs one post, not one per watcher.
  void flush_later(std::shared_ptr<WsSession> session) {
    if (woken_.empty()) {
      asio::post(ioc_, [this] {
        std::vector<std::shared_ptr<WsSession>> woken;
        woken.swap(woken_);
        for (const auto& s : woken) {
          s->flush();
        }
      });
    }
    woken_.push_back(std::move(session));
  }

 private:
  awaitable<void> accept_loop() {
    while (acceptor_.is_open()) {
      auto [ec, socket] = co_await acceptor_.async_accept(kAsTuple);
      if (ec) {
        if (ec == asio::error::operation_aborted) {
          co_return;
        }
        // Out of descriptors and the like: back off instead of spinning.
        spdlog::warn("accept: {}", ec.message());
        asio::steady_timer pause(ioc_, std::chrono::milliseconds(100));
        co_await pause.async_wait(kAsTuple);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      asio::co_spawn(ioc_, http_session(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  // Until, idle and lease rules fire on time without polling every user.
  awaitable<void> timer_loop() {
    asio::steady_timer timer(ioc_);
    while (!stopping_) {
      const auto next = service_.advance();
      auto wait = std::chrono::milliseconds(250);
      if (next) {
        const auto until = *next - core::to_time_point(core::Clock::now());
        wait = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(until),
                          std::chrono::milliseconds(1), wait);
      }
      timer.expires_after(wait);
      co_await timer.async_wait(kAsTuple);
    }
  }

  awaitable<void> http_session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    const ApiConfig& config = service_.config();
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(config.body_limit);
      parser.header_limit(16 * 1024);
      stream.expires_after(std::chrono::seconds(60));
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kAsTuple);
      if (ec == http::error::body_limit) {
        co_await write_error(stream, 413, core::ErrorCode::ResourceExhausted,
                             "body: over the limit of " + std::to_string(config.body_limit) +
                                 " bytes");
        co_return;
      }
      if (ec) {
        if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
            ec != asio::error::connection_reset && ec != asio::error::eof) {
          co_await write_error(stream, 400, core::ErrorCode::InvalidArgument,
                              "malformed HTTP request: " + ec.message());
        }
        co_return;
      }
      http::request<http::string_body> request = parser.release();
      if (websocket::is_upgrade(request)) {
        co_await upgrade(std::move(stream), std::move(request));
        co_return;
      }
      const bool keep_alive = request.keep_alive();
      http::response<http::string_body> response = co_await respond(request);
      response.keep_alive(keep_alive);
      response.prepare_payload();
      auto [wec, written] = co_await http::async_write(stream, response, kAsTuple);
      if (wec || !keep_alive) {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  }

  awaitable<http::response<http::string_body>> respond(
      const http::request<http::string_body>& request) {
    const std::string_view target = request.target();
    const ApiConfig& config = service_.config();
    if (request.method() == http::verb::get && !config.web_root.empty() &&
        !target.starts_with("/api/") && target != "/metrics" && target != "/healthz") {
      co_return static_file(request);
    }
    HttpRequest in{std::string(request.method_string()), std::string(target),
                   std::string(request[http::field::authorization]), request.body(),
                   std::string(request["X-Presenced-Signature"])};
    HttpResponse out = co_await asio::async_initiate<decltype(use_awaitable),
                                                     void(HttpResponse)>(
        [this, &in](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          service_.handle(std::move(in), [shared](HttpResponse r) {
            auto executor = asio::get_associated_executor(*shared);
            asio::post(executor, [shared, r = std::move(r)]() mutable {
              (*shared)(std::move(r));
            });
          });
        },
        use_awaitable);
    http::response<http::string_body> response{static_cast<http::status>(out.status),
                                                request.version()};
    response.set(http::field::server, "presenced");
    response.set(http::field::content_type, out.content_type);
    if (out.status == 401) {
      response.set(http::field::www_authenticate, "Bearer");
    }
    response.body() = std::move(out.body);
    co_return response;
  }

  http::response<http::string_body> static_file(const http::request<http::string_body>& request) {
    std::string path(path_of(request.target()));
    if (path == "/" || path.empty()) {
      path = "/index.html";
    }
    // relative_path() drops every leading slash: "//etc/passwd" must not name an absolute path.
    const std::filesystem::path relative = std::filesystem::path(path).relative_path();
    const std::filesystem::path file = std::filesystem::path(service_.config().web_root) / relative;
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::server, "presenced");
    response.set("X-Content-Type-Options", "nosniff");
    std::error_code ec;
    std::ifstream in;
    if (path.find("..") == std::string::npos && !relative.empty() &&
        std::filesystem::is_regular_file(file, ec)) {
      in.open(file, std::ios::binary);
    }
    if (!in.is_open()) {
      response.result(http::status::not_found);
      response.set(http::field::content_type, "application/json");
      response.body() = error_json(core::ErrorCode::NotFound, "no such file");
      return response;
    }
    response.set(http::field::content_type, mime_type(file.string()));
    // The client's build names every file under /assets/ after its content hash, so those never
    // change; anything else (index.html) is revalidated so a new build is picked up at once.
    response.set(http::field::cache_control, path.starts_with("/assets/")
                                                 ? "public, max-age=31536000, immutable"
                                                 : "no-cache");
    response.set("Content-Security-Policy", kContentSecurityPolicy);
    response.set("Referrer-Policy", "no-referrer");
    response.body().assign(std::istreambuf_iterator<char>(in), {});
    return response;
  }

  awaitable<void> write_error(beast::tcp_stream& stream, int status, core::ErrorCode code,
                              const std::string& message) {
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "presenced");
    response.set(http::field::content_type, "application/json");
    response.body() = error_json(code, message);
    response.keep_alive(false);
    response.prepare_payload();
    co_await http::async_write(stream, response, kAsTuple);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  awaitable<void> upgrade(beast::tcp_stream stream, http::request<http::string_body> request) {
    if (path_of(request.target()) != "/api/v1/ws") {
      co_await write_error(stream, 404, core::ErrorCode::NotFound, "WebSocket lives at /api/v1/ws");
      co_return;
    }
    std::string credentials(request[http::field::authorization]);
    if (credentials.empty()) {
      credentials = access_token_param(request.target());
    }
    auto principal = service_.authenticate(credentials);
    if (!principal) {
      co_await write_error(stream, 401, core::ErrorCode::Unauthenticated,
                          principal.error().message);
      co_return;
    }
    stream.expires_never();
    auto session = std::make_shared<WsSession>(*this, std::move(stream));
    sessions_.insert(session);
    if (co_await session->accept(std::move(request), std::move(*principal))) {
      // A coroutine of its own, so the HTTP session's frames and buffer are freed now.
      asio::co_spawn(ioc_, session->read_loop(), asio::detached);
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::thread_pool workers_;
  Service service_;
  std::set<std::weak_ptr<WsSession>, std::owner_less<>> sessions_;
  std::vector<std::shared_ptr<WsSession>> woken_;
  bool stopping_ = false;
};

void WsSession::wake() {
  if (!woken_at_) {
    woken_at_ = std::chrono::steady_clock::now();
  }
  if (!flush_waiting_) {
    flush_waiting_ = true;
    server_.flush_later(shared_from_this());
  }
}

awaitable<bool> WsSession::accept(http::request<http::string_body> request,
                                  Principal principal) {
  Service& service = server_.service();
  ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws_.read_message_max(service.config().ws_message_limit);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& r) { r.set(http::field::server, "presenced"); }));
  auto [ec] = co_await ws_.async_accept(request, kAsTuple);
  beast::error_code blocking;
  tcp::socket& socket = beast::get_lowest_layer(ws_).socket();
  socket.non_blocking(true, blocking);  // for write_now
  if (const std::size_t bytes = service.config().ws_send_buffer; bytes > 0) {
    beast::error_code ignored;  // the default stays if the kernel refuses it
    socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(bytes)), ignored);
  }
  if (ec || blocking) {
    server_.forget(shared_from_this());
    co_return false;
  }
  ws_.next_layer().on_drained([this] {
    if (!flush_waiting_) {
      flush();  // what the engine queued while the socket was full
    }
  });
  open_ = true;
  client_ = service.ws_open(std::move(principal), this);
  co_return true;
}

awaitable<void> WsSession::read_loop() {
  auto self = shared_from_this();
  Service& service = server_.service();
  beast::flat_buffer buffer;
  for (;;) {
    auto [rec, n] = co_await ws_.async_read(buffer, kAsTuple);
    if (rec) {
      break;  // closed, timed out, too big (1009) or a protocol error (1002): Beast has answered
    }
    if (!ws_.got_text()) {
      ++service.metrics().ws_errors;
      reply(ws_error_json(core::Error::invalid_argument(
                              "binary frames are not supported; send JSON text messages"),
                          {}));
    } else {
      const auto data = buffer.cdata();
      service.ws_message(client_,
                         std::string_view(static_cast<const char*>(data.data()), data.size()),
                         [this](std::string text) { reply(std::move(text)); });
    }
    // Messages are rare and small: an idle connection keeps no read buffer.
    buffer.clear();
    buffer.shrink_to_fit();
  }
  open_ = false;
  ws_.next_layer().on_drained(nullptr);
  service.ws_close(client_);
  server_.forget(self);
}

void WsSession::flush() {
  flush_waiting_ = false;
  BufferedStream& stream = ws_.next_layer();
  // After Beast's close frame nothing more may follow; a full socket calls back when drained.
  if (!open_ || !ws_.is_open() || stream.failed() || stream.busy()) {
    return;
  }
  Service& service = server_.service();
  std::vector<core::Delivery> deliveries = service.engine().queue(client_.watcher).take();
  const std::size_t messages = outbox_.size() + deliveries.size();
  if (messages == 0) {
    return;
  }
  std::vector<TextFrameHeader> headers;
  std::vector<asio::const_buffer> buffers;
  headers.reserve(messages);
  buffers.reserve(messages * 2);
  const auto frame = [&](std::string_view text) {
    headers.emplace_back(text.size());
    buffers.emplace_back(headers.back().bytes.data(), headers.back().size);
    buffers.emplace_back(text.data(), text.size());
  };
  for (const std::string& text : outbox_) {
    frame(text);
  }
  for (const core::Delivery& delivery : deliveries) {
    frame(*delivery.payload);
  }
  stream.write_now(buffers);
  outbox_.clear();
  service.metrics().ws_messages_out += messages;
  if (!deliveries.empty() && woken_at_) {
    service.metrics().fanout.observe(std::chrono::steady_clock::now() - *woken_at_,
                                     deliveries.size());
  }
  woken_at_.reset();
}

}  // namespace

core::Result<std::unique_ptr<Server>> Server::create(ApiConfig config, store::Store& store,
                                                     store::Snapshot snapshot) {
  return std::unique_ptr<Server>(
      std::make_unique<ServerImpl>(std::move(config), store, std::move(snapshot)));
}

}  // namespace presenced::api
