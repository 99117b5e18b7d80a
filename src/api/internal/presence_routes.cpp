// Routes that read or change presence, visibility, contacts and the directory. Reads of someone's presence always go through the visibility projection.

#include "api/internal/codec_json.h"
#include "api/internal/service.h"
#include "core/mappings.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace presenced::api {

namespace json = boost::json;
using core::Error;
using core::Result;

namespace {

json::object appointment_json(const core::Appointment& a) {
  json::object o{{"id", a.id},
                 {"subject", a.subject},
                 {"start", format_time(a.start)},
                 {"end", format_time(a.end)},
                 {"kind", core::to_string(a.kind)},
                 {"private", a.is_private}};
  if (!a.location.empty()) {
    o["location"] = a.location;
  }
  return o;
}

}  // namespace

// ---- Presence ----

void Service::get_presence(const Principal& principal, const Params& params, HttpRequest&,
                           Respond& respond) {
  auto user = target_user(params[0]);
  if (!user) {
    respond(error_response(user.error()));
    return;
  }
  respond(presence_response(*user, principal));
}

void Service::get_presences(const Principal& principal, const Params&, HttpRequest& request,
                            Respond& respond) {
  auto url = boost::urls::parse_origin_form(request.target);
  json::array out;
  if (url) {
    auto params = url->params();
    auto it = params.find("users");
    std::string list = it == params.end() ? std::string() : std::string((*it).value);
    std::size_t start = 0;
    std::size_t count = 0;
    while (start <= list.size() && !list.empty()) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      const std::string id = list.substr(start, comma - start);
      start = comma + 1;
      if (++count > config_.limits.list_items) {
        respond(error_response(Error::invalid_argument(
            "users: more than " + std::to_string(config_.limits.list_items) + " ids")));
        return;
      }
      if (auto user = engine_.find(id)) {
        out.push_back(presence_json(id, engine_.presence_for(*user, principal.user),
                                    engine_.sequence(*user), *user == principal.user));
      }
    }
  }
  respond(json_response(200, json::object{{"presences", std::move(out)}}));
}

// The raw layers behind a presence, for the user and admins ("why am I shown busy?").
void Service::get_layers(const Principal& principal, const Params& params, HttpRequest&,
                         Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  const core::Layers& layers = engine_.layers(*user);
  json::object out;
  if (layers.manual) {
    const core::ManualLayer& m = *layers.manual;
    json::object manual{{"state", m.state_id},
                        {"note", m.note},
                        {"reachability", core::to_string(m.reachability)},
                        {"set_at", format_time(m.set_at)}};
    if (m.from) manual["from"] = format_time(*m.from);
    if (m.until) manual["until"] = format_time(*m.until);
    out["manual"] = std::move(manual);
  } else {
    out["manual"] = nullptr;
  }
  json::array calls;
  for (const core::Call& c : layers.telephony.calls) {
    calls.push_back({{"device", c.device},
                     {"call_id", c.call_id},
                     {"state", core::to_string(c.state)},
                     {"direction", core::to_string(c.direction)},
                     {"started_at", format_time(c.started_at)},
                     {"updated_at", format_time(c.updated_at)}});
  }
  out["telephony"] = std::move(calls);
  json::array appointments;
  for (const core::Appointment& a : layers.calendar.appointments) {
    appointments.push_back(appointment_json(a));
  }
  out["calendar"] = std::move(appointments);
  json::array sessions;
  for (const core::Session& s : layers.sessions.sessions) {
    json::object o{{"client_id", s.client_id},
                   {"kind", s.kind},
                   {"since", format_time(s.since)},
                   {"input", core::to_string(s.input)},
                   {"input_since", format_time(s.input_since)}};
    if (s.lease_until) o["lease_until"] = format_time(*s.lease_until);
    sessions.push_back(std::move(o));
  }
  out["sessions"] = std::move(sessions);
  if (const auto& t = layers.teams) {
    out["teams"] = {{"availability", core::to_string(t->availability)},
                    {"activity", core::to_string(t->activity)},
                    {"from_us", t->from_us},
                    {"since", format_time(t->since)}};
  } else {
    out["teams"] = nullptr;
  }
  out["presence"] = presence_json(params[0], engine_.presence(*user), engine_.sequence(*user), true);
  respond(json_response(200, out));
}

