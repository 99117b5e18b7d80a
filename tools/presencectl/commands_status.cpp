// status get, set, clear and layers, and watch: reading, changing and following presence.

#include "commands.h"
#include "context.h"
#include "format.h"
#include "local.h"

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presencectl {
namespace {

namespace json = boost::json;

struct SetOptions {
  std::string state;
  std::optional<std::string> note;
  std::optional<std::string> until;
  std::string user;
};

struct WatchOptions {
  std::vector<std::string> users;
  bool contacts = false;
  std::int64_t count = 0;  // 0: until interrupted
};

std::string manual_path(const std::string& user) {
  return "/api/v1/users/" + segment(user) + "/presence/manual";
}

// The user a change is for: --user, else the owner of the token.
Outcome<std::string> subject(Context& context, const std::string& user) {
  if (!user.empty()) {
    return user;
  }
  return context.current_user();
}

int print_presence(Context& context, const Reply& reply) {
  if (!context.print_raw(reply)) {
    fmt::print("{}\n", presence_line(reply.json));
  }
  return kExitOk;
}

int status_get(Context& context, const std::vector<std::string>& users) {
  for (const std::string& user : users) {
    auto reply = context.call("GET", "/api/v1/users/" + segment(user) + "/presence");
    if (!reply) {
      return context.fail(reply.error());
    }
    print_presence(context, *reply);
  }
  return kExitOk;
}

int status_set(Context& context, const SetOptions& options) {
  auto user = subject(context, options.user);
  if (!user) {
    return context.fail(user.error());
  }
  json::object body{{"state", options.state}};
  if (options.note) {
    body["note"] = *options.note;
  }
  if (options.until) {
    auto until = resolve_until(*options.until, std::chrono::system_clock::now());
    if (!until) {
      return context.fail({kExitUsage, fmt::format("--until: \"{}\" is neither RFC 3339 nor a "
                                                   "relative time like +30m, +2h, +1d",
                                                   *options.until)});
    }
    body["until"] = *until;
  }
  const json::value value = std::move(body);
  auto reply = context.call("PUT", manual_path(*user), &value);
  if (!reply) {
    return context.fail(reply.error());
  }
  return print_presence(context, *reply);
}

int status_clear(Context& context, const std::string& user_option) {
  auto user = subject(context, user_option);
  if (!user) {
    return context.fail(user.error());
  }
  auto reply = context.call("DELETE", manual_path(*user));
  if (!reply) {
    return context.fail(reply.error());
  }
  return print_presence(context, *reply);
}

void print_layers(const json::value& layers) {
  if (const json::value* presence = find_at(layers, {"presence"})) {
    fmt::print("{}\n", presence_line(*presence));
    const std::string rule = text_at(*presence, {"explanation", "rule"});
    if (!rule.empty()) {
      fmt::print("  because  {} ({})\n", one_line(rule),
                 text_at(*presence, {"explanation", "layer"}));
    }
  }
  const json::value* manual = find_at(layers, {"manual"});
  if (manual != nullptr && manual->is_object()) {
    const std::string note = text_at(*manual, {"note"});
    const std::string until = text_at(*manual, {"until"});
    fmt::print("  manual   {}{}{}\n", one_line(text_at(*manual, {"state"})),
               note.empty() ? "" : "  \"" + one_line(note) + "\"",
               until.empty() ? "" : "  until " + until);
  }
  for (const json::value* call : items_at(layers, {"telephony"})) {
    fmt::print("  call     {} on {} ({}, {})\n", one_line(text_at(*call, {"call_id"})),
               one_line(text_at(*call, {"device"})), text_at(*call, {"state"}),
               text_at(*call, {"direction"}));
  }
  for (const json::value* appointment : items_at(layers, {"calendar"})) {
    fmt::print("  calendar {} to {}  {}\n", text_at(*appointment, {"start"}),
               text_at(*appointment, {"end"}), one_line(text_at(*appointment, {"subject"})));
  }
  for (const json::value* session : items_at(layers, {"sessions"})) {
    fmt::print("  session  {} ({}, {})\n", one_line(text_at(*session, {"client_id"})),
               text_at(*session, {"kind"}), text_at(*session, {"input"}));
  }
}

// "Why am I shown busy?": the layers the presence is made of.
int status_layers(Context& context, const std::string& user) {
  auto reply = context.call("GET", "/api/v1/users/" + segment(user) + "/layers");
  if (!reply) {
    return context.fail(reply.error());
  }
  if (context.print_raw(*reply)) {
    return kExitOk;
  }
  print_layers(reply->json);
  return kExitOk;
}

std::string subscribe_message(const WatchOptions& options) {
  json::object subscribe{{"op", "subscribe"}};
  if (!options.users.empty()) {
    json::array users;
    for (const std::string& user : options.users) {
      users.emplace_back(user);
    }
    subscribe["users"] = std::move(users);
  }
  if (options.contacts) {
    subscribe["contacts"] = true;
  }
  return json::serialize(subscribe);
}

int watch_users(Context& context, const WatchOptions& options) {
  if (options.users.empty() && !options.contacts) {
    return context.fail({kExitUsage, "watch: name at least one USER, or give --contacts"});
  }
  auto target = context.target();
  if (!target) {
    return context.fail(target.error());
  }
  auto token = context.token();
  if (!token) {
    return context.fail(token.error());
  }
  std::int64_t seen = 0;
  std::optional<Failure> failure;
  const bool raw = context.json_output();
  auto on_message = [&](std::string_view message) {
    json::error_code ec;
    const json::value event = json::parse(message, ec);
    const std::string type = ec ? std::string() : text_at(event, {"type"});
    if (type == "error") {
      failure = Failure{kExitFailed, one_line(text_at(event, {"error", "message"}))};
      return false;
    }
    if (type != "presence") {
      return true;  // pongs and future event types
    }
    if (raw) {
      fmt::print("{}\n", message);
    } else {
      fmt::print("{}\n", presence_line(event));
    }
    std::fflush(stdout);  // a reader behind a pipe sees each event as it comes
    ++seen;
    return options.count == 0 || seen < options.count;
  };
  auto response = watch(*target, "/api/v1/ws", *token, subscribe_message(options), on_message);
  if (!response) {
    return context.fail(unreachable(response.error()));
  }
  if (response->status != 101) {
    return context.fail(refused(*response));
  }
  return failure ? context.fail(*failure) : kExitOk;
}

void add_status_set(CLI::App& status, Context& context, Action& action) {
  auto options = std::make_shared<SetOptions>();
  CLI::App* set = status.add_subcommand("set", "Set a manual state");
  set->add_option("STATE", options->state,
                  "Available, Busy, DoNotDisturb, Away, BeRightBack, Offline or an admin's state")
      ->required();
  set->add_option("--note", options->note, "a note for watchers");
  set->add_option("--until", options->until, "RFC 3339, or +30m, +2h, +1d from now");
  set->add_option("--user", options->user, "whose state; default: yours");
  set->callback([&context, &action, options] {
    action = [&context, options] { return status_set(context, *options); };
  });
}

}  // namespace

void add_status_commands(CLI::App& app, Context& context, Action& action) {
  CLI::App* status = app.add_subcommand("status", "Read and set presence");
  status->require_subcommand(1);

  auto get_users = std::make_shared<std::vector<std::string>>();
  CLI::App* get = status->add_subcommand("get", "Show presence as you may see it");
  get->add_option("USER", *get_users, "user ids")->required();
  get->callback([&context, &action, get_users] {
    action = [&context, get_users] { return status_get(context, *get_users); };
  });

  add_status_set(*status, context, action);

  auto clear_user = std::make_shared<std::string>();
  CLI::App* clear = status->add_subcommand("clear", "Remove the manual state");
  clear->add_option("--user", *clear_user, "whose state; default: yours");
  clear->callback([&context, &action, clear_user] {
    action = [&context, clear_user] { return status_clear(context, *clear_user); };
  });

  auto layers_user = std::make_shared<std::string>();
  CLI::App* layers = status->add_subcommand("layers", "Show what a presence is made of");
  layers->add_option("USER", *layers_user, "user id (yourself, or anyone for an admin)")
      ->required();
  layers->callback([&context, &action, layers_user] {
    action = [&context, layers_user] { return status_layers(context, *layers_user); };
  });

  auto watch_options = std::make_shared<WatchOptions>();
  CLI::App* watch_command =
      app.add_subcommand("watch", "Print presence changes as they happen (WebSocket)");
  watch_command->add_option("USER", watch_options->users, "user ids to watch");
  watch_command->add_flag("--contacts", watch_options->contacts, "also watch your contacts");
  watch_command->add_option("--count", watch_options->count, "exit after this many events")
      ->check(CLI::PositiveNumber);
  watch_command->callback([&context, &action, watch_options] {
    action = [&context, watch_options] { return watch_users(context, *watch_options); };
  });
}

}  // namespace presencectl
