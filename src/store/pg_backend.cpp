// The PostgreSQL dialect of the store. Several acme-dnsd instances may share one
// database: every zone-changing commit locks the serial row, so commits that change
// the zone are serialized across instances, the serial is one sequence for all of
// them, and the change log's sequence numbers are in commit order. Each instance
// follows the others by reading the change log past the last sequence it applied,
// woken by LISTEN/NOTIFY (a notification may be lost; a row may not).
#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/log.hpp"
#include "common/threads.hpp"
#include "store/acme_state_sql.hpp"
#include "store/feature_sql.hpp"
#include "store/pg_connection.hpp"
#include "store/store_backend.hpp"

namespace acmednsd::store_detail {
namespace {

using pg::Param;

// Forward-only migrations, numbered like SQLite's (store's sqlite_backend.cpp): index i
// brings the schema from version i to i + 1. Text that is sorted or compared is
// COLLATE "C": the byte order SQLite uses, whatever the database's locale.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> list = {
      // 1: accounts, values, meta (the SOA serial) and the change log other instances
      // follow (a PostgreSQL-only table).
      "CREATE TABLE accounts ("
      "  username          text COLLATE \"C\" PRIMARY KEY,"
      "  key_hash          text NOT NULL,"
      "  subdomain         text COLLATE \"C\" NOT NULL UNIQUE,"
      "  allowfrom         text NOT NULL DEFAULT '[]',"
      "  allowfrom_invalid integer NOT NULL DEFAULT 0,"
      "  created_at        bigint NOT NULL);"
      "CREATE TABLE txt_values ("
      "  name       text COLLATE \"C\" NOT NULL,"
      "  value      text COLLATE \"C\" NOT NULL,"
      "  updated_ms bigint NOT NULL,"
      "  PRIMARY KEY (name, value));"
      "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
      "INSERT INTO meta(key, value) VALUES ('serial', '0'), ('log_floor', '0');"
      "CREATE TABLE change_log ("
      "  seq        bigserial PRIMARY KEY,"
      "  serial     bigint NOT NULL,"
      "  origin     text NOT NULL,"  // the writing process (its own rows are skipped)
      "  entries    text NOT NULL,"  // lines: kind TAB name TAB value TAB ms
      "  created_at timestamptz NOT NULL DEFAULT now());",
      // 2: the IXFR journal, as in SQLite.
      "CREATE TABLE ixfr_journal ("
      "  seq         bigserial PRIMARY KEY,"
      "  from_serial bigint NOT NULL,"
      "  to_serial   bigint NOT NULL,"
      "  removed     text NOT NULL,"
      "  added       text NOT NULL);",
      // 3: dns-persist-01 records; 4: DNSSEC keys (pg_features.cpp), as in SQLite.
      pg_sql::kPersistTable,
      pg_sql::kDnssecTable,
      // 5: the ACME client's accounts, certificates and leases (acme_state_sql_pg.cpp).
      pg_sql::kAcmeStateTables,
  };
  return list;
}

// pg_advisory_xact_lock key for migrations: "acmednsd" in ASCII.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7017859889624740964)";
constexpr const char* kChannel = "acmednsd_changes";

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

class PgDb final : public Db {
 public:
  explicit PgDb(std::string conninfo) : c_(std::move(conninfo)) {}
  pg::Connection& connection() { return c_; }

