// Routes of the phone system's interface (docs/routing.md, docs/pbx-integration.md): call
// events in, routing decisions out, and the settings decisions read: users' call settings,
// queues and the automatic action per state type.

#include "api/internal/codec_json.h"
#include "api/internal/service.h"
#include "core/mappings.h"
#include "routing/routing.h"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

// Call settings are the user's own; the phone system reads them too.
Result<void> may_read_call_settings(const Principal& principal, const std::string& user) {
  if (principal.id == user || principal.role != store::Role::User) {
    return {};
  }
  return Error::permission_denied("only " + user + ", the phone system or an admin may do this");
}

}  // namespace

// The store mutation that makes a call's stored row match the engine: the call as the engine
// holds it, or none.
store::Mutation Service::call_record_or_delete(const std::string& user,
                                               const core::Call& call) const {
  if (auto index = engine_.find(user)) {
    for (const core::Call& held : engine_.layers(*index).telephony.calls) {
      if (held.device == call.device && held.call_id == call.call_id) {
        return store::PutCall{{user, held}};
      }
    }
  }
  return store::DeleteCall{user, call.device, call.call_id};
}

void Service::post_telephony_event(const Principal&, const Params&, HttpRequest& request,
                                   Respond& respond) {
  auto body = decode_telephony_event(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  auto user = target_user(body->user);
  if (!user) {
    respond(error_response(user.error()));
    return;
  }
  const core::TimePoint t = now();
  core::Call call{body->device, body->call_id, body->state, body->direction, t, t};
  for (const core::Call& existing : engine_.layers(*user).telephony.calls) {
    if (existing.device == call.device && existing.call_id == call.call_id) {
      call.started_at = existing.started_at;
    }
  }
  std::vector<store::Mutation> mutations;
  auto& devices = devices_[body->user];
  const bool new_device =
      std::none_of(devices.begin(), devices.end(),
                   [&](const store::DeviceRecord& d) { return d.device == call.device; });
  if (new_device) {
    // A device not seen before becomes a device of that user (contract).
    mutations.push_back(store::PutDevice{{body->user, call.device, "", ""}});
  }
  if (call.state == core::CallState::Ended) {
    mutations.push_back(store::DeleteCall{body->user, call.device, call.call_id});
  } else {
    mutations.push_back(store::PutCall{{body->user, call}});
  }
  const core::UserIndex target = *user;
  const std::string uid = body->user;
  commit(std::move(mutations), std::move(respond), [this, target, uid, call, new_device] {
    if (!engine_.exists(target)) {
      return error_response(Error::not_found("the user was deleted meanwhile"));
    }
    if (new_device) {
      auto& list = devices_[uid];
      if (std::none_of(list.begin(), list.end(),
                       [&](const store::DeviceRecord& d) { return d.device == call.device; })) {
        list.push_back({uid, call.device, "", ""});
      }
    }
    const core::CallOutcome outcome = engine_.apply_call(target, call, now());
    if (outcome != core::CallOutcome::Applied && outcome != core::CallOutcome::Duplicate) {
      // A late or backwards event (docs/presence-rules.md): the engine kept what it knew, so
      // the store, written before the engine could judge, goes back to the engine's view.
      spdlog::debug("telephony: {} {} {} on {}: {}", uid, call.call_id,
                    core::to_string(call.state), call.device, core::to_string(outcome));
      store_.submit({call_record_or_delete(uid, call)}, [](Result<void> result) {
        if (!result) {
          spdlog::warn("telephony: correcting a late event failed: {}", result.error().message);
        }
      });
    }
    return json_response(202, json::object{{"accepted", true},
                                           {"user", uid},
                                           {"outcome", core::to_string(outcome)},
                                           {"sequence", engine_.sequence(target)}});
  });
}

void Service::post_routing_decide(const Principal&, const Params&, HttpRequest& request,
                                  Respond& respond) {
  auto body = decode_routing(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  // A queue call names a queue; a queue call to one user (the PBX runs the queue itself)
  // is decided like other calls to that user.
  if (body->type == routing::CallType::Queue && queues_.contains(body->callee)) {
    decide_queue_call(body->callee, respond);
    return;
  }
  auto callee = target_user(body->callee);
  if (!callee) {
    respond(error_response(callee.error()));
    return;
  }
  std::vector<std::string> devices;
  for (const store::DeviceRecord& d : devices_[body->callee]) {
    devices.push_back(d.device);
  }
  const routing::Decision decision =
      routing::decide({body->type, body->caller}, engine_.presence(*callee),
                      engine_.layers(*callee), devices, effective_call_settings(*callee, body->callee));
  spdlog::debug("routing: {} call from {} to {}: {} ({})", routing::to_string(body->type),
                body->caller, body->callee, routing::to_string(decision.action), decision.reason);
  respond(json_response(200, decision_json(decision)));
}

void Service::decide_queue_call(const std::string& queue_id, Respond& respond) {
  auto queue = queues_.find(queue_id);
  if (queue == queues_.end()) {
    respond(error_response(Error::not_found("queue " + queue_id + ": no such queue")));
    return;
  }
  const QueueDocument& document = queue->second.document;
  std::vector<routing::QueueMember> members;
  for (const std::string& id : document.members) {
    auto user = engine_.find(id);
    if (!user) {
      continue;  // deleted since the queue was written: not an agent any more
    }
    routing::QueueMember member;
    member.user = id;
    member.presence = engine_.presence(*user);
    const auto& calls = engine_.layers(*user).telephony.calls;
    member.on_call = std::any_of(calls.begin(), calls.end(), [](const core::Call& c) {
      return c.state == core::CallState::Connected || c.state == core::CallState::Held;
    });
    // A member's own call settings count too: DND from a profile or state action.
    if (effective_call_settings(*user, id).dnd) {
      member.presence.availability = core::Availability::DoNotDisturb;
    }
    member.last_call_end = engine_.last_call_end(*user);
    members.push_back(std::move(member));
  }
  const routing::QueueDecision decision =
      routing::decide_queue(members, document.policy, queue->second.calls++);
  const auto targets = routing::queue_targets(decision, document.policy, [&](const std::string& id) {
    std::vector<std::string> out;
    for (const store::DeviceRecord& d : devices_[id]) {
      out.push_back(d.device);
    }
    return out;
  });
  spdlog::debug("routing: queue {} offers {} of {} members ({})", queue_id,
                decision.agents.size(), document.members.size(), decision.reason);
  respond(json_response(200, queue_decision_json(decision, targets)));
}

routing::CalleeSettings Service::effective_call_settings(core::UserIndex user,
                                                         const std::string& id) const {
  auto own = call_settings_.find(id);
  // The automatic action of the type of the state the user chose (seed 002).
  routing::StateAction action = routing::StateAction::None;
  const core::Presence& presence = engine_.presence(user);
  if (!presence.state_id.empty()) {
    if (const core::StateDefinition* state = engine_.states().find(presence.state_id)) {
      action = state_actions_[static_cast<std::size_t>(state->type)];
    }
  }
  const std::optional<routing::ProfileRouting> profile = profile_routing(id);
  return routing::effective_settings(
      own == call_settings_.end() ? routing::CalleeSettings{} : own->second.call,
      profile ? &*profile : nullptr, action);
}

// ---- Call settings ----

void Service::get_call_settings(const Principal& principal, const Params& params, HttpRequest&,
                                Respond& respond) {
  const std::string& id = params[0];
  auto user = target_user(id);
  auto allowed = may_read_call_settings(principal, id);
  if (!user || !allowed) {
    respond(error_response(!user ? user.error() : allowed.error()));
    return;
  }
  auto own = call_settings_.find(id);
  CallSettingsDocument document = own == call_settings_.end() ? CallSettingsDocument{} : own->second;
  document.dnd_protection = engine_.settings(*user).dnd_protection;
  respond(json_response(200, call_settings_json(document)));
}

void Service::put_call_settings(const Principal& principal, const Params& params,
                                HttpRequest& request, Respond& respond) {
  const std::string id = params[0];
  auto user = target_user(id);
  auto allowed = require_self_or_admin(principal, id);
  auto body = decode_call_settings(request.body, config_.limits);
  if (!user || !allowed || !body) {
    respond(error_response(!user ? user.error() : !allowed ? allowed.error() : body.error()));
    return;
  }
  store::UserRecord record = users_.at(id);
  record.settings.dnd_protection = body->dnd_protection;
  const std::string document = json::serialize(call_settings_json(*body));
  commit({store::PutDocument{{std::string(kCallSettingsKind), id, id, document}},
          store::PutUser{record}},
         std::move(respond), [this, id, user = *user, settings = *body] {
           if (!engine_.exists(user)) {
             return error_response(Error::not_found("the user was deleted meanwhile"));
           }
           call_settings_[id] = settings;
           core::UserSettings user_settings = engine_.settings(user);
           user_settings.dnd_protection = settings.dnd_protection;
           engine_.set_settings(user, user_settings, now());
           users_.at(id).settings.dnd_protection = settings.dnd_protection;
           return json_response(200, call_settings_json(settings));
         });
}

// ---- Queues ----

void Service::list_queues(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const auto& [id, queue] : queues_) {
    out.emplace_back(queue_json(id, queue.document));
  }
  respond(json_response(200, json::object{{"queues", std::move(out)}}));
}

void Service::get_queue(const Principal&, const Params& params, HttpRequest&, Respond& respond) {
  auto queue = queues_.find(params[0]);
  if (queue == queues_.end()) {
    respond(error_response(Error::not_found("queue " + params[0] + ": no such queue")));
    return;
  }
  respond(json_response(200, queue_json(queue->first, queue->second.document)));
}

void Service::put_queue(const Principal&, const Params& params, HttpRequest& request,
                        Respond& respond) {
  const std::string id = params[0];
  if (auto problem = path_id_problem("queue", id, "", config_.limits)) {
    respond(error_response(*problem));
    return;
  }
  auto body = decode_queue(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  for (const std::string& member : body->members) {
    if (!users_.contains(member)) {
      respond(error_response(Error::invalid_argument("members: " + member + ": no such user")));
      return;
    }
  }
  const bool created = !queues_.contains(id);
  const std::string document = json::serialize(queue_json(id, *body));
  commit({store::PutDocument{{std::string(kQueueKind), id, "", document}}}, std::move(respond),
         [this, id, queue = *body, created] {
           queues_[id].document = queue;
           return json_response(created ? 201 : 200, queue_json(id, queue));
         });
}

void Service::delete_queue(const Principal&, const Params& params, HttpRequest&,
                           Respond& respond) {
  const std::string id = params[0];
  if (!queues_.contains(id)) {
    respond(error_response(Error::not_found("queue " + id + ": no such queue")));
    return;
  }
  commit({store::DeleteDocument{std::string(kQueueKind), id}}, std::move(respond), [this, id] {
    queues_.erase(id);
    return HttpResponse{204, ""};
  });
}

// ---- Automatic actions per state type ----

void Service::get_state_actions(const Principal&, const Params&, HttpRequest&,
                                Respond& respond) {
  respond(json_response(200, state_actions_json(state_actions_)));
}

void Service::put_state_actions(const Principal&, const Params&, HttpRequest& request,
                                Respond& respond) {
  auto body = decode_state_actions(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  const std::string value = json::serialize(state_actions_json(*body));
  commit({store::PutSetting{std::string(kStateActionsKey), value}}, std::move(respond),
         [this, actions = *body] {
           state_actions_ = actions;
           return json_response(200, state_actions_json(actions));
         });
}

void Service::restore_documents(const std::vector<store::DocumentRecord>& documents) {
  for (const store::DocumentRecord& d : documents) {
    (void)restore_document(d);
  }
  end_lapsed_profiles(now());
}

bool Service::restore_document(const store::DocumentRecord& d) {
  if (d.kind == kCallSettingsKind) {
    if (auto settings = decode_call_settings(d.body, config_.limits)) {
      call_settings_[d.id] = *settings;
      return true;
    }
  } else if (d.kind == kQueueKind) {
    if (auto queue = decode_queue(d.body, config_.limits)) {
      queues_[d.id].document = *queue;
      return true;
    }
  } else if (d.kind == kProfileKind) {
    if (auto profile = decode_profile(d.body, config_.limits)) {
      profiles_[d.id] = *profile;
      return true;
    }
  } else if (d.kind == kPersonalProfileKind) {
    const auto slash = d.id.find('/');
    auto profile = decode_profile(d.body, config_.limits);
    if (profile && slash != std::string::npos) {
      personal_profiles_[d.id.substr(0, slash)][d.id.substr(slash + 1)] = *profile;
      return true;
    }
  } else if (d.kind == kProfileSelectionKind) {
    if (auto selection = decode_profile_selection(d.body, config_.limits)) {
      if (auto user = engine_.find(d.id)) {
        selections_[d.id] = *selection;
        apply_profile_idle(*user, d.id);
      }
      return true;
    }
  } else if (d.kind == kCalendarSourceKind) {
    if (auto source = decode_calendar_source(d.body, config_.limits, nullptr)) {
      calendar_sources_[d.id] = *source;
      return true;
    }
  } else if (d.kind == kStateDefaultKind) {
    if (engine_.states().find(d.body) != nullptr) {
      default_state_ = d.body;
      return true;
    }
  } else if (d.kind == kRemoteContactKind) {
    if (auto address = parse_remote_address(d.body, config_.limits.id_bytes);
        address && engine_.find(d.owner) && !is_remote_id(d.owner)) {
      attach_remote(d.owner, *address);
      return true;
    }
  } else {
    foreign_documents_.push_back(d);  // another adapter's (SIP): read through documents()
    return true;
  }
  spdlog::warn("store: {} {} is unreadable and ignored", d.kind, d.id);
  return false;
}

std::vector<store::DocumentRecord> Service::documents(std::string_view kind) const {
  std::vector<store::DocumentRecord> out;
  for (const store::DocumentRecord& d : foreign_documents_) {
    if (d.kind == kind) {
      out.push_back(d);
    }
  }
  return out;
}

void Service::save_documents(std::vector<store::Mutation> mutations,
                             std::function<void(bool)> done) {
  std::vector<store::Mutation> webhook_documents;
  for (const store::Mutation& m : mutations) {
    const auto* put = std::get_if<store::PutDocument>(&m);
    const auto* del = std::get_if<store::DeleteDocument>(&m);
    if (put && put->document.kind == kWebhookStatusKind) {
      // What an external system shows, or is being sent, counts from now: its echo may come
      // back before the commit does (a receiver that answers from inside our POST). Losing it
      // in a crash costs one echo applied, which sets the state we had sent anyway.
      keep_document(put->document);
    } else if ((put && put->document.kind.starts_with("webhook.")) ||
               (del && del->kind.starts_with("webhook."))) {
      webhook_documents.push_back(m);
    }
  }
  store_.submit(std::move(mutations), [this, done = std::move(done),
                                       webhook_documents = std::move(webhook_documents)](
                                          Result<void> result) mutable {
    post_([this, ok = result.has_value(), done = std::move(done),
           webhook_documents = std::move(webhook_documents)] {
      if (ok) {
        ++metrics_.store_commits;
        keep_saved_webhook_documents(webhook_documents);
      } else {
        ++metrics_.store_failures;
        spdlog::error("store commit of an adapter's documents failed");
      }
      done(ok);
    });
  });
}

}  // namespace presenced::api
