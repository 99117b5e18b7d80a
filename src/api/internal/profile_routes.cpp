// Presence profiles (docs/profiles.md): shared profiles an admin defines, personal ones a user
// defines, and the profile a user has selected. Selecting one sets its state, note and end as
// the manual state and overlays its DND, forwarding, personal routing and idle minutes; its end
// restores the manual state that was before. Only a selection applies a profile: presence from
// calls or the calendar never does (seed 000).

#include "api/internal/codec_json.h"
#include "api/internal/service.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

std::string personal_document_id(const std::string& user, const std::string& profile) {
  return user + "/" + profile;
}

}  // namespace

// ---- Who may use what ----

bool Service::may_use(const std::string& user, const ProfileDocument& profile) const {
  if (!profile.users && !profile.groups) {
    return true;
  }
  if (profile.users &&
      std::find(profile.users->begin(), profile.users->end(), user) != profile.users->end()) {
    return true;
  }
  auto record = users_.find(user);
  if (profile.groups && record != users_.end()) {
    for (const std::string& group : record->second.groups) {
      if (std::find(profile.groups->begin(), profile.groups->end(), group) !=
          profile.groups->end()) {
        return true;
      }
    }
  }
  return false;
}

Result<void> Service::check_profile(const ProfileDocument& profile, bool shared) const {
  if (engine_.states().find(profile.state) == nullptr) {
    return Error::invalid_argument("state: " + profile.state + ": no such state");
  }
  if (!shared && (profile.users || profile.groups)) {
    return Error::invalid_argument("users: only shared profiles say who may use them");
  }
  for (const std::string& user : profile.users.value_or(std::vector<std::string>())) {
    if (!users_.contains(user)) {
      return Error::invalid_argument("users: " + user + ": no such user");
    }
  }
  for (const std::string& group : profile.groups.value_or(std::vector<std::string>())) {
    if (!groups_.contains(group)) {
      return Error::invalid_argument("groups: " + group + ": no such group");
    }
  }
  return {};
}

// A user changing their own presence while an admin enforces a profile is refused.
Result<void> Service::check_not_enforced(const Principal& principal,
                                         const std::string& user) const {
  auto selection = selections_.find(user);
  if (selection != selections_.end() && selection->second.enforced &&
      principal.role != store::Role::Admin) {
    return Error::permission_denied("an administrator enforces the profile " +
                                    selection->second.profile + " for " + user);
  }
  return {};
}

// ---- Shared profiles ----

void Service::list_profiles(const Principal& principal, const Params&, HttpRequest&,
                            Respond& respond) {
  json::array out;
  for (const auto& [id, profile] : profiles_) {
    if (principal.role == store::Role::Admin || may_use(principal.id, profile)) {
      out.emplace_back(profile_json(id, profile, false));
    }
  }
  respond(json_response(200, json::object{{"profiles", std::move(out)}}));
}

void Service::put_profile(const Principal&, const Params& params, HttpRequest& request,
                          Respond& respond) {
  const std::string id = params[0];
  auto body = decode_profile(request.body, config_.limits);
  std::optional<Error> error = path_id_problem("profile", id, "", config_.limits);
  if (!error && !body) {
    error = body.error();
  }
  if (!error) {
    if (auto checked = check_profile(*body, true); !checked) {
      error = checked.error();
    }
  }
  if (error) {
    respond(error_response(*error));
    return;
  }
  const bool created = !profiles_.contains(id);
  const std::string document = json::serialize(profile_json(id, *body, false));
  commit({store::PutDocument{{std::string(kProfileKind), id, "", document}}}, std::move(respond),
         [this, id, profile = *body, created] {
           profiles_[id] = profile;
           return json_response(created ? 201 : 200, profile_json(id, profile, false));
         });
}

// Selections made from it keep their copy and end as they would have.
void Service::delete_profile(const Principal&, const Params& params, HttpRequest&,
                             Respond& respond) {
  const std::string id = params[0];
  if (!profiles_.contains(id)) {
    respond(error_response(Error::not_found("profile " + id + ": no such profile")));
    return;
  }
  commit({store::DeleteDocument{std::string(kProfileKind), id}}, std::move(respond), [this, id] {
    profiles_.erase(id);
    return HttpResponse{204, ""};
  });
}

// ---- A user's profiles: the shared ones they may use and their own ----