  // Round trips are the writer's cost here (one job: savepoint, upsert with count,
  // release): a RELEASE is sent with the next SAVEPOINT or ROLLBACK TO, or implied by
  // the end of the transaction.
  Status begin() override {
    release_pending_ = false;
    return c_.exec("BEGIN");
  }
  Status commit() override {
    release_pending_ = false;
    return c_.exec("COMMIT");
  }
  void rollback() override {
    release_pending_ = false;
    if (c_.healthy()) (void)c_.exec("ROLLBACK");
  }
  Status savepoint() override {
    const char* sql = release_pending_ ? "RELEASE SAVEPOINT job; SAVEPOINT job" : "SAVEPOINT job";
    release_pending_ = false;
    return c_.exec(sql);
  }
  void rollback_to_savepoint() override {
    // A pending release belongs to an inner savepoint that already ended.
    const char* sql =
        release_pending_ ? "RELEASE SAVEPOINT job; ROLLBACK TO SAVEPOINT job" : "ROLLBACK TO SAVEPOINT job";
    release_pending_ = false;
    (void)c_.exec(sql);
  }
  Status release_savepoint() override {
    if (release_pending_) {
      if (auto s = c_.exec("RELEASE SAVEPOINT job"); !s) return s;
    }
    release_pending_ = true;
    return ok_status();
  }

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
    return done(c_.query("UPDATE meta SET value = $1 WHERE key = 'serial'", {num(serial)}));
  }

  Result<std::uint32_t> lock_serial() override {
    auto r = c_.query("SELECT value FROM meta WHERE key = 'serial' FOR UPDATE");
    if (!r) return r.error();
    return r->rows() > 0 ? static_cast<std::uint32_t>(std::strtoull(r->text(0, 0).c_str(), nullptr, 10)) : 0U;
  }

  Result<std::int64_t> insert_journal(const JournalRow& row) override {
    auto r = c_.query(
        "INSERT INTO ixfr_journal(from_serial, to_serial, removed, added) VALUES($1, $2, $3, $4) RETURNING "
        "seq",
        {num(row.from_serial), num(row.to_serial), row.removed, row.added});
    if (!r) return r.error();
    return r->integer(0, 0);
  }

  Status trim_journal(std::int64_t keep) override {
    return done(
        c_.query("DELETE FROM ixfr_journal WHERE seq <= (SELECT seq FROM ixfr_journal ORDER BY seq DESC "
                 "LIMIT 1 OFFSET $1)",
                 {num(keep)}));
  }

  Status clear_journal() override { return c_.exec("DELETE FROM ixfr_journal"); }

  Result<std::vector<JournalRow>> journal_rows() override { return journal_rows_after(0); }

  // By the primary key: other instances' rows since the last one this instance holds.
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
    // The notification is delivered at COMMIT, and only then.
    auto r = c_.query(
        "WITH w AS (INSERT INTO change_log(serial, origin, entries) VALUES($1, $2, $3) RETURNING seq) "
        "SELECT seq, pg_notify('acmednsd_changes', $2) FROM w",
        {num(serial), origin, encode(entries)});
    if (!r) return r.error();
    return r->integer(0, 0);
  }

  Result<LogBatch> read_log(std::int64_t since, const std::string& /*origin*/) override {
    LogBatch b;
    b.last_seq = since;
    auto floor = c_.query("SELECT value FROM meta WHERE key = 'log_floor'");
    if (!floor) return floor.error();
    if (floor->rows() > 0 && since < std::strtoll(floor->text(0, 0).c_str(), nullptr, 10)) {
      b.gap = true;
      return b;
    }
    auto r = c_.query("SELECT seq, serial, origin, entries FROM change_log WHERE seq > $1 ORDER BY seq",
                      {num(since)});
    if (!r) return r.error();
    for (int i = 0; i < r->rows(); ++i) {
      b.last_seq = r->integer(i, 0);
      const auto serial = static_cast<std::uint32_t>(r->integer(i, 1));
      if (b.max_serial == 0 || AnswerIndex::serial_after(serial, b.max_serial)) b.max_serial = serial;
      // Own rows too: rows this process committed and acknowledged are at or below
      // `since` already; a row of its own past it is a commit whose COMMIT reply was
      // lost (the connection dropped), so the index does not have it yet.
      decode(r->text(i, 3), b.entries);
    }
    return b;
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
  bool release_pending_ = false;
};

// LISTEN on its own connection; every notification (and every reconnect, after which
// notifications may have been missed) wakes the writer's catch-up.
class Listener {
 public:
  Listener(std::string conninfo, std::function<void()> wake)
      : conn_(std::move(conninfo)), wake_(std::move(wake)), thread_([this] { loop(); }) {}
  ~Listener() { stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    enter_control_plane("pg-listen");
    bool listening = false;
    while (!stopping_) {
      if (!listening) {
        if (conn_.exec(std::string("LISTEN ") + kChannel).ok()) {
          listening = true;
          wake_();  // whatever was committed while not listening
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
          continue;
        }
      }
      pollfd p{PQsocket(conn_.raw()), POLLIN, 0};
      if (::poll(&p, 1, 200) < 0) continue;
      if (PQconsumeInput(conn_.raw()) == 0) {
        listening = false;  // the connection dropped: the next round reconnects
        continue;
      }
      bool woke = false;
      while (PGnotify* n = PQnotifies(conn_.raw())) {
        PQfreemem(n);
        woke = true;
      }
      if (woke) wake_();
    }
  }

