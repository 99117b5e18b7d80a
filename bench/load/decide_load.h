#pragma once

// presence-load --mode decide: POST /api/v1/routing/decide round trips over keep-alive HTTP
// connections, in a closed loop or at a fixed total rate, measured at the client.

#include "http_client.h"
#include "load_options.h"

namespace presenced::load {

// Prepares the callees (load_setup.h), runs warm-up and window, prints the summary; returns the
// exit code: 0 when every request got the decision its callee's state calls for.
int run_decide(const Options& options, tcp::endpoint server);

}  // namespace presenced::load
