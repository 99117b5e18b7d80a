#include "sip/internal/subscription_record.h"

#include <charconv>

namespace presenced::sip {

namespace {

void line(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(" ").append(value).append("\n");
}

template <typename Number>
std::optional<Number> number(std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::string_view transport_name(Transport transport) {
  switch (transport) {
    case Transport::Udp: return "udp";
    case Transport::Tcp: return "tcp";
    case Transport::Tls: return "tls";
  }
  return "udp";
}

}  // namespace

std::string encode_subscription(const StoredSubscription& s) {
  std::string out;
  out.reserve(512);
  line(out, "package", s.package);
  line(out, "subscriber", s.subscriber);
  line(out, "presentity", s.presentity);
  line(out, "call-id", s.call_id);
  line(out, "local", serialize(s.local));
  line(out, "remote", serialize(s.remote));
  if (s.event_id) {
    line(out, "event-id", *s.event_id);
  }
  line(out, "target", serialize(s.remote_target));
  for (const NameAddr& route : s.route_set) {
    line(out, "route", serialize(route));
  }
  line(out, "remote-cseq", std::to_string(s.remote_cseq));
  line(out, "local-cseq-bound", std::to_string(s.local_cseq_bound));
  line(out, "expires-ms", std::to_string(s.expires_at.time_since_epoch().count()));
  line(out, "created-ms", std::to_string(s.created_at.time_since_epoch().count()));
  line(out, "transport", transport_name(s.transport));
  line(out, "address", s.address);
  line(out, "port", std::to_string(s.port));
  return out;
}

std::optional<StoredSubscription> decode_subscription(std::string_view body) {
  StoredSubscription s;
  unsigned seen = 0;  // one bit per required line
  const auto mark = [&seen](unsigned bit) { seen |= 1u << bit; };
  while (!body.empty()) {
    const std::size_t end = body.find('\n');
    const std::string_view text = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view() : body.substr(end + 1);
    const std::size_t space = text.find(' ');
    if (space == std::string_view::npos) {
      continue;
    }
    const std::string_view name = text.substr(0, space);
    const std::string_view value = text.substr(space + 1);
    if (name == "package") {
      s.package = value, mark(0);
    } else if (name == "subscriber") {
      s.subscriber = value, mark(1);
    } else if (name == "presentity") {
      s.presentity = value, mark(2);
    } else if (name == "call-id") {
      s.call_id = value, mark(3);
    } else if (name == "local" || name == "remote" || name == "route") {
      auto address = parse_name_addr(value);
      if (!address) {
        return std::nullopt;
      }
      if (name == "route") {
        s.route_set.push_back(std::move(*address));
      } else if (name == "local") {
        s.local = std::move(*address), mark(4);
      } else {
        s.remote = std::move(*address), mark(5);
      }
    } else if (name == "event-id") {
      s.event_id = std::string(value);
    } else if (name == "target") {
      auto uri = parse_uri(value);
      if (!uri) {
        return std::nullopt;
      }
      s.remote_target = std::move(*uri), mark(6);
    } else if (name == "remote-cseq" || name == "local-cseq-bound" || name == "port") {
      const auto n = number<std::uint32_t>(value);
      if (!n || (name == "port" && *n > 65535)) {
        return std::nullopt;
      }
      if (name == "remote-cseq") {
        s.remote_cseq = *n, mark(7);
      } else if (name == "local-cseq-bound") {
        s.local_cseq_bound = *n, mark(8);
      } else {
        s.port = static_cast<std::uint16_t>(*n), mark(9);
      }
    } else if (name == "expires-ms" || name == "created-ms") {
      const auto ms = number<std::int64_t>(value);
      if (!ms) {
        return std::nullopt;
      }
      (name == "expires-ms" ? s.expires_at : s.created_at) = WallTime(std::chrono::milliseconds(*ms));
      mark(name == "expires-ms" ? 10 : 11);
    } else if (name == "transport") {
      if (value == "udp") {
        s.transport = Transport::Udp;
      } else if (value == "tcp") {
        s.transport = Transport::Tcp;
      } else if (value == "tls") {
        s.transport = Transport::Tls;
      } else {
        return std::nullopt;
      }
      mark(12);
    } else if (name == "address") {
      s.address = value, mark(13);
    }
  }
  constexpr unsigned kRequired = (1u << 14) - 1;
  if (seen != kRequired) {
    return std::nullopt;
  }
  return s;
}

}  // namespace presenced::sip
