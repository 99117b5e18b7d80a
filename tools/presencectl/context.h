#pragma once

// What every command shares: the global options, the calls to the server with the right token,
// and how answers and errors are printed (docs/cli.md).
//
// Thread-safety: none; presencectl runs on one thread.

#include "http_client.h"

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace presencectl {

// Exit statuses, documented in docs/cli.md.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;       // the server refused, or a local step failed
constexpr int kExitUsage = 2;        // bad options or arguments
constexpr int kExitUnreachable = 3;  // no answer from the server

struct GlobalOptions {
  std::string server = "http://127.0.0.1:8080";
  std::string token;
  bool json = false;
};

// A step that failed: the message for stderr and the exit status.
struct Failure {
  int exit_code = kExitFailed;
  std::string message;
  int http_status = 0;  // the server's status when it refused; 0 otherwise
};

[[noreturn]] void throw_exception_from_error(const Failure& failure,
                                             const boost::source_location& location);

template <typename T>
using Outcome = boost::system::result<T, Failure>;

// A 2xx answer: the body as sent (for --json) and parsed (null when empty).
struct Reply {
  int status = 0;
  std::string body;
  boost::json::value json;
};

class Context {
 public:
  GlobalOptions& options() { return options_; }
  bool json_output() const { return options_.json; }

  // Sends a request with the token; an error status becomes a Failure carrying the message of
  // the server's error body.
  [[nodiscard]] Outcome<Reply> call(std::string_view method, std::string_view path,
                                    const boost::json::value* body = nullptr);
  // The same without a token (login).
  [[nodiscard]] Outcome<Reply> call_anonymous(std::string_view method, std::string_view path,
                                              const boost::json::value* body);

  // --token, else PRESENCECTL_TOKEN (both through CLI11), else the token `login` saved.
  [[nodiscard]] Outcome<std::string> token();
  [[nodiscard]] Outcome<Target> target();
  // The id of the user the token belongs to (GET /api/v1/me), asked once.
  [[nodiscard]] Outcome<std::string> current_user();

  // With --json, prints the body as the server sent it and answers true.
  bool print_raw(const Reply& reply) const;
  // Prints "presencectl: <message>" to stderr and answers the exit status.
  int fail(const Failure& failure) const;

 private:
  Outcome<Reply> send(std::string_view method, std::string_view path,
                      const boost::json::value* body, bool with_token);

  GlobalOptions options_;
  std::optional<std::string> token_;
  std::optional<std::string> me_;
};

// Failure for a transport problem (exit 3) or a bad --server (exit 2).
Failure unreachable(const NetError& error);
// Failure for an error status; the message is the server's when its body has one.
Failure refused(const Response& response);

// Runs a request and, unless --json, prints `done` for it.
template <typename Print>
int run(Context& context, std::string_view method, const std::string& path,
        const boost::json::value* body, Print done) {
  auto reply = context.call(method, path, body);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    done(reply->json);
  }
  return kExitOk;
}

// One path segment, percent-encoded: user ids are free text.
std::string segment(std::string_view id);
// A query value, percent-encoded.
std::string query_value(std::string_view value);

}  // namespace presencectl
