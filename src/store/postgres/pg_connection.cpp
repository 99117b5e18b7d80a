#include "store/postgres/pg_connection.h"

#include <fmt/format.h>

#include <charconv>

namespace presenced::store::postgres {

std::string Rows::text(int row, int column) const {
  const PGresult* r = result_.get();
  return std::string(PQgetvalue(r, row, column),
                     static_cast<std::size_t>(PQgetlength(r, row, column)));
}

std::int64_t Rows::int64(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  const char* end = value + PQgetlength(result_.get(), row, column);
  std::int64_t out = 0;
  std::from_chars(value, end, out);
  return out;
}

std::optional<std::int64_t> Rows::optional_int64(int row, int column) const {
  if (PQgetisnull(result_.get(), row, column) != 0) {
    return std::nullopt;
  }
  return int64(row, column);
}

bool Rows::ok() const {
  const ExecStatusType status = PQresultStatus(result_.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

bool Rows::boolean(int row, int column) const {
  return PQgetvalue(result_.get(), row, column)[0] == 't';
}

core::Result<Connection> Connection::open(const std::string& conninfo) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  Connection c(conn);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return core::Error::unavailable(
        fmt::format("postgres: cannot connect: {}",
                    conn != nullptr ? PQerrorMessage(conn) : "out of memory"));
  }
  if (auto r = c.exec("SET client_encoding = 'UTF8'; SET client_min_messages = warning"); !r) {
    return r.error();
  }
  return c;
}

core::Error Connection::error(std::string_view what) const {
  std::string message = PQerrorMessage(conn_.get());
  while (!message.empty() && message.back() == '\n') {
    message.pop_back();
  }
  const std::string text = fmt::format("postgres: {}: {}", what, message);
  // A lost connection is unavailability (retry later), anything else an internal error.
  return PQstatus(conn_.get()) == CONNECTION_OK ? core::Error::internal(text)
                                               : core::Error::unavailable(text);
}

core::Result<void> Connection::exec(const std::string& sql) {
  Rows result(PQexec(conn_.get(), sql.c_str()));
  if (!result.ok()) {
    return error(sql);
  }
  return {};
}

core::Result<Rows> Connection::query(const std::string& sql, const std::vector<Param>& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = fmt::format("s{}", prepared_.size());
    Rows prepared(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr));
    if (!prepared.ok()) {
      return error(sql);
    }
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) {
    if (p && p->find('\0') != std::string::npos) {
      // libpq would cut the text there: refuse rather than store less than was asked.
      return core::Error::invalid_argument("postgres: text with a NUL byte cannot be stored");
    }
    values.push_back(p ? p->c_str() : nullptr);
  }
  Rows result(PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(values.size()),
                             values.data(), nullptr, nullptr, 0));
  if (!result.ok()) {
    return error(sql);
  }
  return result;
}

bool Connection::ensure_open() {
  if (PQstatus(conn_.get()) == CONNECTION_OK) {
    return true;
  }
  PQreset(conn_.get());
  prepared_.clear();
  return PQstatus(conn_.get()) == CONNECTION_OK &&
         exec("SET client_encoding = 'UTF8'; SET client_min_messages = warning").has_value();
}

}  // namespace presenced::store::postgres
