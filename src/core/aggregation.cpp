#include "core/aggregation.h"

#include <algorithm>
#include <string>

namespace presenced::core {
namespace {

// Collects the earliest future instant at which the result can change by itself.
class NextChange {
 public:
  explicit NextChange(TimePoint now) : now_(now) {}
  void consider(TimePoint t) {
    if (t > now_ && (!next_ || t < *next_)) {
      next_ = t;
    }
  }
  std::optional<TimePoint> value() const { return next_; }

 private:
  TimePoint now_;
  std::optional<TimePoint> next_;
};

struct ManualInForce {
  const ManualLayer* layer = nullptr;
  const StateDefinition* state = nullptr;
};

ManualInForce manual_in_force(const Layers& layers, const StateCatalog& states, TimePoint now,
                              NextChange& next) {
  if (!layers.manual) {
    return {};
  }
  const ManualLayer& manual = *layers.manual;
  if (manual.from && *manual.from > now) {
    next.consider(*manual.from);
    return {};
  }
  if (manual.until && *manual.until <= now) {
    return {};
  }
  if (manual.until) {
    next.consider(*manual.until);
  }
  const StateDefinition* state = states.find(manual.state_id);
  if (state == nullptr) {
    return {};  // an admin deleted the state: the layer no longer says anything
  }
  return {&manual, state};
}

struct Published {
  const Publication* newest = nullptr;  // the live one that speaks and was published last
  bool online = false;                  // a live open one: a signed-in client
};

Published live_publications(const PublishedLayer& layer, TimePoint now, NextChange& next) {
  Published out;
  for (const Publication& p : layer.publications) {
    if (p.expires_at <= now) {
      continue;
    }
    next.consider(p.expires_at);
    out.online = out.online || p.open;
    if (p.speaks() && (out.newest == nullptr || p.set_at >= out.newest->set_at)) {
      out.newest = &p;
    }
  }
  return out;
}

// The user's own choice in force: the manual state or what a SIP client published, whichever
// was made last (a phone's "away" key is a choice like the web client's; on a tie the manual
// state wins).
struct Choice {
  Layer layer = Layer::None;
  Availability availability = Availability::Available;
  Activity activity = Activity::Available;
  TimePoint set_at{};
  const ManualLayer* manual = nullptr;       // layer Manual
  const StateDefinition* state = nullptr;    // layer Manual
  const Publication* publication = nullptr;  // layer Sip

