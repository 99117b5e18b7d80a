#include "app/webhook_wiring.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>

namespace presenced::app {
namespace hook = connectors::webhook;

void add_webhook_flags(CLI::App& app, WebhookOptions& o) {
  app.add_option("--webhook-max-attempts", o.max_attempts,
                 "Attempts to deliver a webhook event before it becomes a dead letter")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--webhook-retry-base-ms", o.retry_base_ms,
                 "Milliseconds before the first retry; doubles with each attempt")
      ->capture_default_str()
      ->check(CLI::Range(10, 600'000));
  app.add_option("--webhook-retry-max-ms", o.retry_max_ms, "Longest pause between two attempts")
      ->capture_default_str()
      ->check(CLI::Range(10, 24 * 3'600'000));
  app.add_option("--webhook-timeout-ms", o.timeout_ms, "Milliseconds one webhook POST may take")
      ->capture_default_str()
      ->check(CLI::Range(100, 120'000));
  app.add_option("--webhook-dead-letters-kept", o.dead_letters_kept,
                 "Dead letters kept per subscription (the oldest go first)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
}

namespace {

hook::Effects effects(api::Server& server) {
  const auto save = [&server](store::Mutation mutation) {
    std::vector<store::Mutation> mutations;
    mutations.push_back(std::move(mutation));
    server.save_documents(std::move(mutations), [](bool) {});
  };
  return {
      [save](hook::DeadLetter letter) {
        save(store::PutDocument{{std::string(api::kWebhookDeadLetterKind), std::move(letter.id),
                                 "", std::move(letter.body)}});
      },
      [save](std::string id) {
        save(store::DeleteDocument{std::string(api::kWebhookDeadLetterKind), std::move(id)});
      },
      [save](std::string subscription, std::string user, std::string shown,
             std::optional<std::string> sending) {
        boost::json::object body{{"status", shown}};
        if (sending) {
          body["sending"] = *sending;
        }
        save(store::PutDocument{{std::string(api::kWebhookStatusKind), subscription + "/" + user,
                                 user, boost::json::serialize(body)}});
      }};
}

}  // namespace

std::unique_ptr<hook::Connector> start_webhooks(const WebhookOptions& o, api::Server& server) {
  hook::WebhookConfig config;
  config.max_attempts = o.max_attempts;
  config.retry_base = std::chrono::milliseconds(o.retry_base_ms);
  config.retry_max = std::chrono::milliseconds(o.retry_max_ms);
  config.timeout = std::chrono::milliseconds(o.timeout_ms);
  config.dead_letters_kept = static_cast<std::size_t>(o.dead_letters_kept);
  auto connector = hook::Connector::create(
      config, server.engine(), [&server](std::function<void()> task) { server.post(std::move(task)); },
      effects(server), [&server](const std::string& user) { return server.groups_of(user); });
  if (!connector) {
    spdlog::error("webhook: libsodium did not start");
    return connector;
  }
  server.watch_documents(std::string(api::kWebhookKind),
                         [c = connector.get()](const store::DocumentRecord& d, bool removed) {
                           if (removed) {
                             c->remove_subscription(d.id);
                           } else if (auto s = hook::parse_subscription(d.id, d.body)) {
                             c->put_subscription(std::move(*s));
                           } else {
                             spdlog::warn("webhook: {}", s.error().message);
                           }
                         });
  server.watch_documents(
      std::string(api::kWebhookStatusKind),
      [c = connector.get()](const store::DocumentRecord& d, bool removed) {
        boost::system::error_code ec;
        const auto body = boost::json::parse(d.body, ec);
        const auto* status = !ec && body.is_object() ? body.get_object().if_contains("status")
                                                     : nullptr;
        const auto slash = d.id.find('/');
        if (!removed && status != nullptr && status->is_string() && slash != std::string::npos) {
          c->put_status(d.id.substr(0, slash), d.id.substr(slash + 1),
                        std::string(status->get_string()));
        }
      });
  for (store::DocumentRecord& d : server.documents(api::kWebhookDeadLetterKind)) {
    connector->restore_dead_letter(d.id.substr(0, d.id.find('/')), std::move(d.id));
  }
  server.add_metrics_source([c = connector.get()](std::string& out) { c->render_metrics(out); });
  connector->start();
  return connector;
}

}  // namespace presenced::app
