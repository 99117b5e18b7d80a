// presencectl: the command-line client of presenced's public HTTP and WebSocket API.

#include "commands.h"
#include "context.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  using namespace presencectl;
  Context context;
  Action action;
  CLI::App app{"Command-line client of the presenced presence server.", "presencectl"};
  app.require_subcommand(1);
  // Global options may follow the subcommand too: `presencectl status get alice --json`.
  app.fallthrough();
  app.set_version_flag("--version", "presencectl 0.1.0");
  GlobalOptions& options = context.options();
  app.add_option("--server", options.server, "URL of presenced, e.g. http://host:8080")
      ->envname("PRESENCECTL_SERVER")
      ->capture_default_str();
  app.add_option("--token", options.token,
                 "bearer token; default: the one `presencectl login` saved")
      ->envname("PRESENCECTL_TOKEN");
  app.add_flag("--json", options.json, "print the server's JSON answers as they are");

  add_session_commands(app, context, action);
  add_user_commands(app, context, action);
  add_status_commands(app, context, action);
  add_directory_commands(app, context, action);
  add_telephony_commands(app, context, action);
  add_connector_commands(app, context, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "presencectl: {}\nRun with --help for more information.\n", e.what());
    return kExitUsage;
  }
  if (!action) {
    fmt::print(stderr, "{}", app.help());
    return kExitUsage;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    // Nothing should throw here; if something does, say what instead of aborting.
    return context.fail(Failure{kExitFailed, fmt::format("internal error: {}", e.what())});
  }
}
