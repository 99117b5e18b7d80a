#pragma once

// One user's calendar source and what the last syncs left of it: the calendar collections
// (found by discovery or given), each collection's sync token, ctag and resources by href, or
// the ICS document and its ETag. fetch() brings them up to date over HTTP.
//
// Thread-safety: none; used on the connector's thread only.

#include "connectors/calendar/calendar.h"
#include "connectors/calendar/internal/multistatus.h"
#include "connectors/http/http.h"

#include <map>
#include <string>
#include <vector>

namespace presenced::connectors::calendar {

using http::HttpAnswer;
using http::HttpCall;
using http::HttpClient;

struct Resource {
  std::string etag;
  std::string ics;
};

struct Collection {
  std::string url;
  std::string sync_token;
  bool sync_collection_refused = false;  // then ctag + etag + calendar-multiget
  std::string ctag;
  std::map<std::string, Resource> resources;  // by href
};

class SourceSync {
 public:
  SourceSync(Source source, const ConnectorConfig& config);

  // Brings the copy up to date; true when anything changed. Errors: Unauthenticated (401/403),
  // Unavailable (transport), FailedPrecondition (another HTTP status), InvalidArgument (bad XML).
  core::Result<bool> fetch(HttpClient& http);
  // The iCalendar texts of the last good fetch.
  std::vector<const std::string*> documents() const;
  const Source& source() const { return source_; }

 private:
  core::Result<HttpAnswer> send(HttpClient& http, std::string method, const std::string& url,
                                int depth, std::string body) const;
  core::Result<Multistatus> dav(HttpClient& http, std::string method, const std::string& url,
                                int depth, std::string body) const;
  core::Result<void> discover(HttpClient& http);
  core::Result<bool> fetch_ics(HttpClient& http);
  core::Result<bool> sync_collection(HttpClient& http, Collection& c);
  core::Result<bool> sync_by_etags(HttpClient& http, Collection& c);
  core::Result<bool> multiget(HttpClient& http, Collection& c, std::vector<std::string> hrefs);

  Source source_;
  const ConnectorConfig& config_;
  std::string username_;
  std::string password_;
  bool discovered_ = false;
  std::vector<Collection> collections_;
  Resource ics_;
};

}  // namespace presenced::connectors::calendar
