// states, visibility, contacts, groups and devices: what presence is made of and who sees it.

#include "commands.h"
#include "context.h"
#include "format.h"

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

const std::vector<std::string> kStateTypes = {"available", "chat", "away",
                                              "dnd",       "xa",   "unavailable"};
const std::vector<std::string> kLevels = {"blocked", "public", "business", "team", "personal"};

struct StateOptions {
  std::string id;
  std::string type;
  std::optional<std::string> message;
  std::optional<int> order;
};

struct VisibilityOptions {
  std::string owner;
  std::string watcher;
  std::string level;
};

struct PolicyOptions {
  std::optional<std::string> default_level;
  std::optional<std::string> minimum;
};

struct GroupOptions {
  std::string id;
  std::optional<std::string> name;
};

struct ContactOptions {
  std::string user;
  std::vector<std::string> contacts;
};

std::string user_path(const std::string& user, std::string_view rest) {
  return "/api/v1/users/" + segment(user) + std::string(rest);
}

int states_list(Context& context) {
  return run(context, "GET", "/api/v1/states", nullptr, [](const json::value& answer) {
    std::vector<Row> rows;
    for (const json::value* state : items_at(answer, {"states"})) {
      const auto order = integer_at(*state, {"order"});
      rows.push_back({one_line(text_at(*state, {"id"})), text_at(*state, {"type"}),
                      text_at(*state, {"availability"}) + " / " + text_at(*state, {"activity"}),
                      order ? std::to_string(*order) : "-",
                      boolean_at(*state, {"built_in"}) ? "yes" : "no",
                      one_line(text_at(*state, {"message"}))});
    }
    print_table({"ID", "TYPE", "SHOWN AS", "ORDER", "BUILT-IN", "MESSAGE"}, rows);
  });
}

int states_add(Context& context, const StateOptions& options) {
  json::object body{{"id", options.id}, {"type", options.type}};
  if (options.message) {
    body["message"] = *options.message;
  }
  if (options.order) {
    body["order"] = *options.order;
  }
  const json::value value = std::move(body);
  return run(context, "PUT", "/api/v1/states/" + segment(options.id), &value,
             [](const json::value& state) {
               fmt::print("saved state {} ({}, shown as {} / {})\n",
                          one_line(text_at(state, {"id"})), text_at(state, {"type"}),
                          text_at(state, {"availability"}), text_at(state, {"activity"}));
             });
}

int states_delete(Context& context, const std::string& id) {
  return run(context, "DELETE", "/api/v1/states/" + segment(id), nullptr,
             [&id](const json::value&) { fmt::print("deleted state {}\n", id); });
}

int visibility_set(Context& context, const VisibilityOptions& options) {
  const json::value body = json::object{{"level", options.level}};
  return run(context, "PUT", user_path(options.owner, "/visibility/" + segment(options.watcher)),
             &body, [&options](const json::value& answer) {
               fmt::print("{} sees {} at level {}\n", options.watcher, options.owner,
                          text_at(answer, {"level"}));
             });
}

int visibility_reset(Context& context, const VisibilityOptions& options) {
  return run(context, "DELETE", user_path(options.owner, "/visibility/" + segment(options.watcher)),
             nullptr, [&options](const json::value&) {
               fmt::print("{} sees {} at the default level\n", options.watcher, options.owner);
             });
}

int visibility_list(Context& context, const std::string& user) {
  return run(context, "GET", user_path(user, "/visibility"), nullptr,
             [](const json::value& answer) {
               fmt::print("default level {}, minimum {}\n", text_at(answer, {"default_level"}),
                          text_at(answer, {"minimum"}));
               std::vector<Row> rows;
               for (const json::value* pair : items_at(answer, {"watchers"})) {
                 rows.push_back({one_line(text_at(*pair, {"watcher"})), text_at(*pair, {"level"})});
               }
               if (!rows.empty()) {
                 print_table({"WATCHER", "LEVEL"}, rows);
               }
             });
}

