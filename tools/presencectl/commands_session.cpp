// login and logout: getting a token, keeping it for the next calls, and revoking it.

#include "commands.h"
#include "context.h"
#include "format.h"
#include "local.h"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

namespace presencectl {
namespace {

namespace json = boost::json;

struct LoginOptions {
  std::string user;
  std::optional<std::string> password;
};

int login(Context& context, const LoginOptions& options) {
  std::string user = options.user;
  if (user.empty()) {
    if (!stdin_is_terminal()) {
      return context.fail({kExitUsage, "login: give USER when stdin is not a terminal"});
    }
    auto typed = prompt_line("User: ");
    if (!typed) {
      return context.fail(typed.error());
    }
    user = *typed;
  }
  auto password = obtain_password(options.password, "Password: ", false);
  if (!password) {
    return context.fail(password.error());
  }
  const json::value body = json::object{{"username", user}, {"password", *password}};
  auto reply = context.call_anonymous("POST", "/api/v1/auth/token", &body);
  if (!reply) {
    return context.fail(reply.error());
  }
  const std::string token = text_at(reply->json, {"token"});
  if (token.empty()) {
    return context.fail({kExitFailed, "login: the answer holds no token"});
  }
  auto path = save_token(token);
  if (!path) {
    return context.fail({kExitFailed, "cannot save the token: " + path.error().message});
  }
  if (context.print_raw(*reply)) {
    fmt::print(stderr, "token saved to {}\n", *path);
    return kExitOk;
  }
  fmt::print("logged in as {} until {}; token saved to {}\n", user,
             text_at(reply->json, {"expires_at"}), *path);
  return kExitOk;
}

int logout(Context& context) {
  auto token = context.token();
  if (!token) {
    return context.fail(token.error());
  }
  auto saved = load_token();
  const bool is_saved = saved && *saved && **saved == *token;
  auto reply = context.call("DELETE", "/api/v1/auth/token");
  // A token the server no longer knows (expired, revoked) is as good as logged out.
  const bool known = reply || reply.error().http_status == 401;
  if (!known) {
    return context.fail(reply.error());
  }
  std::string removed;
  if (is_saved) {
    auto path = remove_token();
    if (!path) {
      return context.fail(path.error());
    }
    removed = path->value_or(std::string());
  }
  if (!context.json_output()) {
    fmt::print("logged out{}{}\n", reply ? "" : " (the token was no longer valid)",
               removed.empty() ? std::string() : "; removed " + removed);
  }
  return kExitOk;
}

}  // namespace

void add_session_commands(CLI::App& app, Context& context, Action& action) {
  auto login_options = std::make_shared<LoginOptions>();
  CLI::App* login_command =
      app.add_subcommand("login", "Get a token and save it for the next commands");
  login_command->add_option("USER", login_options->user, "user id (asked when not given)");
  login_command->add_option("--password", login_options->password,
                            "default: asked without echo, or one line of stdin");
  login_command->callback([&context, &action, login_options] {
    action = [&context, login_options] { return login(context, *login_options); };
  });

  CLI::App* logout_command =
      app.add_subcommand("logout", "Revoke the token and forget the saved one");
  logout_command->callback(
      [&context, &action] { action = [&context] { return logout(context); }; });
}

}  // namespace presencectl
