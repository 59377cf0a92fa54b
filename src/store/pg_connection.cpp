#include "store/pg_connection.hpp"

#include <thread>

namespace acmednsd::pg {
namespace {
constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2000};

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::string conninfo_error(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  std::string out;
  if (opts == nullptr) out = err ? trimmed(err) : "cannot be parsed";
  PQfreemem(err);
  PQconninfoFree(opts);
  return out;
}

Status Connection::connect() {
  next_attempt_ = {};
  return ensure();
}

Status Connection::ensure() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return ok_status();
  const auto now = std::chrono::steady_clock::now();
  if (now < next_attempt_) return make_error("db_unavailable", "the database is unavailable (reconnecting)");
  prepared_.clear();
  // Defaults first: the connection string (expanded from "dbname") overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"2", "acme-dnsd", conninfo_.c_str(), nullptr};
  conn_.reset(PQconnectdbParams(keys, values, 1));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, kMaxBackoff);
    next_attempt_ = now + backoff_;
    std::string why = conn_ ? trimmed(PQerrorMessage(conn_.get())) : "out of memory";
    conn_.reset();
    return make_error("db_unavailable", "cannot connect to PostgreSQL: " + why);
  }
  backoff_ = std::chrono::milliseconds(0);
  // Bounded waits: a lock held by a stuck peer fails the request instead of piling it up.
  PGresult* r = PQexec(conn_.get(), "SET statement_timeout = '5s'; SET lock_timeout = '3s'");
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  if (!ok) return failure("session settings");
  return ok_status();
}

bool Connection::healthy() const {
  return conn_ && PQstatus(conn_.get()) == CONNECTION_OK;
}

Error Connection::failure(const char* what, PGresult* r) {
  std::string message = r ? trimmed(PQresultErrorMessage(r)) : "";
  if (message.empty() && conn_) message = trimmed(PQerrorMessage(conn_.get()));
  // A lost connection is the database being away (HTTP 503), not a failed statement.
  std::string code = lost() ? "db_unavailable" : "db_error";
  if (r && code == "db_error") {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && std::string(state) == "23505") code = "db_conflict";  // unique_violation
  }
  return make_error(code, std::string(what) + ": " + message);
}

Status Connection::exec(const std::string& sql) {
  if (auto s = ensure(); !s) return s;
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  PgResult r(raw);
  const auto st = PQresultStatus(raw);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure("exec", raw);
  return ok_status();
}

Result<PgResult> Connection::rows(const std::string& sql) {
  if (auto s = ensure(); !s) return s.error();
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  PgResult r(raw);
  if (PQresultStatus(raw) != PGRES_TUPLES_OK) return failure("fetch", raw);
  return r;
}

Result<PgResult> Connection::query(const char* sql, const std::vector<Param>& params) {
  if (auto s = ensure(); !s) return s.error();
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "s" + std::to_string(prepared_.size());
    PGresult* raw = PQprepare(conn_.get(), name.c_str(), sql, 0, nullptr);
    PgResult r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK) return failure("prepare", raw);
    it = prepared_.emplace(sql, name).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* raw = PQexecPrepared(conn_.get(), it->second.c_str(), static_cast<int>(values.size()),
                                 values.data(), nullptr, nullptr, 0);
  PgResult r(raw);
  const auto st = PQresultStatus(raw);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure("query", raw);
  return r;
}

}  // namespace acmednsd::pg