int visibility_policy(Context& context, const PolicyOptions& options) {
  auto print = [](const json::value& answer) {
    fmt::print("default level {}, minimum {}\n", text_at(answer, {"default_level"}),
               text_at(answer, {"minimum"}));
  };
  if (!options.default_level && !options.minimum) {
    return run(context, "GET", "/api/v1/visibility/policy", nullptr, print);
  }
  json::object body;
  if (options.default_level) {
    body["default_level"] = *options.default_level;
  }
  if (options.minimum) {
    body["minimum"] = *options.minimum;
  }
  const json::value value = std::move(body);
  return run(context, "PUT", "/api/v1/visibility/policy", &value, print);
}

void print_ids(const json::value& answer) {
  for (const std::string& id : texts_at(answer, {"users"})) {
    fmt::print("{}\n", one_line(id));
  }
}

int contacts_set(Context& context, const ContactOptions& options) {
  json::array users;
  for (const std::string& id : options.contacts) {
    users.emplace_back(id);
  }
  const json::value body = json::object{{"users", std::move(users)}};
  return run(context, "PUT", user_path(options.user, "/contacts"), &body, print_ids);
}

int contacts_list(Context& context, const std::string& user) {
  return run(context, "GET", user_path(user, "/contacts"), nullptr, print_ids);
}

int groups_list(Context& context) {
  return run(context, "GET", "/api/v1/groups", nullptr, [](const json::value& answer) {
    std::vector<Row> rows;
    for (const json::value* group : items_at(answer, {"groups"})) {
      rows.push_back({one_line(text_at(*group, {"id"})),
                      one_line(text_at(*group, {"display_name"})),
                      one_line(join(texts_at(*group, {"members"}), ","))});
    }
    print_table({"ID", "NAME", "MEMBERS"}, rows);
  });
}

int groups_add(Context& context, const GroupOptions& options) {
  json::object body{{"id", options.id}};
  if (options.name) {
    body["display_name"] = *options.name;
  }
  const json::value value = std::move(body);
  return run(context, "PUT", "/api/v1/groups/" + segment(options.id), &value,
             [](const json::value& group) {
               fmt::print("saved group {} ({})\n", one_line(text_at(group, {"id"})),
                          one_line(text_at(group, {"display_name"})));
             });
}

int groups_delete(Context& context, const std::string& id) {
  return run(context, "DELETE", "/api/v1/groups/" + segment(id), nullptr,
             [&id](const json::value&) { fmt::print("deleted group {}\n", id); });
}

int devices_list(Context& context, const std::string& user) {
  return run(context, "GET", user_path(user, "/devices"), nullptr, [](const json::value& answer) {
    std::vector<Row> rows;
    for (const json::value* device : items_at(answer, {"devices"})) {
      rows.push_back(
          {one_line(text_at(*device, {"device"})), one_line(text_at(*device, {"label"}))});
    }
    print_table({"DEVICE", "LABEL"}, rows);
  });
}

// Registers a subcommand that takes one positional argument.
void add_with_argument(CLI::App& parent, Context& context, Action& action, const char* name,
                       const char* help, const char* argument,
                       int (*run_command)(Context&, const std::string&)) {
  auto value = std::make_shared<std::string>();
  CLI::App* command = parent.add_subcommand(name, help);
  command->add_option(argument, *value)->required();
  command->callback([&context, &action, value, run_command] {
    action = [&context, value, run_command] { return run_command(context, *value); };
  });
}

void add_states(CLI::App& app, Context& context, Action& action) {
  CLI::App* states = app.add_subcommand("states", "Manage the states users can choose");
  states->require_subcommand(1);
  states->add_subcommand("list", "List built-in and admin-defined states")
      ->callback([&context, &action] { action = [&context] { return states_list(context); }; });

  auto options = std::make_shared<StateOptions>();
  CLI::App* add = states->add_subcommand("add", "Define or change a state (admin)");
  add->add_option("ID", options->id, "state id, e.g. lunch")->required();
  add->add_option("--type", options->type, "what it means: " + join(kStateTypes, ", "))
      ->required()
      ->check(CLI::IsMember(kStateTypes));
  add->add_option("--message", options->message, "text shown with the state");
  add->add_option("--order", options->order, "position in pickers");
  add->callback([&context, &action, options] {
    action = [&context, options] { return states_add(context, *options); };
  });

  add_with_argument(*states, context, action, "delete", "Delete a state (admin)", "ID",
                    states_delete);
}

