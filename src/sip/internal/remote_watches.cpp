#include "sip/internal/remote_watches.h"

#include "sip/internal/branch.h"
#include "sip/internal/grammar.h"

#include "core/mappings.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace presenced::sip {

namespace {

using std::chrono::seconds;

constexpr std::string_view kPidf = "pidf+xml";

std::string dialog_key(std::string_view call_id, std::string_view local_tag) {
  std::string key;
  key.reserve(call_id.size() + local_tag.size() + 1);
  key.append(call_id).append(1, '\n').append(local_tag);
  return key;
}

// RFC 6665 §4.1.2.2: refresh ahead of the end; a fifth of the time granted, at most a minute and
// at least a second early.
TimePoint refresh_time(TimePoint now, seconds granted) {
  const seconds early = std::clamp(granted / 5, seconds(1), seconds(60));
  return now + std::max(granted - early, seconds(1));
}

std::optional<seconds> retry_after(const Message& response) {
  const auto value = response.header("Retry-After");
  if (!value) {
    return std::nullopt;
  }
  std::uint32_t n = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  if (ec != std::errc() || end == value->data()) {
    return std::nullopt;
  }
  return seconds(n);
}

// sip:user@host with the host in lower case (RFC 3261 §19.1.4: hosts compare case-insensitively,
// users do not), so one presentity has one key.
std::string watch_key(const Uri& uri) {
  std::string host = uri.host;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return "sip:" + uri.user + "@" + host;
}

}  // namespace

RemoteWatches::RemoteWatches(RemoteWatchConfig config, std::vector<PresencePeer> peers)
    : config_(std::move(config)), peers_(std::move(peers)) {}

void RemoteWatches::set_local(std::string host, std::uint16_t port) {
  local_host_ = std::move(host);
  local_port_ = port;
}

const PresencePeer* RemoteWatches::peer_for(std::string_view domain) const {
  for (const PresencePeer& peer : peers_) {
    if (grammar::iequals(peer.domain, domain)) {
      return &peer;
    }
  }
  return nullptr;
}

core::Result<void> RemoteWatches::watch(std::string_view uri, TimePoint now) {
  auto parsed = parse_uri(uri);
  if (!parsed || parsed->scheme != "sip" || parsed->user.empty()) {
    return core::Error::invalid_argument("remote contact: not a sip:user@domain URI");
  }
  const PresencePeer* peer = peer_for(parsed->host);
  if (peer == nullptr) {
    return core::Error::invalid_argument("remote contact: no presence peer serves the domain " +
                                         parsed->host);
  }
  const std::string key = watch_key(*parsed);
  if (const auto it = by_uri_.find(key); it != by_uri_.end()) {
    ++watches_.at(it->second).references;
    return {};
  }
  if (watches_.size() >= config_.max_watches) {
    return core::Error::resource_exhausted("remote contacts: at most " +
                                           std::to_string(config_.max_watches) + " presentities");
  }
  const RemoteWatchId id = next_id_++;
  Watch& w = watches_[id];
  w.id = id;
  w.uri = key;
  w.peer = peer;
  w.references = 1;
  w.asked = config_.expires;
  w.shown.uri = key;
  by_uri_.emplace(key, id);
  new_dialog(w);
  send_subscribe(w, now);
  return {};
}

void RemoteWatches::unwatch(std::string_view uri, TimePoint now) {
  (void)now;
  auto parsed = parse_uri(uri);
  if (!parsed) {
    return;
  }
  const auto it = by_uri_.find(watch_key(*parsed));
  if (it == by_uri_.end()) {
    return;
  }
  Watch& w = watches_.at(it->second);
  if (--w.references > 0) {
    return;
  }
  if (!w.remote_tag.empty()) {
    outbox_.push_back({0, subscribe_request(w, seconds(0)), w.peer->address});
  }
  unschedule(w);
  by_dialog_.erase(dialog_key(w.call_id, w.local_tag));
  by_uri_.erase(it);
  watches_.erase(w.id);
}

