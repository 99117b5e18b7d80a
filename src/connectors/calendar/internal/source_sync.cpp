// CalDAV (RFC 4791) and WebDAV sync (RFC 6578) for one source, with the ctag/etag fallback for
// servers without sync-collection, and plain ICS downloads with If-None-Match.

#include "connectors/calendar/internal/source_sync.h"

#include <fmt/format.h>

#include <set>

namespace presenced::connectors::calendar {
namespace {

using core::Error;
using core::Result;

constexpr std::size_t kMultigetBatch = 100;

Error status_error(const std::string& method, const std::string& url, long status) {
  const std::string message = fmt::format("{} {}: HTTP {}", method, url, status);
  if (status == 401 || status == 403) {
    return Error::unauthenticated(message);
  }
  return Error::failed_precondition(message);
}

// The collection's own entry in a Depth: 1 answer is not a calendar object.
bool is_member(const Collection& c, const DavResource& r) {
  return !r.href.empty() && r.href.back() != '/' && resolve_href(c.url, r.href) != c.url;
}

// Keeps a member's data; true when it differs from what was kept.
bool keep(Collection& c, DavResource& r, std::string data) {
  Resource& kept = c.resources[r.href];
  const bool changed = kept.ics != data;
  kept = {r.properties["getetag"], std::move(data)};
  return changed;
}

Error too_many(const Collection& c, std::size_t limit) {
  return Error::resource_exhausted(
      fmt::format("{}: more than {} calendar objects", c.url, limit));
}

Collection collection_at(std::string url) {
  Collection c;
  c.url = std::move(url);
  return c;
}

}  // namespace

SourceSync::SourceSync(Source source, const ConnectorConfig& config)
    : source_(std::move(source)), config_(config) {
  username_ = source_.username.empty() ? config_.service_username : source_.username;
  password_ = source_.username.empty() ? config_.service_password : source_.password;
  if (!source_.discover && source_.mode == SourceMode::CalDav) {
    collections_.push_back(collection_at(source_.url));
    discovered_ = true;
  }
}

Result<HttpAnswer> SourceSync::send(HttpClient& http, std::string method, const std::string& url,
                                    int depth, std::string body) const {
  HttpCall call;
  call.follow_redirects = true;
  call.method = std::move(method);
  call.url = url;
  call.body = std::move(body);
  call.username = username_;
  call.password = password_;
  call.headers = {fmt::format("Depth: {}", depth), "Content-Type: application/xml; charset=utf-8"};
  return http.perform(call);
}

Result<Multistatus> SourceSync::dav(HttpClient& http, std::string method, const std::string& url,
                                    int depth, std::string body) const {
  auto answer = send(http, method, url, depth, std::move(body));
  if (!answer) {
    return answer.error();
  }
  if (answer->status != 207) {
    return status_error(method, url, answer->status);
  }
  return parse_multistatus(answer->body, config_.max_resources);
}

std::vector<const std::string*> SourceSync::documents() const {
  std::vector<const std::string*> out;
  if (source_.mode == SourceMode::Ics) {
    if (!ics_.ics.empty()) {
      out.push_back(&ics_.ics);
    }
    return out;
  }
  for (const Collection& c : collections_) {
    for (const auto& [href, r] : c.resources) {
      out.push_back(&r.ics);
    }
  }
  return out;
}

Result<bool> SourceSync::fetch(HttpClient& http) {
  if (source_.mode == SourceMode::Ics) {
    return fetch_ics(http);
  }
  bool changed = false;
  if (!discovered_) {
    if (auto found = discover(http); !found) {
      return found.error();
    }
    changed = true;
  }
  for (Collection& c : collections_) {
    auto synced = c.sync_collection_refused ? sync_by_etags(http, c) : sync_collection(http, c);
    if (!synced) {
      return synced.error();
    }
    changed = changed || *synced;
  }
  return changed;
}

Result<bool> SourceSync::fetch_ics(HttpClient& http) {
  HttpCall call;
  call.follow_redirects = true;
  call.url = source_.url;
  call.username = username_;
  call.password = password_;
  if (!ics_.etag.empty()) {
    call.headers.push_back("If-None-Match: " + ics_.etag);
  }
  auto answer = http.perform(call);
  if (!answer) {
    return answer.error();
  }
  if (answer->status == 304) {
    return false;
  }
  if (answer->status != 200) {
    return status_error("GET", source_.url, answer->status);
  }
  const bool changed = answer->body != ics_.ics;
  ics_ = {answer->etag, std::move(answer->body)};
  return changed;
}

// RFC 6764 §6 without DNS: current-user-principal, then calendar-home-set (RFC 4791 §6.2.1),
// then the calendars in the home (Depth: 1, resourcetype calendar).
Result<void> SourceSync::discover(HttpClient& http) {
  auto who = dav(http, "PROPFIND", source_.url, 0, propfind_body("<d:current-user-principal/>"));
  if (!who) {
    return who.error();
  }
  std::string principal = source_.url;
  for (const DavResource& r : who->resources) {
    if (auto it = r.properties.find("current-user-principal"); it != r.properties.end()) {
      principal = resolve_href(source_.url, it->second);
    }
  }
  auto home_answer = dav(http, "PROPFIND", principal, 0, propfind_body("<c:calendar-home-set/>"));
  if (!home_answer) {
    return home_answer.error();
  }
  std::string home;
  for (const DavResource& r : home_answer->resources) {
    if (auto it = r.properties.find("calendar-home-set"); it != r.properties.end()) {
      home = resolve_href(principal, it->second);
    }
  }
  if (home.empty()) {
    return Error::failed_precondition(
        fmt::format("PROPFIND {}: no calendar-home-set (is it a CalDAV account?)", principal));
  }
  auto listing = dav(http, "PROPFIND", home, 1, propfind_body("<d:resourcetype/>"));
  if (!listing) {
    return listing.error();
  }
  std::vector<Collection> found;
  for (const DavResource& r : listing->resources) {
    if (r.is_calendar) {
      found.push_back(collection_at(resolve_href(home, r.href)));
    }
  }
  if (found.empty()) {
    return Error::failed_precondition(fmt::format("PROPFIND {}: no calendar in the home", home));
  }
  collections_ = std::move(found);
  discovered_ = true;
  return {};
}

// RFC 6578 §3.2: the changes since the token, or everything with an empty token.
Result<bool> SourceSync::sync_collection(HttpClient& http, Collection& c) {
  auto answer = send(http, "REPORT", c.url, 1, sync_collection_body(c.sync_token));
  if (!answer) {
    return answer.error();
  }
  if (answer->status == 401) {
    return status_error("REPORT", c.url, answer->status);
  }
  if ((answer->status == 403 || answer->status == 409) && !c.sync_token.empty()) {
    // RFC 6578 §3.2: the token is no longer valid; start over.
    c.sync_token.clear();
    c.resources.clear();
    return sync_collection(http, c);
  }
  if (answer->status != 207) {
    c.sync_collection_refused = true;
    return sync_by_etags(http, c);
  }
  auto ms = parse_multistatus(answer->body, config_.max_resources);
  if (!ms) {
    return ms.error();
  }
  bool changed = false;
  std::vector<std::string> without_data;
  for (DavResource& r : ms->resources) {
    if (!is_member(c, r)) {
      continue;
    }
    if (r.status == 404) {
      changed = c.resources.erase(r.href) > 0 || changed;
      continue;
    }
    auto data = r.properties.find("calendar-data");
    if (data == r.properties.end()) {
      without_data.push_back(r.href);
      continue;
    }
    changed = keep(c, r, std::move(data->second)) || changed;
  }
  if (c.resources.size() > config_.max_resources) {
    return too_many(c, config_.max_resources);
  }
  c.sync_token = ms->sync_token;
  if (!without_data.empty()) {
    auto got = multiget(http, c, std::move(without_data));
    if (!got) {
      return got.error();
    }
    changed = changed || *got;
  }
  return changed;
}

// Servers without sync-collection: the collection's ctag says whether anything changed, the
// members' etags which (calendarserver.org ctag, RFC 4791 §7.9 calendar-multiget).
Result<bool> SourceSync::sync_by_etags(HttpClient& http, Collection& c) {
  auto tag = dav(http, "PROPFIND", c.url, 0, propfind_body("<cs:getctag/>"));
  if (!tag) {
    return tag.error();
  }
  std::string ctag;
  for (const DavResource& r : tag->resources) {
    if (auto it = r.properties.find("getctag"); it != r.properties.end()) {
      ctag = it->second;
    }
  }
  if (!ctag.empty() && ctag == c.ctag) {
    return false;
  }
  auto listing = dav(http, "PROPFIND", c.url, 1, propfind_body("<d:getetag/>"));
  if (!listing) {
    return listing.error();
  }
  bool changed = false;
  std::set<std::string> present;
  std::vector<std::string> stale;
  for (DavResource& r : listing->resources) {
    if (!is_member(c, r)) {
      continue;
    }
    present.insert(r.href);
    auto it = c.resources.find(r.href);
    if (it == c.resources.end() || it->second.etag != r.properties["getetag"] ||
        r.properties["getetag"].empty()) {
      stale.push_back(r.href);
    }
  }
  changed = std::erase_if(c.resources, [&](const auto& e) { return !present.contains(e.first); }) > 0;
  if (!stale.empty()) {
    auto got = multiget(http, c, std::move(stale));
    if (!got) {
      return got.error();
    }
    changed = changed || *got;
  }
  c.ctag = ctag;
  return changed;
}

Result<bool> SourceSync::multiget(HttpClient& http, Collection& c, std::vector<std::string> hrefs) {
  bool changed = false;
  for (std::size_t i = 0; i < hrefs.size(); i += kMultigetBatch) {
    const std::vector<std::string> batch(
        hrefs.begin() + static_cast<std::ptrdiff_t>(i),
        hrefs.begin() + static_cast<std::ptrdiff_t>(std::min(hrefs.size(), i + kMultigetBatch)));
    auto ms = dav(http, "REPORT", c.url, 1, calendar_multiget_body(batch));
    if (!ms) {
      return ms.error();
    }
    for (DavResource& r : ms->resources) {
      auto data = r.properties.find("calendar-data");
      if (data == r.properties.end() || !is_member(c, r)) {
        continue;
      }
      changed = keep(c, r, std::move(data->second)) || changed;
    }
  }
  if (c.resources.size() > config_.max_resources) {
    return too_many(c, config_.max_resources);
  }
  return changed;
}

}  // namespace presenced::connectors::calendar
