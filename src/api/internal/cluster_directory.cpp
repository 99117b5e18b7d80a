// Cluster mode: directory changes another node committed, applied here as the routes that made
// them apply their own (docs/cluster.md). Every change also comes back to the node that made it,
// so each step is idempotent.

#include "api/internal/service.h"

#include <spdlog/spdlog.h>

namespace presenced::api {

void Service::apply_directory(const store::Mutation& change) {
  const core::TimePoint t = now();
  const auto warn = [](const core::Error& error) {
    spdlog::warn("cluster: directory change not applied: {}", error.message);
  };
  if (const auto* put = std::get_if<store::PutUser>(&change)) {
    users_[put->user.id] = put->user;
    if (auto u = engine_.find(put->user.id)) {
      engine_.set_settings(*u, put->user.settings, t);
    } else if (auto added = engine_.add_user(core::UserId{put->user.id}, put->user.settings, t);
               !added) {
      warn(added.error());
    }
  } else if (const auto* removed = std::get_if<store::DeleteUser>(&change)) {
    if (users_.contains(removed->id)) {
      forget_user(removed->id);
    }
  } else if (const auto* token = std::get_if<store::PutToken>(&change)) {
    if (token->token.expires_at > t) {
      tokens_.put(token->token);
    }
  } else if (const auto* revoked = std::get_if<store::DeleteToken>(&change)) {
    tokens_.erase(revoked->token_hash);
  } else if (const auto* group = std::get_if<store::PutGroup>(&change)) {
    groups_[group->group.id] = group->group;
  } else if (const auto* ungrouped = std::get_if<store::DeleteGroup>(&change)) {
    forget_group(ungrouped->id);
  } else if (const auto* device = std::get_if<store::PutDevice>(&change)) {
    if (users_.contains(device->device.user)) {
      keep_device(device->device);
    }
  } else if (const auto* unplugged = std::get_if<store::DeleteDevice>(&change)) {
    if (auto it = devices_.find(unplugged->user); it != devices_.end()) {
      std::erase_if(it->second,
                    [&](const store::DeviceRecord& d) { return d.device == unplugged->device; });
    }
  } else if (const auto* rule = std::get_if<store::PutVisibility>(&change)) {
    auto owner = engine_.find(rule->visibility.owner);
    auto watcher = engine_.find(rule->visibility.watcher);
    if (owner && watcher) {
      engine_.set_visibility(*owner, *watcher, rule->visibility.level);
    }
  } else if (const auto* cleared = std::get_if<store::DeleteVisibility>(&change)) {
    auto owner = engine_.find(cleared->owner);
    auto watcher = engine_.find(cleared->watcher);
    if (owner && watcher) {
      engine_.set_visibility(*owner, *watcher, std::nullopt);
    }
  } else if (const auto* state = std::get_if<store::PutState>(&change)) {
    if (auto defined = engine_.put_state(state->state, t); !defined) {
      warn(defined.error());
    }
  } else if (const auto* gone = std::get_if<store::DeleteState>(&change)) {
    if (engine_.states().find(gone->id) != nullptr) {
      if (auto dropped = engine_.remove_state(gone->id, t); !dropped) {
        warn(dropped.error());
      }
    }
  }
}

}  // namespace presenced::api