void RemoteWatches::on_response(RemoteWatchId id, const Message& response, TimePoint now) {
  const auto it = watches_.find(id);
  if (it == watches_.end() || response.status < 200) {
    return;  // an unsubscribe's answer, or a provisional one
  }
  Watch& w = it->second;
  w.request_in_flight = false;
  if (response.status < 300) {
    w.phase = Phase::Active;
    w.backoff = seconds(0);
    if (w.remote_tag.empty()) {
      w.remote_tag = std::string(response.to.tag().value_or(""));
      // §12.1.2: the UAC's route set is the Record-Route of the 2xx, reversed.
      w.route_set.assign(response.record_routes.rbegin(), response.record_routes.rend());
    }
    if (!response.contacts.addresses.empty()) {
      w.remote_target = response.contacts.addresses.front().uri;
    }
    const seconds granted = response.expires ? seconds(*response.expires) : w.asked;
    schedule(w, refresh_time(now, std::min(granted, w.asked)));
    return;
  }
  if (response.status == 423 && response.min_expires &&
      seconds(*response.min_expires) > w.asked && seconds(*response.min_expires) <= seconds(86'400)) {
    // RFC 6665 §4.1.2.1: ask again with at least the peer's minimum.
    w.asked = seconds(*response.min_expires);
    send_subscribe(w, now);
    return;
  }
  if (response.status == 481 && w.phase == Phase::Active) {
    // §4.1.2.2: the peer forgot the dialog; a new one at once.
    new_dialog(w);
    send_subscribe(w, now);
    return;
  }
  fail(w, retry_after(response), now);
}

bool RemoteWatches::owns(const Message& notify) const {
  const auto tag = notify.to.tag();
  return tag && by_dialog_.contains(dialog_key(notify.call_id, *tag));
}

RemoteWatches::Watch* RemoteWatches::find_dialog(const Message& notify) {
  const auto tag = notify.to.tag();
  if (!tag) {
    return nullptr;
  }
  const auto it = by_dialog_.find(dialog_key(notify.call_id, *tag));
  return it == by_dialog_.end() ? nullptr : &watches_.at(it->second);
}

Message RemoteWatches::on_notify(const Message& notify, TimePoint now) {
  Watch* found = find_dialog(notify);
  const std::string_view their_tag = notify.from.tag().value_or("");
  if (found == nullptr || (!found->remote_tag.empty() && their_tag != found->remote_tag)) {
    // A fork's second dialog is not ours to keep: we hold one per presentity.
    return make_response(notify, 481, "Subscription Does Not Exist");
  }
  Watch& w = *found;
  if (!notify.event || notify.event->package != "presence") {
    Message answer = make_response(notify, 489, "Bad Event");
    answer.allow_events = {"presence"};
    return answer;
  }
  if (!notify.subscription_state) {
    return make_response(notify, 400, "Missing Subscription-State");
  }
  if (w.remote_cseq != 0 && notify.cseq.number <= w.remote_cseq) {
    // RFC 3261 §12.2.2: an older request in the dialog is out of order.
    return make_response(notify, 500, "Out Of Order");
  }
  std::optional<PidfDocument> document;
  if (!notify.body.empty()) {
    if (!notify.content_type || notify.content_type->type != "application" ||
        notify.content_type->subtype != kPidf) {
      Message answer = make_response(notify, 415, "Unsupported Media Type");
      answer.accept = std::vector<MediaType>{MediaType{"application", std::string(kPidf), {}}};
      return answer;
    }
    auto read = read_pidf(notify.body, config_.pidf);
    if (!read) {
      return make_response(notify, read.error().status(), "Bad Presence Document");
    }
    document = std::move(*read);
  }
  w.remote_cseq = notify.cseq.number;
  if (w.remote_tag.empty()) {
    // The NOTIFY came before the 2xx (RFC 6665 §4.1.2.4): it sets up the dialog.
    w.remote_tag = std::string(their_tag);
    w.route_set = notify.record_routes;
  }
  if (!notify.contacts.addresses.empty()) {
    w.remote_target = notify.contacts.addresses.front().uri;
  }
  const SubscriptionState& state = *notify.subscription_state;
  if (state.state == "terminated") {
    Message answer = make_response(notify, 200, "OK");
    if (state.reason == "deactivated" || state.reason == "timeout") {
      // §4.1.3: subscribe again at once.
      new_dialog(w);
      send_subscribe(w, now);
    } else if (state.reason == "probation" || state.reason == "giveup") {
      fail(w, state.retry_after ? std::optional(seconds(*state.retry_after)) : std::nullopt, now);
    } else {
      // rejected, noresource or no reason: try again only after the longest pause.
      w.backoff = config_.retry_max;
      fail(w, std::nullopt, now);
    }
    return answer;
  }
  if (state.expires && w.phase == Phase::Active && !w.request_in_flight) {
    const TimePoint at = refresh_time(now, seconds(*state.expires));
    if (at < w.deadline) {
      schedule(w, at);
    }
  }
  if (document) {
    show(w, true, std::move(document));
  }
  return make_response(notify, 200, "OK");
}

void RemoteWatches::advance(TimePoint now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const RemoteWatchId id = deadlines_.begin()->second;
    deadlines_.erase(deadlines_.begin());
    Watch& w = watches_.at(id);
    if (w.phase == Phase::Waiting) {
      new_dialog(w);
    }
    send_subscribe(w, now);
  }
}

