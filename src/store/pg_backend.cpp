// The PostgreSQL dialect of the store. Several acme-dnsd instances may share one
// database: every zone-changing commit locks the serial row, so commits that change
// the zone are serialized across instances, the serial is one sequence for all of
// them, and the change log's sequence numbers are in commit order. Each instance
// follows the others by reading the change log past the last sequence it applied,
// woken by LISTEN/NOTIFY (a notification may be lost; a row may not).
#include <map>
#include <sstream>

#include "common/log.hpp"
#include "store/acme_state_sql.hpp"
#include "store/feature_sql.hpp"
#include "store/pg_connection.hpp"
#include "store/pg_listener.hpp"
#include "store/pg_schema.hpp"
#include "store/store_backend.hpp"

namespace acmednsd::store_detail {
namespace {

using pg::Param;

std::string encode(const std::vector<LogEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += static_cast<char>(e.kind);
    out += '\t' + e.name + '\t' + e.value + '\t' + std::to_string(e.ms) + '\n';
  }
  return out;
}

void decode(const std::string& text, std::vector<LogEntry>& out) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t tab = line.find('\t'); tab != std::string::npos; tab = line.find('\t', start)) {
      f.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    f.push_back(line.substr(start));
    if (f.size() != 4 || f[0].size() != 1) continue;
    out.push_back(
        {static_cast<LogEntry::Kind>(f[0][0]), f[1], f[2], std::strtoll(f[3].c_str(), nullptr, 10)});
  }
}

