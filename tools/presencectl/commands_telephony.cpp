// call, route and apikey: what a PBX integration does, for testing one by hand.

#include "commands.h"
#include "context.h"
#include "format.h"

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace presencectl {
namespace {

namespace json = boost::json;

const std::vector<std::string> kCallStates = {"ringing", "connected", "held", "ended"};
const std::vector<std::string> kDirections = {"inbound", "outbound"};
const std::vector<std::string> kCallTypes = {"direct", "group", "queue"};

struct CallOptions {
  std::string state;
  std::string user;
  std::string device;
  std::string call_id;
  std::string direction = "inbound";
};

struct RouteOptions {
  std::string callee;
  std::string caller;
  std::string type = "direct";
};

struct ApiKeyOptions {
  std::string user;
  std::string label;
  std::optional<int> days;
};

int call_event(Context& context, const CallOptions& options) {
  const json::value body = json::object{{"user", options.user},
                                        {"device", options.device},
                                        {"call_id", options.call_id},
                                        {"state", options.state},
                                        {"direction", options.direction}};
  auto reply = context.call("POST", "/api/v1/telephony/events", &body);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    const auto sequence = integer_at(reply->json, {"sequence"});
    fmt::print("accepted: {} call {} {} on {}{}\n", options.user, options.call_id, options.state,
               options.device, sequence ? fmt::format(" (seq {})", *sequence) : "");
  }
  return kExitOk;
}

// ring  desk (0 s), mobile (10 s)  (available)
std::string decision_line(const json::value& decision) {
  std::vector<std::string> parts{text_at(decision, {"action"})};
  std::vector<std::string> targets;
  for (const json::value* target : items_at(decision, {"targets"})) {
    const auto delay = integer_at(*target, {"delay_s"});
    targets.push_back(
        fmt::format("{} ({} s)", one_line(text_at(*target, {"device"})), delay.value_or(0)));
  }
  if (!targets.empty()) {
    parts.push_back(join(targets, ", "));
  }
  const std::string destination = text_at(decision, {"destination"});
  if (!destination.empty()) {
    parts.push_back("to " + one_line(destination));
  }
  parts.push_back("(" + text_at(decision, {"reason"}) + ")");
  return join(parts, "  ");
}

int route(Context& context, const RouteOptions& options) {
  const json::value body =
      json::object{{"callee", options.callee}, {"caller", options.caller}, {"type", options.type}};
  auto reply = context.call("POST", "/api/v1/routing/decide", &body);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    fmt::print("{}\n", decision_line(reply->json));
  }
  return kExitOk;
}

int apikey_create(Context& context, const ApiKeyOptions& options) {
  json::object body{{"user", options.user}, {"label", options.label}};
  if (options.days) {
    body["days"] = *options.days;
  }
  const json::value value = std::move(body);
  auto reply = context.call("POST", "/api/v1/apikeys", &value);
  if (!reply) {
    return context.fail(reply.error());
  }
  if (!context.print_raw(*reply)) {
    print_fields({{"token", text_at(reply->json, {"token"})},
                  {"user", one_line(text_at(reply->json, {"user"}))},
                  {"label", one_line(text_at(reply->json, {"label"}))},
                  {"expires", text_at(reply->json, {"expires_at"})}});
  }
  return kExitOk;
}

}  // namespace

void add_telephony_commands(CLI::App& app, Context& context, Action& action) {
  auto call_options = std::make_shared<CallOptions>();
  CLI::App* call = app.add_subcommand("call", "Send a telephony event (system or admin)");
  call->add_option("EVENT-STATE", call_options->state, join(kCallStates, ", "))
      ->required()
      ->check(CLI::IsMember(kCallStates));
  call->add_option("--user", call_options->user, "whose phone")->required();
  call->add_option("--device", call_options->device, "device id, e.g. desk")->required();
  call->add_option("--call-id", call_options->call_id, "the PBX's call id")->required();
  call->add_option("--direction", call_options->direction, join(kDirections, " or "))
      ->capture_default_str()
      ->check(CLI::IsMember(kDirections));
  call->callback([&context, &action, call_options] {
    action = [&context, call_options] { return call_event(context, *call_options); };
  });

  auto route_options = std::make_shared<RouteOptions>();
  CLI::App* route_command =
      app.add_subcommand("route", "Ask where a call should go (system or admin)");
  route_command->add_option("CALLEE", route_options->callee, "user being called")->required();
  route_command->add_option("--caller", route_options->caller, "number or user id calling")
      ->required();
  route_command->add_option("--type", route_options->type, join(kCallTypes, ", "))
      ->capture_default_str()
      ->check(CLI::IsMember(kCallTypes));
  route_command->callback([&context, &action, route_options] {
    action = [&context, route_options] { return route(context, *route_options); };
  });

  CLI::App* apikey = app.add_subcommand("apikey", "Tokens for integrations");
  apikey->require_subcommand(1);
  auto key_options = std::make_shared<ApiKeyOptions>();
  CLI::App* create = apikey->add_subcommand("create", "Create a long-lived token (admin)");
  create->add_option("USER", key_options->user, "the user it acts as")->required();
  create->add_option("--label", key_options->label, "what it is for, e.g. pbx")->required();
  create->add_option("--days", key_options->days, "valid for this many days (default 365)")
      ->check(CLI::Range(1, 3650));
  create->callback([&context, &action, key_options] {
    action = [&context, key_options] { return apikey_create(context, *key_options); };
  });
}

}  // namespace presencectl
