#include "load_setup.h"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include <chrono>

namespace presenced::load {

namespace asio = boost::asio;
namespace json = boost::json;
using http_verb = boost::beast::http::verb;

std::string user_id(const Options& options, std::size_t index) {
  return fmt::format("{}{:05}", options.user_prefix, index);
}

std::string_view callee_state(std::size_t index) {
  constexpr std::string_view kStates[] = {"Available", "Busy",        "Available", "Away",
                                          "Available", "Busy",        "Available", "BeRightBack",
                                          "Available", "DoNotDisturb"};
  return kStates[index % std::size(kStates)];
}

namespace {

// Every load user has this password; the run never logs in with it (watchers use API keys).
constexpr std::string_view kUserPassword = "presence-load-password";
constexpr std::size_t kMaxFailures = 10;

std::optional<std::string> string_member(const std::string& body, std::string_view key) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return std::nullopt;
  }
  const json::value* member = value.as_object().if_contains(key);
  if (member == nullptr || !member->is_string()) {
    return std::nullopt;
  }
  return std::string(member->as_string());
}

void report(std::string_view what, const HttpAnswer& answer) {
  fmt::print(stderr, "{}: HTTP {} {}\n", what, answer.status,
             std::string_view(answer.body).substr(0, 200));
}

class SetUp {
 public:
  SetUp(const Options& options, tcp::endpoint server)
      : options_(options),
        server_(server),
        deadline_(std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<long>(options.setup_timeout_s * 1000))) {}

  std::optional<Credentials> run() {
    if (!parallel("login", 1, 1, &SetUp::login)) {
      return std::nullopt;
    }
    const bool users = options_.reuse ? parallel("check users", 1, 1, &SetUp::check_users)
                                      : parallel("create users", options_.users,
                                                 options_.create_concurrency, &SetUp::create_user);
    if (!users) {
      return std::nullopt;
    }
    if (options_.mode == Mode::Decide) {
      if (!parallel("callees", options_.users, options_.connections, &SetUp::prepare_callee)) {
        return std::nullopt;
      }
      return std::move(credentials_);
    }
    credentials_.watcher_tokens.resize(options_.watchers);
    if (!parallel("API keys", options_.watchers, options_.connections, &SetUp::create_key)) {
      return std::nullopt;
    }
    return std::move(credentials_);
  }

 private:
  using Step = asio::awaitable<bool> (SetUp::*)(HttpClient&, std::size_t);

  // Runs `step` for 0..count-1 with `concurrency` in flight, each on its own connection.
  bool parallel(const char* what, std::size_t count, std::size_t concurrency, Step step) {
    next_ = 0;
    done_ = 0;
    failures_ = 0;
    for (std::size_t i = 0; i < std::min(count, concurrency); ++i) {
      asio::co_spawn(ioc_, worker(what, count, step), asio::detached);
    }
    ioc_.run();
    ioc_.restart();
    if (done_ < count) {
      fmt::print(stderr, "{}: {} of {} done, {} failed{}\n", what, done_, count, failures_,
                 std::chrono::steady_clock::now() >= deadline_ ? ", --setup-timeout reached" : "");
      return false;
    }
    return true;
  }

  asio::awaitable<void> worker(const char* what, std::size_t count, Step step) {
    HttpClient client(ioc_.get_executor(), server_);
    while (next_ < count && failures_ < kMaxFailures &&
           std::chrono::steady_clock::now() < deadline_) {
      const std::size_t index = next_++;
      if (!co_await (this->*step)(client, index)) {
        ++failures_;
        continue;
      }
      if (++done_ % 1000 == 0) {
        fmt::print(stderr, "{}: {} of {}\n", what, done_, count);
      }
    }
  }

  asio::awaitable<bool> login(HttpClient& client, std::size_t) {
    json::object body{{"username", options_.admin}, {"password", options_.admin_password}};
    HttpAnswer answer =
        co_await client.request(http_verb::post, "/api/v1/auth/token", "", json::serialize(body));
    auto token = answer.status == 200 ? string_member(answer.body, "token") : std::nullopt;
    if (!token) {
      report("login as " + options_.admin, answer);
      co_return false;
    }
    credentials_.admin_token = std::move(*token);
    co_return true;
  }

  // Argon2id makes each creation take tens of milliseconds; an existing user (409) is fine.
  asio::awaitable<bool> create_user(HttpClient& client, std::size_t index) {
    const std::string id = user_id(options_, index);
    json::object body{{"id", id},
                      {"display_name", "Load user " + std::to_string(index)},
                      {"password", kUserPassword},
                      {"role", "user"}};
    HttpAnswer answer = co_await client.request(http_verb::post, "/api/v1/users",
                                                credentials_.admin_token, json::serialize(body));
    if (answer.status != 201 && answer.status != 409) {
      report("create " + id, answer);
      co_return false;
    }
    co_return true;
  }

  // --reuse: the last user must exist.
  asio::awaitable<bool> check_users(HttpClient& client, std::size_t) {
    const std::string id = user_id(options_, options_.users - 1);
    HttpAnswer answer = co_await client.request(http_verb::get, "/api/v1/users/" + id,
                                                credentials_.admin_token, "");
    if (answer.status != 200) {
      report("--reuse: user " + id, answer);
      co_return false;
    }
    co_return true;
  }

  // An API key per watcher: a login would verify an Argon2id hash per user.
  asio::awaitable<bool> create_key(HttpClient& client, std::size_t index) {
    json::object body{{"user", user_id(options_, index)}, {"label", "presence-load"}, {"days", 1}};
    HttpAnswer answer = co_await client.request(http_verb::post, "/api/v1/apikeys",
                                                credentials_.admin_token, json::serialize(body));
    auto token = answer.status == 201 ? string_member(answer.body, "token") : std::nullopt;
    if (!token) {
      report("API key for " + user_id(options_, index), answer);
      co_return false;
    }
    credentials_.watcher_tokens[index] = std::move(*token);
    co_return true;
  }

  // Its devices (an existing one is replaced) and its manual state; repeatable with --reuse.
  asio::awaitable<bool> prepare_callee(HttpClient& client, std::size_t index) {
    const std::string id = user_id(options_, index);
    for (const std::string_view device : kCalleeDevices) {
      json::object body{{"device", device}, {"label", device}};
      HttpAnswer answer =
          co_await client.request(http_verb::post, "/api/v1/users/" + id + "/devices",
                                  credentials_.admin_token, json::serialize(body));
      if (answer.status != 201) {
        report("device of " + id, answer);
        co_return false;
      }
    }
    json::object body{{"state", callee_state(index)}};
    HttpAnswer answer =
        co_await client.request(http_verb::put, "/api/v1/users/" + id + "/presence/manual",
                                credentials_.admin_token, json::serialize(body));
    if (answer.status != 200) {
      report("state of " + id, answer);
      co_return false;
    }
    co_return true;
  }

  const Options& options_;
  tcp::endpoint server_;
  std::chrono::steady_clock::time_point deadline_;
  asio::io_context ioc_{1};
  std::size_t next_ = 0;
  std::size_t done_ = 0;
  std::size_t failures_ = 0;
  Credentials credentials_;
};

}  // namespace

std::optional<Credentials> set_up(const Options& options, tcp::endpoint server) {
  SetUp setup(options, server);
  return setup.run();
}

}  // namespace presenced::load