std::string num(std::int64_t v) {
  return std::to_string(v);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

// A text[] literal: every element quoted, so any text (commas, braces, NULL) is an element.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char ch : item) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

class PgDb final : public Db {
 public:
  explicit PgDb(std::string conninfo) : c_(std::move(conninfo)) {}
  pg::Connection& connection() { return c_; }

  // Round trips are the writer's cost here: BEGIN, SAVEPOINT and RELEASE are sent with
  // the statement that follows them (pg::Connection::defer), and so are the writes whose
  // result nobody reads before COMMIT (the serial, the journal).
  Status begin() override {
    c_.set_in_transaction(true);
    c_.defer("BEGIN");
    return ok_status();
  }
  // COMMIT in a failed transaction answers ROLLBACK, not an error: only "COMMIT" is one.
  Status commit() override {
    auto r = c_.pipeline({{"COMMIT", {}}});
    c_.set_in_transaction(false);
    if (!r) return r.error();
    if (r->back().command() != "COMMIT") return make_error("db_error", "the transaction was rolled back");
    return ok_status();
  }
  void rollback() override {
    c_.set_in_transaction(false);  // drops what was deferred
    if (c_.healthy()) (void)c_.exec("ROLLBACK");
  }
  Status savepoint() override {
    c_.defer("SAVEPOINT job");
    return ok_status();
  }
  void rollback_to_savepoint() override { (void)c_.exec("ROLLBACK TO SAVEPOINT job"); }
  Status release_savepoint() override {
    c_.defer("RELEASE SAVEPOINT job");
    return ok_status();
  }

  // One round trip for every put (BEGIN and the savepoints ride along), and one more
  // for the trim when a name went past the limit. Under its own savepoint, so a failure
  // leaves the transaction as it was before it.
  [[nodiscard]] bool puts_in_bulk() const override { return true; }
  Result<PutsDone> put_txt_bulk(const std::vector<TxtPut>& puts, std::int64_t limit) override;

  Result<std::optional<StoredAccount>> find_account(std::string_view username) override {
    auto r = c_.query(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at, key_hash FROM accounts "
        "WHERE username = $1",
        {std::string(username)});
    if (!r) return r.error();
    std::optional<StoredAccount> out;
    if (r->rows() > 0) out = StoredAccount{account_of(*r, 0), r->text(0, 5)};
    return out;
  }

  Result<std::vector<TxtRecord>> list_txt(std::string_view name) override {
    auto r =
        c_.query("SELECT value, updated_ms FROM txt_values WHERE name = $1 ORDER BY updated_ms DESC, value",
                 {std::string(name)});
    if (!r) return r.error();
    std::vector<TxtRecord> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back({r->text(i, 0), r->integer(i, 1) / 1000});
    return out;
  }

  Result<std::vector<AccountRecord>> list_accounts() override {
    auto r = c_.query(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at FROM accounts "
        "ORDER BY created_at, username");
    if (!r) return r.error();
    std::vector<AccountRecord> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back(account_of(*r, i));
    return out;
  }

  Result<std::size_t> account_count() override {
    auto r = c_.query("SELECT count(*) FROM accounts");
    if (!r) return r.error();
    return static_cast<std::size_t>(r->integer(0, 0));
  }

  Status ping() override {
    auto r = c_.query("SELECT 1");
    if (!r) return r.error();
    return ok_status();
  }

  // One snapshot: the values and the change log's end agree, so following the log from
  // there misses nothing and replays nothing.
  Status load_index(AnswerIndex& index, std::uint32_t& stored, std::int64_t& log_seq) override {
    if (auto s = c_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s) return s;
    auto s = load_in_snapshot(index, stored, log_seq);
    (void)c_.exec(s.ok() ? "COMMIT" : "ROLLBACK");
    return s;
  }

  Result<std::uint32_t> stored_serial() override {
    auto r = c_.query("SELECT value FROM meta WHERE key = 'serial'");
    if (!r) return r.error();
    return r->rows() > 0 ? static_cast<std::uint32_t>(std::strtoull(r->text(0, 0).c_str(), nullptr, 10)) : 0U;
  }

  Result<bool> value_exists(const std::string& name, const std::string& value) override {
    auto r = c_.query("SELECT 1 FROM txt_values WHERE name = $1 AND value = $2", {name, value});
    if (!r) return r.error();
    return r->rows() > 0;
  }

  Status upsert_txt(const std::string& name, const std::string& value, std::int64_t ms) override {
    return done(
        c_.query("INSERT INTO txt_values(name, value, updated_ms) VALUES($1, $2, $3) "
                 "ON CONFLICT(name, value) DO UPDATE SET updated_ms = excluded.updated_ms",
                 {name, value, num(ms)}));
  }

  // One round trip: the count in RETURNING is taken in the statement's snapshot, which
  // does not see its own row, so a new row (xmax = 0) adds one.
  Result<std::int64_t> upsert_txt_count(const std::string& name, const std::string& value,
                                        std::int64_t ms) override {
    auto r = c_.query(
        "INSERT INTO txt_values(name, value, updated_ms) VALUES($1, $2, $3) "
        "ON CONFLICT(name, value) DO UPDATE SET updated_ms = excluded.updated_ms "
        "RETURNING (xmax = 0)::int + (SELECT count(*) FROM txt_values WHERE name = $1)",
        {name, value, num(ms)});
    if (!r) return r.error();
    return r->integer(0, 0);
  }

  Result<std::int64_t> count_txt(const std::string& name) override {
    auto r = c_.query("SELECT count(*) FROM txt_values WHERE name = $1", {name});
    if (!r) return r.error();
    return r->integer(0, 0);
  }

  Result<std::vector<std::string>> oldest_values(const std::string& name, std::int64_t excess) override {
    return column(
        c_.query("SELECT value FROM txt_values WHERE name = $1 ORDER BY updated_ms, value DESC LIMIT $2",
                 {name, num(excess)}));
  }

  Status trim_txt(const std::string& name, std::int64_t excess) override {
    return done(
        c_.query("DELETE FROM txt_values WHERE name = $1 AND value IN (SELECT value FROM txt_values "
                 "WHERE name = $1 ORDER BY updated_ms, value DESC LIMIT $2)",
                 {name, num(excess)}));
  }

  Result<bool> delete_txt(const std::string& name, const std::string& value) override {
    auto r = c_.query("DELETE FROM txt_values WHERE name = $1 AND value = $2", {name, value});
    if (!r) return r.error();
    return r->affected() > 0;
  }

  Result<std::vector<std::string>> values_of_name(const std::string& name) override {
    return column(c_.query("SELECT value FROM txt_values WHERE name = $1", {name}));
  }

  Status delete_txt_of_name(const std::string& name) override {
    return done(c_.query("DELETE FROM txt_values WHERE name = $1", {name}));
  }

  Result<std::vector<std::pair<std::string, std::string>>> prune_candidates(std::int64_t cutoff_ms,
                                                                            std::int64_t limit) override {
    auto r = c_.query(
        "SELECT name, value FROM (SELECT name, value, updated_ms, row_number() OVER "
        "(PARTITION BY name ORDER BY updated_ms DESC, value) AS rank FROM txt_values) ranked "
        "WHERE (rank > 2 AND updated_ms < $1) OR rank > $2",
        {num(cutoff_ms), num(limit)});
    if (!r) return r.error();
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->text(i, 0), r->text(i, 1));
    return out;
  }

  Status insert_account(const NewAccountRow& row) override {
    return done(
        c_.query("INSERT INTO accounts(username, key_hash, subdomain, allowfrom, allowfrom_invalid, "
                 "created_at) VALUES($1, $2, $3, $4, $5, $6)",
                 {row.username, row.key_hash, row.subdomain, row.allowfrom_json,
                  std::string(row.allowfrom_invalid ? "1" : "0"), num(row.created_at)}));
  }

  Result<bool> update_allowfrom(const std::string& username, const std::string& json) override {
    auto r = c_.query("UPDATE accounts SET allowfrom = $1, allowfrom_invalid = 0 WHERE username = $2",
                      {json, username});
    if (!r) return r.error();
    return r->affected() > 0;
  }

  Status update_key_hash(const std::string& username, const std::string& hash) override {
    return done(c_.query("UPDATE accounts SET key_hash = $1 WHERE username = $2", {hash, username}));
  }

  Result<std::optional<std::pair<std::string, std::string>>> select_account(
      const std::string& username) override {
    auto r = c_.query("SELECT subdomain, allowfrom FROM accounts WHERE username = $1", {username});
    if (!r) return r.error();
    std::optional<std::pair<std::string, std::string>> out;
    if (r->rows() > 0) out.emplace(r->text(0, 0), r->text(0, 1));
    return out;
  }

  Status delete_account(const std::string& username) override {
    return done(c_.query("DELETE FROM accounts WHERE username = $1", {username}));
  }

  Status set_serial(std::uint32_t serial) override {
    return write("UPDATE meta SET value = $1 WHERE key = 'serial'", {num(serial)});
  }

  Result<std::uint32_t> lock_serial() override {
    auto r = c_.query(kLockSerial);
    if (!r) return r.error();
    return r->rows() > 0 ? static_cast<std::uint32_t>(std::strtoull(r->text(0, 0).c_str(), nullptr, 10)) : 0U;
  }

  Status insert_journal(const JournalRow& row) override {
    return write("INSERT INTO ixfr_journal(from_serial, to_serial, removed, added) VALUES($1, $2, $3, $4)",
                 {num(row.from_serial), num(row.to_serial), row.removed, row.added});
  }

  Status trim_journal(std::int64_t keep) override {
    return write(
        "DELETE FROM ixfr_journal WHERE seq <= (SELECT seq FROM ixfr_journal ORDER BY seq DESC "
        "LIMIT 1 OFFSET $1)",
        {num(keep)});
  }

  Status clear_journal() override { return c_.exec("DELETE FROM ixfr_journal"); }

  Result<std::vector<JournalRow>> journal_rows() override { return journal_rows_after(0); }

  // By the primary key: other instances' rows since the last one this instance read.
  Result<std::vector<JournalRow>> journal_rows_after(std::int64_t seq) override {
    auto r = c_.query(
        "SELECT from_serial, to_serial, removed, added, seq FROM ixfr_journal WHERE seq > $1 ORDER BY seq",
        {num(seq)});
    if (!r) return r.error();
    std::vector<JournalRow> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back({static_cast<std::uint32_t>(r->integer(i, 0)),
                     static_cast<std::uint32_t>(r->integer(i, 1)), r->text(i, 2), r->text(i, 3),
                     r->integer(i, 4)});
    }
    return out;
  }

  Result<std::int64_t> append_log(std::uint32_t serial, const std::string& origin,
                                  const std::vector<LogEntry>& entries) override {
    // The notification (kChangeChannel, pg_listener.hpp) is delivered at COMMIT, and only then.
    auto r = c_.query(
        "WITH w AS (INSERT INTO change_log(serial, origin, entries) VALUES($1, $2, $3) RETURNING seq) "
        "SELECT seq, pg_notify('acmednsd_changes', $2) FROM w",
        {num(serial), origin, encode(entries)});
    if (!r) return r.error();
    return r->integer(0, 0);
  }

  Result<LogBatch> read_log(std::int64_t since, const std::string& /*origin*/) override {
    auto r = c_.pipeline({{kLogFloor, {}}, {kLogRows, {num(since)}}});
    if (!r) return r.error();
    return log_batch(*r, 0, since);
  }

  // The serial row's lock, then the log read under it, in one round trip: the server
  // runs them in order, and the read's snapshot is taken once the lock is held.
  Result<std::pair<std::uint32_t, LogBatch>> lock_serial_read_log(std::int64_t since,
                                                                  const std::string& /*origin*/) override {
    auto r = c_.pipeline({{kLockSerial, {}}, {kLogFloor, {}}, {kLogRows, {num(since)}}});
    if (!r) return r.error();
    const auto& lock = r->at(r->size() - 3);
    const std::uint32_t serial =
        lock.rows() > 0 ? static_cast<std::uint32_t>(std::strtoull(lock.text(0, 0).c_str(), nullptr, 10))
                        : 0U;
    return std::make_pair(serial, log_batch(*r, r->size() - 2, since));
  }

  Status trim_log(std::int64_t max_age_seconds) override {
    return done(
        c_.query("WITH gone AS (DELETE FROM change_log WHERE created_at < now() - make_interval(secs => $1) "
                 "RETURNING seq) UPDATE meta SET value = (SELECT max(seq) FROM gone)::text "
                 "WHERE key = 'log_floor' AND EXISTS (SELECT 1 FROM gone)",
                 {num(max_age_seconds)}));
  }

  // dns-persist-01 records and DNSSEC keys: pg_features.cpp.
  Result<std::vector<PersistRecord>> list_persist(std::string_view name) override {
    return pg_sql::list_persist(c_, name);
  }
  Result<std::optional<std::string>> persist_value(const std::string& name, const std::string& issuer,
                                                   const std::string& account_uri) override {
    return pg_sql::persist_value(c_, name, issuer, account_uri);
  }
  Result<std::int64_t> count_persist(const std::string& name) override {
    return pg_sql::count_persist(c_, name);
  }
  Status upsert_persist(const std::string& name, const std::string& issuer, const std::string& account_uri,
                        const std::string& value, std::int64_t ms) override {
    return pg_sql::upsert_persist(c_, name, issuer, account_uri, value, ms);
  }
  Result<std::optional<std::string>> delete_persist(const std::string& name, const std::string& issuer,
                                                    const std::string& account_uri) override {
    return pg_sql::delete_persist(c_, name, issuer, account_uri);
  }
  Result<std::vector<std::string>> delete_persist_of_name(const std::string& name) override {
    return pg_sql::delete_persist_of_name(c_, name);
  }
  Status lock_dnssec_keys() override { return pg_sql::lock_dnssec_keys(c_); }
  Result<std::vector<DnssecKeyRecord>> dnssec_keys(const std::string& zone) override {
    return pg_sql::dnssec_keys(c_, zone);
  }
  Status insert_dnssec_key(const DnssecKeyRecord& key) override { return pg_sql::insert_dnssec_key(c_, key); }
  Status retire_dnssec_keys(const std::string& zone, std::int64_t retire, std::int64_t remove) override {
    return pg_sql::retire_dnssec_keys(c_, zone, retire, remove);
  }
  std::unique_ptr<AcmeStateStore> acme_state() override { return pg_sql::acme_state(c_); }

 private:
  static constexpr const char* kLockSerial = "SELECT value FROM meta WHERE key = 'serial' FOR UPDATE";
  static constexpr const char* kLogFloor = "SELECT value FROM meta WHERE key = 'log_floor'";
  static constexpr const char* kLogRows =
      "SELECT seq, serial, origin, entries FROM change_log WHERE seq > $1 ORDER BY seq";

  // results[at] is the log floor, results[at + 1] the rows past `since`.
  static LogBatch log_batch(const std::vector<pg::PgResult>& results, std::size_t at, std::int64_t since) {
    LogBatch b;
    b.last_seq = since;
    const auto& floor = results.at(at);
    if (floor.rows() > 0 && since < std::strtoll(floor.text(0, 0).c_str(), nullptr, 10)) {
      b.gap = true;
      return b;
    }
    const auto& r = results.at(at + 1);
    for (int i = 0; i < r.rows(); ++i) {
      b.last_seq = r.integer(i, 0);
      const auto serial = static_cast<std::uint32_t>(r.integer(i, 1));
      if (b.max_serial == 0 || AnswerIndex::serial_after(serial, b.max_serial)) b.max_serial = serial;
      // Own rows too: rows this process committed and acknowledged are at or below
      // `since` already; a row of its own past it is a commit whose COMMIT reply was
      // lost (the connection dropped), so the index does not have it yet.
      decode(r.text(i, 3), b.entries);
    }
    return b;
  }

  // A write inside the writer's transaction whose result nobody reads: deferred to the
  // next round trip (its failure fails that statement, and so the transaction).
  Status write(const char* sql, std::vector<pg::Param> params) {
    if (c_.in_transaction()) {
      c_.defer(sql, std::move(params));
      return ok_status();
    }
    return done(c_.query(sql, params));
  }

  Status load_in_snapshot(AnswerIndex& index, std::uint32_t& stored, std::int64_t& log_seq) {
    auto n = c_.query("SELECT count(*) FROM accounts");
    if (!n) return n.error();
    index.reserve(static_cast<std::size_t>(n->integer(0, 0)));
    // Through cursors, a slice at a time: a million rows as one result would sit in
    // memory whole (and glibc keeps much of it after it is freed).
    auto s = fetch_all("DECLARE names NO SCROLL CURSOR FOR SELECT subdomain FROM accounts", "names",
                       [&](const pg::PgResult& r, int i) { index.add_name(r.text(i, 0)); });
    if (!s) return s;
    s = fetch_all("DECLARE vals NO SCROLL CURSOR FOR SELECT name, value, updated_ms FROM txt_values", "vals",
                  [&](const pg::PgResult& r, int i) {
                    const auto ms = r.integer(i, 2);
                    index.put_value(r.text(i, 0), r.text(i, 1), ms / 1000, ms);
                  });
    if (!s) return s;
    s = fetch_all(
        "DECLARE persist NO SCROLL CURSOR FOR SELECT name, value FROM persist_values "
        "ORDER BY name, updated_ms, value",
        "persist", [&](const pg::PgResult& r, int i) { index.put_persistent(r.text(i, 0), r.text(i, 1)); });
    if (!s) return s;
    auto serial = stored_serial();
    if (!serial) return serial.error();
    stored = *serial;
    auto seq = c_.query("SELECT coalesce(max(seq), 0) FROM change_log");
    if (!seq) return seq.error();
    log_seq = seq->integer(0, 0);
    return ok_status();
  }

  template <typename Row>
  Status fetch_all(const std::string& declare, const std::string& cursor, Row&& row) {
    if (auto s = c_.exec(declare); !s) return s;
    for (;;) {
      auto r = c_.rows("FETCH 20000 FROM " + cursor);
      if (!r) return r.error();
      for (int i = 0; i < r->rows(); ++i) row(*r, i);
      if (r->rows() == 0) break;
    }
    return c_.exec("CLOSE " + cursor);
  }

  static Status done(const Result<pg::PgResult>& r) {
    if (!r) return r.error();
    return ok_status();
  }

  static Result<std::vector<std::string>> column(const Result<pg::PgResult>& r) {
    if (!r) return r.error();
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->text(i, 0));
    return out;
  }

  static AccountRecord account_of(const pg::PgResult& r, int i) {
    AccountRecord a;
    a.username = r.text(i, 0);
    a.subdomain = r.text(i, 1);
    a.allowfrom = parse_allowfrom(r.text(i, 2), a.allowfrom_invalid);
    a.allowfrom_invalid = a.allowfrom_invalid || r.integer(i, 3) != 0;
    a.created_at = r.integer(i, 4);
    return a;
  }

  pg::Connection c_;
};