void Service::put_manual(const Principal& principal, const Params& params, HttpRequest& request,
                         Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_manual(request.body, config_.limits);
  auto free = check_not_enforced(principal, params[0]);
  if (auto error = first_error(user, allowed, body, free)) {
    respond(error_response(*error));
    return;
  }
  if (engine_.states().find(body->state) == nullptr) {
    respond(error_response(Error::invalid_argument(
        "state: \"" + body->state.substr(0, 64) +
        "\" is neither a built-in state (Available, Busy, DoNotDisturb, Away, BeRightBack, "
        "Offline) nor an admin-defined one")));
    return;
  }
  const core::TimePoint t = now();
  if (body->until && *body->until <= t) {
    respond(error_response(Error::invalid_argument("until: " + format_time(*body->until) +
                                                   " is not in the future")));
    return;
  }
  if (body->from && body->until && *body->from >= *body->until) {
    respond(error_response(Error::invalid_argument("from: must be before until")));
    return;
  }
  core::ManualLayer manual{body->state, body->note, body->from, body->until,
                           body->reachability, t};
  const Principal viewer = principal;
  const core::UserIndex target = *user;
  const std::string id = params[0];
  // A state chosen by hand ends a selected profile, without restoring what was before it. Only
  // the profile selected now: one selected after this request commits after it and stays.
  const bool ends_profile = selections_.contains(id);
  std::vector<store::Mutation> mutations;
  if (ends_profile) {
    mutations = end_profile_mutations(id, false, t);
  }
  mutations.push_back(store::PutManual{{id, manual}});
  auto apply = [this, target, id, manual, viewer, ends_profile] {
    if (!engine_.exists(target)) {
      return error_response(Error::not_found("the user was deleted meanwhile"));
    }
    if (ends_profile) {
      end_profile(target, id, false, now());
    }
    engine_.set_manual(target, manual, now());
    return presence_response(target, viewer);
  };
  commit(std::move(mutations), std::move(respond), std::move(apply));
}

void Service::delete_manual(const Principal& principal, const Params& params, HttpRequest&,
                            Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto free = check_not_enforced(principal, params[0]);
  if (auto error = first_error(user, allowed, free)) {
    respond(error_response(*error));
    return;
  }
  const Principal viewer = principal;
  const core::UserIndex target = *user;
  const std::string id = params[0];
  const bool ends_profile = selections_.contains(id);
  std::vector<store::Mutation> mutations;
  if (ends_profile) {
    mutations = end_profile_mutations(id, false, now());
  }
  mutations.push_back(store::DeleteManual{id});
  commit(std::move(mutations), std::move(respond), [this, target, id, viewer, ends_profile] {
    if (!engine_.exists(target)) {
      return error_response(Error::not_found("the user was deleted meanwhile"));
    }
    if (ends_profile) {
      end_profile(target, id, false, now());
    }
    engine_.set_manual(target, std::nullopt, now());
    return presence_response(target, viewer);
  });
}

// The calendar layer, fed by a client or connector until CalDAV sync exists.
void Service::put_calendar(const Principal& principal, const Params& params,
                           HttpRequest& request, Respond& respond) {
  auto user = target_user(params[0]);
  const bool allowed = principal.id == params[0] || principal.role != store::Role::User;
  auto body = decode_calendar(request.body, config_.limits);
  if (auto error = first_error(user, body)) {
    respond(error_response(*error));
    return;
  }
  if (!allowed) {
    respond(error_response(Error::permission_denied("only the user, a system or an admin")));
    return;
  }
  core::CalendarLayer layer{std::move(body->appointments)};
  const Principal viewer = principal;
  const core::UserIndex target = *user;
  commit({store::PutCalendar{{params[0], layer.appointments}}}, std::move(respond),
         [this, target, layer, viewer] {
           if (!engine_.exists(target)) {
             return error_response(Error::not_found("the user was deleted meanwhile"));
           }
           engine_.set_calendar(target, layer, now());
           return presence_response(target, viewer);
         });
}

