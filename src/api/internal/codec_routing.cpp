// JSON for the routing settings (docs/routing.md): a user's call settings, queues and the
// automatic action per state type. Decoders check every field and name it in their errors;
// absent fields take the defaults of a user who configured nothing.

#include "api/internal/codec.h"
#include "api/internal/codec_json.h"
#include "core/mappings.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace presenced::api {
namespace {

namespace json = boost::json;
using codec::decode;
using codec::EnumSpec;
using codec::FieldReader;
using codec::Need;

// Ringing delays and timeouts, in seconds: a PBX call rings for minutes at most.
constexpr std::int64_t kMaxDelaySeconds = 600;
constexpr std::size_t kMaxSteps = 32;  // staggered devices, find-me numbers

constexpr routing::ForwardMode kForwardModes[] = {
    routing::ForwardMode::Off, routing::ForwardMode::Failover, routing::ForwardMode::Always};
constexpr routing::QueueStrategy kStrategies[] = {routing::QueueStrategy::RingAll,
                                                  routing::QueueStrategy::LongestIdle,
                                                  routing::QueueStrategy::RoundRobin};
constexpr routing::StateAction kStateActions[] = {
    routing::StateAction::None, routing::StateAction::Dnd, routing::StateAction::FindMe};
constexpr core::Availability kAvailabilities[] = {
    core::Availability::Available,   core::Availability::AvailableIdle, core::Availability::Away,
    core::Availability::BeRightBack, core::Availability::Busy,          core::Availability::BusyIdle,
    core::Availability::DoNotDisturb};
constexpr core::Activity kActivities[] = {
    core::Activity::Available,   core::Activity::Away,         core::Activity::BeRightBack,
    core::Activity::Busy,        core::Activity::DoNotDisturb, core::Activity::InACall,
    core::Activity::InAConferenceCall, core::Activity::Inactive, core::Activity::InAMeeting,
    core::Activity::OffWork,     core::Activity::OutOfOffice,  core::Activity::Presenting,
    core::Activity::UrgentInterruptionsOnly};

const EnumSpec<routing::ForwardMode> kForwardModeSpec{
    kForwardModes, routing::parse_forward_mode,
    [](routing::ForwardMode v) { return routing::to_string(v); }};
const EnumSpec<routing::QueueStrategy> kStrategySpec{
    kStrategies, routing::parse_queue_strategy,
    [](routing::QueueStrategy v) { return routing::to_string(v); }};
const EnumSpec<routing::StateAction> kStateActionSpec{
    kStateActions, routing::parse_state_action,
    [](routing::StateAction v) { return routing::to_string(v); }};

int read_seconds(FieldReader& in, std::string_view key, std::int64_t min, int fallback) {
  return static_cast<int>(
      in.integer(key, min, kMaxDelaySeconds, Need::Optional).value_or(fallback));
}

// Reads an array of objects, each through `read_item(FieldReader&)`, naming "key[i].field".
template <typename T, typename ReadItem>
std::vector<T> read_objects(FieldReader& in, std::string_view key, std::size_t max_items,
                            ReadItem read_item) {
  std::vector<T> out;
  const json::array* items = in.array(key, Need::Optional);
  if (items == nullptr) {
    return out;
  }
  if (items->size() > max_items) {
    in.fail(key, fmt::format("at most {} entries, got {}", max_items, items->size()));
    return out;
  }
  for (std::size_t i = 0; i < items->size(); ++i) {
    const std::string element = fmt::format("{}[{}]", key, i);
    const json::object* object = (*items)[i].if_object();
    if (object == nullptr) {
      in.fail(element, fmt::format("expected an object, got {}", codec::kind_name((*items)[i])));
      return out;
    }
    FieldReader item(*object, in.limits(), in.field_name(element) + ".");
    T value = read_item(item);
    if (!item.ok()) {
      in.adopt(item.error());
      return out;
    }
    out.push_back(std::move(value));
  }
  return out;
}

template <typename Enum, std::size_t N>
std::vector<Enum> read_enum_list(FieldReader& in, std::string_view key, const Enum (&values)[N],
                                 std::optional<Enum> (*parse)(std::string_view),
                                 std::string_view (*name)(Enum), std::vector<Enum> fallback) {
  const json::array* items = in.array(key, Need::Optional);
  if (items == nullptr) {
    return fallback;
  }
  std::vector<Enum> out;
  for (std::size_t i = 0; i < items->size(); ++i) {
    const json::string* text = (*items)[i].if_string();
    const std::string element = fmt::format("{}[{}]", key, i);
    if (text == nullptr) {
      in.fail(element, fmt::format("expected a string, got {}", codec::kind_name((*items)[i])));
      return {};
    }
    const std::string_view view(text->data(), text->size());
    const auto parsed = parse(view);
    if (!parsed || std::find(std::begin(values), std::end(values), *parsed) == std::end(values)) {
      std::string allowed;
      for (const Enum v : values) {
        allowed += allowed.empty() ? "" : ", ";
        allowed += name(v);
      }
      in.fail(element, codec::quote(view) + " is not one of " + allowed);
      return {};
    }
    if (std::find(out.begin(), out.end(), *parsed) == out.end()) {
      out.push_back(*parsed);
    }
  }
  return out;
}

}  // namespace

