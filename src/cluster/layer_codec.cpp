#include "cluster/layer_codec.h"

#include "cluster/kv_keys.h"
#include "store/internal/records.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace presenced::cluster {
namespace {

namespace records = store::records;
using core::Error;

// A value: version, layer, row count, then per row its column count and columns, each a tag
// ('n' null, 'i' int64, 's' text) and its bytes. Integers are little-endian.
constexpr char kVersion = 1;
constexpr char kNull = 'n';
constexpr char kInt = 'i';
constexpr char kText = 's';
constexpr std::size_t kMaxColumns = 16;

std::string_view layer_name(core::Layer layer) {
  switch (layer) {
    case core::Layer::Manual:
      return "manual";
    case core::Layer::Telephony:
      return "telephony";
    case core::Layer::Calendar:
      return "calendar";
    default:
      return {};
  }
}

class Writer {
 public:
  Writer(core::Layer layer, std::size_t rows) : Writer(static_cast<std::uint8_t>(layer), rows) {}
  Writer(std::uint8_t kind, std::size_t rows) {
    out_ += kVersion;
    out_ += static_cast<char>(kind);
    fixed(static_cast<std::uint32_t>(rows));
  }
  Writer& row(std::uint8_t columns) {
    out_ += static_cast<char>(columns);
    return *this;
  }
  Writer& text(std::string_view s) {
    out_ += kText;
    fixed(static_cast<std::uint32_t>(s.size()));
    out_ += s;
    return *this;
  }
  Writer& integer(std::int64_t v) {
    out_ += kInt;
    fixed(static_cast<std::uint64_t>(v));
    return *this;
  }
  Writer& optional(std::optional<std::int64_t> v) {
    if (v) {
      return integer(*v);
    }
    out_ += kNull;
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  template <typename U>
  void fixed(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      out_ += static_cast<char>((v >> (8 * i)) & 0xFF);
    }
  }
  std::string out_;
};

using Column = std::variant<std::monostate, std::int64_t, std::string>;

// One decoded row in the shape records.h reads: a column of the wrong kind or past the end
// reads as empty and marks the row bad, so a decoder never throws and the value is refused.
class Row {
 public:
  explicit Row(std::vector<Column> columns) : columns_(std::move(columns)) {}
  std::string text(std::size_t c) const { return get<std::string>(c); }
  std::int64_t int64(std::size_t c) const { return get<std::int64_t>(c); }
  bool boolean(std::size_t c) const {
    const std::int64_t v = int64(c);
    bad_ = bad_ || (v != 0 && v != 1);
    return v == 1;
  }
  std::optional<std::int64_t> optional_int64(std::size_t c) const {
    if (c < columns_.size() && std::holds_alternative<std::monostate>(columns_[c])) {
      return std::nullopt;
    }
    return int64(c);
  }
  bool bad() const { return bad_; }