// The puts as three arrays (unnest), each (name, value) once with its last put's time
// (ON CONFLICT DO UPDATE cannot touch a row twice in one statement). RETURNING: the
// values that are new, then the names now past the limit: the count is taken in the
// statement's snapshot, which does not see the statement's own rows, so the new ones
// are added to it.
Result<PutsDone> PgDb::put_txt_bulk(const std::vector<TxtPut>& puts, std::int64_t limit) {
  std::map<std::pair<std::string, std::string>, std::int64_t> last;
  for (const auto& p : puts) last[{p.name, p.value}] = p.ms;
  std::vector<std::string> names, values, times;
  for (const auto& [key, ms] : last) {
    names.push_back(key.first);
    values.push_back(key.second);
    times.push_back(num(ms));
  }
  c_.defer("SAVEPOINT bulk");
  auto r = c_.query(
      "WITH up AS (INSERT INTO txt_values(name, value, updated_ms) "
      "  SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
      "  ON CONFLICT(name, value) DO UPDATE SET updated_ms = excluded.updated_ms "
      "  RETURNING name, value, (xmax = 0) AS added), "
      "per_name AS (SELECT name, count(*) FILTER (WHERE added) AS n FROM up GROUP BY name) "
      "SELECT 'a', name, value FROM up WHERE added "
      "UNION ALL SELECT 'n', name, '' FROM per_name p "
      "  WHERE p.n + (SELECT count(*) FROM txt_values t WHERE t.name = p.name) > $4",
      {text_array(names), text_array(values), "{" + join(times) + "}", num(limit)});
  PutsDone out;
  std::vector<std::string> over;
  if (r) {
    for (int i = 0; i < r->rows(); ++i) {
      if (r->text(i, 0) == "a") out.added.emplace_back(r->text(i, 1), r->text(i, 2));
      if (r->text(i, 0) == "n") over.push_back(r->text(i, 1));
    }
  }
  Result<pg::PgResult> trim = pg::PgResult();
  if (r && !over.empty()) {
    // The complement of the `limit` newest (updated_ms DESC, value): trim_txt's oldest.
    // By ctid (a TID scan of just those rows): joining back on (name, value) let the
    // planner hash the whole table, 18 ms a batch once every name was at its limit.
    trim = c_.query(
        "DELETE FROM txt_values WHERE ctid = ANY(ARRAY(SELECT ctid FROM (SELECT ctid, row_number() OVER "
        "(PARTITION BY name ORDER BY updated_ms DESC, value) AS rank FROM txt_values "
        "WHERE name = ANY($1::text[])) ranked WHERE rank > $2)) RETURNING name, value",
        {text_array(over), num(limit)});
    if (trim) {
      for (int i = 0; i < trim->rows(); ++i) out.trimmed.emplace_back(trim->text(i, 0), trim->text(i, 1));
    }
  }
  if (!r || !trim) {
    (void)c_.exec("ROLLBACK TO SAVEPOINT bulk");
    c_.defer("RELEASE SAVEPOINT bulk");
    return r ? trim.error() : r.error();
  }
  c_.defer("RELEASE SAVEPOINT bulk");
  return out;
}