void Service::list_user_profiles(const Principal& principal, const Params& params, HttpRequest&,
                                 Respond& respond) {
  const std::string& id = params[0];
  auto user = target_user(id);
  auto allowed = require_self_or_admin(principal, id);
  if (!user || !allowed) {
    respond(error_response(!user ? user.error() : allowed.error()));
    return;
  }
  json::array out;
  auto personal = personal_profiles_.find(id);
  if (personal != personal_profiles_.end()) {
    for (const auto& [pid, profile] : personal->second) {
      out.emplace_back(profile_json(pid, profile, true));
    }
  }
  for (const auto& [pid, profile] : profiles_) {
    if (may_use(id, profile)) {
      out.emplace_back(profile_json(pid, profile, false));
    }
  }
  respond(json_response(200, json::object{{"profiles", std::move(out)}}));
}

void Service::put_user_profile(const Principal& principal, const Params& params,
                               HttpRequest& request, Respond& respond) {
  const std::string user = params[0];
  const std::string pid = params[1];
  auto exists = target_user(user);
  auto allowed = require_self_or_admin(principal, user);
  auto body = decode_profile(request.body, config_.limits);
  std::optional<Error> error;
  if (!exists || !allowed) {
    error = !exists ? exists.error() : allowed.error();
  } else if (auto problem = path_id_problem("profile", pid, "", config_.limits)) {
    error = problem;
  } else if (!body) {
    error = body.error();
  } else if (auto checked = check_profile(*body, false); !checked) {
    error = checked.error();
  }
  if (error) {
    respond(error_response(*error));
    return;
  }
  const bool created = !personal_profiles_[user].contains(pid);
  const std::string document = json::serialize(profile_json(pid, *body, true));
  commit({store::PutDocument{
             {std::string(kPersonalProfileKind), personal_document_id(user, pid), user, document}}},
         std::move(respond), [this, user, pid, profile = *body, created] {
           if (!users_.contains(user)) {
             return error_response(Error::not_found("the user was deleted meanwhile"));
           }
           personal_profiles_[user][pid] = profile;
           return json_response(created ? 201 : 200, profile_json(pid, profile, true));
         });
}

void Service::delete_user_profile(const Principal& principal, const Params& params,
                                  HttpRequest&, Respond& respond) {
  const std::string user = params[0];
  const std::string pid = params[1];
  auto allowed = require_self_or_admin(principal, user);
  if (!allowed) {
    respond(error_response(allowed.error()));
    return;
  }
  auto personal = personal_profiles_.find(user);
  if (personal == personal_profiles_.end() || !personal->second.contains(pid)) {
    respond(error_response(Error::not_found("profile " + pid + ": no such profile of " + user)));
    return;
  }
  commit({store::DeleteDocument{std::string(kPersonalProfileKind),
                                personal_document_id(user, pid)}},
         std::move(respond), [this, user, pid] {
           auto it = personal_profiles_.find(user);
           if (it != personal_profiles_.end()) {
             it->second.erase(pid);
           }
           return HttpResponse{204, ""};
         });
}

// ---- The selected profile ----

json::object Service::selection_json(const std::string& user) const {
  auto selection = selections_.find(user);
  if (selection == selections_.end()) {
    return {{"user", user}, {"profile", nullptr}};
  }
  const ProfileSelection& s = selection->second;
  json::object out{{"user", user},
                   {"profile", s.profile},
                   {"scope", s.personal ? "personal" : "shared"},
                   {"since", format_time(s.since)},
                   {"until", s.until ? json::value(format_time(*s.until)) : json::value(nullptr)},
                   {"enforced", s.enforced},
                   {"settings", profile_json(s.profile, s.snapshot, s.personal)}};
  if (!s.destination.empty()) {
    out.emplace("destination", s.destination);
  }
  return out;
}

void Service::get_active_profile(const Principal& principal, const Params& params, HttpRequest&,
                                 Respond& respond) {
  const std::string& id = params[0];
  auto user = target_user(id);
  const bool allowed = principal.id == id || principal.role != store::Role::User;
  if (!user || !allowed) {
    respond(error_response(
        !user ? user.error()
              : Error::permission_denied("only " + id + ", the phone system or an admin")));
    return;
  }
  respond(json_response(200, selection_json(id)));
}

