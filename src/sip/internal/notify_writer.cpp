#include "sip/internal/notify_writer.h"

#include "sip/internal/grammar.h"
#include "sip/internal/writer.h"

#include <cstddef>

namespace presenced::sip {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// The parser accepts only what it wrote (the text is ours), so a failure is not expected; an
// empty value keeps the caller going.
template <typename T>
T or_empty(Parsed<T> parsed) {
  return parsed ? std::move(*parsed) : T{};
}

// Same bytes as writer::name_addr, without the header parameters.
void address(std::string& out, const NameAddr& a) {
  writer::Appender sink(out);
  if (!a.display_name.empty()) {
    writer::quoted(sink, a.display_name);
    sink.put(' ');
  }
  sink.put('<');
  writer::uri(sink, a.uri);
  sink.put('>');
}

}  // namespace

DialogText::DialogText(const Uri& remote_target, const std::vector<NameAddr>& route_set,
                       const NameAddr& local, std::string_view local_tag, const NameAddr& remote,
                       std::string_view call_id, std::string_view package,
                       const std::optional<std::string>& event_id) {
  const auto here = [this] { return static_cast<std::uint32_t>(text_.size()); };
  text_ = serialize(remote_target);
  target_ = {0, here()};
  text_.append(kCrlf);
  headers_at_ = here();
  for (const NameAddr& route : route_set) {
    text_.append("Route: ");
    address(text_, route);
    writer::Appender sink(text_);
    writer::params(sink, route.params);
    text_.append(kCrlf);
  }
  text_.append("From: ");
  address(text_, local);
  {
    writer::Appender sink(text_);
    writer::params(sink, local.params);
  }
  text_.append(";tag=");
  local_tag_ = {here(), static_cast<std::uint32_t>(local_tag.size())};
  text_.append(local_tag).append(kCrlf);
  text_.append("To: ");
  address(text_, remote);
  bool tag_seen = false;
  for (const Param& param : remote.params) {
    text_.push_back(';');
    text_.append(param.name);
    if (param.value) {
      text_.push_back('=');
      if (!tag_seen && grammar::iequals(param.name, "tag")) {
        remote_tag_ = {here(), static_cast<std::uint32_t>(param.value->size())};
      }
      text_.append(*param.value);
    }
    tag_seen = tag_seen || grammar::iequals(param.name, "tag");
  }
  text_.append(kCrlf).append("Call-ID: ");
  call_id_ = {here(), static_cast<std::uint32_t>(call_id.size())};
  text_.append(call_id).append(kCrlf);
  event_at_ = here();
  text_.append("Event: ").append(package);
  if (event_id) {
    text_.append(";id=");
    event_id_ = {here(), static_cast<std::uint32_t>(event_id->size())};
    text_.append(*event_id);
    has_event_id_ = true;
  }
  text_.append(kCrlf);
  text_.shrink_to_fit();
}

std::optional<std::string_view> DialogText::event_id() const {
  return has_event_id_ ? std::optional<std::string_view>(view(event_id_)) : std::nullopt;
}

std::string_view DialogText::before_cseq() const {
  return std::string_view(text_).substr(headers_at_, event_at_ - headers_at_);
}

std::string_view DialogText::event_line() const {
  return std::string_view(text_).substr(event_at_);
}

std::string_view DialogText::header_value(std::string_view name) const {
  const std::string_view text(text_);
  std::string_view rest = text.substr(headers_at_, event_at_ - headers_at_);
  while (!rest.empty()) {
    const std::size_t end = rest.find(kCrlf);
    const std::string_view line = rest.substr(0, end);
    rest = rest.substr(end + kCrlf.size());
    if (line.size() > name.size() + 2 && line.starts_with(name) &&
        line.substr(name.size(), 2) == ": ") {
      return line.substr(name.size() + 2);
    }
  }
  return {};
}

Uri DialogText::remote_target() const {
  return or_empty(parse_uri(remote_target_text()));
}

