#pragma once

// The webhook connector's flags and its wiring to the API server (docs/webhooks.md).

#include "api/api.h"
#include "connectors/webhook/webhook.h"

#include <CLI/CLI.hpp>

#include <memory>

namespace presenced::app {

struct WebhookOptions {
  int max_attempts = 8;
  int retry_base_ms = 1'000;
  int retry_max_ms = 300'000;
  int timeout_ms = 5'000;
  int dead_letters_kept = 100;
};

void add_webhook_flags(CLI::App& app, WebhookOptions& options);

// Starts the connector, fed with the subscriptions and statuses the API keeps and storing its
// dead letters and sent statuses through the server; its figures join GET /metrics. Stop it
// before the server goes.
std::unique_ptr<connectors::webhook::Connector> start_webhooks(const WebhookOptions& options,
                                                               api::Server& server);

}  // namespace presenced::app
