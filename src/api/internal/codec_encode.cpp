// Responses and times: what the API writes. The decoders are in codec.cpp.

#include "api/internal/codec.h"

#include "api/internal/codec_json.h"
#include "core/mappings.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>

namespace presenced::api {
namespace {

namespace chrono = std::chrono;
namespace json = boost::json;

// RFC 3339 §5.6 has four-digit years; parse_time refuses what format_time could not write.
constexpr core::TimePoint kMinTime{chrono::sys_days{chrono::year{0} / 1 / 1}};
constexpr core::TimePoint kMaxTime{chrono::sys_days{chrono::year{9999} / 12 / 31} +
                                   chrono::days{1} - chrono::milliseconds{1}};
// The longest time we read: "+hh:mm" and nanoseconds are 35 bytes; more digits are noise.
constexpr std::size_t kMaxTimeText = 64;
constexpr std::size_t kTimeText = 24;  // "2026-11-23T15:00:00.000Z"

void put_digits(char* out, int width, int value) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

void write_time(core::TimePoint t, char (&out)[kTimeText]) {
  t = std::clamp(t, kMinTime, kMaxTime);
  const auto day = chrono::floor<chrono::days>(t);
  const chrono::year_month_day date{day};
  const chrono::hh_mm_ss clock{t - day};
  put_digits(out, 4, static_cast<int>(date.year()));
  out[4] = '-';
  put_digits(out + 5, 2, static_cast<int>(static_cast<unsigned>(date.month())));
  out[7] = '-';
  put_digits(out + 8, 2, static_cast<int>(static_cast<unsigned>(date.day())));
  out[10] = 'T';
  put_digits(out + 11, 2, static_cast<int>(clock.hours().count()));
  out[13] = ':';
  put_digits(out + 14, 2, static_cast<int>(clock.minutes().count()));
  out[16] = ':';
  put_digits(out + 17, 2, static_cast<int>(clock.seconds().count()));
  out[19] = '.';
  put_digits(out + 20, 3, static_cast<int>(clock.subseconds().count()));
  out[23] = 'Z';
}

// Reads RFC 3339 pieces left to right; every method consumes only on success.
class TimeScanner {
 public:
  explicit TimeScanner(std::string_view text) : text_(text) {}

