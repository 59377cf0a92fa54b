// RAII over the SQLite C API: connections, prepared statements with named parameters,
// and a transaction guard that rolls back unless committed. Private to src/store/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace acmednsd::sqlite {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* st) : db_(db), st_(st) {}

  // Named parameters (":name"). Each returns *this so calls chain; a bind failure is
  // remembered and reported by step().
  Statement& bind(const char* name, std::string_view text);
  Statement& bind(const char* name, std::int64_t value);
  Statement& bind_null(const char* name);

  // SQLITE_ROW, SQLITE_DONE, or an error code (with message via error()).
  int step();
  // Runs to completion; returns an Error on failure. Resets for reuse afterwards.
  Status run();
  void reset();

  [[nodiscard]] std::string text(int column) const;  // TEXT or BLOB as bytes
  [[nodiscard]] std::int64_t integer(int column) const;
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::string error() const;
  [[nodiscard]] bool valid() const { return st_ != nullptr; }

 private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, StatementFinalizer> st_;
  int bind_error_ = SQLITE_OK;
};

class Connection {
 public:
  // Opens `path` read-write (creating it 0600) or read-only.
  static Result<Connection> open(const std::string& path, bool read_only);
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  [[nodiscard]] std::string error() const { return sqlite3_errmsg(db_.get()); }
  [[nodiscard]] sqlite3* raw() const { return db_.get(); }
  [[nodiscard]] int changes() const { return sqlite3_changes(db_.get()); }
  // A single integer from a query like "PRAGMA user_version".
  Result<std::int64_t> query_int(std::string_view sql);

 private:
  std::unique_ptr<sqlite3, ConnectionCloser> db_;
};

// BEGIN IMMEDIATE ... COMMIT; the destructor rolls back an uncommitted transaction.
class Transaction {
 public:
  explicit Transaction(Connection& c) : c_(c) {}
  Status begin() {
    auto s = c_.exec("BEGIN IMMEDIATE");
    active_ = s.ok();
    return s;
  }
  Status commit() {
    auto s = c_.exec("COMMIT");
    if (s.ok()) active_ = false;
    return s;
  }
  ~Transaction() {
    if (active_) (void)c_.exec("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Connection& c_;
  bool active_ = false;
};

// A failed statement, as the store reports it to callers (db_error, HTTP 503).
inline Error db_error(const std::string& message) {
  return make_error("db_error", message);
}

}  // namespace acmednsd::sqlite
