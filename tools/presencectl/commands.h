#pragma once

// The subcommands, one file per group. Each add_* function registers its subcommands; the one
// the user chose sets `action`, which main runs once parsing has succeeded.
//
// Thread-safety: none; presencectl runs on one thread.

#include <functional>

namespace CLI {
class App;
}

namespace presencectl {

class Context;
using Action = std::function<int()>;

void add_session_commands(CLI::App& app, Context& context, Action& action);    // login, logout
void add_user_commands(CLI::App& app, Context& context, Action& action);       // user
void add_status_commands(CLI::App& app, Context& context, Action& action);     // status, watch
void add_directory_commands(CLI::App& app, Context& context, Action& action);  // states, ...
void add_telephony_commands(CLI::App& app, Context& context,
                            Action& action);  // call, route, apikey
void add_connector_commands(CLI::App& app, Context& context,
                            Action& action);  // webhooks, teams

}  // namespace presencectl
