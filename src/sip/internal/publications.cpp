#include "sip/internal/publications.h"

#include "core/engine.h"
#include "core/mappings.h"
#include "sip/internal/grammar.h"

#include <array>
#include <charconv>
#include <map>
#include <vector>

namespace presenced::sip {

namespace {

std::string make_etag(const NonceRandom& random) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(random.size() * 2);
  for (const std::uint8_t byte : random) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
  return out;
}

bool is_pidf(const MediaType& type) {
  return type.type == "application" && type.subtype == "pidf+xml";
}

// The user part of a presentity URI as a PIDF entity writes it (pres:, sip: or sips:); empty
// when it is none of these.
std::string_view entity_user(std::string_view entity) {
  const auto colon = entity.find(':');
  if (colon == std::string_view::npos) {
    return {};
  }
  const std::string_view scheme = entity.substr(0, colon);
  if (!grammar::iequals(scheme, "pres") && !grammar::iequals(scheme, "sip") &&
      !grammar::iequals(scheme, "sips")) {
    return {};
  }
  const std::string_view rest = entity.substr(colon + 1);
  const auto at = rest.find('@');
  return at == std::string_view::npos ? std::string_view{} : rest.substr(0, at);
}

// Whether a URI of the request names someone else than the publisher (a user publishes only
// their own presence; other schemes are not ours to judge).
bool names_other(const Uri& uri, std::string_view user) { return uri.is_sip() && uri.user != user; }

// Reads the body of an initial or modifying PUBLISH into what `out` says; a refusal otherwise.
std::optional<Message> read_body(const Message& request, std::string_view user,
                                 const PidfLimits& limits, core::Publication& out) {
  auto document = read_pidf(request.body, limits);
  if (!document) {
    const int status = document.error().status();
    return make_response(request, status,
                         status == 413 ? "Request Entity Too Large" : "Bad Presence Document");
  }
  if (entity_user(document->entity) != user) {
    return make_response(request, 403, "Entity Is Not The Publisher");
  }
  const core::PidfStatus status = document->status();
  out.open = document->basic == Basic::Open;
  const std::optional<core::GraphPresence> person = core::person_from_pidf(status);
  out.has_activity = person.has_value();
  out.availability = person ? person->availability : core::Availability::Available;
  out.activity = person ? person->activity : core::Activity::Available;
  out.note = status.note;
  return std::nullopt;
}

std::int64_t millis(core::TimePoint t) { return t.time_since_epoch().count(); }

}  // namespace

// One accepted request, waiting for the store.
struct Publications::Change {
  std::string user;
  std::string replaced;                          // SIP-If-Match; empty for an initial one
  std::optional<core::Publication> publication;  // nullopt: the removal of `replaced`
  std::uint32_t expires = 0;
};

Publications::Publications(PublicationConfig config, Directory& directory)
    : config_(std::move(config)), directory_(directory) {}

Publications::~Publications() = default;

void Publications::restore(core::TimePoint now) {
  core::Engine& engine = directory_.engine();
  std::map<core::UserIndex, core::PublishedLayer> layers;
  std::vector<StoredRecord> gone;
  for (StoredRecord& record : directory_.stored(kPublicationKind)) {
    const std::optional<core::Publication> publication = decode_publication(record.id, record.body);
    const std::optional<core::UserIndex> user = engine.find(record.owner);
    if (!publication || !user || publication->expires_at <= now || by_etag_.contains(record.id)) {
      gone.push_back({std::string(kPublicationKind), record.id, record.owner, {}, true});
      continue;
    }
    layers[*user].publications.push_back(*publication);
    index(record.owner, *publication);
  }
  for (auto& [user, layer] : layers) {
    engine.restore_publications(user, std::move(layer), now);
  }
  if (!gone.empty()) {
    directory_.save(std::move(gone), [](bool) {});  // a record left behind is erased next start
  }
}

