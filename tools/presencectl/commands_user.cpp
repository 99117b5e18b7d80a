// user add, list, show, set and delete: the directory of accounts (admin for most changes).

#include "commands.h"
#include "context.h"
#include "format.h"
#include "local.h"

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presencectl {
namespace {

namespace json = boost::json;

const std::vector<std::string> kRoles = {"user", "admin", "system"};

struct AddOptions {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> password;
  std::optional<std::string> role;
  std::optional<std::string> sip_password;
  std::vector<std::string> groups;
};

struct SetOptions {
  std::string id;
  std::optional<std::string> name;
  std::optional<std::string> password;
  std::optional<std::string> role;
  std::optional<std::string> sip_password;
  std::optional<std::vector<std::string>> groups;
  std::optional<int> idle_minutes;
  std::optional<std::string> login_state;
  std::optional<std::string> logout_state;
};

json::array to_array(const std::vector<std::string>& items) {
  json::array out;
  for (const std::string& item : items) {
    out.emplace_back(item);
  }
  return out;
}

std::string or_dash(std::string text) { return text.empty() ? "-" : text; }

void print_user(const json::value& user) {
  const auto idle = integer_at(user, {"settings", "idle_minutes"});
  print_fields({
      {"id", one_line(text_at(user, {"id"}))},
      {"name", one_line(text_at(user, {"display_name"}))},
      {"role", text_at(user, {"role"})},
      {"groups", or_dash(join(texts_at(user, {"groups"}), ", "))},
      {"sip password", boolean_at(user, {"has_sip_password"}) ? "set" : "not set"},
      {"idle after", idle ? fmt::format("{} min", *idle) : "-"},
      {"login state", or_dash(text_at(user, {"settings", "login_state"}))},
      {"logout state", or_dash(text_at(user, {"settings", "logout_state"}))},
  });
}

int user_add(Context& context, const AddOptions& options) {
  auto password = obtain_password(options.password, "Password for " + options.id + ": ", true);
  if (!password) {
    return context.fail(password.error());
  }
  json::object body{{"id", options.id}, {"password", *password}};
  if (options.name) {
    body["display_name"] = *options.name;
  }
  if (options.role) {
    body["role"] = *options.role;
  }
  if (options.sip_password) {
    body["sip_password"] = *options.sip_password;
  }
  if (!options.groups.empty()) {
    body["groups"] = to_array(options.groups);
  }
  const json::value value = std::move(body);
  auto reply = context.call("POST", "/api/v1/users", &value);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    fmt::print("created user {} ({}, role {})\n", one_line(text_at(reply->json, {"id"})),
               one_line(text_at(reply->json, {"display_name"})), text_at(reply->json, {"role"}));
  }
  return kExitOk;
}

int user_list(Context& context, const std::string& search) {
  const std::string path =
      search.empty() ? "/api/v1/users" : "/api/v1/users?q=" + query_value(search);
  auto reply = context.call("GET", path);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (context.print_raw(*reply)) {
    return kExitOk;
  }
  std::vector<Row> rows;
  for (const json::value* user : items_at(reply->json, {"users"})) {
    rows.push_back({one_line(text_at(*user, {"id"})), one_line(text_at(*user, {"display_name"})),
                    text_at(*user, {"role"}), or_dash(join(texts_at(*user, {"groups"}), ","))});
  }
  print_table({"ID", "NAME", "ROLE", "GROUPS"}, rows);
  return kExitOk;
}

int user_show(Context& context, const std::string& id) {
  auto reply = context.call("GET", "/api/v1/users/" + segment(id));
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    print_user(reply->json);
  }
  return kExitOk;
}

int user_delete(Context& context, const std::string& id) {
  auto reply = context.call("DELETE", "/api/v1/users/" + segment(id));
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    fmt::print("deleted user {}\n", id);
  }
  return kExitOk;
}

