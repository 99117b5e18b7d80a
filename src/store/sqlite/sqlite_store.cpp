// The embedded store: SQLite in WAL mode, one writer thread with group commit. Each submit() is
// one savepoint inside the batch transaction, so a failing submit fails alone while the batch
// still shares one fsync. WAL checkpoints run on the writer thread between batches, after the
// batch's completions, and preferably when no submit waits: never inside a commit.

#include "store/internal/commit_queue.h"
#include "store/internal/contact_lists.h"
#include "store/internal/records.h"
#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

#include <fmt/format.h>

#include <atomic>
#include <map>
#include <mutex>

namespace presenced::store {
namespace {

using sqlite::Database;
using sqlite::Statement;

// Ordered migrations; user_version says how many have run. Never edit one that has shipped.
constexpr const char* kMigrations[] = {
    R"SQL(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE users (
  id TEXT PRIMARY KEY, display_name TEXT NOT NULL, role INTEGER NOT NULL,
  password_hash TEXT NOT NULL, sip_password TEXT NOT NULL,
  idle_minutes INTEGER NOT NULL, login_state TEXT NOT NULL, logout_state TEXT NOT NULL);
CREATE TABLE groups (id TEXT PRIMARY KEY, display_name TEXT NOT NULL);
CREATE TABLE user_groups (
  user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, grp TEXT NOT NULL,
  PRIMARY KEY (user, grp)) WITHOUT ROWID;
CREATE TABLE devices (
  user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, device TEXT NOT NULL,
  label TEXT NOT NULL, PRIMARY KEY (user, device)) WITHOUT ROWID;
CREATE TABLE states (
  id TEXT PRIMARY KEY, type INTEGER NOT NULL, message TEXT NOT NULL,
  availability INTEGER NOT NULL, activity INTEGER NOT NULL, ord INTEGER NOT NULL);
CREATE TABLE visibility (
  owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  watcher TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  level INTEGER NOT NULL, PRIMARY KEY (owner, watcher)) WITHOUT ROWID;
CREATE INDEX visibility_watcher ON visibility(watcher);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at INTEGER NOT NULL, label TEXT NOT NULL);
CREATE INDEX tokens_user ON tokens(user);
CREATE TABLE contacts (
  owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  contact TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (owner, contact)) WITHOUT ROWID;
CREATE INDEX contacts_contact ON contacts(contact);
CREATE TABLE manual (
  user TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE, state TEXT NOT NULL,
  note TEXT NOT NULL, from_ms INTEGER, until_ms INTEGER, reachability INTEGER NOT NULL,
  set_at INTEGER NOT NULL);
CREATE TABLE calls (
  user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, device TEXT NOT NULL,
  call_id TEXT NOT NULL, state INTEGER NOT NULL, direction INTEGER NOT NULL,
  started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
  PRIMARY KEY (user, device, call_id)) WITHOUT ROWID;
CREATE TABLE appointments (
  user TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE, id TEXT NOT NULL,
  subject TEXT NOT NULL, location TEXT NOT NULL, start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL, kind INTEGER NOT NULL, private INTEGER NOT NULL,
  PRIMARY KEY (user, id)) WITHOUT ROWID;
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('boot_generation', 0);
)SQL",
    R"SQL(
ALTER TABLE users ADD COLUMN dnd_protection INTEGER NOT NULL DEFAULT 0;
CREATE TABLE documents (
  kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT REFERENCES users(id) ON DELETE CASCADE,
  body TEXT NOT NULL, PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE INDEX documents_owner ON documents(owner);
)SQL",
    R"SQL(
ALTER TABLE devices ADD COLUMN sip_password TEXT NOT NULL DEFAULT '';
)SQL",
};

using records::as_int;
using records::millis;

