#pragma once

// Durable storage behind one narrow interface. The embedded default is SQLite (WAL); a
// PostgreSQL backend (for several nodes sharing one store) implements the same interface.
//
// Thread-safety: submit() may be called from any thread. Completions run on the store's own
// thread; callers post them back to their executor. Mutations submitted in one order commit and
// complete in that order (callers rely on it for per-user ordering).

#include "core/model.h"
#include "core/result.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace presenced::store {

using core::Result;
using core::TimePoint;

enum class Role : std::uint8_t { User, Admin, System };

struct UserRecord {
  std::string id;
  std::string display_name;
  Role role = Role::User;
  std::string password_hash;  // Argon2id, libsodium's encoded string
  std::string sip_password;   // digest needs the clear secret (or HA1); empty: no SIP
  std::vector<std::string> groups;
  core::UserSettings settings;
};

struct GroupRecord {
  std::string id;
  std::string display_name;
};

struct DeviceRecord {
  std::string user;
  std::string device;
  std::string label;
  std::string sip_password;  // the device's own digest secret (docs/sip.md); empty: none
};

struct VisibilityRecord {
  std::string owner;    // the presentity
  std::string watcher;  // the user who looks
  core::VisibilityLevel level = core::VisibilityLevel::Business;
};

struct TokenRecord {
  std::string token_hash;  // SHA-256 of the token, hex; the token itself is never stored
  std::string user;
  TimePoint expires_at{};
  std::string label;  // "login" or an API key's name
};

struct ManualRecord {
  std::string user;
  core::ManualLayer manual;
};

// A user's contact list (favourites): whom their clients watch. Survives restarts.
struct ContactRecord {
  std::string owner;
  std::string contact;
};

// Every contact list of a snapshot, as positions in its `users`: start-up reads tens of
// millions of rows, which as pairs of id strings would be 64 bytes each and a hash look-up each
// in the engine. User p's contacts are entries[start[p]] .. entries[start[p + 1]] (in the
// store's order); `start` is empty when there are none.
struct ContactLists {
  std::vector<std::uint32_t> start;    // users.size() + 1 offsets into entries, or empty
  std::vector<std::uint32_t> entries;  // positions in Snapshot::users

  bool empty() const { return entries.empty(); }
  std::size_t size() const { return entries.size(); }
  std::span<const std::uint32_t> of(std::size_t user) const {
    if (user + 1 >= start.size()) {
      return {};
    }
    return {entries.data() + start[user], entries.data() + start[user + 1]};
  }
};

struct CallRecord {
  std::string user;
  core::Call call;
};

struct CalendarRecord {
  std::string user;
  std::vector<core::Appointment> appointments;
};

// A settings document the API owns as JSON (call settings, queues, profiles): the store keeps
// it whole, so these can grow fields without a migration. `owner`, when set, is a user whose
// deletion deletes the document.
struct DocumentRecord {
  std::string kind;
  std::string id;
  std::string owner;
  std::string body;
};

// Everything the server needs at start, read in one go.
struct Snapshot {
  std::vector<UserRecord> users;
  std::vector<GroupRecord> groups;
  std::vector<DeviceRecord> devices;
  std::vector<core::StateDefinition> states;  // admin-defined only
  std::vector<VisibilityRecord> visibility;
  std::vector<TokenRecord> tokens;
  ContactLists contacts;
  std::vector<ManualRecord> manual;
  std::vector<CallRecord> calls;
  std::vector<CalendarRecord> calendars;
  std::vector<std::pair<std::string, std::string>> settings;  // server-wide key/value
  std::vector<DocumentRecord> documents;
  std::uint64_t boot_generation = 0;  // incremented durably at every load()
};

// ---- Mutations ----
struct PutUser { UserRecord user; };          // insert or replace
struct DeleteUser { std::string id; };        // and everything that hangs off it
struct PutGroup { GroupRecord group; };
struct DeleteGroup { std::string id; };
struct PutDevice { DeviceRecord device; };
struct DeleteDevice { std::string user; std::string device; };
struct PutState { core::StateDefinition state; };
struct DeleteState { std::string id; };
struct PutVisibility { VisibilityRecord visibility; };
struct DeleteVisibility { std::string owner; std::string watcher; };
struct PutToken { TokenRecord token; };
struct DeleteToken { std::string token_hash; };
struct PutContact { ContactRecord contact; };
struct DeleteContact { ContactRecord contact; };
struct PutManual { ManualRecord manual; };
struct DeleteManual { std::string user; };
struct PutCall { CallRecord call; };
struct DeleteCall { std::string user; std::string device; std::string call_id; };
struct PutCalendar { CalendarRecord calendar; };
struct PutSetting { std::string key; std::string value; };
struct PutDocument { DocumentRecord document; };
struct DeleteDocument { std::string kind; std::string id; };

using Mutation = std::variant<PutUser, DeleteUser, PutGroup, DeleteGroup, PutDevice, DeleteDevice,
                              PutState, DeleteState, PutVisibility, DeleteVisibility, PutToken,
                              DeleteToken, PutContact, DeleteContact, PutManual, DeleteManual, PutCall, DeleteCall,
                              PutCalendar, PutSetting, PutDocument, DeleteDocument>;

using Completion = std::function<void(Result<void>)>;

class Store {
 public:
  virtual ~Store() = default;

  // Reads everything; called once at startup before any submit().
  virtual Result<Snapshot> load() = 0;

  // Queues mutations that commit together, atomically; `done` runs once they are durable
  // (or failed). Group commit: mutations submitted close together share one fsync.
  virtual void submit(std::vector<Mutation> mutations, Completion done) = 0;

  // Blocks until everything submitted so far is durable; for shutdown and tests.
  virtual void flush() = 0;
};

struct SqliteConfig {
  std::string path;               // the database file
  bool synchronous_full = true;   // fsync at every commit: survives power loss, not only kill -9
  int max_batch = 512;            // mutations per group commit at most
};

// Opens (creating and migrating as needed) an SQLite store.
Result<std::unique_ptr<Store>> open_sqlite(const SqliteConfig& config);

struct PostgresConfig {
  std::string conninfo;  // libpq: "postgresql://user@host:port/db" or "host=... dbname=..."
  int max_batch = 512;   // mutations per group commit at most
};

// Connects and creates or migrates the schema (nodes starting together take turns).
Result<std::unique_ptr<Store>> open_postgres(const PostgresConfig& config);

}  // namespace presenced::store