void Service::put_active_profile(const Principal& principal, const Params& params,
                                 HttpRequest& request, Respond& respond) {
  const std::string id = params[0];
  auto user = target_user(id);
  auto allowed = require_self_or_admin(principal, id);
  auto body = decode_profile_select(request.body, config_.limits);
  std::optional<Error> error;
  if (!user || !allowed || !body) {
    error = !user ? user.error() : !allowed ? allowed.error() : body.error();
  } else if (auto free = check_not_enforced(principal, id); !free) {
    error = free.error();
  } else if (body->enforced && principal.role != store::Role::Admin) {
    error = Error::permission_denied("enforced: only an admin may enforce a profile");
  }
  if (error) {
    respond(error_response(*error));
    return;
  }
  // The user's own profile of that name first, then a shared one they may use.
  const ProfileDocument* profile = nullptr;
  bool personal = false;
  if (auto mine = personal_profiles_.find(id); mine != personal_profiles_.end()) {
    if (auto it = mine->second.find(body->profile); it != mine->second.end()) {
      profile = &it->second;
      personal = true;
    }
  }
  if (profile == nullptr) {
    auto shared = profiles_.find(body->profile);
    if (shared != profiles_.end() &&
        (principal.role == store::Role::Admin || may_use(id, shared->second))) {
      profile = &shared->second;
    }
  }
  const core::TimePoint t = now();
  if (profile == nullptr) {
    error = Error::not_found("profile " + body->profile + ": no such profile for " + id);
  } else if (engine_.states().find(profile->state) == nullptr) {
    error = Error::failed_precondition("the profile's state " + profile->state +
                                       " no longer exists");
  } else if (body->until && *body->until <= t) {
    error = Error::invalid_argument("until: " + format_time(*body->until) +
                                    " is not in the future");
  } else if (profile->forwarding && profile->forwarding->mode != routing::ForwardMode::Off &&
             profile->forwarding->destination.empty() && body->destination.empty()) {
    // Connect Desktop: a profile without a destination asks for one when it is selected.
    error = Error::invalid_argument("destination: the profile forwards calls and leaves the "
                                    "destination to be given here");
  }
  if (error) {
    respond(error_response(*error));
    return;
  }
  ProfileSelection selection;
  selection.profile = body->profile;
  selection.personal = personal;
  selection.snapshot = *profile;
  selection.since = t;
  selection.until = body->until;
  if (!selection.until && profile->duration_min) {
    selection.until = t + std::chrono::minutes(*profile->duration_min);
  }
  selection.enforced = body->enforced;
  selection.destination = body->destination;
  // A profile selected over another restores, at its end, what was before the first.
  auto current = selections_.find(id);
  selection.previous = current != selections_.end() ? current->second.previous
                                                     : engine_.layers(*user).manual;
  core::ManualLayer manual;
  manual.state_id = profile->state;
  manual.note = profile->note;
  manual.until = selection.until;
  manual.set_at = t;
  const std::string document = json::serialize(profile_selection_json(selection));
  commit({store::PutManual{{id, manual}},
          store::PutDocument{{std::string(kProfileSelectionKind), id, id, document}}},
         std::move(respond), [this, id, target = *user, manual, selection] {
           if (!engine_.exists(target)) {
             return error_response(Error::not_found("the user was deleted meanwhile"));
           }
           selections_[id] = selection;
           apply_profile_idle(target, id);
           engine_.set_manual(target, manual, now());
           spdlog::debug("profiles: {} selected {}", id, selection.profile);
           return json_response(200, selection_json(id));
         });
}

void Service::delete_active_profile(const Principal& principal, const Params& params,
                                    HttpRequest&, Respond& respond) {
  const std::string id = params[0];
  auto user = target_user(id);
  auto allowed = require_self_or_admin(principal, id);
  auto free = check_not_enforced(principal, id);
  if (!user || !allowed || !free) {
    respond(error_response(!user ? user.error() : !allowed ? allowed.error() : free.error()));
    return;
  }
  if (!selections_.contains(id)) {
    respond(error_response(Error::not_found(id + " has no profile selected")));
    return;
  }
  const core::TimePoint t = now();
  commit(end_profile_mutations(id, true, t), std::move(respond), [this, id, target = *user] {
    if (engine_.exists(target)) {
      end_profile(target, id, true, now());
    }
    return json_response(200, selection_json(id));
  });
}

// ---- Ending a profile ----

