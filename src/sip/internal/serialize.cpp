// Writing a message: the start line, the typed headers in one fixed order (Via first, as proxies
// expect, Content-Length last), the others in their order, then the body. Compact forms are
// never written; each Via, Route and Contact gets its own line.

#include "sip/internal/message.h"
#include "sip/internal/writer.h"

namespace presenced::sip {

namespace {

using writer::Counter;

template <typename Sink>
void header(Sink& sink, std::string_view name) {
  sink.put(name);
  sink.put(": ");
}

template <typename Sink>
void end_line(Sink& sink) {
  sink.put("\r\n");
}

template <typename Sink>
void name_addrs(Sink& sink, std::string_view name, const std::vector<NameAddr>& list) {
  for (const NameAddr& address : list) {
    header(sink, name);
    writer::name_addr(sink, address);
    end_line(sink);
  }
}

template <typename Sink>
void tokens(Sink& sink, std::string_view name, const std::vector<std::string>& list) {
  if (list.empty()) {
    return;
  }
  header(sink, name);
  for (std::size_t i = 0; i < list.size(); ++i) {
    sink.put(i == 0 ? "" : ", ");
    sink.put(list[i]);
  }
  end_line(sink);
}

template <typename Sink>
void seconds(Sink& sink, std::string_view name, const std::optional<std::uint32_t>& value) {
  if (value) {
    header(sink, name);
    writer::number(sink, *value);
    end_line(sink);
  }
}

template <typename Sink>
void token(Sink& sink, std::string_view name, const std::optional<std::string>& value) {
  if (value) {
    header(sink, name);
    sink.put(*value);
    end_line(sink);
  }
}

template <typename Sink>
void media_type(Sink& sink, const MediaType& type) {
  sink.put(type.type);
  sink.put('/');
  sink.put(type.subtype);
  writer::params(sink, type.params);
}

template <typename Sink>
void auths(Sink& sink, std::string_view name, const std::vector<Auth>& list) {
  for (const Auth& auth : list) {
    header(sink, name);
    sink.put(auth.scheme);
    for (std::size_t i = 0; i < auth.params.size(); ++i) {
      const AuthParam& param = auth.params[i];
      sink.put(i == 0 ? " " : ", ");
      sink.put(param.name);
      sink.put('=');
      if (param.quoted) {
        writer::quoted(sink, param.value);
      } else {
        sink.put(param.value);
      }
    }
    end_line(sink);
  }
}

template <typename Sink>
void start_line(Sink& sink, const Message& m) {
  if (m.is_request()) {
    sink.put(m.method_name());
    sink.put(' ');
    writer::uri(sink, m.request_uri);
    sink.put(" SIP/2.0\r\n");
  } else {
    sink.put("SIP/2.0 ");
    writer::number(sink, static_cast<std::uint64_t>(m.status));
    sink.put(' ');
    sink.put(m.reason);
    end_line(sink);
  }
}

template <typename Sink>
void dialog_headers(Sink& sink, const Message& m) {
  for (const Via& via : m.vias) {
    header(sink, "Via");
    sink.put("SIP/2.0/");
    sink.put(via.transport);
    sink.put(' ');
    sink.put(via.host);
    if (via.port) {
      sink.put(':');
      writer::number(sink, *via.port);
    }
    writer::params(sink, via.params);
    end_line(sink);
  }
  name_addrs(sink, "Route", m.routes);
  name_addrs(sink, "Record-Route", m.record_routes);
  header(sink, "From");
  writer::name_addr(sink, m.from);
  end_line(sink);
  header(sink, "To");
  writer::name_addr(sink, m.to);
  end_line(sink);
  header(sink, "Call-ID");
  sink.put(m.call_id);
  end_line(sink);
  header(sink, "CSeq");
  writer::number(sink, m.cseq.number);
  sink.put(' ');
  sink.put(m.cseq.method == Method::Other ? std::string_view(m.cseq.extension_method)
                                          : to_string(m.cseq.method));
  end_line(sink);
  if (m.max_forwards) {
    header(sink, "Max-Forwards");
    writer::number(sink, static_cast<std::uint64_t>(*m.max_forwards));
    end_line(sink);
  }
  if (m.contacts.star) {
    sink.put("Contact: *\r\n");
  }
  name_addrs(sink, "Contact", m.contacts.addresses);
}

template <typename Sink>
void event_headers(Sink& sink, const Message& m) {
  seconds(sink, "Expires", m.expires);
  seconds(sink, "Min-Expires", m.min_expires);
  if (m.event) {
    header(sink, "Event");
    sink.put(m.event->package);
    if (m.event->id) {
      sink.put(";id=");
      sink.put(*m.event->id);
    }
    writer::params(sink, m.event->params);
    end_line(sink);
  }
  if (const auto& state = m.subscription_state) {
    header(sink, "Subscription-State");
    sink.put(state->state);
    if (!state->reason.empty()) {
      sink.put(";reason=");
      sink.put(state->reason);
    }
    if (state->expires) {
      sink.put(";expires=");
      writer::number(sink, *state->expires);
    }
    if (state->retry_after) {
      sink.put(";retry-after=");
      writer::number(sink, *state->retry_after);
    }
    writer::params(sink, state->params);
    end_line(sink);
  }
  token(sink, "SIP-ETag", m.sip_etag);
  token(sink, "SIP-If-Match", m.sip_if_match);
}

template <typename Sink>
void write_message(Sink& sink, const Message& m) {
  start_line(sink, m);
  dialog_headers(sink, m);
  event_headers(sink, m);
  if (m.accept) {
    header(sink, "Accept");
    for (std::size_t i = 0; i < m.accept->size(); ++i) {
      sink.put(i == 0 ? "" : ", ");
      media_type(sink, (*m.accept)[i]);
    }
    end_line(sink);
  }
  tokens(sink, "Allow", m.allow);
  tokens(sink, "Allow-Events", m.allow_events);
  tokens(sink, "Supported", m.supported);
  tokens(sink, "Require", m.require);
  auths(sink, "WWW-Authenticate", m.www_authenticate);
  auths(sink, "Proxy-Authenticate", m.proxy_authenticate);
  auths(sink, "Authorization", m.authorization);
  auths(sink, "Proxy-Authorization", m.proxy_authorization);
  for (const Header& h : m.other_headers) {
    header(sink, h.name);
    sink.put(h.value);
    end_line(sink);
  }
  if (m.content_type) {
    header(sink, "Content-Type");
    media_type(sink, *m.content_type);
    end_line(sink);
  }
  header(sink, "Content-Length");
  writer::number(sink, m.body.size());
  sink.put("\r\n\r\n");
  sink.put(m.body);
}

}  // namespace

std::string serialize(const Message& message) {
  return writer::build([&](auto& sink) { write_message(sink, message); });
}

}  // namespace presenced::sip