 private:
  template <typename T>
  T get(std::size_t c) const {
    if (c >= columns_.size() || !std::holds_alternative<T>(columns_[c])) {
      bad_ = true;
      return T{};
    }
    return std::get<T>(columns_[c]);
  }
  std::vector<Column> columns_;
  mutable bool bad_ = false;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename U>
  std::optional<U> fixed() {
    if (in_.size() < sizeof(U)) {
      return std::nullopt;
    }
    U v = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) {
      v |= static_cast<U>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(sizeof(U));
    return v;
  }
  std::optional<std::vector<Column>> row() {
    const auto count = fixed<std::uint8_t>();
    if (!count || *count > kMaxColumns) {
      return std::nullopt;
    }
    std::vector<Column> columns;
    for (std::uint8_t i = 0; i < *count; ++i) {
      const auto tag = fixed<std::uint8_t>();
      if (!tag) {
        return std::nullopt;
      }
      if (*tag == kNull) {
        columns.emplace_back();
      } else if (*tag == kInt) {
        const auto v = fixed<std::uint64_t>();
        if (!v) {
          return std::nullopt;
        }
        columns.emplace_back(static_cast<std::int64_t>(*v));
      } else if (*tag == kText) {
        const auto size = fixed<std::uint32_t>();
        if (!size || *size > in_.size()) {
          return std::nullopt;
        }
        columns.emplace_back(std::string(in_.substr(0, *size)));
        in_.remove_prefix(*size);
      } else {
        return std::nullopt;
      }
    }
    return columns;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

template <typename E>
bool in_range(E value, E last) {
  return static_cast<std::int64_t>(value) >= 0 && value <= last;
}

// The rows of a value written for `kind` (a layer or a directory entity); nullopt for another
// version or kind, a row cut short or malformed, or bytes after the last row.
std::optional<std::vector<Row>> read_rows(std::uint8_t kind, std::string_view value) {
  Reader in(value);
  const auto version = in.fixed<std::uint8_t>();
  const auto written = in.fixed<std::uint8_t>();
  const auto count = in.fixed<std::uint32_t>();
  if (!version || *version != kVersion || !written || *written != kind || !count) {
    return std::nullopt;
  }
  std::vector<Row> rows;
  for (std::uint32_t i = 0; i < *count; ++i) {
    auto columns = in.row();
    if (!columns) {
      return std::nullopt;
    }
    rows.emplace_back(std::move(*columns));
  }
  if (!in.done()) {
    return std::nullopt;
  }
  return rows;
}
std::optional<std::vector<Row>> read_rows(core::Layer layer, std::string_view value) {
  return read_rows(static_cast<std::uint8_t>(layer), value);
}

// "<token>.<token>" (a node and a user, an owner and a watcher) as the two ids it names.
std::optional<std::pair<std::string, std::string>> two_ids(std::string_view tokens) {
  const auto dot = tokens.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  auto first = user_from_token(tokens.substr(0, dot));
  auto second = user_from_token(tokens.substr(dot + 1));
  if (!first || !second) {
    return std::nullopt;
  }
  return std::pair(std::move(*first), std::move(*second));
}

}  // namespace

bool is_shared(core::Layer layer) { return !layer_name(layer).empty(); }

std::string layer_key(core::Layer layer, std::string_view user) {
  return std::string(layer_name(layer)) + "." + key_token(user);
}

std::string sessions_key(std::string_view node, std::string_view user) {
  return "sessions." + key_token(node) + "." + key_token(user);
}

std::string heartbeat_key(std::string_view node) { return "node." + key_token(node); }

std::optional<LayerKey> parse_layer_key(std::string_view key) {
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view head = key.substr(0, dot);
  const std::string_view rest = key.substr(dot + 1);
  if (head == "node") {
    auto node = user_from_token(rest);
    return node ? std::optional(LayerKey{core::Layer::None, {}, std::move(*node)}) : std::nullopt;
  }
  if (head == "sessions") {
    auto ids = two_ids(rest);
    if (!ids) {
      return std::nullopt;
    }
    return LayerKey{core::Layer::Sessions, std::move(ids->second), std::move(ids->first)};
  }
  for (const core::Layer layer :
       {core::Layer::Manual, core::Layer::Telephony, core::Layer::Calendar}) {
    if (head == layer_name(layer)) {
      auto user = user_from_token(rest);
      if (!user) {
        return std::nullopt;
      }
      return LayerKey{layer, std::move(*user), {}};
    }
  }
  return std::nullopt;
}

// Rows of user, client_id, kind, since, lease_until, input, input_since.
std::string encode_sessions(std::string_view user, const std::vector<core::Session>& sessions) {
  Writer w(core::Layer::Sessions, sessions.size());
  for (const core::Session& s : sessions) {
    w.row(7).text(user).text(s.client_id).text(s.kind).integer(records::millis(s.since));
    w.optional(records::millis(s.lease_until)).integer(records::as_int(s.input));
    w.integer(records::millis(s.input_since));
  }
  return w.take();
}

core::Result<std::vector<core::Session>> decode_sessions(std::string_view user,
                                                         std::string_view value) {
  const auto bad = [&](std::string_view why) {
    return Error::invalid_argument("cluster: sessions of " + std::string(user) + ": " +
                                   std::string(why));
  };
  const auto rows = read_rows(core::Layer::Sessions, value);
  if (!rows) {
    return bad("not a value of this version and layer, or cut short");
  }
  std::vector<core::Session> sessions;
  for (const Row& row : *rows) {
    core::Session s;
    s.client_id = row.text(1);
    s.kind = row.text(2);
    s.since = records::from_millis(row.int64(3));
    s.lease_until = records::from_millis(row.optional_int64(4));
    s.input = static_cast<core::InputState>(row.int64(5));
    s.input_since = records::from_millis(row.int64(6));
    if (row.text(0) != user || row.bad() || !in_range(s.input, core::InputState::Locked)) {
      return bad("a row is not a session of this user");
    }
    sessions.push_back(std::move(s));
  }
  return sessions;
}

std::string encode_layer(core::Layer layer, std::string_view user, const core::Layers& layers) {
  switch (layer) {
    case core::Layer::Manual: {
      Writer w(layer, layers.manual ? 1 : 0);
      if (const auto& m = layers.manual) {
        w.row(7).text(user).text(m->state_id).text(m->note).optional(records::millis(m->from));
        w.optional(records::millis(m->until)).integer(records::as_int(m->reachability));
        w.integer(records::millis(m->set_at));
      }
      return w.take();
    }
    case core::Layer::Telephony: {
      Writer w(layer, layers.telephony.calls.size());
      for (const core::Call& c : layers.telephony.calls) {
        w.row(7).text(user).text(c.device).text(c.call_id).integer(records::as_int(c.state));
        w.integer(records::as_int(c.direction)).integer(records::millis(c.started_at));
        w.integer(records::millis(c.updated_at));
      }
      return w.take();
    }
    case core::Layer::Calendar: {
      Writer w(layer, layers.calendar.appointments.size());
      for (const core::Appointment& a : layers.calendar.appointments) {
        w.row(8).text(user).text(a.id).text(a.subject).text(a.location);
        w.integer(records::millis(a.start)).integer(records::millis(a.end));
        w.integer(records::as_int(a.kind)).integer(a.is_private ? 1 : 0);
      }
      return w.take();
    }
    default:
      return {};
  }
}

core::Result<void> decode_layer(core::Layer layer, std::string_view user, std::string_view value,
                                core::Layers& into) {
  const auto bad = [&](std::string_view why) {
    return Error::invalid_argument("cluster: " + std::string(layer_name(layer)) + " layer of " +
                                   std::string(user) + ": " + std::string(why));
  };
  if (!is_shared(layer)) {
    return Error::invalid_argument("cluster: not a shared layer");
  }
  const auto rows = read_rows(layer, value);
  if (!rows) {
    return bad("not a value of this version and layer, or cut short");
  }
  std::optional<core::ManualLayer> manual;
  core::TelephonyLayer telephony;
  std::vector<store::CalendarRecord> calendars;
  for (const Row& row : *rows) {
    if (row.text(0) != user) {
      return bad("written for another user");
    }
    if (layer == core::Layer::Manual) {
      if (manual) {
        return bad("more than one manual state");
      }
      auto record = records::manual(row);
      if (!in_range(record.manual.reachability, core::Reachability::Vacation)) {
        return bad("unknown reachability");
      }
      manual = std::move(record.manual);
    } else if (layer == core::Layer::Telephony) {
      auto record = records::call(row);
      if (!in_range(record.call.state, core::CallState::Held) ||
          !in_range(record.call.direction, core::CallDirection::Outbound)) {
        return bad("unknown call state or direction");
      }
      telephony.calls.push_back(std::move(record.call));
    } else {
      records::add_appointment(row, calendars);
      if (!in_range(calendars.back().appointments.back().kind, core::CalendarKind::Free)) {
        return bad("unknown appointment kind");
      }
    }
    if (row.bad()) {
      return bad("a column has the wrong type");
    }
  }
  if (layer == core::Layer::Manual) {
    into.manual = std::move(manual);
  } else if (layer == core::Layer::Telephony) {
    into.telephony = std::move(telephony);
  } else {
    into.calendar.appointments =
        calendars.empty() ? std::vector<core::Appointment>{} : std::move(calendars[0].appointments);
  }
  return {};
}

namespace {

constexpr std::string_view kDirectory = "directory.";
constexpr std::uint8_t kUserKind = 'u';
constexpr std::uint8_t kTokenKind = 't';
constexpr std::uint8_t kVisibilityKind = 'v';
constexpr std::uint8_t kStateKind = 's';
constexpr std::uint8_t kGroupKind = 'g';
constexpr std::uint8_t kDeviceKind = 'd';
constexpr std::uint8_t kContactKind = 'c';
constexpr std::uint8_t kSettingKind = 'k';
constexpr std::uint8_t kDocumentKind = 'o';

std::string directory_key(std::string_view kind, std::string_view id) {
  return std::string(kDirectory) + std::string(kind) + "." + key_token(id);
}
std::string visibility_key(std::string_view owner, std::string_view watcher) {
  return directory_key("visibility", owner) + "." + key_token(watcher);
}
std::string device_key(std::string_view user, std::string_view device) {
  return directory_key("device", user) + "." + key_token(device);
}
std::string contact_key(const store::ContactRecord& c) {
  return directory_key("contact", c.owner) + "." + key_token(c.contact);
}
std::string document_key(std::string_view kind, std::string_view id) {
  return directory_key("document", kind) + "." + key_token(id);
}

// id, display_name, role, password_hash, sip_password, idle_minutes, login_state,
// logout_state, dnd_protection (records::user), then one row per group.
std::string encode_user(const store::UserRecord& u) {
  Writer w(kUserKind, 1 + u.groups.size());
  w.row(9).text(u.id).text(u.display_name).integer(records::as_int(u.role));
  w.text(u.password_hash).text(u.sip_password).integer(u.settings.idle_after.count());
  w.text(u.settings.login_state).text(u.settings.logout_state);
  w.integer(u.settings.dnd_protection ? 1 : 0);
  for (const std::string& group : u.groups) {
    w.row(1).text(group);
  }
  return w.take();
}

// The record of a value with one row of `kind`, read by `read`; nullopt when it is malformed.
template <typename Read>
auto one_record(std::uint8_t kind, std::string_view value, Read read)
    -> std::optional<decltype(read(std::declval<const Row&>()))> {
  const auto rows = read_rows(kind, value);
  if (!rows || rows->size() != 1) {
    return std::nullopt;
  }
  auto record = read(rows->front());
  if (rows->front().bad()) {
    return std::nullopt;
  }
  return record;
}

}  // namespace

std::optional<DirectoryEntry> directory_entry(const store::Mutation& change) {
  return std::visit(
      [](const auto& m) -> std::optional<DirectoryEntry> {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, store::PutUser>) {
          return DirectoryEntry{directory_key("user", m.user.id), encode_user(m.user)};
        } else if constexpr (std::is_same_v<M, store::DeleteUser>) {
          return DirectoryEntry{directory_key("user", m.id), {}};
        } else if constexpr (std::is_same_v<M, store::PutToken>) {
          Writer w(kTokenKind, 1);
          w.row(4).text(m.token.token_hash).text(m.token.user);
          w.integer(records::millis(m.token.expires_at)).text(m.token.label);
          return DirectoryEntry{directory_key("token", m.token.token_hash), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteToken>) {
          return DirectoryEntry{directory_key("token", m.token_hash), {}};
        } else if constexpr (std::is_same_v<M, store::PutVisibility>) {
          Writer w(kVisibilityKind, 1);
          w.row(3).text(m.visibility.owner).text(m.visibility.watcher);
          w.integer(records::as_int(m.visibility.level));
          return DirectoryEntry{visibility_key(m.visibility.owner, m.visibility.watcher),
                                w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteVisibility>) {
          return DirectoryEntry{visibility_key(m.owner, m.watcher), {}};
        } else if constexpr (std::is_same_v<M, store::PutGroup>) {
          Writer w(kGroupKind, 1);
          w.row(2).text(m.group.id).text(m.group.display_name);
          return DirectoryEntry{directory_key("group", m.group.id), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteGroup>) {
          return DirectoryEntry{directory_key("group", m.id), {}};
        } else if constexpr (std::is_same_v<M, store::PutDevice>) {
          const store::DeviceRecord& d = m.device;
          Writer w(kDeviceKind, 1);
          w.row(4).text(d.user).text(d.device).text(d.label).text(d.sip_password);
          return DirectoryEntry{device_key(d.user, d.device), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteDevice>) {
          return DirectoryEntry{device_key(m.user, m.device), {}};
        } else if constexpr (std::is_same_v<M, store::PutState>) {
          const core::StateDefinition& d = m.state;
          Writer w(kStateKind, 1);
          w.row(6).text(d.id).integer(records::as_int(d.type)).text(d.message);
          w.integer(records::as_int(d.availability)).integer(records::as_int(d.activity));
          w.integer(d.order);
          return DirectoryEntry{directory_key("state", d.id), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteState>) {
          return DirectoryEntry{directory_key("state", m.id), {}};
        } else if constexpr (std::is_same_v<M, store::PutContact>) {
          Writer w(kContactKind, 1);
          w.row(2).text(m.contact.owner).text(m.contact.contact);
          return DirectoryEntry{contact_key(m.contact), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteContact>) {
          return DirectoryEntry{contact_key(m.contact), {}};
        } else if constexpr (std::is_same_v<M, store::PutSetting>) {
          // A setting is never deleted, so its value is never empty, even for an empty setting.
          Writer w(kSettingKind, 1);
          w.row(2).text(m.key).text(m.value);
          return DirectoryEntry{directory_key("setting", m.key), w.take()};
        } else if constexpr (std::is_same_v<M, store::PutDocument>) {
          const store::DocumentRecord& d = m.document;
          Writer w(kDocumentKind, 1);
          w.row(4).text(d.kind).text(d.id).text(d.owner).text(d.body);
          return DirectoryEntry{document_key(d.kind, d.id), w.take()};
        } else if constexpr (std::is_same_v<M, store::DeleteDocument>) {
          return DirectoryEntry{document_key(m.kind, m.id), {}};
        } else {
          return std::nullopt;
        }
      },
      change);
}

std::optional<core::Result<store::Mutation>> decode_directory(std::string_view key,
                                                              std::string_view value) {
  using Decoded = std::optional<core::Result<store::Mutation>>;
  if (!key.starts_with(kDirectory)) {
    return std::nullopt;
  }
  const std::string_view rest = key.substr(kDirectory.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view kind = rest.substr(0, dot);
  const std::string_view ids = rest.substr(dot + 1);
  const auto bad = [&](std::string_view why) {
    return Decoded(Error::invalid_argument("cluster: " + std::string(key) + ": " +
                                           std::string(why)));
  };
  const auto ok = [](store::Mutation m) { return Decoded(std::move(m)); };
  if (kind == "visibility") {
    const auto pair = two_ids(ids);
    if (!pair) {
      return std::nullopt;
    }
    const auto& [owner, watcher] = *pair;
    if (value.empty()) {
      return ok(store::DeleteVisibility{owner, watcher});
    }
    auto v = one_record(kVisibilityKind, value, records::visibility<Row>);
    if (!v || v->owner != owner || v->watcher != watcher ||
        !in_range(v->level, core::VisibilityLevel::Personal)) {
      return bad("not this key's visibility rule");
    }
    return ok(store::PutVisibility{std::move(*v)});
  }
  if (kind == "device") {
    const auto pair = two_ids(ids);
    if (!pair) {
      return std::nullopt;
    }
    const auto& [user, device] = *pair;
    if (value.empty()) {
      return ok(store::DeleteDevice{user, device});
    }
    auto d = one_record(kDeviceKind, value, [](const Row& q) {
      return store::DeviceRecord{q.text(0), q.text(1), q.text(2), q.text(3)};
    });
    if (!d || d->user != user || d->device != device) {
      return bad("not this key's device");
    }
    return ok(store::PutDevice{std::move(*d)});
  }
  if (kind == "contact") {
    auto pair = two_ids(ids);
    if (!pair) {
      return std::nullopt;
    }
    store::ContactRecord key_contact{std::move(pair->first), std::move(pair->second)};
    if (value.empty()) {
      return ok(store::DeleteContact{std::move(key_contact)});
    }
    auto c = one_record(kContactKind, value,
                        [](const Row& q) { return store::ContactRecord{q.text(0), q.text(1)}; });
    if (!c || c->owner != key_contact.owner || c->contact != key_contact.contact) {
      return bad("not this key's contact");
    }
    return ok(store::PutContact{std::move(*c)});
  }
  if (kind == "document") {
    auto pair = two_ids(ids);
    if (!pair) {
      return std::nullopt;
    }
    auto& [document_kind, document_id] = *pair;
    if (value.empty()) {
      return ok(store::DeleteDocument{std::move(document_kind), std::move(document_id)});
    }
    auto d = one_record(kDocumentKind, value, [](const Row& q) {
      return store::DocumentRecord{q.text(0), q.text(1), q.text(2), q.text(3)};
    });
    if (!d || d->kind != document_kind || d->id != document_id) {
      return bad("not this key's document");
    }
    return ok(store::PutDocument{std::move(*d)});
  }
  auto id = user_from_token(ids);
  if (!id) {
    return std::nullopt;
  }
  if (kind == "user") {
    if (value.empty()) {
      return ok(store::DeleteUser{*id});
    }
    const auto rows = read_rows(kUserKind, value);
    if (!rows || rows->empty()) {
      return bad("not a user of this version, or cut short");
    }
    auto u = records::user(rows->front());
    for (std::size_t i = 1; i < rows->size(); ++i) {
      u.groups.push_back((*rows)[i].text(0));
    }
    const bool malformed = std::any_of(rows->begin(), rows->end(),
                                       [](const Row& row) { return row.bad(); });
    if (malformed || u.id != *id || !in_range(u.role, store::Role::System)) {
      return bad("not this key's user");
    }
    return ok(store::PutUser{std::move(u)});
  }
  if (kind == "token") {
    if (value.empty()) {
      return ok(store::DeleteToken{*id});
    }
    auto t = one_record(kTokenKind, value, records::token<Row>);
    if (!t || t->token_hash != *id) {
      return bad("not this key's token");
    }
    return ok(store::PutToken{std::move(*t)});
  }
  if (kind == "group") {
    if (value.empty()) {
      return ok(store::DeleteGroup{*id});
    }
    auto g = one_record(kGroupKind, value,
                        [](const Row& q) { return store::GroupRecord{q.text(0), q.text(1)}; });
    if (!g || g->id != *id) {
      return bad("not this key's group");
    }
    return ok(store::PutGroup{std::move(*g)});
  }
  if (kind == "state") {
    if (value.empty()) {
      return ok(store::DeleteState{*id});
    }
    auto d = one_record(kStateKind, value, records::state<Row>);
    if (!d || d->id != *id || !in_range(d->type, core::StateType::Unavailable) ||
        !in_range(d->availability, core::Availability::PresenceUnknown) ||
        !in_range(d->activity, core::Activity::UrgentInterruptionsOnly)) {
      return bad("not this key's state");
    }
    return ok(store::PutState{std::move(*d)});
  }
  if (kind == "setting") {
    auto setting = one_record(kSettingKind, value, [](const Row& q) {
      return store::PutSetting{q.text(0), q.text(1)};
    });
    if (!setting || setting->key != *id) {
      return bad("not this key's setting");
    }
    return ok(std::move(*setting));
  }
  return std::nullopt;
}

}  // namespace presenced::cluster
