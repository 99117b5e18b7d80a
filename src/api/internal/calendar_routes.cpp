// Calendar sources (docs/calendar.md): where the calendar connector reads each user's calendar,
// kept as "calendar.source" documents owned by the user, and the connector's reports, which
// store a changed layer before applying it, as PUT .../presence/calendar does.

#include "api/internal/codec.h"
#include "api/internal/codec_json.h"
#include "api/internal/service.h"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace presenced::api {
namespace {

namespace json = boost::json;
using codec::FieldReader;
using codec::Need;
using core::Error;

constexpr std::size_t kUrlBytes = 2048;

json::object source_json(const CalendarSource& source) {
  return {{"mode", source.mode},
          {"url", source.url},
          {"username", source.username},
          {"discover", source.discover}};
}

}  // namespace

Result<CalendarSource> decode_calendar_source(std::string_view body, const Limits& limits,
                                              const CalendarSource* previous) {
  return codec::decode<CalendarSource>(body, limits, [&](FieldReader& in) {
    CalendarSource out;
    out.mode = in.text("mode", 16, Need::Optional).value_or("caldav");
    out.url = in.text("url", kUrlBytes, Need::Required).value_or("");
    out.username = in.text("username", limits.name_bytes, Need::Optional).value_or("");
    auto password = in.text("password", limits.password_bytes, Need::Optional);
    out.discover = in.boolean("discover").value_or(false);
    if (!in.ok()) {
      return out;
    }
    if (out.mode != "caldav" && out.mode != "ics") {
      in.fail("mode", fmt::format("\"{}\" is not one of caldav, ics", out.mode));
    } else if (!out.url.starts_with("http://") && !out.url.starts_with("https://")) {
      in.fail("url", "must be an http:// or https:// URL");
    } else if (out.discover && out.mode == "ics") {
      in.fail("discover", "only for mode caldav");
    }
    if (password) {
      out.password = std::move(*password);
    } else if (previous != nullptr && previous->username == out.username) {
      out.password = previous->password;
    }
    return out;
  });
}

std::string calendar_source_document(const CalendarSource& source) {
  json::object o = source_json(source);
  o["password"] = source.password;
  return json::serialize(o);
}

void Service::get_calendar_source(const Principal& principal, const Params& params, HttpRequest&,
                                  Respond& respond) {
  if (auto allowed = require_self_or_admin(principal, params[0]); !allowed) {
    respond(error_response(allowed.error()));
    return;
  }
  auto it = calendar_sources_.find(params[0]);
  if (it == calendar_sources_.end()) {
    respond(error_response(Error::not_found("no calendar source for " + params[0])));
    return;
  }
  json::object out = source_json(it->second);
  out["password_set"] = !it->second.password.empty();
  json::object status;
  if (auto s = calendar_status_.find(params[0]); s != calendar_status_.end()) {
    status["ok"] = s->second.ok;
    status["error"] = s->second.error;
    if (s->second.last_sync) status["last_sync"] = format_time(*s->second.last_sync);
    if (s->second.last_success) status["last_success"] = format_time(*s->second.last_success);
  }
  out["status"] = std::move(status);
  respond(json_response(200, out));
}

void Service::put_calendar_source(const Principal& principal, const Params& params,
                                  HttpRequest& request, Respond& respond) {
  auto user = target_user(params[0]);
  auto allowed = require_self_or_admin(principal, params[0]);
  if (!user || !allowed) {
    respond(error_response(!user ? user.error() : allowed.error()));
    return;
  }
  auto previous = calendar_sources_.find(params[0]);
  auto source = decode_calendar_source(
      request.body, config_.limits,
      previous == calendar_sources_.end() ? nullptr : &previous->second);
  if (!source) {
    respond(error_response(source.error()));
    return;
  }
  const std::string id = params[0];
  commit({store::PutDocument{
             {std::string(kCalendarSourceKind), id, id, calendar_source_document(*source)}}},
         std::move(respond), [this, id, source = *source] {
           if (!engine_.find(id)) {
             return error_response(Error::not_found("the user was deleted meanwhile"));
           }
           calendar_sources_[id] = source;
           calendar_status_.erase(id);
           if (calendar_listener_) {
             calendar_listener_(id, source);
           }
           json::object out = source_json(source);
           out["password_set"] = !source.password.empty();
           return json_response(200, out);
         });
}

void Service::delete_calendar_source(const Principal& principal, const Params& params,
                                     HttpRequest&, Respond& respond) {
  if (auto allowed = require_self_or_admin(principal, params[0]); !allowed) {
    respond(error_response(allowed.error()));
    return;
  }
  if (!calendar_sources_.contains(params[0])) {
    respond(error_response(Error::not_found("no calendar source for " + params[0])));
    return;
  }
  const std::string id = params[0];
  // The calendar goes with its source: no appointment of a source nobody reads stays.
  commit({store::DeleteDocument{std::string(kCalendarSourceKind), id},
          store::PutCalendar{{id, {}}}},
         std::move(respond), [this, id] {
           forget_calendar_source(id);
           if (auto user = engine_.find(id)) {
             engine_.set_calendar(*user, core::CalendarLayer{}, now());
           }
           return HttpResponse{204, ""};
         });
}

void Service::forget_calendar_source(const std::string& user) {
  calendar_status_.erase(user);
  if (calendar_sources_.erase(user) > 0 && calendar_listener_) {
    calendar_listener_(user, std::nullopt);
  }
}

void Service::watch_calendar_sources(CalendarSourceListener listener) {
  calendar_listener_ = std::move(listener);
  for (const auto& [user, source] : calendar_sources_) {
    calendar_listener_(user, source);
  }
}

void Service::report_calendar(CalendarReport report) {
  auto user = engine_.find(report.user);
  if (!user || !calendar_sources_.contains(report.user)) {
    return;  // removed while the sync ran
  }
  CalendarStatus& status = calendar_status_[report.user];
  status.ok = report.ok;
  status.error = report.error;
  status.last_sync = report.at;
  if (report.ok) {
    status.last_success = report.at;
  }
  if (!report.layer) {
    return;
  }
  const std::string id = report.user;
  core::CalendarLayer layer = std::move(*report.layer);
  store::Mutation put = store::PutCalendar{{id, layer.appointments}};
  store_.submit({std::move(put)}, [this, id, layer = std::move(layer)](Result<void> result) mutable {
    post_([this, id, layer = std::move(layer), ok = result.has_value()]() mutable {
      if (!ok) {
        ++metrics_.store_failures;
        spdlog::error("calendar {}: store commit failed; the next sync tries again", id);
        return;
      }
      ++metrics_.store_commits;
      if (auto target = engine_.find(id); target && calendar_sources_.contains(id)) {
        engine_.set_calendar(*target, std::move(layer), now());
        share(*target, core::Layer::Calendar);  // cluster mode: this node synced it for all
      }
    });
  });
}

}  // namespace presenced::api
