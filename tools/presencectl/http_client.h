#pragma once

// HTTP and WebSocket transport of presencectl. Only http_client.cpp sees Beast and Asio, so the
// command files compile quickly (STYLE: keep Asio and Beast out of shared headers).
//
// Thread-safety: each call runs its own io_context on the calling thread and shares nothing.

#include <boost/system/result.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace presencectl {

// Where the server is: from --server "http://host[:port][/prefix]".
struct Target {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/presence" when a proxy serves the API below a path
};

struct Response {
  int status = 0;
  std::string body;
};

// A problem before any answer of the server: a bad URL, or no connection, or a broken one.
struct NetError {
  std::string message;
};

[[noreturn]] void throw_exception_from_error(const NetError& error,
                                             const boost::source_location& location);

template <typename T>
using NetResult = boost::system::result<T, NetError>;

[[nodiscard]] NetResult<Target> parse_target(std::string_view url);

// One HTTP request with a deadline; `token` empty sends no Authorization header, `body` empty
// sends no body. Any HTTP status, 4xx and 5xx included, is a Response.
[[nodiscard]] NetResult<Response> request(const Target& target, std::string_view method,
                                          std::string_view path, std::string_view token,
                                          std::string_view body);

// Returns false to end the watch.
using MessageHandler = std::function<bool(std::string_view message)>;

// Opens the WebSocket at `path`, sends `first_message` and hands each message the server sends
// to `on_message` until it returns false or SIGINT or SIGTERM arrive; then closes cleanly and
// answers status 101. When the server declines the upgrade, the answer is its HTTP response.
[[nodiscard]] NetResult<Response> watch(const Target& target, std::string_view path,
                                        std::string_view token, std::string_view first_message,
                                        MessageHandler on_message);

}  // namespace presencectl