void add_visibility(CLI::App& app, Context& context, Action& action) {
  CLI::App* visibility = app.add_subcommand("visibility", "Who may see how much");
  visibility->require_subcommand(1);

  auto pair = std::make_shared<VisibilityOptions>();
  CLI::App* set = visibility->add_subcommand("set", "Set the level WATCHER sees OWNER at");
  set->add_option("OWNER", pair->owner, "the user being watched")->required();
  set->add_option("WATCHER", pair->watcher, "the user watching")->required();
  set->add_option("LEVEL", pair->level, join(kLevels, ", "))
      ->required()
      ->check(CLI::IsMember(kLevels));
  set->callback([&context, &action, pair] {
    action = [&context, pair] { return visibility_set(context, *pair); };
  });

  auto reset_pair = std::make_shared<VisibilityOptions>();
  CLI::App* reset = visibility->add_subcommand("reset", "Back to the default level");
  reset->add_option("OWNER", reset_pair->owner, "the user being watched")->required();
  reset->add_option("WATCHER", reset_pair->watcher, "the user watching")->required();
  reset->callback([&context, &action, reset_pair] {
    action = [&context, reset_pair] { return visibility_reset(context, *reset_pair); };
  });

  add_with_argument(*visibility, context, action, "list", "Levels a user has set", "USER",
                    visibility_list);

  auto policy_options = std::make_shared<PolicyOptions>();
  CLI::App* policy = visibility->add_subcommand("policy", "Show or set (admin) the policy");
  policy->add_option("--default", policy_options->default_level, "level for unset pairs")
      ->check(CLI::IsMember(kLevels));
  policy->add_option("--minimum", policy_options->minimum, "lowest level users may set")
      ->check(CLI::IsMember(kLevels));
  policy->callback([&context, &action, policy_options] {
    action = [&context, policy_options] { return visibility_policy(context, *policy_options); };
  });
}

void add_contacts(CLI::App& app, Context& context, Action& action) {
  CLI::App* contacts = app.add_subcommand("contacts", "A user's contact list");
  contacts->require_subcommand(1);
  auto options = std::make_shared<ContactOptions>();
  CLI::App* set = contacts->add_subcommand("set", "Replace the contact list");
  set->add_option("USER", options->user, "whose list")->required();
  set->add_option("ID", options->contacts, "contacts; none empties the list");
  set->callback([&context, &action, options] {
    action = [&context, options] { return contacts_set(context, *options); };
  });
  add_with_argument(*contacts, context, action, "list", "Show the contact list", "USER",
                    contacts_list);
}

}  // namespace

void add_directory_commands(CLI::App& app, Context& context, Action& action) {
  add_states(app, context, action);
  add_visibility(app, context, action);
  add_contacts(app, context, action);

  CLI::App* groups = app.add_subcommand("groups", "Groups and their members");
  groups->require_subcommand(1);
  groups->add_subcommand("list", "List groups")->callback([&context, &action] {
    action = [&context] { return groups_list(context); };
  });
  auto group_options = std::make_shared<GroupOptions>();
  CLI::App* add = groups->add_subcommand("add", "Create or rename a group (admin)");
  add->add_option("ID", group_options->id, "group id")->required();
  add->add_option("--name", group_options->name, "display name; default: the id");
  add->callback([&context, &action, group_options] {
    action = [&context, group_options] { return groups_add(context, *group_options); };
  });
  add_with_argument(*groups, context, action, "delete", "Delete a group (admin)", "ID",
                    groups_delete);

  CLI::App* devices = app.add_subcommand("devices", "A user's phones and clients");
  devices->require_subcommand(1);
  add_with_argument(*devices, context, action, "list", "List a user's devices", "USER",
                    devices_list);
}

}  // namespace presencectl