std::vector<NameAddr> DialogText::route_set() const {
  std::vector<NameAddr> routes;
  std::string_view rest = before_cseq();
  constexpr std::string_view kRoute = "Route: ";
  while (rest.starts_with(kRoute)) {
    const std::size_t end = rest.find(kCrlf);
    routes.push_back(or_empty(parse_name_addr(rest.substr(kRoute.size(), end - kRoute.size()))));
    rest = rest.substr(end + kCrlf.size());
  }
  return routes;
}

Uri DialogText::next_hop() const {
  constexpr std::string_view kRoute = "Route: ";
  const std::string_view lines = before_cseq();
  if (lines.starts_with(kRoute)) {
    const std::size_t end = lines.find(kCrlf);
    return or_empty(parse_name_addr(lines.substr(kRoute.size(), end - kRoute.size()))).uri;
  }
  return remote_target();
}

NameAddr DialogText::local() const {
  return or_empty(parse_name_addr(header_value("From")));
}

NameAddr DialogText::remote() const {
  return or_empty(parse_name_addr(header_value("To")));
}

void DialogText::set_remote_target(const Uri& target) {
  const std::string written = serialize(target);
  if (written == remote_target_text()) {
    return;
  }
  const auto shift = static_cast<std::uint32_t>(static_cast<std::int64_t>(written.size()) -
                                                static_cast<std::int64_t>(target_.size));
  text_.replace(0, target_.size, written);
  text_.shrink_to_fit();
  target_.size = static_cast<std::uint32_t>(written.size());
  // Unsigned wrap-around adds a negative shift.
  for (Span* span : {&call_id_, &local_tag_, &remote_tag_, &event_id_}) {
    span->offset += shift;
  }
  headers_at_ += shift;
  event_at_ += shift;
}

bool DialogText::same_dialog(std::string_view call_id, std::string_view remote_tag,
                             std::string_view local_tag,
                             const std::optional<std::string>& event_id) const {
  const std::optional<std::string_view> own = this->event_id();
  return call_id == this->call_id() && remote_tag == this->remote_tag() &&
         local_tag == this->local_tag() && own.has_value() == event_id.has_value() &&
         (!own || *own == *event_id);
}

std::uint64_t dialog_hash(std::string_view call_id, std::string_view remote_tag,
                          std::string_view local_tag,
                          const std::optional<std::string_view>& event_id) {
  // FNV-1a over the parts with a separator each; collisions are checked by the caller.
  std::uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](std::string_view part) {
    for (const char c : part) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    hash = (hash ^ 0xffu) * 1099511628211ull;
  };
  mix(call_id);
  mix(remote_tag);
  mix(local_tag);
  mix(event_id.value_or(""));
  return hash;
}

std::string write_notify(const DialogText& dialog, const NotifyLine& line, std::string_view body) {
  return writer::build([&](auto& sink) {
    sink.put("NOTIFY ");
    sink.put(dialog.remote_target_text());
    sink.put(" SIP/2.0\r\n");
    sink.put(line.via);
    sink.put(line.branch);
    sink.put(kCrlf);
    sink.put(dialog.before_cseq());
    sink.put("CSeq: ");
    writer::number(sink, line.cseq);
    sink.put(" NOTIFY\r\nMax-Forwards: 70\r\n");
    sink.put(line.contact);
    sink.put(dialog.event_line());
    sink.put("Subscription-State: ");
    sink.put(line.state);
    if (!line.reason.empty()) {
      sink.put(";reason=");
      sink.put(line.reason);
    }
    if (line.expires) {
      sink.put(";expires=");
      writer::number(sink, *line.expires);
    }
    if (!body.empty()) {  // a final NOTIFY may carry no document (RFC 6665 §4.2.2)
      sink.put("\r\nContent-Type: application/");
      sink.put(line.content_subtype);
    }
    sink.put("\r\nContent-Length: ");
    writer::number(sink, body.size());
    sink.put("\r\n\r\n");
    sink.put(body);
  });
}

}  // namespace presenced::sip