void Publications::publish(const Message& request, std::string_view user, core::TimePoint now,
                           const NonceRandom& random, PublishAnswer answer) {
  drop_lapsed(now);
  Change change;
  change.user = std::string(user);
  core::Publication publication;
  std::optional<Message> refused = refusal(request, user, change.expires);
  if (!refused) {
    refused =
        request.sip_if_match ? conditional(request, change, publication) : initial(request, change);
  }
  const bool removal = request.sip_if_match && change.expires == 0;  // §4.5
  if (!refused && !removal && !request.body.empty()) {
    refused = read_body(request, user, config_.pidf, publication);  // §4.4 modify, or initial
    publication.set_at = now;
  }
  if (refused) {
    answer(std::move(*refused));
    return;
  }
  if (!removal) {
    publication.etag = make_etag(random);
    publication.expires_at = now + std::chrono::seconds(change.expires);
    change.publication = std::move(publication);
  }
  apply(std::move(change), request, now, std::move(answer));
}

// RFC 3903 §6 step 4: a tag we do not hold (unknown, lapsed, another user's) is 412. A refresh
// (§4.3) keeps what the publication says and when it was said.
std::optional<Message> Publications::conditional(const Message& request, Change& change,
                                                 core::Publication& publication) const {
  const auto it = by_etag_.find(*request.sip_if_match);
  if (it == by_etag_.end() || it->second.user != change.user) {
    return make_response(request, 412, "Conditional Request Failed");
  }
  change.replaced = *request.sip_if_match;
  publication = it->second.publication;
  return std::nullopt;
}

std::optional<Message> Publications::initial(const Message& request, const Change& change) const {
  if (change.expires == 0) {
    return make_response(request, 400, "Expires 0 Needs SIP-If-Match");
  }
  if (request.body.empty()) {
    return make_response(request, 400, "Initial Publication Needs A Body");  // §6 step 6
  }
  const auto count = per_user_.find(change.user);
  if (count != per_user_.end() && count->second >= config_.max_per_user) {
    return make_response(request, 403, "Too Many Publications");
  }
  if (by_etag_.size() >= config_.max_total) {
    Message busy = make_response(request, 503, "Service Unavailable");
    busy.other_headers.push_back(Header{"Retry-After", "60"});
    return busy;
  }
  return std::nullopt;
}

// RFC 3903 §6 steps 3 and 5, and the body's type: what is refused before any tag is looked up.
std::optional<Message> Publications::refusal(const Message& request, std::string_view user,
                                             std::uint32_t& expires) const {
  if (names_other(request.request_uri, user) || names_other(request.to.uri, user)) {
    return make_response(request, 403, "Only Own Presence May Be Published");
  }
  if (!request.body.empty() && (!request.content_type || !is_pidf(*request.content_type))) {
    Message response = make_response(request, 415, "Unsupported Media Type");
    response.accept = std::vector<MediaType>{MediaType{"application", "pidf+xml", {}}};
    return response;
  }
  const auto min = static_cast<std::uint32_t>(config_.min_expires.count());
  const auto max = static_cast<std::uint32_t>(config_.max_expires.count());
  if (!request.expires) {
    expires = static_cast<std::uint32_t>(config_.default_expires.count());
  } else if (*request.expires == 0) {
    expires = 0;
  } else if (*request.expires < min) {
    Message response = make_response(request, 423, "Interval Too Brief");
    response.min_expires = min;
    return response;
  } else {
    expires = std::min(*request.expires, max);
  }
  return std::nullopt;
}

// Takes the change into the index at once (so limits count it and a second request naming the
// replaced tag gets 412), stores it, and answers when the store has answered: on failure the
// index goes back to what it was and nothing reaches the engine.
void Publications::apply(Change change, const Message& request, core::TimePoint now,
                         PublishAnswer answer) {
  std::vector<StoredRecord> records;
  std::optional<Entry> replaced;
  if (!change.replaced.empty()) {
    replaced = unindex(change.replaced);
    records.push_back({std::string(kPublicationKind), change.replaced, change.user, {}, true});
  }
  Message ok = make_response(request, 200, "OK");
  ok.expires = change.expires;
  if (change.publication) {
    ok.sip_etag = change.publication->etag;
    records.push_back({std::string(kPublicationKind), change.publication->etag, change.user,
                       encode_publication(*change.publication), false});
    index(change.user, *change.publication);
  }
  Message failed = make_response(request, 500, "Server Internal Error");
  directory_.save(std::move(records),
                  [this, alive = std::weak_ptr<bool>(alive_), change = std::move(change),
                   replaced = std::move(replaced), ok = std::move(ok), failed = std::move(failed),
                   answer = std::move(answer), now](bool durable) {
                    if (alive.expired()) {
                      return;
                    }
                    if (durable) {
                      commit(change, now);
                    } else {
                      undo(change, replaced);
                    }
                    answer(durable ? ok : failed);
                  });
}

