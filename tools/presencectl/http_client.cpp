#include "http_client.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <optional>
#include <stdexcept>

namespace presencectl {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
// Long enough for a login (Argon2id on a busy server), short enough that a hung server does
// not hang a script.
constexpr std::chrono::seconds kRequestTimeout{30};
// Without a frame for this long, Beast pings the server at half of it and gives up at the end:
// a dead server or network ends the watch instead of leaving it silent forever.
constexpr std::chrono::seconds kWatchIdleTimeout{60};
constexpr std::uint64_t kMaxBody = 64 * 1024 * 1024;
constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;
constexpr std::string_view kUserAgent = "presencectl/0.1";

std::string host_header(const Target& target) {
  if (target.host.find(':') != std::string::npos) {
    return fmt::format("[{}]:{}", target.host, target.port);
  }
  return fmt::format("{}:{}", target.host, target.port);
}

std::string where(const Target& target) { return "http://" + host_header(target); }

// Spelled out: a stream's variadic constructor makes the implicit conversion ambiguous.
NetResult<beast::tcp_stream> failed_open(std::string message) {
  return NetResult<beast::tcp_stream>(boost::system::in_place_error, NetError{std::move(message)});
}

// Resolves and connects within kRequestTimeout.
asio::awaitable<NetResult<beast::tcp_stream>> open(Target target) {
  const auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(target.host, target.port, kAsTuple);
  if (rec) {
    co_return failed_open(fmt::format("cannot resolve {}: {}", target.host, rec.message()));
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(kRequestTimeout);
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kAsTuple);
  if (cec) {
    co_return failed_open(fmt::format("cannot connect to {}: {}", where(target), cec.message()));
  }
  co_return std::move(stream);
}

std::string lost(const Target& target, const beast::error_code& ec) {
  if (ec == asio::error::eof || ec == asio::error::connection_reset) {
    return fmt::format("{} closed the connection", where(target));
  }
  if (ec == beast::error::timeout) {
    return fmt::format("no answer from {} within {} s", where(target), kRequestTimeout.count());
  }
  return fmt::format("connection to {} failed: {}", where(target), ec.message());
}

asio::awaitable<NetResult<Response>> exchange(Target target,
                                              http::request<http::string_body> message) {
  auto opened = co_await open(target);
  if (!opened) {
    co_return opened.error();
  }
  beast::tcp_stream stream = std::move(*opened);
  stream.expires_after(kRequestTimeout);
  auto [wec, written] = co_await http::async_write(stream, message, kAsTuple);
  if (wec) {
    co_return NetError{lost(target, wec)};
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBody);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, kAsTuple);
  if (rec) {
    co_return NetError{lost(target, rec)};
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  Response out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = std::move(parser.get().body());
  co_return out;
}

struct WatchRequest {
  Target target;
  std::string path;
  std::string token;
  std::string first_message;
  MessageHandler on_message;
};

using WsStream = websocket::stream<beast::tcp_stream>;

void configure(WsStream& ws, std::string token) {
  beast::get_lowest_layer(ws).expires_never();  // the websocket timeouts below take over
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = kRequestTimeout;
  timeouts.idle_timeout = kWatchIdleTimeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.read_message_max(kMaxMessage);
  ws.set_option(websocket::stream_base::decorator(
      [token = std::move(token)](websocket::request_type& request) {
        request.set(http::field::user_agent, kUserAgent);
        if (!token.empty()) {
          request.set(http::field::authorization, "Bearer " + token);
        }
      }));
}

// Hands messages to the handler until it or a signal ends the watch.
asio::awaitable<NetResult<Response>> follow(WsStream ws, WatchRequest watch) {
  // A signal starts the closing handshake; the pending read then ends with `closed`.
  bool stopping = false;
  asio::signal_set signals(co_await asio::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&ws, &stopping](const beast::error_code& ec, int) {
    if (ec) {
      return;  // cancelled when the watch ends: `ws` may be gone, touch nothing
    }
    stopping = true;
    ws.async_close(websocket::close_code::normal, [](const beast::error_code&) {});
  });
  beast::flat_buffer buffer;
  for (;;) {
    auto [rec, read] = co_await ws.async_read(buffer, kAsTuple);
    if (stopping) {
      co_return Response{101, {}};
    }
    if (rec == websocket::error::closed) {
      const std::string reason(ws.reason().reason.data(), ws.reason().reason.size());
      co_return NetError{fmt::format("{} closed the connection{}{}", where(watch.target),
                                     reason.empty() ? "" : ": ", reason)};
    }
    if (rec) {
      co_return NetError{lost(watch.target, rec)};
    }
    const std::string message = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    if (!watch.on_message(message)) {
      signals.cancel();
      auto [cec] = co_await ws.async_close(websocket::close_code::normal, kAsTuple);
      (void)cec;  // we are leaving either way; the server cleans up a dropped socket too
      co_return Response{101, {}};
    }
  }
}

