// The incoming half of a two-way connector (docs/webhooks.md, "Incoming statuses"): an
// external system posts a user's status, signed like our events with the subscription's
// secret; its inbound map turns it into our manual state. What the external system shows is
// kept per user (documents of kind webhook.status), so a status it reports that it already
// shows, such as one we just sent it, changes nothing, and the connector does not send back a
// change that came from it (loop suppression).

#include "api/internal/webhook_incoming.h"

#include "api/internal/service.h"

#include <boost/json.hpp>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

constexpr std::int64_t kSignatureTolerance = 300;  // seconds between its t= and our clock
constexpr std::string_view kIncomingPrefix = "/api/v1/webhooks/";
constexpr std::string_view kIncomingSuffix = "/incoming";

// By the groups `record` (the user's, nullptr if unknown) is in now, not when it was saved.
bool covers(const json::object& webhook, const std::string& user,
            const store::UserRecord* record) {
  const auto named = [&](std::string_view key) {
    const json::value* list = webhook.if_contains(key);
    return list != nullptr && list->is_array() ? &list->get_array() : nullptr;
  };
  const json::array* users = named("users");
  const json::array* groups = named("groups");
  if ((users == nullptr || users->empty()) && (groups == nullptr || groups->empty())) {
    return true;
  }
  if (users != nullptr &&
      std::find(users->begin(), users->end(), json::value(user)) != users->end()) {
    return true;
  }
  return record != nullptr && groups != nullptr &&
         std::any_of(record->groups.begin(), record->groups.end(), [&](const std::string& g) {
           return std::find(groups->begin(), groups->end(), json::value(g)) != groups->end();
         });
}

// What the system shows (`status`), or what we are sending it (`sending`): either is an echo.
bool shows(const store::DocumentRecord& known, const std::string& external) {
  boost::system::error_code ec;
  const json::value body = json::parse(known.body, ec);
  if (ec || !body.is_object()) {
    return false;
  }
  for (const std::string_view key : {"status", "sending"}) {
    const json::value* status = body.get_object().if_contains(key);
    if (status != nullptr && status->is_string() && status->get_string() == external) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<void> verify_signature(std::string_view secret, std::string_view header,
                              std::string_view body, std::int64_t now) {
  if (header.empty()) {
    return Error::unauthenticated("X-Presenced-Signature: missing");
  }
  std::string_view stamp;
  std::string_view mac_hex;
  while (!header.empty()) {
    const std::string_view part = header.substr(0, header.find(','));
    header.remove_prefix(std::min(header.size(), part.size() + 1));
    if (part.starts_with("t=")) {
      stamp = part.substr(2);
    } else if (part.starts_with("v1=")) {
      mac_hex = part.substr(3);
    }
  }
  std::int64_t t = 0;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> mac{};
  std::size_t mac_size = 0;
  if (std::from_chars(stamp.data(), stamp.data() + stamp.size(), t).ec != std::errc{} ||
      sodium_hex2bin(mac.data(), mac.size(), mac_hex.data(), mac_hex.size(), nullptr, &mac_size,
                     nullptr) != 0 ||
      mac_size != mac.size()) {
    return Error::unauthenticated("X-Presenced-Signature: t=<unix seconds>,v1=<64 hex digits>");
  }
  if (t < now - kSignatureTolerance || t > now + kSignatureTolerance) {
    return Error::permission_denied("X-Presenced-Signature: t=" + std::string(stamp) +
                                    " is more than 300 s from now");
  }
  const std::string signed_text = std::string(stamp) + "." + std::string(body);
  crypto_auth_hmacsha256_state state;
  std::array<unsigned char, crypto_auth_hmacsha256_BYTES> expected{};
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()),
                                signed_text.size());
  crypto_auth_hmacsha256_final(&state, expected.data());
  if (sodium_memcmp(expected.data(), mac.data(), mac.size()) != 0) {
    return Error::permission_denied("X-Presenced-Signature: does not match the body");
  }
  return {};
}

Result<IncomingStatus> decode_incoming(std::string_view text, std::size_t id_bytes) {
  boost::system::error_code ec;
  const json::value parsed = json::parse(text, ec);
  const json::object* body = !ec ? parsed.if_object() : nullptr;
  const json::value* user = body ? body->if_contains("user") : nullptr;
  const json::value* status = body ? body->if_contains("status") : nullptr;
  if (user == nullptr || !user->is_string() || user->get_string().empty() ||
      user->get_string().size() > id_bytes) {
    return Error::invalid_argument("user: a user id is required");
  }
  if (status == nullptr || !status->is_string() || status->get_string().empty() ||
      status->get_string().size() > 128) {
    return Error::invalid_argument("status: a string of 1 to 128 bytes is required");
  }
  return IncomingStatus{std::string(user->get_string()), std::string(status->get_string())};
}

