#pragma once

// WebDAV multistatus answers (RFC 4918 §13) to the PROPFIND and REPORT requests of CalDAV sync,
// read with expat into what the sync needs, and the request bodies. Pure.

#include "core/result.h"

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::connectors::calendar {

// One <response>: a resource, its status (404 for a member gone since a sync token) and the
// properties it answered with 200, by local name ("getetag", "calendar-data", "getctag",
// "sync-token"; "current-user-principal" and "calendar-home-set" hold their <href>).
struct DavResource {
  std::string href;
  int status = 200;
  std::map<std::string, std::string> properties;
  bool is_calendar = false;  // <resourcetype> holds CalDAV's <calendar/>
};

struct Multistatus {
  std::vector<DavResource> resources;
  std::string sync_token;  // RFC 6578 §6.4: the token after a sync-collection REPORT
};

core::Result<Multistatus> parse_multistatus(std::string_view body, std::size_t max_resources);

// Request bodies.
std::string propfind_body(std::string_view properties_xml);
std::string sync_collection_body(std::string_view sync_token);  // RFC 6578 §3.2
std::string calendar_multiget_body(const std::vector<std::string>& hrefs);  // RFC 4791 §7.9

// `href` (absolute path or URL) resolved against the URL it came from.
std::string resolve_href(std::string_view base_url, std::string_view href);

}  // namespace presenced::connectors::calendar