  pg::Connection conn_;
  std::function<void()> wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

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

  // Under a transaction-scoped advisory lock: instances starting together migrate once,
  // the others wait and then find the schema current.
  Status migrate(Db& db) override {
    auto& c = static_cast<PgDb&>(db).connection();
    if (auto s = c.exec("BEGIN"); !s) return s;
    auto s = migrate_locked(db, c);
    if (s) s = c.exec("COMMIT");
    if (!s) (void)c.exec("ROLLBACK");
    return s;
  }

  Status started(Db&) override { return ok_status(); }
  Status before_commit() override { return ok_status(); }

  std::string unavailable_reason(Db& reader) override {
    auto s = reader.ping();
    return s.ok() ? std::string() : "the database does not answer: " + s.error().message;
  }

  void stop() override { listener_.reset(); }

  void listen(std::function<void()> wake) override {
    listener_ = std::make_unique<Listener>(conninfo_, std::move(wake));
  }

 private:
  Status migrate_locked(Db& db, pg::Connection& c) {
    if (auto s = c.exec(kMigrationLock); !s) return s;
    auto ours = c.query("SELECT to_regclass('acmednsd_schema') IS NOT NULL");
    if (!ours) return ours.error();
    bool take_over = false;
    if (ours->text(0, 0) != "t") {
      // Empty, or acme-dns's own tables (records, txt, acmedns): the schema is created
      // beside them and acme-dns's rows are imported in this same transaction, so
      // swapping the binary keeps every account (acme-dns's tables stay untouched).
      auto tables = c.query(
          "SELECT string_agg(tablename, ', ' ORDER BY tablename), "
          "count(*) FILTER (WHERE tablename NOT IN ('records', 'txt', 'acmedns')), "
          "count(*) FILTER (WHERE tablename = 'records') FROM pg_tables WHERE schemaname = current_schema()");
      if (!tables) return tables.error();
      if (tables->integer(0, 1) > 0) {
        return make_error(
            "db_error",
            "the PostgreSQL database is not an acme-dnsd database (it has tables: " + tables->text(0, 0) +
                "); to take over an acme-dns database use `acme-dnsd import-acme-dns "
                "SOURCE` into an empty database, or point acme-dnsd at acme-dns's own");
      }
      take_over = tables->integer(0, 2) > 0;
      if (auto s = c.exec("CREATE TABLE acmednsd_schema (version integer NOT NULL);"
                          "INSERT INTO acmednsd_schema VALUES (0)");
          !s) {
        return s;
      }
    }
    auto version = c.query("SELECT version FROM acmednsd_schema");
    if (!version) return version.error();
    if (version->rows() != 1) return make_error("db_error", "acmednsd_schema must hold one row");
    const auto& list = migrations();
    const std::int64_t v0 = version->integer(0, 0);
    if (v0 > static_cast<std::int64_t>(list.size())) {
      return make_error("db_error", "the PostgreSQL schema version " + std::to_string(v0) +
                                        " is newer than this acme-dnsd knows (" +
                                        std::to_string(list.size()) + ")");
    }
    for (auto v = v0; v < static_cast<std::int64_t>(list.size()); ++v) {
      if (auto s = c.exec(list[static_cast<std::size_t>(v)]); !s) return s;
      if (auto s = c.exec("UPDATE acmednsd_schema SET version = " + std::to_string(v + 1)); !s) return s;
    }
    if (take_over) {
      auto report = import_into(db, conninfo_);
      if (!report)
        return make_error(report.error().code, "taking over acme-dns's tables: " + report.error().message);
      log::info("took over the acme-dns tables of this PostgreSQL database",
                {{"accounts", std::to_string(report->accounts)},
                 {"values", std::to_string(report->values)},
                 {"skipped", std::to_string(report->problems.size())}});
      for (const auto& p : report->problems) log::warning("acme-dns row not taken over", {{"why", p}});
      for (const auto& f : report->flagged) log::warning("acme-dns account flagged", {{"why", f}});
    }
    return ok_status();
  }

  std::string conninfo_;
  std::unique_ptr<Listener> listener_;
};

}  // namespace

std::unique_ptr<Backend> make_pg_backend(const StoreOptions& options) {
  return std::make_unique<PgBackend>(options.path);
}

}  // namespace acmednsd::store_detail
