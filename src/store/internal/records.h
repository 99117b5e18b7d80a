#pragma once

// What both backends share when they turn rows into records: times as integer milliseconds
// since the epoch, enums as their integer values, and one decoder per record over a row whose
// columns come in the order each decoder names. A Row has text(c), int64(c),
// optional_int64(c) and boolean(c).

#include "store/store.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

namespace presenced::store::records {

inline std::int64_t millis(TimePoint t) { return t.time_since_epoch().count(); }
inline TimePoint from_millis(std::int64_t ms) { return TimePoint(core::Duration(ms)); }
inline std::optional<std::int64_t> millis(const std::optional<TimePoint>& t) {
  return t ? std::optional(millis(*t)) : std::nullopt;
}
inline std::optional<TimePoint> from_millis(std::optional<std::int64_t> ms) {
  return ms ? std::optional(from_millis(*ms)) : std::nullopt;
}
template <typename E>
std::int64_t as_int(E value) {
  return static_cast<std::int64_t>(value);
}

// id, display_name, role, password_hash, sip_password, idle_minutes, login_state,
// logout_state, dnd_protection (groups are read apart)
template <typename Row>
UserRecord user(const Row& q) {
  UserRecord u;
  u.id = q.text(0);
  u.display_name = q.text(1);
  u.role = static_cast<Role>(q.int64(2));
  u.password_hash = q.text(3);
  u.sip_password = q.text(4);
  u.settings.idle_after = std::chrono::minutes(q.int64(5));
  u.settings.login_state = q.text(6);
  u.settings.logout_state = q.text(7);
  u.settings.dnd_protection = q.boolean(8);
  return u;
}

// id, type, message, availability, activity, ord
template <typename Row>
core::StateDefinition state(const Row& q) {
  core::StateDefinition d;
  d.id = q.text(0);
  d.type = static_cast<core::StateType>(q.int64(1));
  d.message = q.text(2);
  d.availability = static_cast<core::Availability>(q.int64(3));
  d.activity = static_cast<core::Activity>(q.int64(4));
  d.order = static_cast<int>(q.int64(5));
  return d;
}

// owner, watcher, level
template <typename Row>
VisibilityRecord visibility(const Row& q) {
  return {q.text(0), q.text(1), static_cast<core::VisibilityLevel>(q.int64(2))};
}

// hash, user, expires_at, label
template <typename Row>
TokenRecord token(const Row& q) {
  return {q.text(0), q.text(1), from_millis(q.int64(2)), q.text(3)};
}

// user, state, note, from_ms, until_ms, reachability, set_at
template <typename Row>
ManualRecord manual(const Row& q) {
  core::ManualLayer m;
  m.state_id = q.text(1);
  m.note = q.text(2);
  m.from = from_millis(q.optional_int64(3));
  m.until = from_millis(q.optional_int64(4));
  m.reachability = static_cast<core::Reachability>(q.int64(5));
  m.set_at = from_millis(q.int64(6));
  return {q.text(0), std::move(m)};
}

// user, device, call_id, state, direction, started_at, updated_at
template <typename Row>
CallRecord call(const Row& q) {
  core::Call c;
  c.device = q.text(1);
  c.call_id = q.text(2);
  c.state = static_cast<core::CallState>(q.int64(3));
  c.direction = static_cast<core::CallDirection>(q.int64(4));
  c.started_at = from_millis(q.int64(5));
  c.updated_at = from_millis(q.int64(6));
  return {q.text(0), std::move(c)};
}

// user, id, subject, location, start_ms, end_ms, kind, private: appended to the user's
// calendar, rows sorted by user
template <typename Row>
void add_appointment(const Row& q, std::vector<CalendarRecord>& calendars) {
  std::string user = q.text(0);
  if (calendars.empty() || calendars.back().user != user) {
    calendars.push_back({std::move(user), {}});
  }
  core::Appointment a;
  a.id = q.text(1);
  a.subject = q.text(2);
  a.location = q.text(3);
  a.start = from_millis(q.int64(4));
  a.end = from_millis(q.int64(5));
  a.kind = static_cast<core::CalendarKind>(q.int64(6));
  a.is_private = q.boolean(7);
  calendars.back().appointments.push_back(std::move(a));
}

// user, group: memberships sorted by user (byte order, as users are), merged into `users`
template <typename Row>
void add_membership(const Row& q, std::vector<UserRecord>& users, std::size_t& cursor) {
  const std::string user = q.text(0);
  while (cursor < users.size() && users[cursor].id < user) {
    ++cursor;
  }
  if (cursor < users.size() && users[cursor].id == user) {
    users[cursor].groups.push_back(q.text(1));
  }
}

}  // namespace presenced::store::records