  bool number(int width, int& value) {
    if (text_.size() < static_cast<std::size_t>(width)) {
      return false;
    }
    value = 0;
    for (int i = 0; i < width; ++i) {
      const char c = text_[static_cast<std::size_t>(i)];
      if (c < '0' || c > '9') {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    text_.remove_prefix(static_cast<std::size_t>(width));
    return true;
  }

  // RFC 3339 §5.6: "T" and "Z" may also be written in lower case.
  bool literal(char c) { return accept(c) || (c >= 'A' && c <= 'Z' && accept(c - 'A' + 'a')); }

  bool accept(char c) {
    if (text_.empty() || text_.front() != c) {
      return false;
    }
    text_.remove_prefix(1);
    return true;
  }

  bool done() const { return text_.empty(); }

 private:
  std::string_view text_;
};

// time-secfrac = "." 1*DIGIT; milliseconds kept, the rest truncated.
std::optional<chrono::milliseconds> parse_fraction(TimeScanner& in) {
  if (!in.accept('.')) {
    return chrono::milliseconds{0};
  }
  int digits = 0;
  int millis = 0;
  int digit = 0;
  while (in.number(1, digit)) {
    if (digits < 3) {
      millis = millis * 10 + digit;
    }
    ++digits;
  }
  if (digits == 0) {
    return std::nullopt;
  }
  for (; digits < 3; ++digits) {
    millis *= 10;
  }
  return chrono::milliseconds{millis};
}

// time-offset = "Z" / ("+" / "-") time-hour ":" time-minute
std::optional<chrono::minutes> parse_offset(TimeScanner& in) {
  if (in.literal('Z')) {
    return chrono::minutes{0};
  }
  const bool ahead = in.accept('+');
  if (!ahead && !in.accept('-')) {
    return std::nullopt;
  }
  int hours = 0;
  int minutes = 0;
  if (!in.number(2, hours) || !in.accept(':') || !in.number(2, minutes) || hours > 23 ||
      minutes > 59) {
    return std::nullopt;
  }
  const chrono::minutes offset{hours * 60 + minutes};
  return ahead ? offset : -offset;
}

json::string text(std::string_view value) {
  return codec::is_valid_utf8(value) ? json::string(value)
                                     : json::string(codec::to_valid_utf8(value));
}

json::string time_value(core::TimePoint t) {
  char buffer[kTimeText];
  write_time(t, buffer);
  return json::string(std::string_view(buffer, kTimeText));
}

json::object appointment_json(const core::Appointment& appointment) {
  json::object out;
  out.emplace("subject", text(appointment.subject));
  out.emplace("start", time_value(appointment.start));
  out.emplace("end", time_value(appointment.end));
  out.emplace("location", text(appointment.location));
  return out;
}

void add_member(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  codec::append_json_string(out, value);
}

void add_time(std::string& out, std::string_view key, core::TimePoint t) {
  char buffer[kTimeText];
  write_time(t, buffer);
  add_member(out, key, std::string_view(buffer, kTimeText));
}

void add_number(std::string& out, std::uint64_t value) {
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out.append(buffer, end);
}

void add_flags(std::string& out, core::Flags flags) {
  out += ",\"flags\":[";
  bool first = true;
  for (const core::Flag flag : core::kAllFlags) {  // flag_names' order, without its vector
    if (flags.has(flag)) {
      out += first ? "" : ",";
      codec::append_json_string(out, core::to_string(flag));
      first = false;
    }
  }
  out += ']';
}

void add_display(std::string& out, const core::Display& display) {
  out += ",\"display\":{\"color\":";
  codec::append_json_string(out, display.color);
  add_member(out, "icon", display.icon);
  out += '}';
}

void add_appointment(std::string& out, std::string_view key, const core::Appointment& appointment) {
  out += ",\"";
  out += key;
  out += "\":{\"subject\":";
  codec::append_json_string(out, appointment.subject);
  add_time(out, "start", appointment.start);
  add_time(out, "end", appointment.end);
  add_member(out, "location", appointment.location);
  out += '}';
}

// Teams' own presence beside ours (seed 001: the Teams icon).
void add_external(std::string& out, const core::Presence& presence) {
  if (presence.teams) {
    out += ",\"external\":{\"teams\":{\"availability\":\"";
    out += core::to_string(presence.teams->availability);
    out += "\",\"activity\":\"";
    out += core::to_string(presence.teams->activity);
    out += "\"}}";
  }
}

json::object external_json(const core::ExternalPresence& teams) {
  return json::object{{"teams", json::object{{"availability", core::to_string(teams.availability)},
                                             {"activity", core::to_string(teams.activity)}}}};
}

void add_explanation(json::object& out, const core::Presence& presence) {
  const core::Explanation& why = presence.explanation;
  out.emplace("explanation", json::object{{"layer", core::to_string(why.layer)},
                                          {"rule", text(why.rule)},
                                          {"detail", text(why.detail)}});
  json::array devices;
  for (const std::string& device : presence.busy_devices) {
    devices.emplace_back(text(device));
  }
  out.emplace("devices", std::move(devices));
}

}  // namespace

std::string format_time(core::TimePoint t) {
  char buffer[kTimeText];
  write_time(t, buffer);
  return std::string(buffer, kTimeText);
}

std::optional<core::TimePoint> parse_time(std::string_view text) {
  if (text.size() > kMaxTimeText) {
    return std::nullopt;
  }
  TimeScanner in(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!in.number(4, year) || !in.accept('-') || !in.number(2, month) || !in.accept('-') ||
      !in.number(2, day) || !in.literal('T') || !in.number(2, hour) || !in.accept(':') ||
      !in.number(2, minute) || !in.accept(':') || !in.number(2, second)) {
    return std::nullopt;
  }
  const chrono::year_month_day date{chrono::year{year}, chrono::month{static_cast<unsigned>(month)},
                                    chrono::day{static_cast<unsigned>(day)}};
  // Second 60 is refused: Unix time, and so system_clock, has no leap seconds.
  if (!date.ok() || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const auto fraction = parse_fraction(in);
  const auto offset = parse_offset(in);
  if (!fraction || !offset || !in.done()) {
    return std::nullopt;
  }
  const core::TimePoint t = core::TimePoint{chrono::sys_days{date}} + chrono::hours{hour} +
                            chrono::minutes{minute} + chrono::seconds{second} + *fraction - *offset;
  if (t < kMinTime || t > kMaxTime) {
    return std::nullopt;
  }
  return t;
}

json::object presence_json(std::string_view user, const core::Presence& presence,
                           std::uint64_t sequence, bool explain) {
  json::object out;
  out.reserve(explain ? 15 : 13);
  out.emplace("user", text(user));
  out.emplace("availability", core::to_string(presence.availability));
  out.emplace("activity", core::to_string(presence.activity));
  if (!presence.note.empty()) {
    out.emplace("note", text(presence.note));
  }
  if (presence.until) {
    out.emplace("until", time_value(*presence.until));
  }
  json::array flags;
  for (const std::string_view name : core::flag_names(presence.flags)) {
    flags.emplace_back(name);
  }
  out.emplace("flags", std::move(flags));
  out.emplace("sequence", sequence);
  if (!presence.state_id.empty()) {
    out.emplace("state", text(presence.state_id));
  }
  if (presence.reachability != core::Reachability::Normal) {
    out.emplace("reachability", core::to_string(presence.reachability));
  }
  const core::Display display = core::to_display(presence);
  out.emplace("display", json::object{{"color", display.color}, {"icon", display.icon}});
  if (presence.current_appointment) {
    out.emplace("appointment", appointment_json(*presence.current_appointment));
  }
  if (presence.teams) {
    out.emplace("external", external_json(*presence.teams));
  }
  if (presence.next_appointment) {
    out.emplace("next_appointment", appointment_json(*presence.next_appointment));
  }
  if (explain) {
    add_explanation(out, presence);
  }
  return out;
}

// The same members as presence_json(explain=false), written straight into one string: this runs
// once per change and visibility level and goes to every watcher.
std::string presence_event(std::string_view user, const core::Presence& presence,
                           std::uint64_t sequence) {
  std::string out;
  std::size_t estimate = 256 + user.size() + presence.note.size() + presence.state_id.size();
  if (presence.current_appointment) {
    estimate += 96 + presence.current_appointment->subject.size() +
                presence.current_appointment->location.size();
  }
  if (presence.next_appointment) {
    estimate += 96 + presence.next_appointment->subject.size() +
                presence.next_appointment->location.size();
  }
  out.reserve(estimate);
  out += "{\"type\":\"presence\",\"user\":";
  codec::append_json_string(out, user);
  add_member(out, "availability", core::to_string(presence.availability));
  add_member(out, "activity", core::to_string(presence.activity));
  if (!presence.note.empty()) {
    add_member(out, "note", presence.note);
  }
  if (presence.until) {
    add_time(out, "until", *presence.until);
  }
  add_flags(out, presence.flags);
  out += ",\"sequence\":";
  add_number(out, sequence);
  if (!presence.state_id.empty()) {
    add_member(out, "state", presence.state_id);
  }
  if (presence.reachability != core::Reachability::Normal) {
    add_member(out, "reachability", core::to_string(presence.reachability));
  }
  add_display(out, core::to_display(presence));
  if (presence.current_appointment) {
    add_appointment(out, "appointment", *presence.current_appointment);
  }
  if (presence.next_appointment) {
    add_appointment(out, "next_appointment", *presence.next_appointment);
  }
  add_external(out, presence);
  out += '}';
  return out;
}

std::string error_json(core::ErrorCode code, std::string_view message) {
  std::string out;
  out.reserve(48 + message.size());
  out += "{\"error\":{\"code\":";
  codec::append_json_string(out, error_code_name(code));
  add_member(out, "message", message);
  out += "}}";
  return out;
}

std::string_view error_code_name(core::ErrorCode code) { return core::to_string(code); }

int http_status(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::InvalidArgument: return 400;
    case core::ErrorCode::NotFound: return 404;
    case core::ErrorCode::Unauthenticated: return 401;
    case core::ErrorCode::PermissionDenied: return 403;
    case core::ErrorCode::Conflict: return 409;
    case core::ErrorCode::FailedPrecondition: return 412;
    case core::ErrorCode::ResourceExhausted: return 429;
    case core::ErrorCode::Unavailable: return 503;
    case core::ErrorCode::Internal: return 500;
  }
  return 500;
}

json::object user_json(const store::UserRecord& user) {
  json::array groups;
  for (const std::string& group : user.groups) {
    groups.emplace_back(group);
  }
  const core::UserSettings& settings = user.settings;
  return json::object{
      {"id", user.id},
      {"display_name", text(user.display_name)},
      {"role", to_string(user.role)},
      {"groups", std::move(groups)},
      {"has_sip_password", !user.sip_password.empty()},
      {"settings", json::object{{"idle_minutes", settings.idle_after.count()},
                                {"login_state", settings.login_state},
                                {"logout_state", settings.logout_state}}},
  };
}

json::object device_json(const store::DeviceRecord& device) {
  return json::object{{"device", device.device},
                      {"label", device.label},
                      {"has_sip_password", !device.sip_password.empty()}};
}

json::object state_json(const core::StateDefinition& state, bool is_default) {
  return json::object{
      {"id", state.id},
      {"type", core::to_string(state.type)},
      {"message", text(state.message)},
      {"availability", core::to_string(state.availability)},
      {"activity", core::to_string(state.activity)},
      {"built_in", state.built_in},
      {"order", state.order},
      {"default", is_default},
  };
}

json::object decision_json(const routing::Decision& decision) {
  // Devices and find-me numbers in one list, earliest first. They are the callee's: only queue
  // decisions, which ring several users, name the user of each target.
  struct Entry {
    int delay_s;
    json::object target;
  };
  std::vector<Entry> entries;
  for (const routing::Target& target : decision.targets) {
    entries.push_back(
        {target.delay_s, json::object{{"device", text(target.device)}, {"delay_s", target.delay_s}}});
  }
  for (const routing::FindMeStep& step : decision.find_me) {
    entries.push_back(
        {step.delay_s, json::object{{"number", text(step.destination)}, {"delay_s", step.delay_s}}});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.delay_s < b.delay_s; });
  json::array targets;
  for (Entry& entry : entries) {
    targets.emplace_back(std::move(entry.target));
  }
  json::object out;
  out.emplace("action", routing::to_string(decision.action));
  out.emplace("targets", std::move(targets));
  if (!decision.destination.empty()) {
    out.emplace("destination", text(decision.destination));
  }
  out.emplace("reason", decision.reason);
  if (decision.no_answer) {
    const routing::NoAnswer& then = *decision.no_answer;
    json::object no_answer{{"after_s", then.after_s},
                           {"action", routing::to_string(then.action)},
                           {"reason", then.reason}};
    if (!then.destination.empty()) {
      no_answer.emplace("destination", text(then.destination));
    }
    out.emplace("no_answer", std::move(no_answer));
  }
  // Which number a forwarded call shows: only said where something is forwarded.
  const bool forwards =
      decision.action == routing::Action::Forward ||
      (decision.no_answer && decision.no_answer->action == routing::Action::Forward);
  if (forwards) {
    out.emplace("caller_id", decision.show_original_caller ? "caller" : "callee");
  }
  return out;
}

json::object queue_decision_json(const routing::QueueDecision& decision,
                                 const std::vector<routing::AgentTarget>& targets) {
  json::array devices;
  for (const routing::AgentTarget& t : targets) {
    devices.emplace_back(json::object{{"device", text(t.target.device)},
                                      {"delay_s", t.target.delay_s},
                                      {"user", text(t.user)}});
  }
  json::array agents;
  for (const std::string& agent : decision.agents) {
    agents.emplace_back(json::string(text(agent)));
  }
  // Nobody may take the call: busy, and the PBX may hold the caller in its own queue instead.
  const routing::Action action =
      decision.agents.empty() ? routing::Action::Busy : routing::Action::Ring;
  return {{"action", routing::to_string(action)},
          {"targets", std::move(devices)},
          {"agents", std::move(agents)},
          {"reason", decision.reason}};
}

}  // namespace presenced::api
