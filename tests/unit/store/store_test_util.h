#pragma once

// Helpers shared by the store's tests: a temporary data directory, a store opened on a real
// SQLite file in it or on a database of its own on the test PostgreSQL server, waiting for
// completions, a second raw sqlite3 connection to look at the file behind the store's back, and
// field-wise views of the records for comparisons.

#include "store/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace presenced::store::testing {

using std::chrono::milliseconds;

inline constexpr core::TimePoint kT0{milliseconds(1'790'000'000'000)};

inline core::TimePoint at(std::int64_t offset_ms) { return kT0 + milliseconds(offset_ms); }

// A fresh directory under the system's temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "presenced-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    }
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline SqliteConfig config_in(const TempDir& dir, bool synchronous_full = true) {
  SqliteConfig config;
  config.path = dir.file("presenced.db");
  config.synchronous_full = synchronous_full;
  return config;
}

// How a test opens "the same store" again, as a restarted server would.
using Opener = std::function<core::Result<std::unique_ptr<Store>>()>;

inline Opener sqlite_opener(const SqliteConfig& config) {
  return [config] { return open_sqlite(config); };
}

// A database of its own on the test PostgreSQL server (tests/postgres/server, started by
// ctest's `postgres` fixture, which names its conninfo file in PRESENCED_TEST_PG_FILE), dropped
// at the end. Without that server, available() is false and the test is skipped.
class PostgresDatabase {
 public:
  PostgresDatabase() {
    const char* file = std::getenv("PRESENCED_TEST_PG_FILE");
    if (file == nullptr) {
      return;
    }
    std::ifstream in(file);
    std::getline(in, admin_);
    if (admin_.empty()) {
      ADD_FAILURE() << "no conninfo in " << file;
      return;
    }
    static std::atomic<int> counter = 0;
    name_ = "presenced_test_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    available_ = admin("CREATE DATABASE " + name_);
  }
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;
  ~PostgresDatabase() {
    if (available_) {
      admin("DROP DATABASE " + name_ + " WITH (FORCE)");
    }
  }

  bool available() const { return available_; }
  PostgresConfig config() const { return {admin_ + " dbname=" + name_}; }

 private:
  bool admin(const std::string& sql) const {
    PGconn* conn = PQconnectdb(admin_.c_str());
    PGresult* result = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    if (!ok) {
      ADD_FAILURE() << sql << ": " << PQerrorMessage(conn);
    }
    PQclear(result);
    PQfinish(conn);
    return ok;
  }

  std::string admin_;
  std::string name_;
  bool available_ = false;
};

enum class Backend { Sqlite, Postgres };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::Sqlite ? "sqlite" : "postgres";
}

// A test run once per backend: an SQLite file in a temp dir, or a PostgreSQL database of its
// own (skipped without the test server). Derived SetUp()s call this one first and stop if
// IsSkipped().
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (!sqlite() && !pg_.available()) {
      GTEST_SKIP() << "no test PostgreSQL server: run through ctest (fixture `postgres`)";
    }
  }

  bool sqlite() const { return GetParam() == Backend::Sqlite; }

  Opener opener(int max_batch = 512) const {
    if (sqlite()) {
      SqliteConfig config = config_;
      config.max_batch = max_batch;
      return sqlite_opener(config);
    }
    PostgresConfig config = pg_.config();
    config.max_batch = max_batch;
    return [config] { return open_postgres(config); };
  }

  TempDir dir_;
  SqliteConfig config_ = config_in(dir_);
  PostgresDatabase pg_;
};

// Opens a store; a failure is reported and gives nullptr.
inline std::unique_ptr<Store> open_store(const Opener& open) {
  auto opened = open();
  if (!opened) {
    ADD_FAILURE() << "opening the store: " << opened.error().message;
    return nullptr;
  }
  return std::move(*opened);
}

inline std::unique_ptr<Store> open_store(const SqliteConfig& config) {
  return open_store(sqlite_opener(config));
}

// Opens a store and loads it, as the server does at start.
struct Loaded {
  std::unique_ptr<Store> store;
  Snapshot snapshot;
};

inline std::optional<Loaded> open_loaded(const Opener& open) {
  auto store = open_store(open);
  if (!store) {
    return std::nullopt;
  }
  auto snapshot = store->load();
  if (!snapshot) {
    ADD_FAILURE() << "load: " << snapshot.error().message;
    return std::nullopt;
  }
  return Loaded{std::move(store), std::move(*snapshot)};
}

inline std::optional<Loaded> open_loaded(const SqliteConfig& config) {
  return open_loaded(sqlite_opener(config));
}

// What a fresh store instance reads: the view after a restart.
inline std::optional<Snapshot> reload(const Opener& open) {
  auto loaded = open_loaded(open);
  if (!loaded) {
    return std::nullopt;
  }
  return std::move(loaded->snapshot);
}

inline std::optional<Snapshot> reload(const SqliteConfig& config) {
  return reload(sqlite_opener(config));
}