std::optional<std::string> incoming_webhook_id(std::string_view target) {
  if (!target.starts_with(kIncomingPrefix) || !target.ends_with(kIncomingSuffix) ||
      target.size() <= kIncomingPrefix.size() + kIncomingSuffix.size()) {
    return std::nullopt;
  }
  const std::string_view id = target.substr(
      kIncomingPrefix.size(), target.size() - kIncomingPrefix.size() - kIncomingSuffix.size());
  return id.find('/') == std::string_view::npos ? std::optional<std::string>(id) : std::nullopt;
}

void Service::post_webhook_incoming(const std::string& id, HttpRequest& request,
                                    Respond& respond) {
  const store::DocumentRecord* found = find_webhook(id);
  const std::int64_t unix_now =
      std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  // An unknown webhook is refused like a forged signature: posts cannot probe for ids.
  const json::object webhook =
      found != nullptr ? json::parse(found->body).as_object() : json::object{};
  auto signed_ok = found != nullptr
                       ? verify_signature(webhook.at("secret").as_string(), request.signature,
                                          request.body, unix_now)
                       : Result<void>(Error::permission_denied("X-Presenced-Signature: does not "
                                                               "match the body"));
  if (!signed_ok) {
    ++metrics_.webhook_refused;
    respond(error_response(signed_ok.error()));
    return;
  }
  auto incoming = decode_incoming(request.body, config_.limits.id_bytes);
  auto user = incoming ? target_user(incoming->user) : Result<core::UserIndex>(incoming.error());
  if (auto error = first_error(incoming, user)) {
    respond(error_response(*error));
    return;
  }
  const json::object& inbound = webhook.at("status_map").as_object().at("inbound").as_object();
  const json::value* ours = inbound.if_contains(incoming->status);
  if (!covers(webhook, incoming->user, find_user(incoming->user))) {
    respond(error_response(Error::permission_denied("user: " + incoming->user +
                                                    " is not covered by webhook " + id)));
    return;
  }
  if (ours == nullptr) {
    respond(error_response(Error::invalid_argument("status: " + incoming->status.substr(0, 128) +
                                                   " is not in webhook " + id +
                                                   "'s status_map.inbound")));
    return;
  }
  apply_incoming(id, *user, incoming->user, incoming->status,
                 ours->is_string() ? std::optional<std::string>(ours->get_string()) : std::nullopt,
                 respond);
}

void Service::apply_incoming(const std::string& webhook, core::UserIndex target,
                             const std::string& user, const std::string& external,
                             std::optional<std::string> state, Respond& respond) {
  store::DocumentRecord status{std::string(kWebhookStatusKind), webhook + "/" + user, user,
                               json::serialize(json::object{{"status", external}})};
  json::object answer{{"user", user}, {"status", external}};
  answer["state"] = state ? json::value(*state) : json::value(nullptr);
  const auto shown = std::find_if(foreign_documents_.begin(), foreign_documents_.end(),
                                  [&](const store::DocumentRecord& d) {
                                    return d.kind == status.kind && d.id == status.id;
                                  });
  if (shown != foreign_documents_.end() && shows(*shown, external)) {
    // It shows what we know it shows, or what we are sending it: an echo.
    ++metrics_.webhook_echoes;
    answer["applied"] = false;
    respond(json_response(200, answer));
    return;
  }
  const core::TimePoint t = now();
  std::optional<core::ManualLayer> manual;
  if (state) {
    manual = core::ManualLayer{*state, "", std::nullopt, std::nullopt,
                               core::Reachability::Normal, t};
  }
  std::vector<store::Mutation> mutations{store::PutDocument{status}};
  if (manual) {
    mutations.emplace_back(store::PutManual{{user, *manual}});
  } else {
    mutations.emplace_back(store::DeleteManual{user});
  }
  answer["applied"] = true;
  commit(std::move(mutations), std::move(respond), [this, target, status, manual, answer] {
    if (!engine_.exists(target)) {
      return error_response(Error::not_found("the user was deleted meanwhile"));
    }
    ++metrics_.webhook_applied;
    keep_document(status);
    tell_watchers(status, false);  // before the change, so the connector does not send it back
    engine_.set_manual(target, manual, now());
    return json_response(200, answer);
  });
}

void Service::keep_document(const store::DocumentRecord& document) {
  std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
    return d.kind == document.kind && d.id == document.id;
  });
  foreign_documents_.push_back(document);
}

void Service::keep_saved_webhook_documents(const std::vector<store::Mutation>& mutations) {
  for (const store::Mutation& m : mutations) {
    if (const auto* put = std::get_if<store::PutDocument>(&m);
        put != nullptr && put->document.kind.starts_with("webhook.")) {
      keep_document(put->document);
    } else if (const auto* del = std::get_if<store::DeleteDocument>(&m);
               del != nullptr && del->kind.starts_with("webhook.")) {
      std::erase_if(foreign_documents_, [&](const store::DocumentRecord& d) {
        return d.kind == del->kind && d.id == del->id;
      });
    }
  }
}

}  // namespace presenced::api
