#include "connectors/calendar/internal/multistatus.h"

#include <expat.h>
#include <fmt/format.h>

#include <limits>
#include <memory>

namespace presenced::connectors::calendar {
namespace {

using core::Error;

constexpr char kSeparator = '|';
constexpr std::string_view kDav = "DAV:";
constexpr std::string_view kCalDav = "urn:ietf:params:xml:ns:caldav";

struct Name {
  std::string_view ns;
  std::string_view local;
};

Name split(std::string_view qualified) {
  const std::size_t bar = qualified.rfind(kSeparator);
  if (bar == std::string_view::npos) {
    return {{}, qualified};
  }
  return {qualified.substr(0, bar), qualified.substr(bar + 1)};
}

// Walks the tree keeping the path of element names; text goes to the innermost element.
class Reader {
 public:
  Reader(std::size_t max_resources, XML_Parser parser)
      : max_resources_(max_resources), parser_(parser) {}

  void start(const char* qualified) {
    path_.push_back(std::string(qualified));
    text_.clear();
    const Name n = split(path_.back());
    if (n.ns == kDav && n.local == "response") {
      if (out_.resources.size() >= max_resources_) {
        fail(fmt::format("multistatus: more than {} resources", max_resources_));
        return;
      }
      current_ = DavResource{};
    } else if (n.ns == kDav && n.local == "propstat") {
      pending_.clear();
      propstat_ok_ = false;
    } else if (n.ns == kCalDav && n.local == "calendar" && parent_is(kDav, "resourcetype", 1)) {
      pending_calendar_ = true;
    }
  }

  void end() {
    const Name n = split(path_.back());
    if (n.ns == kDav && n.local == "href") {
      if (parent_is(kDav, "response", 1)) {
        current_.href = text_;
      } else if (path_.size() >= 3 && parent_is(kDav, "prop", 2)) {
        pending_[std::string(split(path_[path_.size() - 2]).local)] = text_;
      }
    } else if (n.ns == kDav && n.local == "status") {
      const bool ok = text_.find(" 200") != std::string::npos;
      if (parent_is(kDav, "propstat", 1)) {
        propstat_ok_ = ok;
      } else if (parent_is(kDav, "response", 1)) {
        current_.status = status_code(text_);
      }
    } else if (n.ns == kDav && n.local == "sync-token" && parent_is(kDav, "multistatus", 1)) {
      out_.sync_token = text_;
    } else if (parent_is(kDav, "prop", 1) && !pending_.contains(std::string(n.local))) {
      pending_[std::string(n.local)] = text_;
    } else if (n.ns == kDav && n.local == "propstat") {
      if (propstat_ok_) {
        current_.properties.merge(pending_);
        current_.is_calendar = current_.is_calendar || pending_calendar_;
      }
      pending_calendar_ = false;
    } else if (n.ns == kDav && n.local == "response") {
      out_.resources.push_back(std::move(current_));
    }
    path_.pop_back();
    text_.clear();
  }

  void text(std::string_view t) { text_.append(t); }

  void fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    XML_StopParser(parser_, XML_FALSE);
  }

  const std::string& error() const { return error_; }
  Multistatus take() { return std::move(out_); }

 private:
  bool parent_is(std::string_view ns, std::string_view local, std::size_t up) const {
    if (path_.size() <= up) {
      return false;
    }
    const Name n = split(path_[path_.size() - 1 - up]);
    return n.ns == ns && n.local == local;
  }

  static int status_code(std::string_view line) {  // "HTTP/1.1 404 Not Found"
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos || space + 4 > line.size()) {
      return 0;
    }
    int code = 0;
    for (char c : line.substr(space + 1, 3)) {
      if (c < '0' || c > '9') {
        return 0;
      }
      code = code * 10 + (c - '0');
    }
    return code;
  }

  std::size_t max_resources_;
  XML_Parser parser_;
  std::vector<std::string> path_;
  std::string text_;
  DavResource current_;
  std::map<std::string, std::string> pending_;
  bool propstat_ok_ = false;
  bool pending_calendar_ = false;
  Multistatus out_;
  std::string error_;
};

Reader& reader_of(void* data) { return *static_cast<Reader*>(data); }
void on_start(void* data, const XML_Char* name, const XML_Char**) { reader_of(data).start(name); }
void on_end(void* data, const XML_Char*) { reader_of(data).end(); }
void on_text(void* data, const XML_Char* text, int length) {
  reader_of(data).text(std::string_view(text, static_cast<std::size_t>(length)));
}
void on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  reader_of(data).fail("multistatus: DOCTYPE not allowed");
}

struct FreeParser {
  void operator()(XML_ParserStruct* parser) const { XML_ParserFree(parser); }
};

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

core::Result<Multistatus> parse_multistatus(std::string_view body, std::size_t max_resources) {
  if (body.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Error::resource_exhausted("multistatus: too large");
  }
  const std::unique_ptr<XML_ParserStruct, FreeParser> parser(
      XML_ParserCreateNS("UTF-8", kSeparator));
  if (!parser) {
    return Error::internal("multistatus: no memory for the XML parser");
  }
  Reader reader(max_resources, parser.get());
  XML_SetUserData(parser.get(), &reader);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_text);
  XML_SetStartDoctypeDeclHandler(parser.get(), on_doctype);
  XML_SetParamEntityParsing(parser.get(), XML_PARAM_ENTITY_PARSING_NEVER);
  const XML_Status status =
      XML_Parse(parser.get(), body.data(), static_cast<int>(body.size()), XML_TRUE);
  if (!reader.error().empty()) {
    return Error::invalid_argument(reader.error());
  }
  if (status != XML_STATUS_OK) {
    return Error::invalid_argument(fmt::format(
        "multistatus: {} at line {}", XML_ErrorString(XML_GetErrorCode(parser.get())),
        XML_GetCurrentLineNumber(parser.get())));
  }
  return reader.take();
}

std::string propfind_body(std::string_view properties_xml) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<d:propfind xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\" "
      "xmlns:cs=\"http://calendarserver.org/ns/\"><d:prop>{}</d:prop></d:propfind>",
      properties_xml);
}

std::string sync_collection_body(std::string_view sync_token) {
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<d:sync-collection xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
      "<d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level>"
      "<d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>",
      escape(sync_token));
}

std::string calendar_multiget_body(const std::vector<std::string>& hrefs) {
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<c:calendar-multiget xmlns:d=\"DAV:\" xmlns:c=\"urn:ietf:params:xml:ns:caldav\">"
      "<d:prop><d:getetag/><c:calendar-data/></d:prop>";
  for (const std::string& href : hrefs) {
    out += "<d:href>" + escape(href) + "</d:href>";
  }
  return out + "</c:calendar-multiget>";
}

std::string resolve_href(std::string_view base_url, std::string_view href) {
  if (href.starts_with("http://") || href.starts_with("https://")) {
    return std::string(href);
  }
  const std::size_t scheme = base_url.find("://");
  const std::size_t path = scheme == std::string_view::npos
                               ? std::string_view::npos
                               : base_url.find('/', scheme + 3);
  const std::string_view origin = base_url.substr(0, path);
  if (href.starts_with('/')) {
    return std::string(origin) + std::string(href);
  }
  std::string_view dir = base_url.substr(0, base_url.rfind('/') + 1);
  if (dir.size() <= origin.size()) {
    return std::string(origin) + "/" + std::string(href);
  }
  return std::string(dir) + std::string(href);
}

}  // namespace presenced::connectors::calendar
