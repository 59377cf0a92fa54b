// dns-persist-01 records in SQLite (migration 3): the table, the index load, and the
// writer jobs. Kept apart from store.cpp so a second backend ports one small file: the
// SQL here is plain (INSERT ... ON CONFLICT, a primary key of three text columns) and
// every function takes the connection or writer context it works on.
#include "common/encoding.hpp"
#include "common/persist_value.hpp"
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {

const char* persist_migration_sql() {
  // One row per (name, issuer, accounturi): what a CA matches on. `value` is the
  // canonical TXT text served at `name`. No retention, no limit rule: these records are
  // meant to stay until their owner removes them (or their persistUntil passes, which
  // the CA checks itself).
  return "CREATE TABLE persist_values ("
         "  name        TEXT NOT NULL,"  // relative owner name, _validation-persist.<...>
         "  issuer      TEXT NOT NULL,"
         "  account_uri TEXT NOT NULL,"
         "  value       TEXT NOT NULL,"
         "  updated_ms  INTEGER NOT NULL,"
         "  PRIMARY KEY (name, issuer, account_uri)"
         ") WITHOUT ROWID;";
}

Status load_persist_index(sqlite::Connection& conn, AnswerIndex& index) {
  auto rows = conn.prepare("SELECT name, value FROM persist_values ORDER BY name, updated_ms, value");
  if (!rows) return rows.error();
  int rc = 0;
  while ((rc = rows->step()) == SQLITE_ROW) index.put_persistent(rows->text(0), rows->text(1));
  if (rc != SQLITE_DONE) return make_error("db_error", rows->error());
  return ok_status();
}

Result<std::vector<PersistRecord>> read_persist(sqlite::Connection& conn, std::string_view name) {
  auto rows = conn.prepare(
      "SELECT name, issuer, account_uri, value, updated_ms FROM persist_values WHERE name = :name "
      "ORDER BY updated_ms, issuer, account_uri");
  if (!rows) return rows.error();
  rows->bind(":name", name);
  std::vector<PersistRecord> out;
  int rc = 0;
  while ((rc = rows->step()) == SQLITE_ROW) {
    out.push_back({rows->text(0), rows->text(1), rows->text(2), rows->text(3), rows->integer(4) / 1000});
  }
  if (rc != SQLITE_DONE) return make_error("db_error", rows->error());
  return out;
}

Result<Job> set_persist_job(AnswerIndex& index, std::string name, const std::string& text,
                            std::function<void(Result<bool>)> done) {
  if (!is_valid_owner_name(name)) return make_error("bad_subdomain", "not a lowercase DNS name");
  auto parsed = parse_persist_value(text);
  if (!parsed) return parsed.error();
  struct State {
    std::string name;
    PersistValue record;
    std::string value;  // canonical
    std::string old_value;
    bool changed = false;
  };
  auto state = std::make_shared<State>();
  state->name = std::move(name);
  state->value = format_persist_value(*parsed);
  state->record = std::move(*parsed);
  const std::int64_t ms = unique_now_ms();
  Job job;
  job.apply = [state, ms](WriterContext& c) -> Status {
    auto old = c.db.prepare(
        "SELECT value FROM persist_values WHERE name = :name AND issuer = :issuer AND account_uri = "
        ":account");
    if (!old) return old.error();
    old->bind(":name", state->name)
        .bind(":issuer", state->record.issuer)
        .bind(":account", state->record.account_uri);
    int rc = old->step();
    if (rc == SQLITE_ROW) state->old_value = old->text(0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return make_error("db_error", old->error());
    if (state->old_value == state->value) return ok_status();  // already there: no write
    if (state->old_value.empty()) {
      auto count = c.db.prepare("SELECT count(*) FROM persist_values WHERE name = :name");
      if (!count) return count.error();
      count->bind(":name", state->name);
      if (count->step() != SQLITE_ROW) return make_error("db_error", count->error());
      if (count->integer(0) >= static_cast<std::int64_t>(kMaxPersistRecordsPerName)) {
        return make_error("persist_limit", "this name already has " +
                                               std::to_string(kMaxPersistRecordsPerName) +
                                               " persist records; remove one first");
      }
    }
    auto put = c.db.prepare(
        "INSERT INTO persist_values (name, issuer, account_uri, value, updated_ms) "
        "VALUES (:name, :issuer, :account, :value, :ms) ON CONFLICT (name, issuer, account_uri) "
        "DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms");
    if (!put) return put.error();
    if (auto s = put->bind(":name", state->name)
                     .bind(":issuer", state->record.issuer)
                     .bind(":account", state->record.account_uri)
                     .bind(":value", state->value)
                     .bind(":ms", ms)
                     .run();
        !s) {
      return s;
    }
    state->changed = true;
    if (c.changes) {
      if (!state->old_value.empty()) c.changes->removed(state->name, state->old_value);
      c.changes->added(state->name, state->value);
    }
    return ok_status();
  };
  job.publish = [&index, state] {
    if (!state->old_value.empty()) index.remove_persistent(state->name, state->old_value);
    index.put_persistent(state->name, state->value);
  };
  job.changed = [state] { return state->changed; };
  job.finish = [done = std::move(done), state](const Status& s) {
    done(s.ok() ? Result<bool>(state->changed) : Result<bool>(s.error()));
  };
  return job;
}

Job remove_persist_job(AnswerIndex& index, const std::string& name, const std::string& issuer,
                       const std::string& account_uri, std::function<void(Result<std::string>)> done) {
  auto removed = std::make_shared<std::string>();
  Job job;
  job.apply = [removed, name, issuer = to_lower_ascii(issuer), account_uri](WriterContext& c) -> Status {
    auto old = c.db.prepare(
        "DELETE FROM persist_values WHERE name = :name AND issuer = :issuer AND account_uri = :account "
        "RETURNING value");
    if (!old) return old.error();
    old->bind(":name", name).bind(":issuer", issuer).bind(":account", account_uri);
    const int rc = old->step();
    if (rc == SQLITE_ROW) *removed = old->text(0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return make_error("db_error", old->error());
    old->reset();
    if (!removed->empty() && c.changes) c.changes->removed(name, *removed);
    return ok_status();
  };
  job.publish = [&index, removed, name] { index.remove_persistent(name, *removed); };
  job.changed = [removed] { return !removed->empty(); };
  job.finish = [done = std::move(done), removed](const Status& s) {
    done(s.ok() ? Result<std::string>(*removed) : Result<std::string>(s.error()));
  };
  return job;
}

Status delete_persist_of_name(WriterContext& c, const std::string& name, std::vector<std::string>& removed) {
  auto rows = c.db.prepare("DELETE FROM persist_values WHERE name = :name RETURNING value");
  if (!rows) return rows.error();
  rows->bind(":name", name);
  int rc = 0;
  while ((rc = rows->step()) == SQLITE_ROW) removed.push_back(rows->text(0));
  if (rc != SQLITE_DONE) return make_error("db_error", rows->error());
  rows->reset();
  if (c.changes) {
    for (const auto& v : removed) c.changes->removed(name, v);
  }
  return ok_status();
}

}  // namespace acmednsd::store_detail
