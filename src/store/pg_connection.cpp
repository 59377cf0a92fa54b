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

// Every caller sends a statement next: from then on an open transaction lives on this
// connection and cannot move to another.
Status Connection::ensure() {
  auto s = connected();
  if (s) sent_in_transaction_ = in_transaction_;
  return s;
}

Status Connection::connected() {
  if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK) return ok_status();
  if (sent_in_transaction_) {
    return make_error("db_unavailable", "the connection to PostgreSQL was lost in a transaction");
  }
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
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state ? state : "";
  if (code == "db_error" && last_sqlstate_ == "23505") code = "db_conflict";  // unique_violation
  // serialization_failure, deadlock_detected: the server rolled the work back, and the
  // same work run again usually succeeds (the writer retries its batch).
  if (code == "db_error" && (last_sqlstate_ == "40001" || last_sqlstate_ == "40P01")) code = "db_retry";
  return make_error(code, std::string(what) + ": " + message);
}

Status Connection::exec(const std::string& sql) {
  if (!deferred_.empty()) {  // then `sql` must be one statement (sent as a pipeline step)
    auto r = pipeline({{sql.c_str(), {}}});
    if (!r) return r.error();
    return ok_status();
  }
  if (auto s = ensure(); !s) return s;
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  PgResult r(raw);
  const auto st = PQresultStatus(raw);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure("exec", raw);
  return ok_status();
}

Result<PgResult> Connection::rows(const std::string& sql) {
  if (!deferred_.empty()) {
    auto r = pipeline({{sql.c_str(), {}}});
    if (!r) return r.error();
    return std::move(r->back());
  }
  if (auto s = ensure(); !s) return s.error();
  PGresult* raw = PQexec(conn_.get(), sql.c_str());
  PgResult r(raw);
  if (PQresultStatus(raw) != PGRES_TUPLES_OK) return failure("fetch", raw);
  return r;
}

Result<std::string> Connection::prepared_name(const char* sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    const std::string name = "s" + std::to_string(prepared_.size());
    PGresult* raw = PQprepare(conn_.get(), name.c_str(), sql, 0, nullptr);
    PgResult r(raw);
    if (PQresultStatus(raw) != PGRES_COMMAND_OK) return failure("prepare", raw);
    it = prepared_.emplace(sql, name).first;
  }
  return it->second;
}

void Connection::defer(const char* sql, std::vector<Param> params) {
  deferred_.push_back({sql, std::move(params)});
}

Result<std::vector<PgResult>> Connection::pipeline(const std::vector<Step>& steps) {
  std::vector<Step> all = std::move(deferred_);
  deferred_.clear();
  all.insert(all.end(), steps.begin(), steps.end());
  if (auto s = ensure(); !s) return s.error();
  // Prepared first: preparing is a round trip of its own, once per connection.
  std::vector<std::string> names(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].params.empty()) continue;
    auto name = prepared_name(all[i].sql);
    if (!name) return name.error();
    names[i] = std::move(*name);
  }
  PGconn* c = conn_.get();
  if (PQenterPipelineMode(c) != 1) return failure("pipeline");
  bool sent = true;
  for (std::size_t i = 0; i < all.size() && sent; ++i) {
    std::vector<const char*> values;
    values.reserve(all[i].params.size());
    for (const auto& p : all[i].params) values.push_back(p ? p->c_str() : nullptr);
    sent = all[i].params.empty()
               ? PQsendQueryParams(c, all[i].sql, 0, nullptr, nullptr, nullptr, nullptr, 0) == 1
               : PQsendQueryPrepared(c, names[i].c_str(), static_cast<int>(values.size()), values.data(),
                                     nullptr, nullptr, 0) == 1;
  }
  if (!sent || PQpipelineSync(c) != 1) {
    auto e = failure("pipeline send");
    conn_.reset();  // mid-pipeline state cannot be resumed: start over on a new connection
    return e;
  }
  std::vector<PgResult> out;
  out.reserve(all.size());
  std::optional<Error> first;
  for (std::size_t i = 0; i < all.size(); ++i) {
    PGresult* raw = PQgetResult(c);
    if (raw == nullptr) break;  // the connection failed: handled below
    PgResult r(raw);
    const auto st = PQresultStatus(raw);
    if (st == PGRES_FATAL_ERROR && !first) first = failure("pipeline", raw);
    if (st == PGRES_PIPELINE_ABORTED && !first) first = make_error("db_error", "pipeline aborted");
    out.push_back(std::move(r));
    // Each step's results end with a null; a bounded wait for it.
    for (int n = 0; n < 4 && (raw = PQgetResult(c)) != nullptr; ++n) PQclear(raw);
  }
  // The end of the pipeline (a PGRES_PIPELINE_SYNC result); then back to normal mode.
  bool synced = false;
  for (int n = 0; n < 4 && !synced; ++n) {
    PGresult* raw = PQgetResult(c);
    if (raw == nullptr) break;
    synced = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
    PQclear(raw);
  }
  if (!synced || PQexitPipelineMode(c) != 1) {
    auto e = first ? *first : failure("pipeline");
    if (e.code != "db_unavailable") e = make_error("db_unavailable", e.message);
    conn_.reset();  // a connection in an unknown protocol state is not reused
    return e;
  }
  if (first) return *first;
  if (out.size() != all.size()) return failure("pipeline");
  return out;
}

Result<PgResult> Connection::query(const char* sql, const std::vector<Param>& params) {
  if (!deferred_.empty()) {
    auto r = pipeline({{sql, params}});
    if (!r) return r.error();
    return std::move(r->back());
  }
  if (auto s = ensure(); !s) return s.error();
  auto name = prepared_name(sql);
  if (!name) return name.error();
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* raw = PQexecPrepared(conn_.get(), name->c_str(), static_cast<int>(values.size()), values.data(),
                                 nullptr, nullptr, 0);
  PgResult r(raw);
  const auto st = PQresultStatus(raw);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return failure("query", raw);
  return r;
}

}  // namespace acmednsd::pg