// A desktop or phone client that is not on the WebSocket reports its login with a lease
// (ttl_s) and refreshes it; when the lease lapses the session goes (honest liveness).
void Service::post_session(const Principal& principal, const Params& params,
                           HttpRequest& request, Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  json::error_code ec;
  json::value body = json::parse(request.body, ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::string* client = o != nullptr && o->contains("client_id")
                                   ? o->at("client_id").if_string()
                                   : nullptr;
  const std::int64_t* ttl =
      o != nullptr && o->contains("ttl_s") ? o->at("ttl_s").if_int64() : nullptr;
  if (client == nullptr || client->empty() || client->size() > config_.limits.id_bytes ||
      ttl == nullptr || *ttl < 10 || *ttl > 86400) {
    respond(error_response(Error::invalid_argument(
        "body: expected {\"client_id\": string (1 to 128 bytes), \"ttl_s\": 10 to 86400}")));
    return;
  }
  const core::TimePoint t = now();
  core::Session session;
  session.client_id = std::string(*client);
  session.kind = "api";
  session.since = t;
  session.input_since = t;
  session.lease_until = t + std::chrono::seconds(*ttl);
  for (const core::Session& s : engine_.layers(*user).sessions.sessions) {
    if (s.client_id == session.client_id) {
      session.since = s.since;
      session.input = s.input;
      session.input_since = s.input_since;
    }
  }
  if (engine_.open_session(*user, session, t)) {
    apply_session_state(*user, engine_.settings(*user).login_state);
  }
  share(*user, core::Layer::Sessions);
  respond(json_response(200, json::object{{"client_id", session.client_id},
                                          {"lease_until", format_time(*session.lease_until)}}));
}

void Service::delete_session(const Principal& principal, const Params& params, HttpRequest&,
                             Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  if (engine_.close_session(*user, params[1], now())) {
    apply_session_state(*user, engine_.settings(*user).logout_state);
  }
  share(*user, core::Layer::Sessions);
  respond({204, ""});
}

void Service::post_input(const Principal& principal, const Params& params, HttpRequest& request,
                         Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_input(request.body, config_.limits);
  if (auto error = first_error(user, allowed, body)) {
    respond(error_response(*error));
    return;
  }
  const core::TimePoint t = now();
  if (!engine_.report_input(*user, body->client_id, body->state, body->since.value_or(t), t)) {
    respond(error_response(
        Error::not_found("client_id " + body->client_id + ": no such session of " + params[0])));
    return;
  }
  share(*user, core::Layer::Sessions);
  respond(presence_response(*user, principal));
}

// ---- Visibility ----

void Service::get_visibility(const Principal& principal, const Params& params, HttpRequest&,
                             Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  json::array levels;
  for (const auto& [id, record] : users_) {
    auto watcher = engine_.find(id);
    if (!watcher || *watcher == *user) {
      continue;
    }
    if (auto level = engine_.pair_level(*user, *watcher)) {
      levels.push_back({{"watcher", id}, {"level", core::to_string(*level)}});
    }
  }
  respond(json_response(
      200, json::object{{"default_level", core::to_string(engine_.policy().default_level)},
                        {"minimum", core::to_string(engine_.policy().minimum)},
                        {"watchers", std::move(levels)}}));
}

void Service::put_visibility(const Principal& principal, const Params& params,
                             HttpRequest& request, Respond& respond) {
  auto owner = target_user(params[0]);
  auto watcher = target_user(params[1]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_visibility(request.body, config_.limits);
  if (auto error = first_error(owner, watcher, allowed, body)) {
    respond(error_response(*error));
    return;
  }
  if (body->level < engine_.policy().minimum && principal.role != store::Role::Admin) {
    respond(error_response(Error::failed_precondition(
        "level: " + std::string(core::to_string(body->level)) + " is below the minimum " +
        std::string(core::to_string(engine_.policy().minimum)) + " the admin set")));
    return;
  }
  const core::UserIndex o = *owner;
  const core::UserIndex w = *watcher;
  const core::VisibilityLevel level = body->level;
  commit({store::PutVisibility{{params[0], params[1], level}}}, std::move(respond),
         [this, o, w, level] {
           if (engine_.exists(o) && engine_.exists(w)) {
             engine_.set_visibility(o, w, level);
           }
           return json_response(200, json::object{{"owner", engine_.id_of(o).value},
                                                  {"watcher", engine_.id_of(w).value},
                                                  {"level", core::to_string(level)}});
         });
}

void Service::delete_visibility(const Principal& principal, const Params& params, HttpRequest&,
                                Respond& respond) {
  auto owner = target_user(params[0]);
  auto watcher = target_user(params[1]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(owner, watcher, allowed)) {
    respond(error_response(*error));
    return;
  }
  const core::UserIndex o = *owner;
  const core::UserIndex w = *watcher;
  commit({store::DeleteVisibility{params[0], params[1]}}, std::move(respond), [this, o, w] {
    if (engine_.exists(o) && engine_.exists(w)) {
      engine_.set_visibility(o, w, std::nullopt);
    }
    return HttpResponse{204, ""};
  });
}

void Service::get_policy(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  respond(json_response(
      200, json::object{{"default_level", core::to_string(engine_.policy().default_level)},
                        {"minimum", core::to_string(engine_.policy().minimum)}}));
}

void Service::put_policy(const Principal&, const Params&, HttpRequest& request,
                         Respond& respond) {
  auto body = decode_policy(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  core::VisibilityPolicy policy = engine_.policy();
  policy.default_level = body->default_level.value_or(policy.default_level);
  policy.minimum = body->minimum.value_or(policy.minimum);
  commit({store::PutSetting{"visibility.default_level",
                            std::string(core::to_string(policy.default_level))},
          store::PutSetting{"visibility.minimum", std::string(core::to_string(policy.minimum))}},
         std::move(respond), [this, policy] {
           engine_.set_policy(policy);
           return json_response(200,
                                json::object{{"default_level", core::to_string(policy.default_level)},
                                             {"minimum", core::to_string(policy.minimum)}});
         });
}

// ---- Contacts ----

void Service::get_contacts(const Principal& principal, const Params& params, HttpRequest&,
                           Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  json::array out;
  for (core::UserIndex c : engine_.contacts(*user)) {
    if (engine_.exists(c)) {
      out.push_back(json::string(engine_.id_of(c).value));
    }
  }
  respond(json_response(200, json::object{{"users", std::move(out)}}));
}

void Service::put_contacts(const Principal& principal, const Params& params,
                           HttpRequest& request, Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_contacts(request.body, config_.limits);
  if (auto error = first_error(user, allowed, body)) {
    respond(error_response(*error));
    return;
  }
  std::vector<store::Mutation> mutations;
  std::vector<core::UserIndex> contacts;
  for (core::UserIndex old : engine_.contacts(*user)) {
    if (engine_.exists(old) && !is_remote_id(engine_.id_of(old).value)) {
      mutations.push_back(store::DeleteContact{{params[0], engine_.id_of(old).value}});
    }
  }
  for (const std::string& id : body->users) {
    auto contact = engine_.find(id);
    if (!contact) {
      respond(error_response(Error::not_found("user " + id + ": no such user")));
      return;
    }
    if (std::find(contacts.begin(), contacts.end(), *contact) == contacts.end()) {
      contacts.push_back(*contact);
      mutations.push_back(store::PutContact{{params[0], id}});
    }
  }
  const core::UserIndex owner = *user;
  commit(std::move(mutations), std::move(respond), [this, owner, contacts, ids = body->users] {
    if (engine_.exists(owner)) {
      engine_.set_contacts(owner, with_remote_contacts(engine_.id_of(owner).value, contacts));
    }
    json::array out;
    for (core::UserIndex c : contacts) {
      out.push_back(json::string(engine_.id_of(c).value));
    }
    return json_response(200, json::object{{"users", std::move(out)}});
  });
}

// ---- Directory: groups, devices, states ----

void Service::list_groups(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const auto& [id, group] : groups_) {
    json::array members;
    for (const auto& [uid, user] : users_) {
      if (std::find(user.groups.begin(), user.groups.end(), id) != user.groups.end()) {
        members.push_back(json::string(uid));
      }
    }
    std::sort(members.begin(), members.end(), [](const json::value& a, const json::value& b) {
      return a.get_string() < b.get_string();
    });
    // Groups always show grey: their members' presence differs (seed 000).
    const core::Display display = core::group_display();
    out.push_back({{"id", id},
                   {"display_name", group.display_name},
                   {"members", std::move(members)},
                   {"display", {{"color", display.color}, {"icon", display.icon}}}});
  }
  respond(json_response(200, json::object{{"groups", std::move(out)}}));
}

void Service::put_group(const Principal&, const Params& params, HttpRequest& request,
                        Respond& respond) {
  auto body = decode_group(request.body.empty() ? std::string("{}") : request.body,
                           config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (auto problem = path_id_problem("group", params[0], body->id, config_.limits)) {
    respond(error_response(*problem));
    return;
  }
  store::GroupRecord group{params[0], body->display_name.empty() || body->display_name == body->id
                                          ? params[0]
                                          : body->display_name};
  commit({store::PutGroup{group}}, std::move(respond), [this, group] {
    groups_[group.id] = group;
    return json_response(200, json::object{{"id", group.id}, {"display_name", group.display_name}});
  });
}

void Service::delete_group(const Principal&, const Params& params, HttpRequest&,
                           Respond& respond) {
  if (!groups_.contains(params[0])) {
    respond(error_response(Error::not_found("group " + params[0] + ": no such group")));
    return;
  }
  const std::string id = params[0];
  commit({store::DeleteGroup{id}}, std::move(respond), [this, id] {
    forget_group(id);
    return HttpResponse{204, ""};
  });
}

void Service::list_devices(const Principal& principal, const Params& params, HttpRequest&,
                           Respond& respond) {
  auto user = target_user(params[0]);
  if (!user) {
    respond(error_response(user.error()));
    return;
  }
  // Devices (numbers) from Team level, as ProCall shows phone lines (rights table).
  if (principal.role == store::Role::User &&
      engine_.level_for(*user, principal.user) < core::VisibilityLevel::Team) {
    respond(error_response(Error::permission_denied("devices of " + params[0] +
                                                    " need the team visibility level")));
    return;
  }
  json::array out;
  for (const store::DeviceRecord& d : devices_[params[0]]) {
    out.push_back(device_json(d));
  }
  respond(json_response(200, json::object{{"devices", std::move(out)}}));
}

void Service::put_device(const Principal& principal, const Params& params, HttpRequest& request,
                         Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  auto body = decode_device(request.body, config_.limits);
  if (auto error = first_error(user, allowed, body)) {
    respond(error_response(*error));
    return;
  }
  store::DeviceRecord device{params[0], body->device, body->label, {}};
  if (const store::DeviceRecord* existing = find_device(device.user, device.device)) {
    device.sip_password = existing->sip_password;  // a relabel keeps the secret
  }
  if (body->sip_password) {
    device.sip_password = *body->sip_password;
  }
  if (auto conflict = device_login_conflict(device)) {
    respond(error_response(*conflict));
    return;
  }
  const std::string username = device_sip_username(device.user, device.device);
  const bool reserve = !device.sip_password.empty();
  if (reserve) {
    pending_device_logins_[username] = SipLogin{device.user, device.device};
  }
  const auto release = [this, username, reserve] {
    if (reserve) {
      pending_device_logins_.erase(username);
    }
  };
  commit({store::PutDevice{device}}, std::move(respond), [this, device, release] {
    release();
    keep_device(device);
    return json_response(201, device_json(device));
  }, release);
}

void Service::keep_device(const store::DeviceRecord& device) {
  auto& list = devices_[device.user];
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const store::DeviceRecord& d) { return d.device == device.device; });
  if (it == list.end()) {
    list.push_back(device);
  } else {
    *it = device;
  }
}

void Service::forget_group(const std::string& id) {
  groups_.erase(id);
  for (auto& [uid, user] : users_) {
    std::erase(user.groups, id);
  }
}

void Service::delete_device(const Principal& principal, const Params& params, HttpRequest&,
                            Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (auto error = first_error(user, allowed)) {
    respond(error_response(*error));
    return;
  }
  const std::string uid = params[0];
  const std::string device = params[1];
  commit({store::DeleteDevice{uid, device}}, std::move(respond), [this, uid, device] {
    std::erase_if(devices_[uid], [&](const store::DeviceRecord& d) { return d.device == device; });
    return HttpResponse{204, ""};
  });
}

const store::DeviceRecord* Service::find_device(std::string_view user,
                                                std::string_view device) const {
  const auto it = devices_.find(std::string(user));
  if (it == devices_.end()) {
    return nullptr;
  }
  for (const store::DeviceRecord& d : it->second) {
    if (d.device == device) {
      return &d;
    }
  }
  return nullptr;
}

std::optional<SipLogin> Service::sip_login(std::string_view username) const {
  return resolve_sip_login(
      username, [this](std::string_view id) { return users_.contains(std::string(id)); },
      [this](std::string_view user, std::string_view device) {
        const store::DeviceRecord* d = find_device(user, device);
        return d != nullptr && !d->sip_password.empty();
      });
}

std::optional<SipCredentials> Service::sip_credentials(std::string_view username) const {
  auto login = sip_login(username);
  if (!login) {
    return std::nullopt;
  }
  SipCredentials out{login->user, login->device, {}};
  if (login->device.empty()) {
    out.password = find_user(login->user)->sip_password;
  } else {
    out.password = find_device(login->user, login->device)->sip_password;
  }
  return out;
}

std::optional<Error> Service::device_login_conflict(const store::DeviceRecord& device) const {
  if (device.sip_password.empty()) {
    return std::nullopt;  // no secret: the device has no SIP username to collide
  }
  const std::string username = device_sip_username(device.user, device.device);
  std::optional<SipLogin> login = sip_login(username);
  if (const auto pending = pending_device_logins_.find(username);
      !login && pending != pending_device_logins_.end()) {
    login = pending->second;
  }
  if (!login || (login->user == device.user && login->device == device.device)) {
    return std::nullopt;
  }
  return Error::conflict(
      login->device.empty()
          ? fmt::format("sip_password: the SIP username {} is user {}", username, login->user)
          : fmt::format("sip_password: the SIP username {} is device {} of user {}", username,
                        login->device, login->user));
}

std::optional<Error> Service::user_login_conflict(const std::string& id) const {
  std::optional<SipLogin> login = sip_login(id);
  if (const auto pending = pending_device_logins_.find(id);
      !login && pending != pending_device_logins_.end()) {
    login = pending->second;
  }
  if (!login || login->device.empty()) {
    return std::nullopt;
  }
  return Error::conflict(fmt::format("id: {} is the SIP username of device {} of user {}", id,
                                     login->device, login->user));
}

void Service::list_states(const Principal&, const Params&, HttpRequest&, Respond& respond) {
  json::array out;
  for (const core::StateDefinition& s : engine_.list_states()) {
    out.push_back(state_json(s, s.id == default_state_));
  }
  respond(json_response(200, json::object{{"states", std::move(out)}}));
}

void Service::put_state(const Principal&, const Params& params, HttpRequest& request,
                        Respond& respond) {
  auto body = decode_state(request.body, config_.limits);
  if (!body) {
    respond(error_response(body.error()));
    return;
  }
  if (auto problem = path_id_problem("state", params[0], body->id, config_.limits)) {
    respond(error_response(*problem));
    return;
  }
  core::StateDefinition state = core::definition_for_type(body->type);
  state.id = params[0];
  state.message = body->message;
  state.order = body->order;
  for (const core::StateDefinition& s : core::built_in_states()) {
    if (s.id == state.id) {
      respond(error_response(Error::conflict("state " + state.id + " is built in")));
      return;
    }
  }
  // One default at a time (the states module's "default", seed 002): the admin clears the old
  // one first, so no client ever sees two or none by accident.
  const bool was_default = default_state_ == state.id;
  const bool is_default = body->is_default.value_or(was_default);
  if (is_default && !was_default && !default_state_.empty()) {
    respond(error_response(Error::invalid_argument(
        "default: state " + default_state_ + " is the default; clear it there first")));
    return;
  }
  std::vector<store::Mutation> mutations{store::PutState{state}};
  if (is_default != was_default) {
    mutations.push_back(state_default_mutation(is_default ? state.id : ""));
  }
  commit(std::move(mutations), std::move(respond), [this, state, is_default, was_default] {
    auto put = engine_.put_state(state, now());
    if (!put) {
      return error_response(put.error());
    }
    if (is_default != was_default) {
      default_state_ = is_default ? state.id : "";
    }
    return json_response(200, state_json(state, is_default));
  });
}

store::Mutation Service::state_default_mutation(const std::string& id) {
  const std::string kind(kStateDefaultKind);
  if (id.empty()) {
    return store::DeleteDocument{kind, kind};
  }
  return store::PutDocument{{kind, kind, "", id}};
}

void Service::delete_state(const Principal&, const Params& params, HttpRequest&,
                           Respond& respond) {
  if (engine_.states().find(params[0]) == nullptr) {
    respond(error_response(Error::not_found("state " + params[0] + ": no such state")));
    return;
  }
  const std::string id = params[0];
  std::vector<store::Mutation> mutations{store::DeleteState{id}};
  if (default_state_ == id) {
    mutations.push_back(state_default_mutation(""));
  }
  commit(std::move(mutations), std::move(respond), [this, id] {
    auto removed = engine_.remove_state(id, now());
    if (!removed) {
      return error_response(removed.error());
    }
    if (default_state_ == id) {
      default_state_.clear();
    }
    return HttpResponse{204, ""};
  });
}

}  // namespace presenced::api
