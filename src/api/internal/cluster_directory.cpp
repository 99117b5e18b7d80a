// Cluster mode: directory changes another node committed (users, tokens, groups, devices,
// visibility, states, contacts, settings, shared documents), applied here as the routes that made
// them apply their own (docs/cluster.md). Every change also comes back to the node that made it,
// so each step is idempotent.

#include "api/internal/service.h"

#include <spdlog/spdlog.h>

#include <vector>

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
  } else if (const auto* contact = std::get_if<store::PutContact>(&change)) {
    // One key per pair, so a list changes one contact at a time. A list put whole puts its
    // pairs in order, and the bucket may skip a pair's deletion that its put overwrote, so a
    // put moves the contact to the end: the list ends in the order it was put.
    auto owner = engine_.find(contact->contact.owner);
    auto other = engine_.find(contact->contact.contact);
    if (owner && other) {
      std::vector<core::UserIndex> list = engine_.contacts(*owner);
      if (list.empty() || list.back() != *other) {
        std::erase(list, *other);
        list.push_back(*other);
        engine_.set_contacts(*owner, std::move(list));
      }
    }
  } else if (const auto* dropped = std::get_if<store::DeleteContact>(&change)) {
    auto owner = engine_.find(dropped->contact.owner);
    auto other = engine_.find(dropped->contact.contact);
    if (owner && other) {
      std::vector<core::UserIndex> list = engine_.contacts(*owner);
      if (std::erase(list, *other) > 0) {
        engine_.set_contacts(*owner, std::move(list));
      }
    }
  } else if (const auto* setting = std::get_if<store::PutSetting>(&change)) {
    core::VisibilityPolicy policy = engine_.policy();
    restore_setting(setting->key, setting->value, policy);
    if (policy.default_level != engine_.policy().default_level ||
        policy.minimum != engine_.policy().minimum) {
      engine_.set_policy(policy);
    }
  } else if (const auto* document = std::get_if<store::PutDocument>(&change)) {
    if (is_shared_document(document->document.kind)) {
      apply_document(document->document);
    }
  } else if (const auto* removed_document = std::get_if<store::DeleteDocument>(&change)) {
    if (is_shared_document(removed_document->kind)) {
      forget_document(removed_document->kind, removed_document->id);
    }
  }
}

bool is_shared_document(std::string_view kind) {
  return kind == kCallSettingsKind || kind == kQueueKind || kind == kProfileKind ||
         kind == kPersonalProfileKind || kind == kProfileSelectionKind ||
         kind == kCalendarSourceKind || kind == kStateDefaultKind;
}

// As the route that put it: a selection also sets the idle minutes in force (its manual state
// comes as a layer), a calendar source also starts or restarts its sync here.
void Service::apply_document(const store::DocumentRecord& d) {
  if (!d.owner.empty() && !users_.contains(d.owner)) {
    return;  // its user was deleted meanwhile (that deletion took the document too)
  }
  if (!restore_document(d)) {
    return;
  }
  if (d.kind == kCalendarSourceKind) {
    calendar_status_.erase(d.id);
    if (calendar_listener_) {
      calendar_listener_(d.id, calendar_sources_.at(d.id));
    }
  }
}

// As the route that deleted it. A selection ends here without restoring the state before it:
// the node that ended it writes that state, and it comes as the manual layer.
void Service::forget_document(const std::string& kind, const std::string& id) {
  if (kind == kCallSettingsKind) {
    call_settings_.erase(id);
  } else if (kind == kQueueKind) {
    queues_.erase(id);
  } else if (kind == kProfileKind) {
    profiles_.erase(id);
  } else if (kind == kPersonalProfileKind) {
    const auto slash = id.find('/');
    if (auto it = personal_profiles_.find(id.substr(0, slash));
        it != personal_profiles_.end() && slash != std::string::npos) {
      it->second.erase(id.substr(slash + 1));
    }
  } else if (kind == kProfileSelectionKind) {
    if (auto user = engine_.find(id)) {
      end_profile(*user, id, false, now());
    } else {
      selections_.erase(id);
    }
  } else if (kind == kCalendarSourceKind) {
    forget_calendar_source(id);
  } else if (kind == kStateDefaultKind) {
    default_state_.clear();
  }
}

}  // namespace presenced::api