// Submits one batch and waits for its completion; a completion that never comes is an error.
inline core::Result<void> submit_wait(Store& store, std::vector<Mutation> mutations) {
  auto promise = std::make_shared<std::promise<core::Result<void>>>();
  auto future = promise->get_future();
  store.submit(std::move(mutations),
               [promise](core::Result<void> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    return core::Error::internal("no completion within 20 s");
  }
  return future.get();
}

inline std::string error_message(const core::Result<void>& result) {
  return result ? std::string("ok") : result.error().message;
}

// A second connection to the same file, with the plain C API.
class RawDb {
 public:
  explicit RawDb(const std::string& path, int flags = SQLITE_OPEN_READWRITE) {
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite3_open_v2 " << path << ": "
                    << (db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory");
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close(db_); }

  bool exec(const std::string& sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error != nullptr ? error : "unknown error");
      sqlite3_free(error);
      return false;
    }
    return true;
  }

  // Every row of the result, each column as text ("NULL" for NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return out;
    }
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        const int size = sqlite3_column_bytes(stmt, i);
        row.push_back(text == nullptr ? std::string("NULL")
                                      : std::string(text, static_cast<std::size_t>(size)));
      }
      out.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
    }
    sqlite3_finalize(stmt);
    return out;
  }

  // The first column of the first row; "" when there is none.
  std::string scalar(const std::string& sql) {
    auto all = rows(sql);
    return all.empty() || all.front().empty() ? std::string() : all.front().front();
  }

 private:
  sqlite3* db_ = nullptr;
};

// ---- Field-wise views: tuples compare and print in gtest's messages. ----

template <typename E>
int num(E value) {
  return static_cast<int>(value);
}

inline std::int64_t ms(core::TimePoint t) { return t.time_since_epoch().count(); }

inline std::optional<std::int64_t> ms(const std::optional<core::TimePoint>& t) {
  return t ? std::optional(ms(*t)) : std::nullopt;
}

inline auto fields(const UserRecord& u) {
  return std::make_tuple(u.id, u.display_name, num(u.role), u.password_hash, u.sip_password,
                         u.groups, static_cast<std::int64_t>(u.settings.idle_after.count()),
                         u.settings.login_state, u.settings.logout_state,
                         u.settings.dnd_protection);
}
inline auto fields(const DocumentRecord& d) {
  return std::make_tuple(d.kind, d.id, d.owner, d.body);
}
inline auto fields(const GroupRecord& g) { return std::make_tuple(g.id, g.display_name); }
inline auto fields(const DeviceRecord& d) {
  return std::make_tuple(d.user, d.device, d.label, d.sip_password);
}
inline auto fields(const core::StateDefinition& s) {
  return std::make_tuple(s.id, num(s.type), s.message, num(s.availability), num(s.activity),
                         s.built_in, s.order);
}
inline auto fields(const VisibilityRecord& v) {
  return std::make_tuple(v.owner, v.watcher, num(v.level));
}
inline auto fields(const TokenRecord& t) {
  return std::make_tuple(t.token_hash, t.user, ms(t.expires_at), t.label);
}
inline auto fields(const ContactRecord& c) { return std::make_tuple(c.owner, c.contact); }
inline auto fields(const ManualRecord& m) {
  return std::make_tuple(m.user, m.manual.state_id, m.manual.note, ms(m.manual.from),
                         ms(m.manual.until), num(m.manual.reachability), ms(m.manual.set_at));
}
inline auto fields(const CallRecord& c) {
  return std::make_tuple(c.user, c.call.device, c.call.call_id, num(c.call.state),
                         num(c.call.direction), ms(c.call.started_at), ms(c.call.updated_at));
}
inline auto fields(const core::Appointment& a) {
  return std::make_tuple(a.id, a.subject, a.location, ms(a.start), ms(a.end), num(a.kind),
                         a.is_private);
}

inline auto fields(const CalendarRecord& c) {
  std::vector<decltype(fields(core::Appointment{}))> appointments;
  for (const core::Appointment& a : c.appointments) {
    appointments.push_back(fields(a));
  }
  return std::make_tuple(c.user, std::move(appointments));
}

template <typename T>
auto all_fields(const std::vector<T>& records) {
  std::vector<decltype(fields(records.front()))> out;
  for (const T& record : records) {
    out.push_back(fields(record));
  }
  return out;
}


// Records in a stable order, so that comparisons do not depend on the order SQLite reads them.
template <typename T>
auto sorted_fields(const std::vector<T>& records) {
  auto out = all_fields(records);
  std::sort(out.begin(), out.end());
  return out;
}

// The snapshot's contact lists as (owner, contact) id pairs, owners in the users' order.
inline std::vector<ContactRecord> contact_records(const Snapshot& s) {
  std::vector<ContactRecord> out;
  for (std::size_t owner = 0; owner < s.users.size(); ++owner) {
    for (std::uint32_t contact : s.contacts.of(owner)) {
      out.push_back({s.users.at(owner).id, s.users.at(contact).id});
    }
  }
  return out;
}

}  // namespace presenced::store::testing
