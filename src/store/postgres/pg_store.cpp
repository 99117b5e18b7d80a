// The shared store for several nodes: PostgreSQL through libpq, one connection per store on the
// writer thread, the same group commit as SQLite (docs/cluster.md). Each submit is one savepoint
// in the batch's transaction, so a failing submit fails alone while the batch shares one commit
// (one WAL flush with synchronous_commit on, the server's default). After a lost connection the
// next batch reconnects; the submits of a batch that could not commit fail with `unavailable`.

#include "store/internal/commit_queue.h"
#include "store/internal/contact_lists.h"
#include "store/internal/records.h"
#include "store/postgres/pg_connection.h"
#include "store/store.h"

#include <fmt/format.h>

#include <mutex>

namespace presenced::store {
namespace {

using postgres::Connection;
using postgres::param;
using postgres::Param;
using postgres::Rows;

// Ordered migrations; meta.schema_version says how many have run. Never edit one that has
// shipped. Columns mirror the SQLite schema; `user` is a reserved word here, hence user_id.
constexpr const char* kMigrations[] = {
    R"SQL(
CREATE TABLE users (
  id TEXT PRIMARY KEY, display_name TEXT NOT NULL, role SMALLINT NOT NULL,
  password_hash TEXT NOT NULL, sip_password TEXT NOT NULL, idle_minutes BIGINT NOT NULL,
  login_state TEXT NOT NULL, logout_state TEXT NOT NULL, dnd_protection BOOLEAN NOT NULL);
CREATE TABLE groups (id TEXT PRIMARY KEY, display_name TEXT NOT NULL);
CREATE TABLE user_groups (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, grp TEXT NOT NULL,
  PRIMARY KEY (user_id, grp));
CREATE TABLE devices (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, device TEXT NOT NULL,
  label TEXT NOT NULL, sip_password TEXT NOT NULL, PRIMARY KEY (user_id, device));
CREATE TABLE states (
  id TEXT PRIMARY KEY, type SMALLINT NOT NULL, message TEXT NOT NULL,
  availability SMALLINT NOT NULL, activity SMALLINT NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE visibility (
  owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  watcher TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  level SMALLINT NOT NULL, PRIMARY KEY (owner, watcher));
CREATE INDEX visibility_watcher ON visibility(watcher);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at BIGINT NOT NULL, label TEXT NOT NULL);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE contacts (
  owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  contact TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (owner, contact));
CREATE INDEX contacts_contact ON contacts(contact);
CREATE TABLE manual (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, state TEXT NOT NULL,
  note TEXT NOT NULL, from_ms BIGINT, until_ms BIGINT, reachability SMALLINT NOT NULL,
  set_at BIGINT NOT NULL);
CREATE TABLE calls (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, device TEXT NOT NULL,
  call_id TEXT NOT NULL, state SMALLINT NOT NULL, direction SMALLINT NOT NULL,
  started_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, device, call_id));
CREATE TABLE appointments (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, id TEXT NOT NULL,
  subject TEXT NOT NULL, location TEXT NOT NULL, start_ms BIGINT NOT NULL,
  end_ms BIGINT NOT NULL, kind SMALLINT NOT NULL, private BOOLEAN NOT NULL,
  PRIMARY KEY (user_id, id));
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
  kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT REFERENCES users(id) ON DELETE CASCADE,
  body TEXT NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX documents_owner ON documents(owner);
INSERT INTO meta VALUES ('boot_generation', 0);
)SQL",
};

// Any constant: nodes starting together migrate one after the other.
constexpr std::int64_t kMigrationLock = 0x70726573656e6365;  // "presence"

using records::millis;

template <typename E>
Param num(E value) {
  return param(records::as_int(value));
}

// One row of a result, read as records.h reads rows.
struct Row {
  const Rows& rows;
  int row;
  std::string text(int column) const { return rows.text(row, column); }
  std::string_view text_view(int column) const { return rows.text_view(row, column); }
  std::int64_t int64(int column) const { return rows.int64(row, column); }
  std::optional<std::int64_t> optional_int64(int column) const {
    return rows.optional_int64(row, column);
  }
  bool boolean(int column) const { return rows.boolean(row, column); }
};

class PostgresStore final : public Store {
 public:
  PostgresStore(Connection conn, PostgresConfig config)
      : conn_(std::move(conn)),
        config_(std::move(config)),
        queue_(static_cast<std::size_t>(config_.max_batch),
               [this](std::vector<Pending>& batch) { commit_batch(batch); }) {}