// The store failed: the index goes back to what it was; the engine never saw the change.
void Publications::undo(const Change& change, const std::optional<Entry>& replaced) {
  if (change.publication) {
    unindex(change.publication->etag);
  }
  if (replaced) {
    index(replaced->user, replaced->publication);
  }
}

void Publications::commit(const Change& change, core::TimePoint now) {
  core::Engine& engine = directory_.engine();
  const std::optional<core::UserIndex> user = engine.find(change.user);
  if (!user) {
    return;  // deleted meanwhile; its records go with it
  }
  if (change.publication) {
    engine.set_publication(*user, change.replaced, *change.publication, now);
  } else {
    engine.remove_publication(*user, change.replaced, now);
  }
}

void Publications::index(std::string user, core::Publication publication) {
  const std::string etag = publication.etag;
  expiries_.emplace(publication.expires_at, etag);
  ++per_user_[user];
  by_etag_.insert_or_assign(etag, Entry{std::move(user), std::move(publication)});
}

std::optional<Publications::Entry> Publications::unindex(const std::string& etag) {
  const auto it = by_etag_.find(etag);
  if (it == by_etag_.end()) {
    return std::nullopt;
  }
  Entry entry = std::move(it->second);
  by_etag_.erase(it);
  expiries_.erase({entry.publication.expires_at, etag});
  const auto count = per_user_.find(entry.user);
  if (count != per_user_.end() && --count->second == 0) {
    per_user_.erase(count);
  }
  return entry;
}

// The engine drops lapsed publications from presence by itself; here they leave the index and
// the store.
void Publications::drop_lapsed(core::TimePoint now) {
  std::vector<StoredRecord> gone;
  while (!expiries_.empty() && expiries_.begin()->first <= now) {
    const std::string etag = expiries_.begin()->second;
    if (std::optional<Entry> entry = unindex(etag)) {
      gone.push_back({std::string(kPublicationKind), etag, entry->user, {}, true});
    } else {
      expiries_.erase(expiries_.begin());
    }
  }
  if (!gone.empty()) {
    directory_.save(std::move(gone), [](bool) {});  // a record left behind is erased next start
  }
}

std::size_t Publications::size(core::TimePoint now) {
  drop_lapsed(now);
  return by_etag_.size();
}

// Lines: format, set_at and expires_at in Unix milliseconds, open, has_activity, availability,
// activity, then the note to the end (it may hold line breaks).
std::string encode_publication(const core::Publication& p) {
  std::string out = "v1\n";
  out += std::to_string(millis(p.set_at)) + "\n";
  out += std::to_string(millis(p.expires_at)) + "\n";
  out += p.open ? "1\n" : "0\n";
  out += p.has_activity ? "1\n" : "0\n";
  out += std::string(core::to_string(p.availability)) + "\n";
  out += std::string(core::to_string(p.activity)) + "\n";
  out += p.note;
  return out;
}

std::optional<core::Publication> decode_publication(std::string_view etag, std::string_view body) {
  std::array<std::string_view, 7> lines;
  for (std::string_view& line : lines) {
    const auto end = body.find('\n');
    if (end == std::string_view::npos) {
      return std::nullopt;
    }
    line = body.substr(0, end);
    body.remove_prefix(end + 1);
  }
  auto number = [](std::string_view text) -> std::optional<std::int64_t> {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return std::nullopt;
    }
    return value;
  };
  const auto set_at = number(lines[1]);
  const auto expires_at = number(lines[2]);
  const auto availability = core::parse_availability(lines[5]);
  const auto activity = core::parse_activity(lines[6]);
  if (lines[0] != "v1" || !set_at || !expires_at || !availability || !activity) {
    return std::nullopt;
  }
  core::Publication p;
  p.etag = std::string(etag);
  p.set_at = core::TimePoint(std::chrono::milliseconds(*set_at));
  p.expires_at = core::TimePoint(std::chrono::milliseconds(*expires_at));
  p.open = lines[3] == "1";
  p.has_activity = lines[4] == "1";
  p.availability = *availability;
  p.activity = *activity;
  p.note = std::string(body);
  return p;
}

}  // namespace presenced::sip
