#include "core/visibility.h"

#include <algorithm>
#include <array>

namespace presenced::core {
namespace {

constexpr std::array<std::string_view, kVisibilityLevels> kLevelNames = {
    "blocked", "public", "business", "team", "personal"};

// Flags a Public watcher may see: what the phone and the PC do, not the note or the calendar
// (ProCall rights table: appointments need Business, the note Business inside the company).
constexpr std::uint16_t kPublicFlags =
    static_cast<std::uint16_t>(Flag::Ringing) | static_cast<std::uint16_t>(Flag::Call) |
    static_cast<std::uint16_t>(Flag::Conferencing) | static_cast<std::uint16_t>(Flag::Idle) |
    static_cast<std::uint16_t>(Flag::Offline) | static_cast<std::uint16_t>(Flag::OutOfOffice);

// Private appointments show only as "appointment" below Personal (ProCall rights table).
Appointment visible_appointment(const Appointment& appointment, VisibilityLevel level) {
  if (!appointment.is_private || level == VisibilityLevel::Personal) {
    return appointment;
  }
  Appointment masked;
  masked.subject = "appointment";
  masked.start = appointment.start;
  masked.end = appointment.end;
  masked.kind = appointment.kind;
  masked.is_private = true;
  return masked;
}

}  // namespace

VisibilityLevel effective_level(std::optional<VisibilityLevel> pair_level, bool is_self,
                                const VisibilityPolicy& policy) {
  if (is_self) {
    return VisibilityLevel::Personal;
  }
  return std::max(pair_level.value_or(policy.default_level), policy.minimum);
}

Presence project(const Presence& presence, VisibilityLevel level) {
  Presence out;
  if (level == VisibilityLevel::Blocked) {
    // Blocked watchers learn nothing, not even that the user is offline (seed 000: grey).
    out.availability = Availability::PresenceUnknown;
    out.activity = Activity::PresenceUnknown;
    return out;
  }
  out.availability = presence.availability;
  out.activity = presence.activity;
  out.teams = presence.teams;  // Teams shows it to everyone in the tenant anyway
  if (level == VisibilityLevel::Public) {
    out.flags = Flags(presence.flags.bits() & kPublicFlags);
    return out;
  }
  out.flags = presence.flags;
  out.state_id = presence.state_id;
  out.note = presence.note;
  out.until = presence.until;
  out.reachability = presence.reachability;
  if (presence.current_appointment) {
    out.current_appointment = visible_appointment(*presence.current_appointment, level);
  }
  if (presence.next_appointment) {
    out.next_appointment = visible_appointment(*presence.next_appointment, level);
  }
  if (level >= VisibilityLevel::Team) {
    out.busy_devices = presence.busy_devices;
  }
  if (level == VisibilityLevel::Personal) {
    out.explanation = presence.explanation;
  }
  return out;
}

std::string_view to_string(VisibilityLevel level) {
  return kLevelNames[static_cast<std::size_t>(level)];
}

std::optional<VisibilityLevel> parse_visibility_level(std::string_view text) {
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == text) {
      return static_cast<VisibilityLevel>(i);
    }
  }
  return std::nullopt;
}

}  // namespace presenced::core
