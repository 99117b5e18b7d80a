#pragma once

// A thin RAII layer over the SQLite C API: a connection and prepared statements with typed
// binds and reads. Errors come back as core::Error naming the SQL that failed.
//
// Thread-safety: a Database and its statements are used by one thread at a time.

#include "core/result.h"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace presenced::store::sqlite {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept { *this = std::move(other); }
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds are 1-based like SQLite's; chainable.
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::optional<std::int64_t> value);
  // SQLITE_ROW -> true, SQLITE_DONE -> false, else an error.
  core::Result<bool> step();
  // step() until done, then reset for the next use.
  core::Result<void> run();
  void reset();

  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool boolean(int column) const { return int64(column) != 0; }
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;
  // Valid until the next step() or reset().
  std::string_view text_view(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return data == nullptr ? std::string_view()
                           : std::string_view(data, static_cast<std::size_t>(
                                                        sqlite3_column_bytes(stmt_, column)));
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  static core::Result<Database> open(const std::string& path);
  Database(Database&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Database& operator=(Database&&) = delete;
  Database(const Database&) = delete;
  ~Database();

  core::Result<void> exec(const char* sql);
  core::Result<Statement> prepare(std::string_view sql);
  std::string last_error() const { return sqlite3_errmsg(db_); }
  // For the few C API calls not wrapped here (hooks).
  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace presenced::store::sqlite