class SqliteStore final : public Store {
 public:
  SqliteStore(Database db, SqliteConfig config)
      : db_(std::move(db)),
        config_(std::move(config)),
        queue_(static_cast<std::size_t>(config_.max_batch),
               [this](std::vector<Pending>& batch) { commit_batch(batch); }) {}

  core::Result<void> migrate() {
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA temp_store=MEMORY"}) {
      if (auto r = db_.exec(pragma); !r) {
        return r.error();
      }
    }
    if (auto r = db_.exec(config_.synchronous_full ? "PRAGMA synchronous=FULL"
                                                   : "PRAGMA synchronous=NORMAL");
        !r) {
      return r.error();
    }
    // Checkpoints are the writer's, between batches (commit_batch); none inside a commit.
    if (auto r = db_.exec("PRAGMA wal_autocheckpoint=0"); !r) {
      return r.error();
    }
    sqlite3_wal_hook(db_.handle(), &SqliteStore::on_wal_commit, this);
    auto version = db_.prepare("PRAGMA user_version");
    if (!version) {
      return version.error();
    }
    auto row = version->step();
    if (!row) {
      return row.error();
    }
    const auto current = static_cast<std::size_t>(version->int64(0));
    version->reset();
    constexpr std::size_t kLatest = std::size(kMigrations);
    if (current > kLatest) {
      return core::Error::failed_precondition(fmt::format(
          "store schema version {} is newer than this presenced knows ({})", current, kLatest));
    }
    for (std::size_t i = current; i < kLatest; ++i) {
      const std::string script = fmt::format("BEGIN IMMEDIATE; {} PRAGMA user_version={}; COMMIT;",
                                             kMigrations[i], i + 1);
      if (auto r = db_.exec(script.c_str()); !r) {
        (void)db_.exec("ROLLBACK");
        return core::Error::internal(fmt::format("migration {}: {}", i + 1, r.error().message));
      }
    }
    return {};
  }

  core::Result<Snapshot> load() override {
    // Callable again after writes (e.g. after seeding): the writer thread shares the connection.
    std::lock_guard db_lock(db_mutex_);
    Snapshot s;
    if (auto r = db_.exec("BEGIN IMMEDIATE; UPDATE meta SET value = value + 1 WHERE key = "
                          "'boot_generation'; COMMIT;");
        !r) {
      return r.error();
    }
    auto read = [&](const char* sql, auto&& row) -> core::Result<void> {
      auto stmt = db_.prepare(sql);
      if (!stmt) {
        return stmt.error();
      }
      for (;;) {
        auto more = stmt->step();
        if (!more) {
          return more.error();
        }
        if (!*more) {
          return {};
        }
        row(*stmt);
      }
    };
    core::Result<void> r = read("SELECT value FROM meta WHERE key = 'boot_generation'",
                                [&](Statement& q) { s.boot_generation = q.int64(0); });
    if (r) {
      r = read(
          "SELECT id, display_name, role, password_hash, sip_password, idle_minutes, login_state, "
          "logout_state, dnd_protection FROM users ORDER BY id",
          [&](Statement& q) { s.users.push_back(records::user(q)); });
    }
    if (r) {
      std::size_t cursor = 0;
      r = read("SELECT user, grp FROM user_groups ORDER BY user, grp",
               [&](Statement& q) { records::add_membership(q, s.users, cursor); });
    }
    if (r) {
      r = read("SELECT id, display_name FROM groups", [&](Statement& q) {
        s.groups.push_back({q.text(0), q.text(1)});
      });
    }
    if (r) {
      r = read("SELECT user, device, label, sip_password FROM devices", [&](Statement& q) {
        s.devices.push_back({q.text(0), q.text(1), q.text(2), q.text(3)});
      });
    }
    if (r) {
      r = read("SELECT id, type, message, availability, activity, ord FROM states",
               [&](Statement& q) { s.states.push_back(records::state(q)); });
    }
    if (r) {
      r = read("SELECT owner, watcher, level FROM visibility",
               [&](Statement& q) { s.visibility.push_back(records::visibility(q)); });
    }
    if (r) {
      r = read("SELECT hash, user, expires_at, label FROM tokens",
               [&](Statement& q) { s.tokens.push_back(records::token(q)); });
    }
    if (r) {
      // The primary key's order (no sort): grouped by owner, one owner look-up per group. The
      // ids are read in place, never copied; each row keeps 4 bytes.
      records::ContactListsBuilder contacts(s.users);
      r = read("SELECT owner, contact FROM contacts ORDER BY owner, contact", [&](Statement& q) {
        contacts.add(q.text_view(0), q.text_view(1));
      });
      s.contacts = std::move(contacts).finish();
    }
    if (r) {
      r = read("SELECT user, state, note, from_ms, until_ms, reachability, set_at FROM manual",
               [&](Statement& q) { s.manual.push_back(records::manual(q)); });
    }
    if (r) {
      r = read(
          "SELECT user, device, call_id, state, direction, started_at, updated_at FROM calls",
          [&](Statement& q) { s.calls.push_back(records::call(q)); });
    }
    if (r) {
      r = read(
          "SELECT user, id, subject, location, start_ms, end_ms, kind, private FROM "
          "appointments ORDER BY user, start_ms",
          [&](Statement& q) { records::add_appointment(q, s.calendars); });
    }
    if (r) {
      r = read("SELECT key, value FROM settings", [&](Statement& q) {
        s.settings.emplace_back(q.text(0), q.text(1));
      });
    }
    if (r) {
      r = read("SELECT kind, id, ifnull(owner, ''), body FROM documents ORDER BY kind, id",
               [&](Statement& q) {
                 s.documents.push_back({q.text(0), q.text(1), q.text(2), q.text(3)});
               });
    }
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

  // The WAL is copied back into the database once it holds kCheckpointPages and no submit is
  // waiting, or at kWalPagesLimit regardless. A checkpoint by the only writer completes, so the
  // next commit starts the WAL file over in place. Submits wait while it runs: at SQLite's
  // default of 1,000 pages that wait was the p99 of publish->notify (11 ms at 2,300 changes/s,
  // 4-6 ms at 200 pages, the same CPU; docs/benchmarks.md, "Smaller checkpoints").
  static constexpr int kCheckpointPages = 200;
  static constexpr int kWalPagesLimit = 2 * kCheckpointPages;

  static int on_wal_commit(void* self, sqlite3*, const char*, int pages) {
    static_cast<SqliteStore*>(self)->wal_pages_ = pages;
    return SQLITE_OK;
  }

  void maybe_checkpoint(std::unique_lock<std::mutex>& db_lock) {
    if (wal_pages_ < kCheckpointPages) {
      return;
    }
    if (wal_pages_ < kWalPagesLimit && !queue_.idle()) {
      return;  // the next batch first; its commit asks again
    }
    db_lock.lock();
    // A failure (e.g. SQLITE_BUSY during a load) only postpones it to the next batch.
    if (db_.exec("PRAGMA wal_checkpoint(PASSIVE)")) {
      wal_pages_ = 0;
    }
    db_lock.unlock();
  }

  void commit_batch(std::vector<Pending>& batch) {
    std::unique_lock db_lock(db_mutex_);
    auto results = run_batch(db_, "BEGIN IMMEDIATE", batch,
                             [this](const auto& mutation) { return apply(mutation); });
    db_lock.unlock();
    complete(batch, results);
    // After the completions: whoever waits for this batch does not wait for the checkpoint.
    maybe_checkpoint(db_lock);
  }

  // Prepared statements are kept per SQL text for the life of the store.
  core::Result<Statement*> statement(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
      auto prepared = db_.prepare(sql);
      if (!prepared) {
        return prepared.error();
      }
      it = statements_.emplace(sql, std::move(*prepared)).first;
    }
    return &it->second;
  }

  template <typename... Args>
  core::Result<void> run(const char* sql, const Args&... args) {
    auto stmt = statement(sql);
    if (!stmt) {
      return stmt.error();
    }
    int index = 0;
    ((*stmt)->bind(++index, args), ...);
    return (*stmt)->run();
  }

  core::Result<void> apply(const PutUser& m) {
    const UserRecord& u = m.user;
    // An upsert, not INSERT OR REPLACE: a replace would delete the row and cascade.
    auto r = run(
        "INSERT INTO users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO UPDATE SET "
        "display_name = ?2, role = ?3, password_hash = ?4, sip_password = ?5, idle_minutes = ?6, "
        "login_state = ?7, logout_state = ?8, dnd_protection = ?9",
        std::string_view(u.id), std::string_view(u.display_name), as_int(u.role),
        std::string_view(u.password_hash), std::string_view(u.sip_password),
        static_cast<std::int64_t>(u.settings.idle_after.count()),
        std::string_view(u.settings.login_state), std::string_view(u.settings.logout_state),
        static_cast<std::int64_t>(u.settings.dnd_protection ? 1 : 0));
    if (r) {
      r = run("DELETE FROM user_groups WHERE user = ?1", std::string_view(u.id));
    }
    for (const std::string& group : u.groups) {
      if (r) {
        r = run("INSERT OR IGNORE INTO user_groups VALUES (?1, ?2)", std::string_view(u.id),
                std::string_view(group));
      }
    }
    return r;
  }
  core::Result<void> apply(const DeleteUser& m) {
    return run("DELETE FROM users WHERE id = ?1", std::string_view(m.id));
  }
  core::Result<void> apply(const PutGroup& m) {
    return run("INSERT INTO groups VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET display_name = ?2",
               std::string_view(m.group.id), std::string_view(m.group.display_name));
  }
  core::Result<void> apply(const DeleteGroup& m) {
    auto r = run("DELETE FROM user_groups WHERE grp = ?1", std::string_view(m.id));
    return r ? run("DELETE FROM groups WHERE id = ?1", std::string_view(m.id)) : r;
  }
  core::Result<void> apply(const PutDevice& m) {
    return run(
        "INSERT INTO devices (user, device, label, sip_password) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT(user, device) DO UPDATE SET label = ?3, sip_password = ?4",
        std::string_view(m.device.user), std::string_view(m.device.device),
        std::string_view(m.device.label), std::string_view(m.device.sip_password));
  }
  core::Result<void> apply(const DeleteDevice& m) {
    return run("DELETE FROM devices WHERE user = ?1 AND device = ?2", std::string_view(m.user),
               std::string_view(m.device));
  }
  core::Result<void> apply(const PutState& m) {
    const core::StateDefinition& s = m.state;
    return run("INSERT OR REPLACE INTO states VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
               std::string_view(s.id), as_int(s.type), std::string_view(s.message),
               as_int(s.availability), as_int(s.activity), static_cast<std::int64_t>(s.order));
  }
  core::Result<void> apply(const DeleteState& m) {
    return run("DELETE FROM states WHERE id = ?1", std::string_view(m.id));
  }
  core::Result<void> apply(const PutVisibility& m) {
    return run("INSERT OR REPLACE INTO visibility VALUES (?1, ?2, ?3)",
               std::string_view(m.visibility.owner), std::string_view(m.visibility.watcher),
               as_int(m.visibility.level));
  }
  core::Result<void> apply(const DeleteVisibility& m) {
    return run("DELETE FROM visibility WHERE owner = ?1 AND watcher = ?2",
               std::string_view(m.owner), std::string_view(m.watcher));
  }
  core::Result<void> apply(const PutToken& m) {
    return run("INSERT OR REPLACE INTO tokens VALUES (?1, ?2, ?3, ?4)",
               std::string_view(m.token.token_hash), std::string_view(m.token.user),
               millis(m.token.expires_at), std::string_view(m.token.label));
  }
  core::Result<void> apply(const DeleteToken& m) {
    return run("DELETE FROM tokens WHERE hash = ?1", std::string_view(m.token_hash));
  }
  core::Result<void> apply(const PutContact& m) {
    return run("INSERT OR IGNORE INTO contacts VALUES (?1, ?2)", std::string_view(m.contact.owner),
               std::string_view(m.contact.contact));
  }
  core::Result<void> apply(const DeleteContact& m) {
    return run("DELETE FROM contacts WHERE owner = ?1 AND contact = ?2",
               std::string_view(m.contact.owner), std::string_view(m.contact.contact));
  }
  core::Result<void> apply(const PutManual& m) {
    const core::ManualLayer& l = m.manual.manual;
    return run("INSERT OR REPLACE INTO manual VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               std::string_view(m.manual.user), std::string_view(l.state_id),
               std::string_view(l.note), millis(l.from), millis(l.until), as_int(l.reachability),
               millis(l.set_at));
  }
  core::Result<void> apply(const DeleteManual& m) {
    return run("DELETE FROM manual WHERE user = ?1", std::string_view(m.user));
  }
  core::Result<void> apply(const PutCall& m) {
    const core::Call& c = m.call.call;
    return run("INSERT OR REPLACE INTO calls VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               std::string_view(m.call.user), std::string_view(c.device),
               std::string_view(c.call_id), as_int(c.state), as_int(c.direction),
               millis(c.started_at), millis(c.updated_at));
  }
  core::Result<void> apply(const DeleteCall& m) {
    return run("DELETE FROM calls WHERE user = ?1 AND device = ?2 AND call_id = ?3",
               std::string_view(m.user), std::string_view(m.device), std::string_view(m.call_id));
  }
  core::Result<void> apply(const PutCalendar& m) {
    auto r = run("DELETE FROM appointments WHERE user = ?1", std::string_view(m.calendar.user));
    for (const core::Appointment& a : m.calendar.appointments) {
      if (!r) {
        break;
      }
      r = run("INSERT OR REPLACE INTO appointments VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
              std::string_view(m.calendar.user), std::string_view(a.id),
              std::string_view(a.subject), std::string_view(a.location), millis(a.start),
              millis(a.end), as_int(a.kind), static_cast<std::int64_t>(a.is_private ? 1 : 0));
    }
    return r;
  }
  core::Result<void> apply(const PutSetting& m) {
    return run("INSERT OR REPLACE INTO settings VALUES (?1, ?2)", std::string_view(m.key),
               std::string_view(m.value));
  }

  core::Result<void> apply(const PutDocument& m) {
    const DocumentRecord& d = m.document;
    return run("INSERT OR REPLACE INTO documents VALUES (?1, ?2, nullif(?3, ''), ?4)",
               std::string_view(d.kind), std::string_view(d.id), std::string_view(d.owner),
               std::string_view(d.body));
  }
  core::Result<void> apply(const DeleteDocument& m) {
    return run("DELETE FROM documents WHERE kind = ?1 AND id = ?2", std::string_view(m.kind),
               std::string_view(m.id));
  }

  Database db_;
  SqliteConfig config_;
  std::map<std::string, Statement, std::less<>> statements_;
  std::mutex db_mutex_;  // the connection: writer thread vs. a repeated load()
  std::atomic<int> wal_pages_ = 0;  // WAL size after the last commit (load() commits too)
  CommitQueue queue_;  // last: its writer stops before the connection goes
};

}  // namespace

core::Result<std::unique_ptr<Store>> open_sqlite(const SqliteConfig& config) {
  auto db = Database::open(config.path);
  if (!db) {
    return db.error();
  }
  auto store = std::make_unique<SqliteStore>(std::move(*db), config);
  if (auto r = store->migrate(); !r) {
    return r.error();
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace presenced::store
