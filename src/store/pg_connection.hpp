// RAII over libpq: a connection with statements prepared on first use, results, and
// the reconnect rule. Errors: "db_unavailable" when the database cannot be reached,
// "db_conflict" for a unique violation, "db_error" otherwise; and the reconnect rule (at most one attempt per
// back-off step, so a database that is away costs a request one refused connect, not a hang). Private to
// src/store/.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace acmednsd::pg {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  [[nodiscard]] int rows() const { return PQntuples(r_.get()); }
  [[nodiscard]] std::string text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  [[nodiscard]] std::int64_t integer(int row, int col) const {
    return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
  }
  [[nodiscard]] bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  [[nodiscard]] std::int64_t affected() const { return std::strtoll(PQcmdTuples(r_.get()), nullptr, 10); }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

using Param = std::optional<std::string>;  // nullopt = NULL

class Connection {
 public:
  // `conninfo`: a libpq URL or key=value string. Nothing connects until first use.
  explicit Connection(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  // Connects now (start-up: a wrong password or host is reported at once).
  Status connect();
  // Simple statements (no parameters), several allowed.
  Status exec(const std::string& sql);
  // One simple statement that returns rows (FETCH from a cursor: not preparable).
  Result<PgResult> rows(const std::string& sql);
  // A parameterized statement, prepared on this connection the first time it is used
  // (keyed by the literal's address, so call with string literals).
  Result<PgResult> query(const char* sql, const std::vector<Param>& params = {});
  // Connected and idle or in a transaction (not broken).
  [[nodiscard]] bool healthy() const;
  [[nodiscard]] PGconn* raw() const { return conn_.get(); }
  // Whether the last failure was a lost connection (then the next call reconnects).
  [[nodiscard]] bool lost() const { return conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK; }

 private:
  Status ensure();
  Error failure(const char* what, PGresult* r = nullptr);

  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::string conninfo_;
  std::unique_ptr<PGconn, Finish> conn_;
  std::map<const char*, std::string> prepared_;  // literal -> statement name
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
};

// The message libpq gives for `conninfo`, or empty when it parses.
std::string conninfo_error(const std::string& conninfo);

}  // namespace acmednsd::pg
