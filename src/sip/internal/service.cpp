#include "sip/internal/service.h"

#include <memory>
#include <utility>

namespace presenced::sip {

namespace {

void allow(Message& response) {
  response.allow.assign(kAllowedMethods.begin(), kAllowedMethods.end());
}

void allow_events(Message& response) {
  response.allow_events.assign(kEventPackages.begin(), kEventPackages.end());
}

bool known_package(std::string_view package) {
  for (const std::string_view known : kEventPackages) {
    if (package == known) {
      return true;
    }
  }
  return false;
}

}  // namespace

Service::Service(std::string domain, const Directory& directory,
                 DigestAuthenticator authenticator, Subscriptions* subscriptions)
    : domain_(std::move(domain)),
      directory_(directory),
      authenticator_(std::move(authenticator)),
      subscriptions_(subscriptions) {}

Message Service::handle(const Message& request, std::chrono::system_clock::time_point now,
                        const NonceRandom& random) {
  return handle(request, Peer{}, now, TimePoint{}, random);
}

Message Service::handle(const Message& request, const Peer& source,
                        std::chrono::system_clock::time_point now, TimePoint steady,
                        const NonceRandom& random) {
  std::optional<Message> answer = handle(request, source, now, steady, random, nullptr);
  return answer ? std::move(*answer) : make_response(request, 500, "Server Internal Error");
}

std::optional<Message> Service::handle(const Message& request, const Peer& source,
                                       std::chrono::system_clock::time_point now,
                                       TimePoint steady, const NonceRandom& random,
                                       PublishAnswer later) {
  // RFC 3261 §8.2.2.3: an option-tag we do not know in Require is refused with 420; we support
  // none yet.
  if (!request.require.empty() && request.method != Method::Options) {
    Message response = make_response(request, 420, "Bad Extension");
    std::string unsupported;
    for (const std::string& tag : request.require) {
      unsupported += unsupported.empty() ? tag : ", " + tag;
    }
    response.other_headers.push_back(Header{"Unsupported", std::move(unsupported)});
    return response;
  }
  switch (request.method) {
    case Method::Options:
      return options(request);
    case Method::Subscribe:
    case Method::Publish:
      break;
    case Method::Notify: {
      // RFC 6665 §4.1.3: we hold no subscriptions of our own yet, so no NOTIFY matches one.
      return make_response(request, 481, "Subscription Does Not Exist");
    }
    default: {
      // RFC 3261 §8.2.1: a method we know of but do not support.
      Message response = make_response(request, 405, "Method Not Allowed");
      allow(response);
      return response;
    }
  }
  const std::optional<std::string> user = authenticator_.claimed_user(request);
  std::optional<std::string> password;
  if (user) {
    password = directory_.sip_password(*user);
  }
  const DigestResult result = authenticator_.verify(
      request, password ? std::optional<std::string_view>(*password) : std::nullopt, now);
  switch (result.outcome) {
    case DigestOutcome::Ok:
      if (request.method == Method::Publish && publications_ != nullptr && later) {
        return published(request, result.user, now, random, std::move(later));
      }
      return authenticated(request, result.user, source, steady);
    case DigestOutcome::Missing:
      return challenge(request, now, random, false);
    case DigestOutcome::Stale:
      return challenge(request, now, random, true);
    case DigestOutcome::WrongCredentials:
      return make_response(request, 403, "Forbidden");
    case DigestOutcome::BadRequest:
      return make_response(request, 400, "Bad Authorization Header");
  }
  return make_response(request, 500, "Server Internal Error");
}

Message Service::options(const Message& request) const {
  // RFC 3261 §11.2: what we would answer an INVITE with, here 200 with our capabilities.
  Message response = make_response(request, 200, "OK");
  allow(response);
  allow_events(response);
  response.accept = std::vector<MediaType>{MediaType{"application", "pidf+xml", {}}};
  return response;
}

Message Service::authenticated(const Message& request, const std::string& user,
                               const Peer& source, TimePoint steady) {
  const bool publish = request.method == Method::Publish;
  // RFC 6665 §8.2.1 and RFC 3903 §6 step 2: no Event or an unknown package is 489, with the
  // packages we know in Allow-Events. PUBLISH takes presence only.
  const bool known = request.event && (publish ? request.event->package == "presence"
                                               : known_package(request.event->package));
  if (!known) {
    Message response = make_response(request, 489, "Bad Event");
    if (publish) {
      response.allow_events = {"presence"};
    } else {
      allow_events(response);
    }
    return response;
  }
  if (!publish && request.event->package == "presence" && subscriptions_ != nullptr) {
    return subscriptions_->subscribe(request, source, user, steady);
  }
  // TODO(#5): dialog and presence.winfo subscriptions and publications are next.
  return make_response(request, 501,
                       publish ? "Publication Not Implemented Yet"
                               : "Subscriptions Not Implemented Yet");
}

// RFC 3903 §6 step 2 first (489 with Allow-Events), then the publications decide; a change
// comes back through `later` once durable.
std::optional<Message> Service::published(const Message& request, const std::string& user,
                                          std::chrono::system_clock::time_point now,
                                          const NonceRandom& random, PublishAnswer later) {
  if (!request.event || request.event->package != "presence") {
    Message response = make_response(request, 489, "Bad Event");
    response.allow_events = {"presence"};
    return response;
  }
  // An answer given inside publish() is returned; one given later goes to `later`.
  struct Pending {
    bool inside = true;
    std::optional<Message> answer;
  };
  auto pending = std::make_shared<Pending>();
  publications_->publish(request, user, core::to_time_point(now), random,
                         [pending, later = std::move(later)](Message m) {
                           if (pending->inside) {
                             pending->answer = std::move(m);
                           } else {
                             later(std::move(m));
                           }
                         });
  pending->inside = false;
  return std::move(pending->answer);
}

Message Service::challenge(const Message& request, std::chrono::system_clock::time_point now,
                           const NonceRandom& random, bool stale) const {
  Message response = make_response(request, 401, "Unauthorized");
  response.www_authenticate = authenticator_.challenge(now, random, stale);
  return response;
}

}  // namespace presenced::sip