namespace codec {

routing::Forwarding read_forwarding(FieldReader& in, bool destination_required) {
  routing::Forwarding out;
  out.mode = in.enumeration("mode", Need::Optional, kForwardModeSpec).value_or(out.mode);
  // Empty while forwarding is off: the document keeps the field either way.
  out.destination =
      in.text("destination", in.limits().id_bytes, Need::Optional).value_or(std::string());
  if (auto problem = out.destination.empty()
                         ? std::nullopt
                         : codec::token_problem(out.destination, in.limits().id_bytes)) {
    in.fail("destination", *problem);
  }
  out.on_no_answer = in.boolean("on_no_answer").value_or(out.on_no_answer);
  out.no_answer_s = read_seconds(in, "no_answer_s", 1, out.no_answer_s);
  out.on_busy = in.boolean("on_busy").value_or(out.on_busy);
  out.on_unreachable = in.boolean("on_unreachable").value_or(out.on_unreachable);
  out.direct_calls_only = in.boolean("direct_calls_only").value_or(out.direct_calls_only);
  out.show_original_caller = in.boolean("show_original_caller").value_or(out.show_original_caller);
  if (destination_required && in.ok() && out.mode != routing::ForwardMode::Off &&
      out.destination.empty()) {
    in.fail("destination", "required when mode is failover or always");
  }
  return out;
}

routing::PersonalRouting read_personal_routing(FieldReader& in) {
  routing::PersonalRouting out;
  out.staggered = read_objects<routing::DeviceDelay>(
      in, "staggered", kMaxSteps, [](FieldReader& item) {
        routing::DeviceDelay d;
        d.device = item.token("device");
        d.delay_s = read_seconds(item, "delay_s", 0, 0);
        return d;
      });
  for (std::size_t i = 0; in.ok() && i < out.staggered.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (out.staggered[j].device == out.staggered[i].device) {
        in.fail(fmt::format("staggered[{}].device", i),
                codec::quote(out.staggered[i].device) + " is listed twice");
        break;
      }
    }
  }
  if (auto after = in.integer("voicemail_after_s", 1, kMaxDelaySeconds, Need::Optional)) {
    out.voicemail_after_s = static_cast<int>(*after);
  }
  return out;
}

json::object forwarding_json(const routing::Forwarding& f) {
  return {{"mode", routing::to_string(f.mode)},
          {"destination", f.destination},
          {"on_no_answer", f.on_no_answer},
          {"no_answer_s", f.no_answer_s},
          {"on_busy", f.on_busy},
          {"on_unreachable", f.on_unreachable},
          {"direct_calls_only", f.direct_calls_only},
          {"show_original_caller", f.show_original_caller}};
}

json::object personal_routing_json(const routing::PersonalRouting& p) {
  json::array staggered;
  for (const routing::DeviceDelay& d : p.staggered) {
    staggered.emplace_back(json::object{{"device", d.device}, {"delay_s", d.delay_s}});
  }
  json::object out{{"staggered", std::move(staggered)}};
  if (p.voicemail_after_s) {
    out.emplace("voicemail_after_s", *p.voicemail_after_s);
  } else {
    out.emplace("voicemail_after_s", nullptr);
  }
  return out;
}

}  // namespace codec