class PgBackend final : public Backend {
 public:
  explicit PgBackend(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  ~PgBackend() override { stop(); }

  [[nodiscard]] const char* engine() const override { return "postgres"; }
  [[nodiscard]] bool shared() const override { return true; }
  Status prepare_storage() override { return ok_status(); }

  Result<std::unique_ptr<Db>> connect() override {
    auto db = std::make_unique<PgDb>(conninfo_);
    if (auto s = db->connection().connect(); !s) return s.error();
    return std::unique_ptr<Db>(std::move(db));
  }

  // pg_schema.cpp: the migrations, and taking over acme-dns's tables.
  Status migrate(Db& db) override { return pg_migrate(db, static_cast<PgDb&>(db).connection(), conninfo_); }

  Status started(Db&) override { return ok_status(); }
  Status before_commit() override { return ok_status(); }

  std::string unavailable_reason(Db& reader) override {
    auto s = reader.ping();
    return s.ok() ? std::string() : "the database does not answer: " + s.error().message;
  }

  void stop() override { listener_.reset(); }

  void listen(const std::string& origin, std::function<void()> wake) override {
    listener_ = std::make_unique<Listener>(conninfo_, origin, std::move(wake));
  }

 private:
  std::string conninfo_;
  std::unique_ptr<Listener> listener_;
};

}  // namespace

std::unique_ptr<Backend> make_pg_backend(const StoreOptions& options) {
  return std::make_unique<PgBackend>(options.path);
}

}  // namespace acmednsd::store_detail