  bool made() const { return layer != Layer::None; }
};

Choice choose(const ManualInForce& manual, const Published& published) {
  const Publication* p = published.newest;
  if (p != nullptr && (manual.state == nullptr || p->set_at > manual.layer->set_at)) {
    return {Layer::Sip, p->availability, p->activity, p->set_at, nullptr, nullptr, p};
  }
  if (manual.state != nullptr) {
    return {Layer::Manual, manual.state->availability, manual.state->activity,
            manual.layer->set_at, manual.layer, manual.state, nullptr};
  }
  return {};
}

// A system event that is not "available": it overrides a manual state set before it.
struct SystemEvent {
  Availability availability;
  Activity activity;
  TimePoint since;
  Layer layer;
  std::string detail;
};

struct Telephony {
  bool ringing = false;
  bool in_call = false;
  TimePoint latest_start{};
  std::vector<std::string> devices;
  std::string detail;       // the live call that started last
  std::string call_detail;  // the connected or held call that started last
};

std::string call_detail(const Call& call) {
  return std::string(call.state == CallState::Ringing ? "ringing on "
                     : call.state == CallState::Held  ? "call on hold on "
                                                      : "on a call on ") +
         call.device;
}

Telephony live_calls(const TelephonyLayer& layer, const RuleConfig& rules, TimePoint now,
                     NextChange& next) {
  Telephony t;
  TimePoint latest_call_start{};
  for (const Call& call : layer.calls) {
    if (call.state == CallState::Ended) {
      continue;
    }
    // A call that stops getting events lapses: no lamp stays on ringing for days.
    const Duration lease =
        call.state == CallState::Ringing ? rules.ringing_lease : rules.call_lease;
    const TimePoint expires = call.updated_at + lease;
    if (expires <= now) {
      continue;
    }
    next.consider(expires);
    if (call.state == CallState::Ringing) {
      t.ringing = true;
    } else {
      if (!t.in_call || call.started_at >= latest_call_start) {
        latest_call_start = call.started_at;
        t.call_detail = call_detail(call);
      }
      t.in_call = true;
    }
    if (call.started_at >= t.latest_start) {
      t.latest_start = call.started_at;
      t.detail = call_detail(call);
    }
    t.devices.push_back(call.device);
  }
  std::sort(t.devices.begin(), t.devices.end());
  t.devices.erase(std::unique(t.devices.begin(), t.devices.end()), t.devices.end());
  return t;
}

struct Calendar {
  const Appointment* meeting = nullptr;  // busy (or tentative, if busy) now
  const Appointment* tentative = nullptr;
  const Appointment* out_of_office = nullptr;
  const Appointment* next = nullptr;  // the earliest still to start
};

Calendar live_appointments(const CalendarLayer& layer, const RuleConfig& rules, TimePoint now,
                           NextChange& next) {
  Calendar c;
  for (const Appointment& a : layer.appointments) {
    if (a.kind == CalendarKind::Free || a.end <= now) {
      continue;
    }
    if (a.start > now) {
      next.consider(a.start);
      if (c.next == nullptr || a.start < c.next->start) {
        c.next = &a;
      }
      continue;
    }
    next.consider(a.end);
    const bool busy =
        a.kind == CalendarKind::Busy || (a.kind == CalendarKind::Tentative && rules.tentative_is_busy);
    const Appointment*& slot = busy                                  ? c.meeting
                               : a.kind == CalendarKind::Tentative ? c.tentative
                                                                   : c.out_of_office;
    // The appointment that started last is the current one.
    if (slot == nullptr || a.start > slot->start) {
      slot = &a;
    }
  }
  return c;
}

struct Sessions {
  bool logged_in = false;
  bool idle = false;
};

// Idle when every live session is locked or has had no input for `idle_after` (seed 000:
// "Inactive" after 5 minutes by default, or at once on screen lock).
Sessions live_sessions(const SessionLayer& layer, const UserSettings& settings, TimePoint now,
                       NextChange& next) {
  Sessions s;
  bool all_idle = true;
  for (const Session& session : layer.sessions) {
    if (session.lease_until && *session.lease_until <= now) {
      continue;
    }
    if (session.lease_until) {
      next.consider(*session.lease_until);
    }
    s.logged_in = true;
    switch (session.input) {
      case InputState::Active:
        all_idle = false;
        break;
      case InputState::Locked:
        break;
      case InputState::Idle: {
        const TimePoint idle_at = session.input_since + settings.idle_after;
        if (idle_at > now) {
          all_idle = false;
          next.consider(idle_at);
        }
        break;
      }
    }
  }
  s.idle = s.logged_in && all_idle;
  return s;
}

struct Teams {
  TeamsEffect effect = TeamsEffect::None;
  const TeamsLayer* layer = nullptr;
};

Teams teams_in_force(const Layers& layers) {
  if (!layers.teams) {
    return {};
  }
  return {teams_effect(*layers.teams), &*layers.teams};
}

void set_base(Presence& p, Availability availability, Activity activity, Layer layer,
              std::string rule, std::string detail) {
  p.availability = availability;
  p.activity = activity;
  p.explanation = {layer, std::move(rule), std::move(detail)};
}

void apply_idle(Presence& p) {
  p.flags.set(Flag::Idle);
  if (p.availability == Availability::Available) {
    p.availability = Availability::AvailableIdle;
    p.activity = Activity::Inactive;
  } else if (p.availability == Availability::Busy) {
    p.availability = Availability::BusyIdle;
  }
}

// A remote presentity shows what its server says, or unknown (offline, grey) until it says
// anything; no local rule applies to it.
Presence remote_presence(const RemotePresence& remote) {
  Presence p;
  if (!remote.known) {
    set_base(p, Availability::Offline, Activity::Offline, Layer::Remote, "remote_unknown",
             "no answer from " + remote.address);
  } else {
    set_base(p, remote.availability, remote.activity, Layer::Remote, "remote_presence",
             "reported by " + remote.address);
    p.note = remote.note;
  }
  if (p.availability == Availability::Offline) {
    p.flags.set(Flag::Offline);
  }
  if (!p.note.empty()) {
    p.flags.set(Flag::Note);
  }
  return p;
}

}  // namespace

Aggregated aggregate(const Layers& layers, const UserSettings& settings,
                     const StateCatalog& states, const RuleConfig& rules, TimePoint now) {
  if (layers.remote) {
    return {remote_presence(*layers.remote), std::nullopt};
  }
  NextChange next(now);
  const ManualInForce manual = manual_in_force(layers, states, now, next);
  const Published published = live_publications(layers.published, now, next);
  const Choice choice = choose(manual, published);
  const Telephony telephony = live_calls(layers.telephony, rules, now, next);
  const Calendar calendar = live_appointments(layers.calendar, rules, now, next);
  Sessions sessions = live_sessions(layers.sessions, settings, now, next);
  if (published.online) {
    // An online SIP device is a signed-in client with input (no idle report from it).
    sessions = {true, false};
  }

  const Teams teams = teams_in_force(layers);
  const bool teams_call = teams.effect == TeamsEffect::InACall;

  Presence p;
  std::optional<SystemEvent> system;
  if (telephony.ringing || telephony.in_call) {
    // Any device, ringing or connected: Busy/InACall (seed 003: busy on a call on any device).
    system = SystemEvent{Availability::Busy, Activity::InACall, telephony.latest_start,
                         Layer::Telephony, telephony.detail};
  } else if (teams_call) {
    // Seed 001: real-time communication in Teams changes our presence like our own calls.
    system = SystemEvent{Availability::Busy, Activity::InACall, teams.layer->since, Layer::Teams,
                         "in a Teams call"};
  } else if (calendar.meeting != nullptr) {
    system = SystemEvent{Availability::Busy, Activity::InAMeeting, calendar.meeting->start,
                         Layer::Calendar, "in an appointment"};
  }

  const bool by_user = choice.layer == Layer::Manual;
  if (choice.made() && choice.availability == Availability::Offline) {
    // "Appear offline" hides everything else, calls included (seed 000: grey for watchers).
    set_base(p, Availability::Offline, choice.activity, choice.layer, "appear_offline",
             "appears offline");
  } else if (choice.made() && choice.availability == Availability::DoNotDisturb) {
    // DND is never overridden by a call or a meeting (seed 001, seed 004).
    set_base(p, Availability::DoNotDisturb, choice.activity, choice.layer, "dnd_not_overridden",
             by_user ? "do not disturb set by the user" : "do not disturb published over SIP");
  } else if (teams.effect == TeamsEffect::DoNotDisturb &&
             (!choice.made() || choice.set_at < teams.layer->since)) {
    // Seed 001: DND and Presenting in Teams are DND here; a later choice of the user wins.
    set_base(p, Availability::DoNotDisturb,
             teams.layer->activity == Activity::Presenting ? Activity::Presenting
                                                           : Activity::DoNotDisturb,
             Layer::Teams, "teams_dnd", "do not disturb in Teams");
  } else if (settings.dnd_protection && (telephony.in_call || teams_call)) {
    // Seed 001: "Do not disturb call protection controls presence status": the protection
    // turns callers away during the call whatever state the user picked, so the presence says
    // so; it is derived from the call (ours or a Teams call) and goes with it.
    set_base(p, Availability::DoNotDisturb, Activity::InACall,
             telephony.in_call ? Layer::Telephony : Layer::Teams, "call_protection",
             "call protection: " + (telephony.in_call ? telephony.call_detail : "in a Teams call"));
  } else if (choice.made() && (!system || choice.set_at >= system->since)) {
    if (by_user) {
      set_base(p, choice.availability, choice.activity, Layer::Manual, "manual",
               "set by the user: " + choice.state->id);
    } else {
      set_base(p, choice.availability, choice.activity, Layer::Sip, "sip_publication",
               "published by a SIP client");
    }
  } else if (system) {
    // ProCall: a manual state is overridden by a later system event other than "available".
    set_base(p, system->availability, system->activity, system->layer,
             choice.made()                       ? "system_overrides_manual"
             : system->layer == Layer::Telephony ? "call"
             : system->layer == Layer::Teams     ? "teams_call"
                                                 : "appointment",
             system->detail);
  } else if (calendar.out_of_office != nullptr) {
    // Out of office is an overlay: Available-OOF while signed in (seed 004), Away otherwise.
    set_base(p, sessions.logged_in ? Availability::Available : Availability::Away,
             Activity::OutOfOffice, Layer::Calendar, "out_of_office", "out of office");
  } else if (sessions.logged_in) {
    set_base(p, Availability::Available, Activity::Available,
             layers.sessions.sessions.empty() ? Layer::Sip : Layer::Sessions, "logged_in",
             "signed in");
  } else {
    set_base(p, Availability::Offline, Activity::Offline, Layer::Sessions, "no_session",
             "not signed in");
  }

  const bool appear_offline = p.explanation.rule == "appear_offline";
  if (!appear_offline) {
    if (telephony.ringing) {
      p.flags.set(Flag::Ringing);
    }
    if (telephony.in_call) {
      p.flags.set(Flag::Call);
    }
    if (calendar.meeting != nullptr || calendar.tentative != nullptr) {
      p.flags.set(Flag::Appointment);
      const Appointment* current = calendar.meeting ? calendar.meeting : calendar.tentative;
      p.current_appointment = *current;
    }
    if (calendar.out_of_office != nullptr) {
      p.flags.set(Flag::OutOfOffice);
    }
    if (calendar.next != nullptr) {
      p.next_appointment = *calendar.next;
    }
    p.busy_devices = telephony.devices;
    if (sessions.idle) {
      apply_idle(p);
      if (p.explanation.layer == Layer::Sessions) {
        p.explanation = {Layer::Idle, "idle", "no input for a while or screen locked"};
      }
    }
  }
  if (p.availability == Availability::Offline) {
    p.flags.set(Flag::Offline);
  }
  if (by_user) {
    p.state_id = choice.state->id;
    p.note = !choice.manual->note.empty() ? choice.manual->note : choice.state->message;
    p.until = choice.manual->until;
    p.reachability = choice.manual->reachability;
  } else if (choice.publication != nullptr) {
    p.note = choice.publication->note;
  }
  if (!p.note.empty()) {
    p.flags.set(Flag::Note);
  }
  if (teams.layer != nullptr) {
    p.teams = ExternalPresence{teams.layer->availability, teams.layer->activity};
  }
  return {std::move(p), next.value()};
}

TeamsEffect teams_effect(const TeamsLayer& teams) {
  if (teams.from_us) {
    return TeamsEffect::None;
  }
  if (teams.availability == Availability::DoNotDisturb) {
    return TeamsEffect::DoNotDisturb;  // DoNotDisturb/DoNotDisturb and DoNotDisturb/Presenting
  }
  if (teams.activity == Activity::InACall || teams.activity == Activity::InAConferenceCall) {
    return TeamsEffect::InACall;
  }
  return TeamsEffect::None;
}

const std::vector<StateDefinition>& built_in_states() {
  static const std::vector<StateDefinition> states = [] {
    auto make = [](std::string id, StateType type, Availability availability, Activity activity,
                   int order) {
      StateDefinition s;
      s.id = std::move(id);
      s.type = type;
      s.availability = availability;
      s.activity = activity;
      s.built_in = true;
      s.order = order;
      return s;
    };
    return std::vector<StateDefinition>{
        make("Available", StateType::Available, Availability::Available, Activity::Available, 0),
        make("Busy", StateType::Dnd, Availability::Busy, Activity::Busy, 1),
        make("DoNotDisturb", StateType::Dnd, Availability::DoNotDisturb, Activity::DoNotDisturb, 2),
        make("BeRightBack", StateType::Away, Availability::BeRightBack, Activity::BeRightBack, 3),
        make("Away", StateType::Away, Availability::Away, Activity::Away, 4),
        make("Offline", StateType::Unavailable, Availability::Offline, Activity::OffWork, 5),
    };
  }();
  return states;
}

StateDefinition definition_for_type(StateType type) {
  StateDefinition s;
  s.type = type;
  switch (type) {
    case StateType::Available:
    case StateType::Chat:
      s.availability = Availability::Available;
      s.activity = Activity::Available;
      break;
    case StateType::Away:
      s.availability = Availability::Away;
      s.activity = Activity::Away;
      break;
    case StateType::Dnd:
      s.availability = Availability::DoNotDisturb;
      s.activity = Activity::DoNotDisturb;
      break;
    case StateType::ExtendedAway:
      s.availability = Availability::Away;
      s.activity = Activity::OutOfOffice;
      break;
    case StateType::Unavailable:
      s.availability = Availability::Offline;
      s.activity = Activity::OffWork;
      break;
  }
  return s;
}

}  // namespace presenced::core