Result<CallSettingsDocument> decode_call_settings(std::string_view body, const Limits& limits) {
  return decode<CallSettingsDocument>(body, limits, [&](FieldReader& in) {
    CallSettingsDocument out;
    routing::CalleeSettings& call = out.call;
    call.has_voicemail = in.boolean("voicemail").value_or(call.has_voicemail);
    call.dnd = in.boolean("dnd").value_or(call.dnd);
    call.busy_on_busy = in.boolean("busy_on_busy").value_or(call.busy_on_busy);
    call.call_waiting = in.boolean("call_waiting").value_or(call.call_waiting);
    call.accept_group_calls = in.boolean("accept_group_calls").value_or(call.accept_group_calls);
    out.dnd_protection = in.boolean("dnd_protection").value_or(false);
    call.forwarding = codec::read_nested<routing::Forwarding>(
        in, "forwarding", [](FieldReader& nested) { return codec::read_forwarding(nested, true); });
    call.personal =
        codec::read_nested<routing::PersonalRouting>(in, "personal_routing",
                                                    codec::read_personal_routing);
    call.find_me =
        read_objects<routing::FindMeStep>(in, "find_me", kMaxSteps, [](FieldReader& item) {
          routing::FindMeStep step;
          step.destination = item.token("destination");
          step.delay_s = read_seconds(item, "delay_s", 0, 0);
          return step;
        });
    return out;
  });
}

json::object call_settings_json(const CallSettingsDocument& document) {
  const routing::CalleeSettings& call = document.call;
  json::array find_me;
  for (const routing::FindMeStep& step : call.find_me) {
    find_me.emplace_back(json::object{{"destination", step.destination}, {"delay_s", step.delay_s}});
  }
  return {{"voicemail", call.has_voicemail},
          {"dnd", call.dnd},
          {"busy_on_busy", call.busy_on_busy},
          {"call_waiting", call.call_waiting},
          {"accept_group_calls", call.accept_group_calls},
          {"dnd_protection", document.dnd_protection},
          {"forwarding", codec::forwarding_json(call.forwarding)},
          {"personal_routing", codec::personal_routing_json(call.personal)},
          {"find_me", std::move(find_me)}};
}

Result<QueueDocument> decode_queue(std::string_view body, const Limits& limits) {
  return decode<QueueDocument>(body, limits, [&](FieldReader& in) {
    QueueDocument out;
    out.members = in.id_list("members", Need::Required).value_or(std::vector<std::string>());
    routing::QueuePolicy& policy = out.policy;
    policy.presence_based = in.boolean("presence_based").value_or(policy.presence_based);
    policy.availabilities = read_enum_list<core::Availability>(
        in, "availabilities", kAvailabilities, core::parse_availability,
        [](core::Availability v) { return core::to_string(v); }, policy.availabilities);
    policy.activities = read_enum_list<core::Activity>(
        in, "activities", kActivities, core::parse_activity,
        [](core::Activity v) { return core::to_string(v); }, policy.activities);
    policy.strategy = in.enumeration("strategy", Need::Optional, kStrategySpec)
                          .value_or(routing::QueueStrategy::RingAll);
    policy.agent_ring_s = read_seconds(in, "agent_ring_s", 1, policy.agent_ring_s);
    for (std::size_t i = 0; in.ok() && i < out.members.size(); ++i) {
      if (std::find(out.members.begin(), out.members.begin() + static_cast<std::ptrdiff_t>(i),
                    out.members[i]) != out.members.begin() + static_cast<std::ptrdiff_t>(i)) {
        in.fail(fmt::format("members[{}]", i), codec::quote(out.members[i]) + " is listed twice");
      }
    }
    return out;
  });
}

json::object queue_json(std::string_view id, const QueueDocument& queue) {
  json::array members;
  for (const std::string& member : queue.members) {
    members.emplace_back(json::string(member));
  }
  json::array availabilities;
  for (const core::Availability a : queue.policy.availabilities) {
    availabilities.emplace_back(json::string(core::to_string(a)));
  }
  json::array activities;
  for (const core::Activity a : queue.policy.activities) {
    activities.emplace_back(json::string(core::to_string(a)));
  }
  return {{"id", id},
          {"members", std::move(members)},
          {"presence_based", queue.policy.presence_based},
          {"availabilities", std::move(availabilities)},
          {"activities", std::move(activities)},
          {"strategy", routing::to_string(queue.policy.strategy)},
          {"agent_ring_s", queue.policy.agent_ring_s}};
}

Result<StateActions> decode_state_actions(std::string_view body, const Limits& limits) {
  return decode<StateActions>(body, limits, [&](FieldReader& in) {
    StateActions out{};
    out.fill(routing::StateAction::None);
    for (const core::StateType type : codec::kStateTypes) {
      out[static_cast<std::size_t>(type)] =
          in.enumeration(core::to_string(type), Need::Optional, kStateActionSpec)
              .value_or(routing::StateAction::None);
    }
    return out;
  });
}

json::object state_actions_json(const StateActions& actions) {
  json::object out;
  for (const core::StateType type : codec::kStateTypes) {
    out.emplace(core::to_string(type), routing::to_string(actions[static_cast<std::size_t>(type)]));
  }
  return out;
}

}  // namespace presenced::api
