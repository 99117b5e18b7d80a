// Remote contacts (docs/api.md, "Remote contacts"): presentities on other servers that local
// users watch through a federation adapter (SIP now, XMPP later). Each is an engine user named by
// its address, made when the first local user adds it and removed when the last one drops it;
// local watchers see it through the same visibility projection as a local user.

#include "api/internal/service.h"

#include "api/internal/codec_json.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

// Each one is an engine user and, with the first owner, a subscription to another server.
constexpr std::size_t kMaxRemoteContactsPerUser = 1000;

std::string document_id(const std::string& owner, const std::string& address) {
  return owner + "/" + address;  // user ids have no '/'
}

Result<std::string> decode_remote_contact(std::string_view body, const Limits& limits) {
  return codec::decode<std::string>(body, limits, [&](codec::FieldReader& in) {
    return in.text("address", limits.id_bytes, codec::Need::Required).value_or("");
  });
}

}  // namespace

std::optional<Error> Service::remote_contacts_problem(const Principal& principal,
                                                      const std::string& owner) const {
  if (is_remote_id(owner)) {
    return Error::not_found("user " + owner + ": no such user");  // a remote presentity
  }
  return first_error(target_user(owner), require_self_or_admin(principal, owner));
}

void Service::list_remote_contacts(const Principal& principal, const Params& params,
                                   HttpRequest&, Respond& respond) {
  if (auto error = remote_contacts_problem(principal, params[0])) {
    respond(error_response(*error));
    return;
  }
  json::array out;
  if (const auto it = remote_contacts_.find(params[0]); it != remote_contacts_.end()) {
    for (const std::string& address : it->second) {
      out.push_back(json::string(address));
    }
  }
  respond(json_response(200, json::object{{"addresses", std::move(out)}}));
}

