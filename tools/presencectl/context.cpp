#include "context.h"

#include "format.h"
#include "local.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <stdexcept>

namespace presencectl {

namespace json = boost::json;

// The longest piece of a non-JSON error body we show: a proxy's HTML page is noise.
constexpr std::size_t kMaxRawError = 200;

void throw_exception_from_error(const Failure& failure, const boost::source_location&) {
  throw std::runtime_error(failure.message);
}

Failure unreachable(const NetError& error) { return Failure{kExitUnreachable, error.message}; }

Failure refused(const Response& response) {
  json::error_code ec;
  const json::value body = json::parse(response.body, ec);
  std::string message;
  if (!ec) {
    message = text_at(body, {"error", "message"});
  }
  if (message.empty()) {
    message = response.body.substr(0, kMaxRawError);
    for (char& c : message) {
      c = (c == '\n' || c == '\r') ? ' ' : c;
    }
  }
  if (message.empty()) {
    message = "the server refused the request";
  }
  return Failure{kExitFailed, fmt::format("{} (HTTP {})", message, response.status),
                 response.status};
}

std::string segment(std::string_view id) {
  return boost::urls::encode(id, boost::urls::unreserved_chars);
}

std::string query_value(std::string_view value) {
  return boost::urls::encode(value, boost::urls::unreserved_chars);
}

Outcome<Target> Context::target() {
  auto parsed = parse_target(options_.server);
  if (!parsed) {
    return Failure{kExitUsage, parsed.error().message};
  }
  return *parsed;
}

Outcome<std::string> Context::token() {
  if (token_) {
    return *token_;
  }
  if (!options_.token.empty()) {
    token_ = options_.token;
    return *token_;
  }
  auto saved = load_token();
  if (!saved) {
    return saved.error();
  }
  if (!*saved) {
    return Failure{kExitFailed,
                   "not logged in: run `presencectl login`, or give --token or "
                   "PRESENCECTL_TOKEN"};
  }
  token_ = **saved;
  return *token_;
}

Outcome<std::string> Context::current_user() {
  if (me_) {
    return *me_;
  }
  auto reply = call("GET", "/api/v1/me");
  if (!reply) {
    return reply.error();
  }
  std::string id = text_at(reply->json, {"id"});
  if (id.empty()) {
    return Failure{kExitFailed, "GET /api/v1/me: the answer names no user id"};
  }
  me_ = id;
  return id;
}

Outcome<Reply> Context::call(std::string_view method, std::string_view path,
                             const json::value* body) {
  return send(method, path, body, true);
}

Outcome<Reply> Context::call_anonymous(std::string_view method, std::string_view path,
                                       const json::value* body) {
  return send(method, path, body, false);
}

Outcome<Reply> Context::send(std::string_view method, std::string_view path,
                             const json::value* body, bool with_token) {
  auto where = target();
  if (!where) {
    return where.error();
  }
  std::string token;
  if (with_token) {
    auto found = this->token();
    if (!found) {
      return found.error();
    }
    token = *found;
  }
  const std::string payload = body == nullptr ? std::string() : json::serialize(*body);
  auto response = request(*where, method, path, token, payload);
  if (!response) {
    return unreachable(response.error());
  }
  if (response->status < 200 || response->status >= 300) {
    return refused(*response);
  }
  Reply reply;
  reply.status = response->status;
  reply.body = std::move(response->body);
  if (!reply.body.empty()) {
    json::error_code ec;
    reply.json = json::parse(reply.body, ec);
    if (ec) {
      return Failure{kExitFailed,
                     fmt::format("{} {}: the answer is not JSON ({})", method, path, ec.message())};
    }
  }
  return reply;
}

bool Context::print_raw(const Reply& reply) const {
  if (!options_.json) {
    return false;
  }
  if (!reply.body.empty()) {
    std::fputs(reply.body.c_str(), stdout);
    if (reply.body.back() != '\n') {
      std::fputc('\n', stdout);
    }
  }
  return true;
}

int Context::fail(const Failure& failure) const {
  std::fflush(stdout);
  fmt::print(stderr, "presencectl: {}\n", failure.message);
  return failure.exit_code;
}

}  // namespace presencectl