std::optional<core::ManualLayer> Service::manual_to_restore(const std::string& user,
                                                            core::TimePoint t) const {
  auto selection = selections_.find(user);
  if (selection == selections_.end() || !selection->second.previous) {
    return std::nullopt;
  }
  const core::ManualLayer& previous = *selection->second.previous;
  if (previous.until && *previous.until <= t) {
    return std::nullopt;  // it would have ended meanwhile
  }
  return previous;
}

std::vector<store::Mutation> Service::end_profile_mutations(const std::string& user, bool restore,
                                                            core::TimePoint t) const {
  std::vector<store::Mutation> out;
  if (restore) {
    if (auto previous = manual_to_restore(user, t)) {
      out.push_back(store::PutManual{{user, *previous}});
    } else {
      out.push_back(store::DeleteManual{user});
    }
  }
  out.push_back(store::DeleteDocument{std::string(kProfileSelectionKind), user});
  return out;
}

void Service::end_profile(core::UserIndex user, const std::string& id, bool restore,
                          core::TimePoint t) {
  std::optional<core::ManualLayer> previous = manual_to_restore(id, t);
  if (selections_.erase(id) == 0) {
    return;
  }
  apply_profile_idle(user, id);
  if (restore) {
    engine_.set_manual(user, std::move(previous), t);
  }
  spdlog::debug("profiles: {}'s profile ended{}", id, restore ? ", previous state restored" : "");
}

// Profiles whose end has come restore the state before them. Runs before the engine's own
// deadlines so watchers see the restored state, not a moment of automatic presence between.
// The store catches up afterwards: if presenced stops first, the next start ends them again.
void Service::end_lapsed_profiles(core::TimePoint t) {
  std::vector<std::string> lapsed;
  for (const auto& [id, selection] : selections_) {
    if (selection.until && *selection.until <= t) {
      lapsed.push_back(id);
    }
  }
  for (const std::string& id : lapsed) {
    auto user = engine_.find(id);
    // In a cluster one node restores and writes. The others know the selection from the
    // directory: they restore the same state without writing it, so no node shows the ended
    // state's automatic presence meanwhile, and the winner's write confirms it.
    if (cluster_ != nullptr &&
        !cluster_->claim(fmt::format("profile-end/{}/{}", id,
                                     selections_.at(id).until->time_since_epoch().count()))) {
      // Only while the profile's own state is in force: a stale selection (one a node
      // brought back at its start) never overrides a later state.
      if (user) {
        const auto& manual = engine_.layers(*user).manual;
        const bool in_force = manual && manual->until == selections_.at(id).until;
        end_profile(*user, id, in_force, t);
      } else {
        selections_.erase(id);
      }
      continue;
    }
    store_.submit(end_profile_mutations(id, true, t), [id](Result<void> result) {
      if (!result) {
        spdlog::warn("profiles: ending {}'s profile was not stored: {}", id,
                     result.error().message);
      }
    });
    if (user) {
      end_profile(*user, id, true, t);
      if (cluster_ != nullptr) {
        // The selection's deletion too, or a node starting later would bring it back.
        cluster_->publish({{id, core::Layer::Manual}},
                          {store::DeleteDocument{std::string(kProfileSelectionKind), id}},
                          [](bool) {});
      }
    } else {
      selections_.erase(id);
    }
  }
}

// The idle minutes in force: the profile's while one is selected, else the user's own.
void Service::apply_profile_idle(core::UserIndex user, const std::string& id) {
  auto record = users_.find(id);
  if (record == users_.end()) {
    return;
  }
  core::UserSettings settings = engine_.settings(user);
  settings.idle_after = record->second.settings.idle_after;
  auto selection = selections_.find(id);
  if (selection != selections_.end() && selection->second.snapshot.idle_minutes) {
    settings.idle_after = std::chrono::minutes(*selection->second.snapshot.idle_minutes);
  }
  if (settings.idle_after != engine_.settings(user).idle_after) {
    engine_.set_settings(user, settings, now());
  }
}

// The routing parts of the user's selected profile, if any.
std::optional<routing::ProfileRouting> Service::profile_routing(const std::string& id) const {
  auto selection = selections_.find(id);
  if (selection == selections_.end()) {
    return std::nullopt;
  }
  const ProfileDocument& profile = selection->second.snapshot;
  routing::ProfileRouting out;
  out.dnd = profile.dnd;
  out.forwarding = profile.forwarding;
  out.personal = profile.personal_routing;
  out.destination = selection->second.destination;
  return out;
}

}  // namespace presenced::api