asio::awaitable<NetResult<Response>> run_watch(WatchRequest watch) {
  auto opened = co_await open(watch.target);
  if (!opened) {
    co_return opened.error();
  }
  WsStream ws(std::move(*opened));
  configure(ws, watch.token);
  websocket::response_type declined;
  auto [hec] =
      co_await ws.async_handshake(declined, host_header(watch.target), watch.path, kAsTuple);
  if (hec == websocket::error::upgrade_declined) {
    co_return Response{static_cast<int>(declined.result_int()), declined.body()};
  }
  if (hec) {
    co_return NetError{lost(watch.target, hec)};
  }
  ws.text(true);
  auto [wec, written] = co_await ws.async_write(asio::buffer(watch.first_message), kAsTuple);
  if (wec) {
    co_return NetError{lost(watch.target, wec)};
  }
  co_return co_await follow(std::move(ws), std::move(watch));
}

// Runs one coroutine to completion on a fresh io_context.
NetResult<Response> run(asio::awaitable<NetResult<Response>> task) {
  asio::io_context context(1);
  std::optional<NetResult<Response>> out;
  asio::co_spawn(context, std::move(task),
                 [&out](std::exception_ptr error, NetResult<Response> result) {
                   if (error) {
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& e) {
                       out = NetError{e.what()};
                     } catch (...) {
                       out = NetError{"unknown failure in the network code"};
                     }
                     return;
                   }
                   out = std::move(result);
                 });
  context.run();
  if (!out) {
    return NetError{"the request did not complete"};
  }
  return std::move(*out);
}

}  // namespace

void throw_exception_from_error(const NetError& error, const boost::source_location&) {
  throw std::runtime_error(error.message);
}

NetResult<Target> parse_target(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    return NetError{fmt::format("server: \"{}\" is not a URL like http://host:8080", url)};
  }
  std::string scheme(parsed->scheme());
  for (char& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (scheme != "http") {
    return NetError{fmt::format(
        "server: scheme \"{}\" is not supported; presencectl speaks plain HTTP only (run it on "
        "the server's host or through an SSH tunnel)",
        scheme)};
  }
  if (parsed->has_userinfo() || parsed->has_query() || parsed->has_fragment()) {
    return NetError{fmt::format("server: \"{}\" may not have user info, query or fragment", url)};
  }
  Target out;
  out.host = std::string(parsed->host_address());
  if (out.host.empty()) {
    return NetError{fmt::format("server: \"{}\" names no host", url)};
  }
  out.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  if (out.port.empty() || out.port.size() > 5 || parsed->port_number() == 0) {
    return NetError{fmt::format("server: port \"{}\" is not 1 to 65535", out.port)};
  }
  out.prefix = std::string(parsed->encoded_path());
  while (!out.prefix.empty() && out.prefix.back() == '/') {
    out.prefix.pop_back();
  }
  return out;
}

NetResult<Response> request(const Target& target, std::string_view method, std::string_view path,
                            std::string_view token, std::string_view body) {
  http::request<http::string_body> message;
  message.method(http::string_to_verb(method));
  message.target(target.prefix + std::string(path));
  message.version(11);
  message.set(http::field::host, host_header(target));
  message.set(http::field::user_agent, kUserAgent);
  message.set(http::field::accept, "application/json");
  message.set(http::field::connection, "close");
  if (!token.empty()) {
    message.set(http::field::authorization, "Bearer " + std::string(token));
  }
  if (!body.empty()) {
    message.set(http::field::content_type, "application/json");
    message.body() = std::string(body);
  }
  message.prepare_payload();
  return run(exchange(target, std::move(message)));
}

NetResult<Response> watch(const Target& target, std::string_view path, std::string_view token,
                          std::string_view first_message, MessageHandler on_message) {
  WatchRequest watch{target, target.prefix + std::string(path), std::string(token),
                     std::string(first_message), std::move(on_message)};
  return run(run_watch(std::move(watch)));
}

}  // namespace presencectl
