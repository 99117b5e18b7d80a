#include "connectors/calendar/internal/multistatus.h"

#include "xml/xml.h"

#include <fmt/format.h>

namespace presenced::connectors::calendar {
namespace {

using core::Error;

constexpr std::string_view kDav = "DAV:";
constexpr std::string_view kCalDav = "urn:ietf:params:xml:ns:caldav";

struct OpenElement {
  std::string ns;
  std::string local;
};

// Walks the tree keeping the path of element names; text goes to the innermost element.
class Reader final : public presenced::xml::Handler {
 public:
  explicit Reader(std::size_t max_resources)
      : max_resources_(max_resources), parser_(*this, {}) {}

  bool read(std::string_view body) { return parser_.feed(body, true); }
  const presenced::xml::Failure& failure() const { return parser_.failure(); }

  void start_element(presenced::xml::Name name, presenced::xml::Attributes) override {
    path_.push_back({std::string(name.ns), std::string(name.local)});
    text_.clear();
    const OpenElement& n = path_.back();
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

  void end_element(presenced::xml::Name) override {
    const OpenElement& n = path_.back();
    if (n.ns == kDav && n.local == "href") {
      if (parent_is(kDav, "response", 1)) {
        current_.href = text_;
      } else if (path_.size() >= 3 && parent_is(kDav, "prop", 2)) {
        pending_[path_[path_.size() - 2].local] = text_;
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
    } else if (parent_is(kDav, "prop", 1) && !pending_.contains(n.local)) {
      pending_[n.local] = text_;
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

  void text(std::string_view t) override { text_.append(t); }

  void fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
    parser_.stop();
  }

  const std::string& error() const { return error_; }
  Multistatus take() { return std::move(out_); }

 private:
  bool parent_is(std::string_view ns, std::string_view local, std::size_t up) const {
    if (path_.size() <= up) {
      return false;
    }
    const OpenElement& n = path_[path_.size() - 1 - up];
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
  presenced::xml::Parser parser_;
  std::vector<OpenElement> path_;
  std::string text_;
  DavResource current_;
  std::map<std::string, std::string> pending_;
  bool propstat_ok_ = false;
  bool pending_calendar_ = false;
  Multistatus out_;
  std::string error_;
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
  Reader reader(max_resources);
  if (!reader.read(body)) {
    if (!reader.error().empty()) {
      return Error::invalid_argument(reader.error());
    }
    const presenced::xml::Failure& failure = reader.failure();
    if (failure.problem == presenced::xml::Problem::OutOfMemory) {
      return Error::internal(fmt::format("multistatus: {}", failure.detail));
    }
    return Error::invalid_argument(fmt::format("multistatus: {}", failure.detail));
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
