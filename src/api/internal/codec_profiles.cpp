// JSON for presence profiles (docs/profiles.md): the profiles admins and users define, the
// selection request, and the stored selection that remembers what to restore at its end.

#include "api/internal/codec.h"
#include "api/internal/codec_json.h"
#include "core/mappings.h"

#include <boost/json.hpp>
#include <fmt/format.h>

namespace presenced::api {
namespace {

namespace json = boost::json;
using codec::decode;
using codec::FieldReader;
using codec::Need;

constexpr std::int64_t kMaxDurationMinutes = 31 * 24 * 60;
constexpr std::int64_t kMaxIdleMinutes = 24 * 60;

std::optional<int> read_minutes(FieldReader& in, std::string_view key, std::int64_t max) {
  auto value = in.integer(key, 1, max, Need::Optional);
  return value ? std::optional<int>(static_cast<int>(*value)) : std::nullopt;
}

ProfileDocument read_profile(FieldReader& in) {
  ProfileDocument out;
  out.name = in.text("name", in.limits().name_bytes, Need::Optional).value_or(std::string());
  out.state = in.id("state");
  out.note = in.text("note", in.limits().note_bytes, Need::Optional).value_or(std::string());
  out.duration_min = read_minutes(in, "duration_min", kMaxDurationMinutes);
  out.dnd = in.boolean("dnd");
  if (in.object("forwarding", Need::Optional) != nullptr) {
    // Connect Desktop: a profile may leave the destination to be asked when it is selected.
    out.forwarding = codec::read_nested<routing::Forwarding>(
        in, "forwarding", [](FieldReader& nested) { return codec::read_forwarding(nested, false); });
  }
  if (in.object("personal_routing", Need::Optional) != nullptr) {
    out.personal_routing = codec::read_nested<routing::PersonalRouting>(
        in, "personal_routing", codec::read_personal_routing);
  }
  out.idle_minutes = read_minutes(in, "idle_minutes", kMaxIdleMinutes);
  out.users = in.id_list("users", Need::Optional);
  out.groups = in.id_list("groups", Need::Optional);
  return out;
}

template <typename T>
json::value optional_json(const std::optional<T>& value) {
  return value ? json::value(*value) : json::value(nullptr);
}

json::value id_list_json(const std::optional<std::vector<std::string>>& ids) {
  if (!ids) {
    return nullptr;
  }
  json::array out;
  for (const std::string& id : *ids) {
    out.emplace_back(json::string(id));
  }
  return out;
}

json::object profile_fields(const ProfileDocument& p) {
  return {{"name", p.name},
          {"state", p.state},
          {"note", p.note},
          {"duration_min", optional_json(p.duration_min)},
          {"dnd", optional_json(p.dnd)},
          {"forwarding",
           p.forwarding ? json::value(codec::forwarding_json(*p.forwarding)) : json::value(nullptr)},
          {"personal_routing", p.personal_routing
                                   ? json::value(codec::personal_routing_json(*p.personal_routing))
                                   : json::value(nullptr)},
          {"idle_minutes", optional_json(p.idle_minutes)},
          {"users", id_list_json(p.users)},
          {"groups", id_list_json(p.groups)}};
}

json::object manual_json(const core::ManualLayer& m) {
  json::object out{{"state", m.state_id},
                   {"note", m.note},
                   {"reachability", core::to_string(m.reachability)},
                   {"set_at", format_time(m.set_at)}};
  if (m.from) {
    out.emplace("from", format_time(*m.from));
  }
  if (m.until) {
    out.emplace("until", format_time(*m.until));
  }
  return out;
}

core::ManualLayer read_manual_layer(FieldReader& in) {
  core::ManualLayer out;
  out.state_id = in.id("state");
  out.note = in.text("note", in.limits().note_bytes, Need::Optional).value_or(std::string());
  out.reachability = core::parse_reachability(
                         in.text("reachability", 32, Need::Optional).value_or("normal"))
                         .value_or(core::Reachability::Normal);
  out.set_at = in.time("set_at", Need::Optional).value_or(core::TimePoint{});
  out.from = in.time("from", Need::Optional);
  out.until = in.time("until", Need::Optional);
  return out;
}

}  // namespace

Result<ProfileDocument> decode_profile(std::string_view body, const Limits& limits) {
  return decode<ProfileDocument>(body, limits, read_profile);
}

json::object profile_json(std::string_view id, const ProfileDocument& profile, bool personal) {
  json::object out = profile_fields(profile);
  out.emplace("id", id);
  out.emplace("scope", personal ? "personal" : "shared");
  return out;
}

Result<ProfileSelectRequest> decode_profile_select(std::string_view body, const Limits& limits) {
  return decode<ProfileSelectRequest>(body, limits, [&](FieldReader& in) {
    ProfileSelectRequest out;
    out.profile = in.id("profile");
    out.until = in.time("until", Need::Optional);
    out.enforced = in.boolean("enforced").value_or(false);
    out.destination = in.optional_token("destination").value_or(std::string());
    return out;
  });
}

Result<ProfileSelection> decode_profile_selection(std::string_view body, const Limits& limits) {
  return decode<ProfileSelection>(body, limits, [&](FieldReader& in) {
    ProfileSelection out;
    out.profile = in.id("profile");
    out.personal = in.boolean("personal").value_or(false);
    out.snapshot = codec::read_nested<ProfileDocument>(in, "snapshot", read_profile);
    out.since = in.time("since", Need::Required).value_or(core::TimePoint{});
    out.until = in.time("until", Need::Optional);
    out.enforced = in.boolean("enforced").value_or(false);
    out.destination = in.optional_token("destination").value_or(std::string());
    if (in.object("previous", Need::Optional) != nullptr) {
      out.previous = codec::read_nested<core::ManualLayer>(in, "previous", read_manual_layer);
    }
    return out;
  });
}

json::object profile_selection_json(const ProfileSelection& selection) {
  json::object out{{"profile", selection.profile},
                   {"personal", selection.personal},
                   {"snapshot", profile_fields(selection.snapshot)},
                   {"since", format_time(selection.since)},
                   {"until", selection.until ? json::value(format_time(*selection.until))
                                             : json::value(nullptr)},
                   {"enforced", selection.enforced},
                   {"previous", selection.previous ? json::value(manual_json(*selection.previous))
                                                   : json::value(nullptr)}};
  if (!selection.destination.empty()) {
    out.emplace("destination", selection.destination);
  }
  return out;
}

}  // namespace presenced::api
