#pragma once

// A thin RAII layer over libpq: a connection, statements prepared once per SQL text, text
// parameters and text results. Errors come back as core::Error naming the SQL that failed.
//
// Thread-safety: a Connection is used by one thread at a time.

#include "core/result.h"

#include <libpq-fe.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presenced::store::postgres {

// One statement parameter in PostgreSQL's text format; nullopt is NULL.
using Param = std::optional<std::string>;

inline Param param(std::string_view value) { return std::string(value); }
inline Param param(std::int64_t value) { return std::to_string(value); }
inline Param param(bool value) { return std::string(value ? "t" : "f"); }
inline Param param(std::optional<std::int64_t> value) {
  return value ? param(*value) : std::nullopt;
}

class Rows {
 public:
  explicit Rows(PGresult* result) : result_(result, &PQclear) {}
  // Whether the statement succeeded (with or without rows).
  bool ok() const;
  int size() const { return PQntuples(result_.get()); }
  std::string text(int row, int column) const;
  // Valid while these rows are.
  std::string_view text_view(int row, int column) const {
    const PGresult* r = result_.get();
    return {PQgetvalue(r, row, column), static_cast<std::size_t>(PQgetlength(r, row, column))};
  }
  std::int64_t int64(int row, int column) const;
  std::optional<std::int64_t> optional_int64(int row, int column) const;
  bool boolean(int row, int column) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

class Connection {
 public:
  static core::Result<Connection> open(const std::string& conninfo);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  Connection(const Connection&) = delete;

  // One or more statements without parameters.
  core::Result<void> exec(const std::string& sql);
  // A statement with parameters, prepared at its first use on this connection.
  core::Result<Rows> query(const std::string& sql, const std::vector<Param>& params = {});
  // After the server went away (restart, failover): reconnects, forgetting prepared statements.
  // True when the connection is (again) usable.
  bool ensure_open();

 private:
  explicit Connection(PGconn* conn) : conn_(conn, &PQfinish) {}
  core::Error error(std::string_view what) const;

  std::unique_ptr<PGconn, void (*)(PGconn*)> conn_;
  std::map<std::string, std::string, std::less<>> prepared_;  // SQL text -> statement name
};

}  // namespace presenced::store::postgres
