// webhooks and teams: the connectors' settings an admin manages (docs/webhooks.md,
// docs/teams.md).

#include "commands.h"
#include "context.h"
#include "format.h"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_from.hpp>
#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presencectl {
namespace {

namespace json = boost::json;

struct WebhookOptions {
  std::string url;
  std::string secret;
  std::optional<std::string> id;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  std::vector<std::string> events;
  std::optional<std::string> status_map;  // a JSON file
};

struct TeamsOptions {
  std::string user;
  std::string upn;
  std::string tenant;
  bool mirror_dnd = false;
};

bool two_way(const json::value& hook) {
  const json::value* inbound = find_at(hook, {"status_map", "inbound"});
  return inbound != nullptr && inbound->is_object() && !inbound->get_object().empty();
}

int webhooks_list(Context& context) {
  return run(context, "GET", "/api/v1/webhooks", nullptr, [](const json::value& answer) {
    std::vector<Row> rows;
    for (const json::value* hook : items_at(answer, {"webhooks"})) {
      const auto users = texts_at(*hook, {"users"});
      const auto groups = texts_at(*hook, {"groups"});
      rows.push_back({one_line(text_at(*hook, {"id"})), one_line(text_at(*hook, {"url"})),
                      users.empty() && groups.empty() ? "everyone"
                                                      : join(users, ",") + " " + join(groups, ","),
                      join(texts_at(*hook, {"events"}), ","),
                      two_way(*hook) ? "two-way" : "out",
                      boolean_at(*hook, {"enabled"}) ? "yes" : "no"});
    }
    print_table({"ID", "URL", "USERS GROUPS", "EVENTS", "KIND", "ENABLED"}, rows);
  });
}

int webhooks_add(Context& context, const WebhookOptions& options) {
  json::object body{{"url", options.url}, {"secret", options.secret}};
  if (options.id) {
    body["id"] = *options.id;
  }
  body["users"] = json::value_from(options.users);
  body["groups"] = json::value_from(options.groups);
  if (!options.events.empty()) {
    body["events"] = json::value_from(options.events);
  }
  if (options.status_map) {
    std::ifstream file(*options.status_map);
    const std::string text((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    json::value map = json::parse(text, ec);
    if (!file || ec) {
      return context.fail(
          Failure{kExitFailed, fmt::format("--status-map {}: not a readable JSON file",
                                           *options.status_map)});
    }
    body["status_map"] = std::move(map);
  }
  const json::value value = std::move(body);
  return run(context, "POST", "/api/v1/webhooks", &value, [](const json::value& hook) {
    fmt::print("added webhook {} -> {}\n", one_line(text_at(hook, {"id"})),
               one_line(text_at(hook, {"url"})));
  });
}

int webhooks_delete(Context& context, const std::string& id) {
  return run(context, "DELETE", "/api/v1/webhooks/" + segment(id), nullptr,
             [&id](const json::value&) { fmt::print("deleted webhook {}\n", id); });
}

int webhooks_dead_letters(Context& context, const std::string& id) {
  return run(context, "GET", "/api/v1/webhooks/" + segment(id) + "/dead-letters", nullptr,
             [](const json::value& answer) {
               std::vector<Row> rows;
               for (const json::value* letter : items_at(answer, {"dead_letters"})) {
                 const auto attempts = integer_at(*letter, {"attempts"});
                 const auto status = integer_at(*letter, {"last_status"});
                 rows.push_back({text_at(*letter, {"failed_at"}),
                                 one_line(text_at(*letter, {"event", "user"})),
                                 text_at(*letter, {"event", "type"}),
                                 attempts ? std::to_string(*attempts) : "-",
                                 status && *status != 0 ? std::to_string(*status) : "none",
                                 one_line(text_at(*letter, {"last_error"}))});
               }
               print_table({"FAILED AT", "USER", "EVENT", "ATTEMPTS", "STATUS", "ERROR"}, rows);
             });
}

int teams_list(Context& context) {
  return run(context, "GET", "/api/v1/teams/users", nullptr, [](const json::value& answer) {
    std::vector<Row> rows;
    for (const json::value* mapping : items_at(answer, {"users"})) {
      rows.push_back({one_line(text_at(*mapping, {"user"})), one_line(text_at(*mapping, {"upn"})),
                      one_line(text_at(*mapping, {"tenant"})),
                      boolean_at(*mapping, {"mirror_dnd"}) ? "yes" : "no"});
    }
    print_table({"USER", "UPN", "TENANT", "MIRROR DND"}, rows);
  });
}

int teams_map(Context& context, const TeamsOptions& options) {
  const json::value body = json::object{
      {"upn", options.upn}, {"tenant", options.tenant}, {"mirror_dnd", options.mirror_dnd}};
  return run(context, "PUT", "/api/v1/users/" + segment(options.user) + "/teams", &body,
             [&options](const json::value& mapping) {
               fmt::print("mapped {} to {} in {}\n", options.user,
                          one_line(text_at(mapping, {"upn"})),
                          one_line(text_at(mapping, {"tenant"})));
             });
}

int teams_unmap(Context& context, const std::string& user) {
  return run(context, "DELETE", "/api/v1/users/" + segment(user) + "/teams", nullptr,
             [&user](const json::value&) { fmt::print("unmapped {}\n", user); });
}

void add_webhooks(CLI::App& app, Context& context, Action& action) {
  auto* webhooks = app.add_subcommand("webhooks", "Webhook subscriptions (admin)");
  webhooks->require_subcommand(1);
  webhooks->add_subcommand("list", "List the subscriptions (secrets are never shown)")
      ->callback([&] { action = [&] { return webhooks_list(context); }; });

  auto options = std::make_shared<WebhookOptions>();
  auto* add = webhooks->add_subcommand("add", "Add a subscription");
  add->add_option("url", options->url, "Where events are POSTed")->required();
  add->add_option("--secret", options->secret, "Signing secret, 16 to 256 bytes")
      ->envname("PRESENCECTL_WEBHOOK_SECRET")
      ->required();
  add->add_option("--id", options->id, "Its id; generated when absent");
  add->add_option("--user", options->users, "A user it covers (repeat)");
  add->add_option("--group", options->groups, "A group it covers (repeat)");
  add->add_option("--event", options->events,
                  "presence.changed, availability.changed or user.removed (repeat)");
  add->add_option("--status-map", options->status_map,
                  "JSON file with inbound and outbound maps (a two-way connector)");
  add->callback([&, options] { action = [&, options] { return webhooks_add(context, *options); }; });

  auto id = std::make_shared<std::string>();
  auto* remove = webhooks->add_subcommand("delete", "Delete a subscription and its dead letters");
  remove->add_option("id", *id, "Subscription id")->required();
  remove->callback([&, id] { action = [&, id] { return webhooks_delete(context, *id); }; });
  auto* dead = webhooks->add_subcommand("dead-letters", "Events given up on, oldest first");
  dead->add_option("id", *id, "Subscription id")->required();
  dead->callback([&, id] { action = [&, id] { return webhooks_dead_letters(context, *id); }; });
}

void add_teams(CLI::App& app, Context& context, Action& action) {
  auto* teams = app.add_subcommand("teams", "Microsoft Teams user mappings (admin)");
  teams->require_subcommand(1);
  teams->add_subcommand("list", "List the mapped users")
      ->callback([&] { action = [&] { return teams_list(context); }; });
  auto options = std::make_shared<TeamsOptions>();
  auto* map = teams->add_subcommand("map", "Map a user to a Microsoft 365 user");
  map->add_option("user", options->user, "Our user id")->required();
  map->add_option("upn", options->upn, "Their userPrincipalName or e-mail")->required();
  map->add_option("--tenant", options->tenant, "The tenant's name in --teams-config")
      ->required();
  map->add_flag("--mirror-dnd", options->mirror_dnd, "Send the user's own DoNotDisturb to Teams");
  map->callback([&, options] { action = [&, options] { return teams_map(context, *options); }; });
  auto user = std::make_shared<std::string>();
  auto* unmap = teams->add_subcommand("unmap", "Remove a user's mapping");
  unmap->add_option("user", *user, "Our user id")->required();
  unmap->callback([&, user] { action = [&, user] { return teams_unmap(context, *user); }; });
}

}  // namespace

void add_connector_commands(CLI::App& app, Context& context, Action& action) {
  add_webhooks(app, context, action);
  add_teams(app, context, action);
}

}  // namespace presencectl