int user_set(Context& context, const SetOptions& options) {
  json::object body;
  auto put = [&body](std::string_view key, const std::optional<std::string>& value) {
    if (value) {
      body[key] = *value;
    }
  };
  put("display_name", options.name);
  put("password", options.password);
  put("role", options.role);
  put("sip_password", options.sip_password);
  put("login_state", options.login_state);
  put("logout_state", options.logout_state);
  if (options.groups) {
    body["groups"] = to_array(*options.groups);
  }
  if (options.idle_minutes) {
    body["idle_minutes"] = *options.idle_minutes;
  }
  if (body.empty()) {
    return context.fail({kExitUsage, "user set: nothing to change; see --help"});
  }
  const json::value value = std::move(body);
  auto reply = context.call("PATCH", "/api/v1/users/" + segment(options.id), &value);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    print_user(reply->json);
  }
  return kExitOk;
}

void add_user_add(CLI::App& user, Context& context, Action& action) {
  auto options = std::make_shared<AddOptions>();
  CLI::App* add = user.add_subcommand("add", "Create a user (admin)");
  add->add_option("ID", options->id, "user id")->required();
  add->add_option("--name", options->name, "display name; default: the id");
  add->add_option("--password", options->password,
                  "default: asked twice without echo, or one line of stdin");
  add->add_option("--role", options->role, "user (default), admin or system")
      ->check(CLI::IsMember(kRoles));
  add->add_option("--sip-password", options->sip_password, "password for SIP digest auth");
  add->add_option("--group", options->groups, "group id; repeat for several");
  add->callback([&context, &action, options] {
    action = [&context, options] { return user_add(context, *options); };
  });
}

void add_user_set(CLI::App& user, Context& context, Action& action) {
  auto options = std::make_shared<SetOptions>();
  CLI::App* set = user.add_subcommand("set", "Change a user's name, password or settings");
  set->add_option("ID", options->id, "user id")->required();
  set->add_option("--name", options->name, "display name");
  set->add_option("--password", options->password, "new password");
  set->add_option("--role", options->role, "user, admin or system (admin only)")
      ->check(CLI::IsMember(kRoles));
  set->add_option("--sip-password", options->sip_password, "password for SIP digest auth");
  set->add_option("--group", options->groups, "the groups, replacing all (admin only)");
  set->add_option("--idle-minutes", options->idle_minutes, "idle after this many minutes")
      ->check(CLI::Range(1, 1440));
  set->add_option("--login-state", options->login_state,
                  "state set when a session starts; \"\" for none");
  set->add_option("--logout-state", options->logout_state,
                  "state set when the last session ends; \"\" for none");
  set->callback([&context, &action, options] {
    action = [&context, options] { return user_set(context, *options); };
  });
}

}  // namespace

void add_user_commands(CLI::App& app, Context& context, Action& action) {
  CLI::App* user = app.add_subcommand("user", "Manage users");
  user->require_subcommand(1);
  add_user_add(*user, context, action);
  add_user_set(*user, context, action);

  auto search = std::make_shared<std::string>();
  CLI::App* list = user->add_subcommand("list", "List users");
  list->add_option("--search", *search, "only ids or names containing this text");
  list->callback([&context, &action, search] {
    action = [&context, search] { return user_list(context, *search); };
  });

  auto show_id = std::make_shared<std::string>();
  CLI::App* show = user->add_subcommand("show", "Show one user");
  show->add_option("ID", *show_id, "user id")->required();
  show->callback([&context, &action, show_id] {
    action = [&context, show_id] { return user_show(context, *show_id); };
  });

  auto delete_id = std::make_shared<std::string>();
  CLI::App* remove = user->add_subcommand("delete", "Delete a user (admin)");
  remove->add_option("ID", *delete_id, "user id")->required();
  remove->callback([&context, &action, delete_id] {
    action = [&context, delete_id] { return user_delete(context, *delete_id); };
  });
}

}  // namespace presencectl
