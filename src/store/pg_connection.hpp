// RAII over libpq: a connection with statements prepared on first use, results, and
// the reconnect rule. Errors: "db_unavailable" when the database cannot be reached,
// "db_conflict" for a unique violation, "db_retry" for a serialization failure or a
// deadlock (40001, 40P01: the transaction was rolled back and may be run again), "db_error" otherwise; and
// the reconnect rule (at most one attempt per back-off step, so a database that is away costs a request one
// refused connect, not a hang). Private to src/store/.
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
  [[nodiscard]] std::string command() const { return PQcmdStatus(r_.get()); }
  [[nodiscard]] std::int64_t affected() const { return std::strtoll(PQcmdTuples(r_.get()), nullptr, 10); }

 private:
  struct Clear {
    void operator()(PGresult* r) const { PQclear(r); }
  };
  std::unique_ptr<PGresult, Clear> r_;
};

using Param = std::optional<std::string>;  // nullopt = NULL

// One statement of a pipeline: parameterized statements are prepared (cached per
// connection); one without parameters is sent unprepared (BEGIN, SAVEPOINT, COMMIT).
struct Step {
  const char* sql;
  std::vector<Param> params;
};

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
  // Sends every step before reading any result (libpq pipeline mode): one round trip
  // for all of them, deferred steps first. The results of all steps in order, or the
  // first failure (the server skips the steps after a failed one).
  Result<std::vector<PgResult>> pipeline(const std::vector<Step>& steps);
  // Queues a statement whose result nobody waits for; it is sent with the next one, in
  // the same round trip, and its failure is that statement's failure. For a write
  // transaction's bookkeeping (SAVEPOINT, RELEASE, the serial row) whose failure fails
  // the transaction anyway.
  void defer(const char* sql, std::vector<Param> params = {});
  // A write transaction is open (from BEGIN to COMMIT/ROLLBACK): a lost connection is
  // then not replaced, because the transaction's earlier statements died with it and
  // later ones on a new connection would commit without them.
  // A transaction that has sent nothing yet may still (re)connect.
  void set_in_transaction(bool open) {
    in_transaction_ = open;
    sent_in_transaction_ = false;
    if (!open) deferred_.clear();
  }
  [[nodiscard]] bool in_transaction() const { return in_transaction_; }
  // The SQLSTATE of the last failed statement ("" when none or not from the server).
  [[nodiscard]] const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Connected and idle or in a transaction (not broken).
  [[nodiscard]] bool healthy() const;
  [[nodiscard]] PGconn* raw() const { return conn_.get(); }
  // Whether the last failure was a lost connection (then the next call reconnects).
  [[nodiscard]] bool lost() const { return conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK; }

 private:
  Status ensure();
  Status connected();
  Error failure(const char* what, PGresult* r = nullptr);
  Result<std::string> prepared_name(const char* sql);

  struct Finish {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::string conninfo_;
  std::unique_ptr<PGconn, Finish> conn_;
  std::map<const char*, std::string> prepared_;  // literal -> statement name
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::vector<Step> deferred_;
  bool in_transaction_ = false;
  bool sent_in_transaction_ = false;
  std::string last_sqlstate_;
};

// The message libpq gives for `conninfo`, or empty when it parses.
std::string conninfo_error(const std::string& conninfo);

}  // namespace acmednsd::pg
