#include "sip/internal/service.h"

#include "sip/internal/grammar.h"

#include <cassert>
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
  Subscriptions::Answer cannot_wait;  // empty: respond() answers at once
  std::optional<Message> answered =
      respond(request, Peer{}, now, TimePoint{}, random, cannot_wait);
  return answered ? std::move(*answered) : make_response(request, 500, "Server Internal Error");
}

void Service::handle(const Message& request, const Peer& source,
                     std::chrono::system_clock::time_point now, TimePoint steady,
                     const NonceRandom& random, Subscriptions::Answer answer) {
  if (std::optional<Message> response = respond(request, source, now, steady, random, answer)) {
    answer(std::move(*response));
  }
}

std::optional<Message> Service::respond(const Message& request, const Peer& source,
                                        std::chrono::system_clock::time_point now,
                                        TimePoint steady, const NonceRandom& random,
                                        Subscriptions::Answer& later) {
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
  if (request.method == Method::Subscribe) {
    if (const SipPeerConfig* peer = trusted_peer(request, source)) {
      return authenticated(request, std::string(kPeerSubscriberPrefix) + peer->domain, source,
                           now, steady, random, later);
    }
  }
  // The digest is checked against the username the phone sent (a user id or "user-device");
  // the request then acts as the user that username belongs to.
  const std::optional<std::string> username = authenticator_.claimed_user(request);
  std::optional<Credentials> credentials;
  if (username) {
    credentials = directory_.credentials(*username);
  }
  const DigestResult result = authenticator_.verify(
      request,
      credentials ? std::optional<std::string_view>(credentials->password) : std::nullopt, now);
  switch (result.outcome) {
    case DigestOutcome::Ok:
      assert(credentials);  // verify() never accepts without a password
      return authenticated(request, credentials->user_id, source, now, steady, random, later);
    case DigestOutcome::Missing:
      return challenge(request, now, random, false);
    case DigestOutcome::Stale:
      return challenge(request, now, random, true);
    case DigestOutcome::WrongCredentials:
      ++auth_failures_;
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

std::optional<Message> Service::authenticated(const Message& request, const std::string& user,
                                              const Peer& source,
                                              std::chrono::system_clock::time_point now,
                                              TimePoint steady, const NonceRandom& random,
                                              Subscriptions::Answer& later) {
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
  if (!later) {
    // The caller cannot wait for the store: change nothing.
    return make_response(request, 501, "Needs A Caller That Waits");
  }
  if (publish && publications_ != nullptr) {
    publications_->publish(request, user, core::to_time_point(now), random, std::move(later));
    return std::nullopt;
  }
  if (!publish && subscriptions_ != nullptr) {
    subscriptions_->subscribe(request, source, user, steady, std::move(later));
    return std::nullopt;
  }
  // A service built without them (unit tests of the answers above).
  return make_response(request, 501, publish ? "No Publications Here" : "No Subscriptions Here");
}

// The trust model (docs/sip.md, "Federation"): the peer authenticated its own user; we trust
// the peer by the address it sends from (and, over UDP, the port it listens on) and the domain
// it speaks for. TLS with mutual authentication will replace the address check.
const SipPeerConfig* Service::trusted_peer(const Message& request, const Peer& source) const {
  for (const SipPeerConfig& peer : peers_) {
    const bool from_peer = source.address == peer.address.address &&
                           (source.transport == Transport::Tcp || source.port == peer.address.port);
    if (from_peer && grammar::iequals(request.from.uri.host, peer.domain)) {
      return &peer;
    }
  }
  return nullptr;
}

Message Service::challenge(const Message& request, std::chrono::system_clock::time_point now,
                           const NonceRandom& random, bool stale) const {
  Message response = make_response(request, 401, "Unauthorized");
  const auto user_agent = request.header("User-Agent");
  const bool md5_only = md5_only_ && user_agent &&
                        std::regex_search(user_agent->begin(), user_agent->end(), *md5_only_);
  response.www_authenticate = authenticator_.challenge(now, random, stale, md5_only);
  return response;
}

}  // namespace presenced::sip