  core::Result<void> migrate() {
    auto r = conn_.exec(fmt::format(
        "BEGIN; SELECT pg_advisory_xact_lock({}); "
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL); "
        "INSERT INTO meta VALUES ('schema_version', 0) ON CONFLICT DO NOTHING; COMMIT",
        kMigrationLock));
    if (!r) {
      (void)conn_.exec("ROLLBACK");
      return r.error();
    }
    constexpr std::size_t kLatest = std::size(kMigrations);
    for (;;) {
      if (r = conn_.exec(fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kMigrationLock));
          !r) {
        return r.error();
      }
      auto version = conn_.query("SELECT value FROM meta WHERE key = 'schema_version'");
      if (!version) {
        (void)conn_.exec("ROLLBACK");
        return version.error();
      }
      const auto current = static_cast<std::size_t>(version->int64(0, 0));
      if (current > kLatest) {
        (void)conn_.exec("ROLLBACK");
        return core::Error::failed_precondition(fmt::format(
            "store schema version {} is newer than this presenced knows ({})", current, kLatest));
      }
      if (current == kLatest) {
        return conn_.exec("COMMIT");
      }
      r = conn_.exec(fmt::format(
          "{} UPDATE meta SET value = {} WHERE key = 'schema_version'; COMMIT", kMigrations[current],
          current + 1));
      if (!r) {
        (void)conn_.exec("ROLLBACK");
        return core::Error::internal(
            fmt::format("migration {}: {}", current + 1, r.error().message));
      }
    }
  }

  core::Result<Snapshot> load() override {
    std::lock_guard lock(conn_mutex_);
    Snapshot s;
    auto boot = conn_.query(
        "UPDATE meta SET value = value + 1 WHERE key = 'boot_generation' RETURNING value");
    if (!boot) {
      return boot.error();
    }
    s.boot_generation = static_cast<std::uint64_t>(boot->int64(0, 0));
    // One snapshot of the whole store, even while other nodes write.
    if (auto r = conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !r) {
      return r.error();
    }
    auto r = read_all(s);
    (void)conn_.exec(r ? "COMMIT" : "ROLLBACK");
    if (!r) {
      return r.error();
    }
    queue_.start();
    return s;
  }

  void submit(std::vector<Mutation> mutations, Completion done) override {
    queue_.submit(std::move(mutations), std::move(done));
  }

  void flush() override { queue_.flush(); }

 private:
  template <typename Each>
  core::Result<void> read(const char* sql, Each&& each) {
    auto rows = conn_.query(sql);
    if (!rows) {
      return rows.error();
    }
    for (int i = 0; i < rows->size(); ++i) {
      each(Row{*rows, i});
    }
    return {};
  }

  // Users and memberships both sorted by bytes (COLLATE "C"), as the merge below compares.
  core::Result<void> read_all(Snapshot& s) {
    core::Result<void> r = read(
        "SELECT id, display_name, role, password_hash, sip_password, idle_minutes, login_state, "
        "logout_state, dnd_protection FROM users ORDER BY id COLLATE \"C\"",
        [&](const Row& q) { s.users.push_back(records::user(q)); });
    if (r) {
      std::size_t cursor = 0;
      r = read("SELECT user_id, grp FROM user_groups ORDER BY user_id COLLATE \"C\", grp",
               [&](const Row& q) { records::add_membership(q, s.users, cursor); });
    }
    if (r) {
      r = read("SELECT id, display_name FROM groups",
               [&](const Row& q) { s.groups.push_back({q.text(0), q.text(1)}); });
    }
    if (r) {
      r = read("SELECT user_id, device, label, sip_password FROM devices", [&](const Row& q) {
        s.devices.push_back({q.text(0), q.text(1), q.text(2), q.text(3)});
      });
    }
    if (r) {
      r = read("SELECT id, type, message, availability, activity, ord FROM states",
               [&](const Row& q) { s.states.push_back(records::state(q)); });
    }
    if (r) {
      r = read("SELECT owner, watcher, level FROM visibility",
               [&](const Row& q) { s.visibility.push_back(records::visibility(q)); });
    }
    if (r) {
      r = read("SELECT hash, user_id, expires_at, label FROM tokens",
               [&](const Row& q) { s.tokens.push_back(records::token(q)); });
    }
    if (r) {
      // Grouped by owner: one owner look-up per group (any order would do).
      records::ContactListsBuilder contacts(s.users);
      r = read("SELECT owner, contact FROM contacts ORDER BY owner COLLATE \"C\"",
               [&](const Row& q) { contacts.add(q.text_view(0), q.text_view(1)); });
      s.contacts = std::move(contacts).finish();
    }
    if (r) {
      r = read("SELECT user_id, state, note, from_ms, until_ms, reachability, set_at FROM manual",
               [&](const Row& q) { s.manual.push_back(records::manual(q)); });
    }
    if (r) {
      r = read(
          "SELECT user_id, device, call_id, state, direction, started_at, updated_at FROM calls",
          [&](const Row& q) { s.calls.push_back(records::call(q)); });
    }
    if (r) {
      r = read(
          "SELECT user_id, id, subject, location, start_ms, end_ms, kind, private FROM "
          "appointments ORDER BY user_id, start_ms",
          [&](const Row& q) { records::add_appointment(q, s.calendars); });
    }
    if (r) {
      r = read("SELECT key, value FROM settings",
               [&](const Row& q) { s.settings.emplace_back(q.text(0), q.text(1)); });
    }
    if (r) {
      r = read("SELECT kind, id, coalesce(owner, ''), body FROM documents ORDER BY kind, id",
               [&](const Row& q) {
                 s.documents.push_back({q.text(0), q.text(1), q.text(2), q.text(3)});
               });
    }
    return r;
  }

  void commit_batch(std::vector<Pending>& batch) {
    std::vector<core::Result<void>> results;
    {
      std::lock_guard lock(conn_mutex_);
      if (conn_.ensure_open()) {
        results = run_batch(conn_, "BEGIN", batch,
                            [this](const auto& mutation) { return apply(mutation); });
      } else {
        results.assign(batch.size(), core::Error::unavailable("postgres: connection lost"));
      }
    }
    complete(batch, results);
  }

  core::Result<void> run(const char* sql, const std::vector<Param>& params) {
    auto rows = conn_.query(sql, params);
    if (!rows) {
      return rows.error();
    }
    return {};
  }

  core::Result<void> apply(const PutUser& m) {
    const UserRecord& u = m.user;
    auto r = run(
        "INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE "
        "SET display_name = $2, role = $3, password_hash = $4, sip_password = $5, "
        "idle_minutes = $6, login_state = $7, logout_state = $8, dnd_protection = $9",
        {param(u.id), param(u.display_name), num(u.role), param(u.password_hash),
         param(u.sip_password), param(static_cast<std::int64_t>(u.settings.idle_after.count())),
         param(u.settings.login_state), param(u.settings.logout_state),
         param(u.settings.dnd_protection)});
    if (r) {
      r = run("DELETE FROM user_groups WHERE user_id = $1", {param(u.id)});
    }
    for (const std::string& group : u.groups) {
      if (r) {
        r = run("INSERT INTO user_groups VALUES ($1, $2) ON CONFLICT DO NOTHING",
                {param(u.id), param(group)});
      }
    }
    return r;
  }
  core::Result<void> apply(const DeleteUser& m) {
    return run("DELETE FROM users WHERE id = $1", {param(m.id)});
  }
  core::Result<void> apply(const PutGroup& m) {
    return run(
        "INSERT INTO groups VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET display_name = $2",
        {param(m.group.id), param(m.group.display_name)});
  }
  core::Result<void> apply(const DeleteGroup& m) {
    auto r = run("DELETE FROM user_groups WHERE grp = $1", {param(m.id)});
    return r ? run("DELETE FROM groups WHERE id = $1", {param(m.id)}) : r;
  }
  core::Result<void> apply(const PutDevice& m) {
    return run(
        "INSERT INTO devices VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (user_id, device) DO UPDATE SET label = $3, sip_password = $4",
        {param(m.device.user), param(m.device.device), param(m.device.label),
         param(m.device.sip_password)});
  }
  core::Result<void> apply(const DeleteDevice& m) {
    return run("DELETE FROM devices WHERE user_id = $1 AND device = $2",
               {param(m.user), param(m.device)});
  }
  core::Result<void> apply(const PutState& m) {
    const core::StateDefinition& s = m.state;
    return run(
        "INSERT INTO states VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET "
        "type = $2, message = $3, availability = $4, activity = $5, ord = $6",
        {param(s.id), num(s.type), param(s.message), num(s.availability), num(s.activity),
         param(static_cast<std::int64_t>(s.order))});
  }
  core::Result<void> apply(const DeleteState& m) {
    return run("DELETE FROM states WHERE id = $1", {param(m.id)});
  }
  core::Result<void> apply(const PutVisibility& m) {
    return run(
        "INSERT INTO visibility VALUES ($1, $2, $3) ON CONFLICT (owner, watcher) DO UPDATE SET "
        "level = $3",
        {param(m.visibility.owner), param(m.visibility.watcher), num(m.visibility.level)});
  }
  core::Result<void> apply(const DeleteVisibility& m) {
    return run("DELETE FROM visibility WHERE owner = $1 AND watcher = $2",
               {param(m.owner), param(m.watcher)});
  }
  core::Result<void> apply(const PutToken& m) {
    return run(
        "INSERT INTO tokens VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO UPDATE SET "
        "user_id = $2, expires_at = $3, label = $4",
        {param(m.token.token_hash), param(m.token.user), param(millis(m.token.expires_at)),
         param(m.token.label)});
  }
  core::Result<void> apply(const DeleteToken& m) {
    return run("DELETE FROM tokens WHERE hash = $1", {param(m.token_hash)});
  }
  core::Result<void> apply(const PutContact& m) {
    return run("INSERT INTO contacts VALUES ($1, $2) ON CONFLICT DO NOTHING",
               {param(m.contact.owner), param(m.contact.contact)});
  }
  core::Result<void> apply(const DeleteContact& m) {
    return run("DELETE FROM contacts WHERE owner = $1 AND contact = $2",
               {param(m.contact.owner), param(m.contact.contact)});
  }
  core::Result<void> apply(const PutManual& m) {
    const core::ManualLayer& l = m.manual.manual;
    return run(
        "INSERT INTO manual VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO UPDATE "
        "SET state = $2, note = $3, from_ms = $4, until_ms = $5, reachability = $6, set_at = $7",
        {param(m.manual.user), param(l.state_id), param(l.note), param(millis(l.from)),
         param(millis(l.until)), num(l.reachability), param(millis(l.set_at))});
  }
  core::Result<void> apply(const DeleteManual& m) {
    return run("DELETE FROM manual WHERE user_id = $1", {param(m.user)});
  }
  core::Result<void> apply(const PutCall& m) {
    const core::Call& c = m.call.call;
    return run(
        "INSERT INTO calls VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, device, "
        "call_id) DO UPDATE SET state = $4, direction = $5, started_at = $6, updated_at = $7",
        {param(m.call.user), param(c.device), param(c.call_id), num(c.state), num(c.direction),
         param(millis(c.started_at)), param(millis(c.updated_at))});
  }
  core::Result<void> apply(const DeleteCall& m) {
    return run("DELETE FROM calls WHERE user_id = $1 AND device = $2 AND call_id = $3",
               {param(m.user), param(m.device), param(m.call_id)});
  }
  core::Result<void> apply(const PutCalendar& m) {
    auto r = run("DELETE FROM appointments WHERE user_id = $1", {param(m.calendar.user)});
    for (const core::Appointment& a : m.calendar.appointments) {
      if (!r) {
        break;
      }
      r = run(
          "INSERT INTO appointments VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT "
          "(user_id, id) DO UPDATE SET subject = $3, location = $4, start_ms = $5, end_ms = $6, "
          "kind = $7, private = $8",
          {param(m.calendar.user), param(a.id), param(a.subject), param(a.location),
           param(millis(a.start)), param(millis(a.end)), num(a.kind), param(a.is_private)});
    }
    return r;
  }
  core::Result<void> apply(const PutSetting& m) {
    return run("INSERT INTO settings VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
               {param(m.key), param(m.value)});
  }
  core::Result<void> apply(const PutDocument& m) {
    const DocumentRecord& d = m.document;
    return run(
        "INSERT INTO documents VALUES ($1, $2, nullif($3, ''), $4) ON CONFLICT (kind, id) DO "
        "UPDATE SET owner = nullif($3, ''), body = $4",
        {param(d.kind), param(d.id), param(d.owner), param(d.body)});
  }
  core::Result<void> apply(const DeleteDocument& m) {
    return run("DELETE FROM documents WHERE kind = $1 AND id = $2", {param(m.kind), param(m.id)});
  }

  Connection conn_;
  PostgresConfig config_;
  std::mutex conn_mutex_;  // the connection: writer thread vs. a repeated load()
  CommitQueue queue_;      // last: its writer stops before the connection goes
};

}  // namespace

core::Result<std::unique_ptr<Store>> open_postgres(const PostgresConfig& config) {
  auto conn = Connection::open(config.conninfo);
  if (!conn) {
    return conn.error();
  }
  auto store = std::make_unique<PostgresStore>(std::move(*conn), config);
  if (auto r = store->migrate(); !r) {
    return r.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace presenced::store