void Service::post_remote_contact(const Principal& principal, const Params& params,
                                  HttpRequest& request, Respond& respond) {
  if (auto error = remote_contacts_problem(principal, params[0])) {
    respond(error_response(*error));
    return;
  }
  auto body = decode_remote_contact(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  auto address = parse_remote_address(*body, config_.limits.id_bytes);
  if (!address) {
    respond(error_response(address.error()));
    return;
  }
  const auto watcher = remote_watchers_.find(address->scheme);
  if (watcher == remote_watchers_.end()) {
    respond(error_response(Error::failed_precondition(
        "address: no federation over " + address->scheme + " is configured")));
    return;
  }
  if (auto refused = watcher->second->refuse(address->address)) {
    respond(error_response(*refused));
    return;
  }
  const std::string owner = params[0];
  const auto& held = remote_contacts_[owner];
  if (held.contains(address->address)) {
    respond(json_response(200, json::object{{"address", address->address}}));
    return;
  }
  if (held.size() >= kMaxRemoteContactsPerUser) {
    respond(error_response(Error::resource_exhausted(
        "remote contacts: " + owner + " has " + std::to_string(held.size()) + ", limit " +
        std::to_string(kMaxRemoteContactsPerUser))));
    return;
  }
  store::DocumentRecord document{std::string(kRemoteContactKind),
                                 document_id(owner, address->address), owner, address->address};
  commit({store::PutDocument{std::move(document)}}, std::move(respond),
         [this, owner, address = *address] {
           if (users_.contains(owner)) {  // not deleted meanwhile
             attach_remote(owner, address);
           }
           return json_response(201, json::object{{"address", address.address}});
         });
}

void Service::delete_remote_contact(const Principal& principal, const Params& params,
                                    HttpRequest&, Respond& respond) {
  if (auto error = remote_contacts_problem(principal, params[0])) {
    respond(error_response(*error));
    return;
  }
  const std::string owner = params[0];
  auto address = parse_remote_address(params[1], config_.limits.id_bytes);
  const auto it = remote_contacts_.find(owner);
  if (!address || it == remote_contacts_.end() || !it->second.contains(address->address)) {
    respond(error_response(
        Error::not_found("remote contact " + params[1] + ": " + owner + " has no such contact")));
    return;
  }
  commit({store::DeleteDocument{std::string(kRemoteContactKind),
                                document_id(owner, address->address)}},
         std::move(respond), [this, owner, address = address->address] {
           detach_remote(owner, address);
           return HttpResponse{204, ""};
         });
}

void Service::attach_remote(const std::string& owner, const RemoteAddress& address) {
  const auto owner_index = engine_.find(owner);
  if (!owner_index || !remote_contacts_[owner].insert(address.address).second) {
    return;
  }
  const core::TimePoint t = now();
  std::optional<core::UserIndex> remote = engine_.find(address.address);
  if (++remote_owners_[address.address] == 1 || !remote) {
    auto added = engine_.add_user(core::UserId{address.address}, core::UserSettings{}, t);
    if (!added) {
      spdlog::error("remote contact {}: {}", address.address, added.error().message);
      return;
    }
    remote = *added;
    core::RemotePresence unknown;
    unknown.address = address.address;
    unknown.updated_at = t;
    engine_.set_remote(*remote, std::move(unknown), t);
    if (const auto watcher = remote_watchers_.find(address.scheme);
        watcher != remote_watchers_.end()) {
      watcher->second->watch(address.address);
    }
  }
  std::vector<core::UserIndex> contacts = engine_.contacts(*owner_index);
  if (std::find(contacts.begin(), contacts.end(), *remote) == contacts.end()) {
    contacts.push_back(*remote);
    engine_.set_contacts(*owner_index, std::move(contacts));
  }
}

void Service::detach_remote(const std::string& owner, const std::string& address) {
  const auto held = remote_contacts_.find(owner);
  if (held == remote_contacts_.end() || held->second.erase(address) == 0) {
    return;
  }
  if (held->second.empty()) {
    remote_contacts_.erase(held);
  }
  const std::optional<core::UserIndex> remote = engine_.find(address);
  if (const auto owner_index = engine_.find(owner); owner_index && remote) {
    std::vector<core::UserIndex> contacts = engine_.contacts(*owner_index);
    std::erase(contacts, *remote);
    engine_.set_contacts(*owner_index, std::move(contacts));
  }
  const auto count = remote_owners_.find(address);
  if (count == remote_owners_.end() || --count->second > 0) {
    return;
  }
  remote_owners_.erase(count);
  if (remote) {
    (void)engine_.remove_user(*remote);
  }
  const std::string scheme = address.substr(0, address.find(':'));
  if (const auto watcher = remote_watchers_.find(scheme); watcher != remote_watchers_.end()) {
    watcher->second->unwatch(address);
  }
}

void Service::forget_remote_contacts(const std::string& owner) {
  const auto held = remote_contacts_.find(owner);
  if (held == remote_contacts_.end()) {
    return;
  }
  const std::set<std::string> addresses = held->second;
  for (const std::string& address : addresses) {
    detach_remote(owner, address);
  }
}

std::vector<core::UserIndex> Service::with_remote_contacts(
    const std::string& owner, std::vector<core::UserIndex> contacts) const {
  if (const auto held = remote_contacts_.find(owner); held != remote_contacts_.end()) {
    for (const std::string& address : held->second) {
      if (const auto remote = engine_.find(address)) {
        contacts.push_back(*remote);
      }
    }
  }
  return contacts;
}

void Service::add_remote_watcher(std::string scheme, RemoteWatcher& watcher) {
  for (const auto& [address, owners] : remote_owners_) {
    if (address.starts_with(scheme + ":")) {
      watcher.watch(address);
    }
  }
  remote_watchers_[std::move(scheme)] = &watcher;
}

void Service::set_remote_presence(core::RemotePresence presence) {
  const auto remote = engine_.find(presence.address);
  if (!remote || !remote_owners_.contains(presence.address)) {
    return;  // dropped meanwhile
  }
  const core::TimePoint t = now();
  presence.updated_at = t;
  engine_.set_remote(*remote, std::move(presence), t);
}

}  // namespace presenced::api