std::optional<TimePoint> RemoteWatches::next_deadline() const {
  if (deadlines_.empty()) {
    return std::nullopt;
  }
  return deadlines_.begin()->first;
}

std::vector<OutgoingSubscribe> RemoteWatches::take_outbox() {
  return std::exchange(outbox_, {});
}

std::vector<RemoteUpdate> RemoteWatches::take_updates() {
  return std::exchange(updates_, {});
}

const RemoteUpdate* RemoteWatches::last(std::string_view uri) const {
  const auto it = by_uri_.find(std::string(uri));
  return it == by_uri_.end() ? nullptr : &watches_.at(it->second).shown;
}

Message RemoteWatches::subscribe_request(Watch& w, seconds expires) const {
  Message m;
  m.method = Method::Subscribe;
  if (w.remote_tag.empty()) {
    auto uri = parse_uri(w.uri);
    m.request_uri = *uri;  // watch() parsed it before
  } else {
    m.request_uri = w.remote_target;
  }
  Via via;
  via.transport = w.peer->address.transport == Transport::Udp ? "UDP" : "TCP";
  via.host = local_host_.find(':') != std::string::npos ? "[" + local_host_ + "]" : local_host_;
  via.port = local_port_;
  via.params.push_back(Param{"branch", make_branch()});
  m.vias.push_back(std::move(via));
  m.routes = w.route_set;
  m.from.uri.scheme = "sip";
  m.from.uri.user = "presenced";
  m.from.uri.host = config_.local_domain;
  m.from.params.push_back(Param{"tag", w.local_tag});
  m.to.uri = *parse_uri(w.uri);
  if (!w.remote_tag.empty()) {
    m.to.params.push_back(Param{"tag", w.remote_tag});
  }
  m.call_id = w.call_id;
  m.cseq.number = ++w.cseq;
  m.cseq.method = Method::Subscribe;
  m.max_forwards = 70;
  NameAddr contact;
  contact.uri.scheme = "sip";
  contact.uri.host = m.vias.front().host;
  contact.uri.port = local_port_;
  m.contacts.addresses.push_back(std::move(contact));
  m.event = Event{"presence", std::nullopt, {}};
  m.expires = static_cast<std::uint32_t>(expires.count());
  m.accept = std::vector<MediaType>{MediaType{"application", std::string(kPidf), {}}};
  return m;
}

void RemoteWatches::send_subscribe(Watch& w, TimePoint now) {
  (void)now;
  unschedule(w);
  w.request_in_flight = true;
  if (w.phase != Phase::Active) {
    w.phase = Phase::Subscribing;
  }
  outbox_.push_back({w.id, subscribe_request(w, w.asked), w.peer->address});
}

void RemoteWatches::fail(Watch& w, std::optional<seconds> retry_after, TimePoint now) {
  w.request_in_flight = false;
  w.phase = Phase::Waiting;
  w.backoff = w.backoff.count() == 0 ? config_.retry_min
                                     : std::min(w.backoff * 2, config_.retry_max);
  show(w, false, std::nullopt);
  schedule(w, now + std::max(w.backoff, retry_after.value_or(seconds(0))));
}

void RemoteWatches::new_dialog(Watch& w) {
  if (!w.call_id.empty()) {
    by_dialog_.erase(dialog_key(w.call_id, w.local_tag));
  }
  w.call_id = make_call_id(local_host_);
  w.local_tag = make_tag();
  w.remote_tag.clear();
  w.remote_target = Uri();
  w.route_set.clear();
  w.cseq = 0;
  w.remote_cseq = 0;
  w.phase = Phase::Subscribing;
  by_dialog_.emplace(dialog_key(w.call_id, w.local_tag), w.id);
}

void RemoteWatches::schedule(Watch& w, TimePoint at) {
  unschedule(w);
  w.deadline = at;
  deadlines_.emplace(at, w.id);
}

void RemoteWatches::unschedule(Watch& w) {
  deadlines_.erase({w.deadline, w.id});
}

void RemoteWatches::show(Watch& w, bool reachable, std::optional<PidfDocument> document) {
  if (w.shown.reachable == reachable && w.shown.document == document) {
    return;
  }
  w.shown.reachable = reachable;
  w.shown.document = std::move(document);
  updates_.push_back(w.shown);
}

core::RemotePresence to_remote_presence(const RemoteUpdate& update) {
  core::RemotePresence out;
  out.address = update.uri;
  if (!update.reachable || !update.document) {
    return out;  // known = false: shown as unknown
  }
  const core::PidfStatus status = update.document->status();
  const core::GraphPresence graph = core::from_pidf(status);
  out.known = true;
  out.availability = graph.availability;
  out.activity = graph.activity;
  out.note = status.note;
  return out;
}

}  // namespace presenced::sip
