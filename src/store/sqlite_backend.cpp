// The SQLite dialect of the store (WAL, synchronous = FULL): one file, one serving
// process (the CLI may write beside it; the server notices through meta.serial).
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <system_error>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "common/threads.hpp"
#include "store/acme_state_sql.hpp"
#include "store/feature_sql.hpp"
#include "store/schema_sql.hpp"
#include "store/sqlite_db.hpp"
#include "store/store_backend.hpp"

namespace acmednsd::store_detail {
namespace {

// Forward-only migrations: index i brings the schema from version i to i + 1.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> list = {
      store_schema::kSchemaV1,
      // 2: the IXFR journal (ZoneJournal): one row per SOA serial change, in order.
      "CREATE TABLE ixfr_journal ("
      "  seq         INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  from_serial INTEGER NOT NULL,"
      "  to_serial   INTEGER NOT NULL,"
      "  removed     TEXT NOT NULL,"  // "name value" lines
      "  added       TEXT NOT NULL"
      ");",
      // 3: dns-persist-01 records; 4: DNSSEC keys (sqlite_features.cpp).
      sqlite_sql::kPersistTable,
      sqlite_sql::kDnssecTable,
      // 5: the ACME client's accounts, certificates and leases (acme_state_sql_sqlite.cpp).
      sqlite_sql::kAcmeStateTables,
  };
  return list;
}

constexpr const char* kPragmas =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

using sqlite::db_error;

class SqliteDb final : public Db {
 public:
  explicit SqliteDb(sqlite::Connection c) : db_(std::move(c)) {}
  sqlite::Connection& connection() { return db_; }

  Status begin() override { return db_.exec("BEGIN IMMEDIATE"); }
  Status commit() override { return db_.exec("COMMIT"); }
  void rollback() override { (void)db_.exec("ROLLBACK"); }
  Status savepoint() override { return db_.exec("SAVEPOINT job"); }
  void rollback_to_savepoint() override { (void)db_.exec("ROLLBACK TO job"); }
  Status release_savepoint() override { return db_.exec("RELEASE job"); }

  Result<std::optional<StoredAccount>> find_account(std::string_view username) override {
    auto st = stmt(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at, key_hash FROM accounts WHERE "
        "username = :username");
    if (!st) return st.error();
    auto& s = **st;
    s.bind(":username", username);
    const int rc = s.step();
    std::optional<StoredAccount> out;
    if (rc == SQLITE_ROW) out = StoredAccount{account_of(s), s.text(5)};
    const std::string err = s.error();
    s.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  Result<std::vector<TxtRecord>> list_txt(std::string_view name) override {
    auto st =
        stmt("SELECT value, updated_ms FROM txt_values WHERE name = :name ORDER BY updated_ms DESC, value");
    if (!st) return st.error();
    auto& s = **st;
    s.bind(":name", name);
    std::vector<TxtRecord> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back({s.text(0), s.integer(1) / 1000});
    const std::string err = s.error();
    s.reset();
    if (rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  Result<std::vector<AccountRecord>> list_accounts() override {
    auto st = stmt(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at FROM accounts ORDER BY "
        "created_at, username");
    if (!st) return st.error();
    auto& s = **st;
    std::vector<AccountRecord> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(account_of(s));
    const std::string err = s.error();
    s.reset();
    if (rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  Result<std::size_t> account_count() override {
    auto n = db_.query_int("SELECT count(*) FROM accounts");
    if (!n) return n.error();
    return static_cast<std::size_t>(*n);
  }

  Status ping() override {
    auto n = db_.query_int("SELECT count(*) FROM meta");
    if (!n) return n.error();
    return ok_status();
  }

  Status load_index(AnswerIndex& index, std::uint32_t& stored, std::int64_t& log_seq) override {
    log_seq = 0;
    if (auto n = db_.query_int("SELECT count(*) FROM accounts"); n)
      index.reserve(static_cast<std::size_t>(*n));
    auto accounts = db_.prepare("SELECT subdomain FROM accounts");
    if (!accounts) return accounts.error();
    int rc = 0;
    while ((rc = accounts->step()) == SQLITE_ROW) index.add_name(accounts->text(0));
    if (rc != SQLITE_DONE) return db_error(accounts->error());
    // Unordered: put_value keeps each name's values newest first (sorting a million rows
    // in SQLite would dominate start-up).
    auto values = db_.prepare("SELECT name, value, updated_ms FROM txt_values");
    if (!values) return values.error();
    while ((rc = values->step()) == SQLITE_ROW) {
      index.put_value(values->text(0), values->text(1), values->integer(2) / 1000, values->integer(2));
    }
    if (rc != SQLITE_DONE) return db_error(values->error());
    if (auto p = sqlite_sql::load_persist(db_, index); !p) return p;
    auto serial = stored_serial();
    if (!serial) return serial.error();
    stored = *serial;
    return ok_status();
  }

  Result<std::uint32_t> stored_serial() override {
    auto st = stmt("SELECT value FROM meta WHERE key = 'serial'");
    if (!st) return st.error();
    auto& s = **st;
    const int rc = s.step();
    std::uint32_t out = 0;
    if (rc == SQLITE_ROW) out = static_cast<std::uint32_t>(std::strtoul(s.text(0).c_str(), nullptr, 10));
    const std::string err = s.error();
    s.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  Result<bool> value_exists(const std::string& name, const std::string& value) override {
    auto st = stmt("SELECT 1 FROM txt_values WHERE name = :name AND value = :value");
    if (!st) return st.error();
    (*st)->bind(":name", name).bind(":value", value);
    const int rc = (*st)->step();
    const std::string err = (*st)->error();
    (*st)->reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(err);
    return rc == SQLITE_ROW;
  }

  Status upsert_txt(const std::string& name, const std::string& value, std::int64_t ms) override {
    return run(
        "INSERT INTO txt_values(name, value, updated_ms) VALUES(:name, :value, :ms) "
        "ON CONFLICT(name, value) DO UPDATE SET updated_ms = excluded.updated_ms",
        [&](sqlite::Statement& s) { s.bind(":name", name).bind(":value", value).bind(":ms", ms); });
  }

  Result<std::int64_t> count_txt(const std::string& name) override {
    auto st = stmt("SELECT count(*) FROM txt_values WHERE name = :name");
    if (!st) return st.error();
    (*st)->bind(":name", name);
    const bool counted = (*st)->step() == SQLITE_ROW;
    const std::int64_t count = counted ? (*st)->integer(0) : 0;
    const std::string err = (*st)->error();
    (*st)->reset();
    if (!counted) return db_error(err);
    return count;
  }

  Result<std::vector<std::string>> oldest_values(const std::string& name, std::int64_t excess) override {
    auto st =
        stmt("SELECT value FROM txt_values WHERE name = :name ORDER BY updated_ms, value DESC LIMIT :excess");
    if (!st) return st.error();
    (*st)->bind(":name", name).bind(":excess", excess);
    return column_list(**st);
  }

  // Past the limit the oldest values go: the `excess` oldest, in the reverse of the
  // serving order (updated_ms DESC, value). A top-N of one or two rows is a single
  // pass; "keep the newest `limit`" (NOT IN a sorted subquery) sorted and probed all
  // of them, which made the trim most of the writer's CPU once accounts were full.
  Status trim_txt(const std::string& name, std::int64_t excess) override {
    return run(
        "DELETE FROM txt_values WHERE name = :name AND value IN ("
        "SELECT value FROM txt_values WHERE name = :name ORDER BY updated_ms, value DESC LIMIT :excess)",
        [&](sqlite::Statement& s) { s.bind(":name", name).bind(":excess", excess); });
  }

  Result<bool> delete_txt(const std::string& name, const std::string& value) override {
    auto s = run("DELETE FROM txt_values WHERE name = :name AND value = :value",
                 [&](sqlite::Statement& st) { st.bind(":name", name).bind(":value", value); });
    if (!s) return s.error();
    return db_.changes() > 0;
  }

  Result<std::vector<std::string>> values_of_name(const std::string& name) override {
    auto st = stmt("SELECT value FROM txt_values WHERE name = :name");
    if (!st) return st.error();
    (*st)->bind(":name", name);
    return column_list(**st);
  }

  Status delete_txt_of_name(const std::string& name) override {
    return run("DELETE FROM txt_values WHERE name = :name",
               [&](sqlite::Statement& s) { s.bind(":name", name); });
  }

  Result<std::vector<std::pair<std::string, std::string>>> prune_candidates(std::int64_t cutoff_ms,
                                                                            std::int64_t limit) override {
    auto st = db_.prepare(
        "SELECT name, value FROM (SELECT name, value, updated_ms, row_number() OVER "
        "(PARTITION BY name ORDER BY updated_ms DESC, value) AS rank FROM txt_values) "
        "WHERE (rank > 2 AND updated_ms < :cutoff) OR rank > :limit");
    if (!st) return st.error();
    st->bind(":cutoff", cutoff_ms).bind(":limit", limit);
    std::vector<std::pair<std::string, std::string>> out;
    int rc = 0;
    while ((rc = st->step()) == SQLITE_ROW) out.emplace_back(st->text(0), st->text(1));
    if (rc != SQLITE_DONE) return db_error(st->error());
    return out;
  }

  Status insert_account(const NewAccountRow& row) override {
    return run(
        "INSERT INTO accounts(username, key_hash, subdomain, allowfrom, allowfrom_invalid, created_at) "
        "VALUES(:username, :key_hash, :subdomain, :allowfrom, :invalid, :created)",
        [&](sqlite::Statement& s) {
          s.bind(":username", row.username)
              .bind(":key_hash", row.key_hash)
              .bind(":subdomain", row.subdomain)
              .bind(":allowfrom", row.allowfrom_json)
              .bind(":invalid", std::int64_t{row.allowfrom_invalid ? 1 : 0})
              .bind(":created", row.created_at);
        });
  }

  Result<bool> update_allowfrom(const std::string& username, const std::string& json) override {
    auto s =
        run("UPDATE accounts SET allowfrom = :allowfrom, allowfrom_invalid = 0 WHERE username = :username",
            [&](sqlite::Statement& st) { st.bind(":allowfrom", json).bind(":username", username); });
    if (!s) return s.error();
    return db_.changes() > 0;
  }

  Status update_key_hash(const std::string& username, const std::string& hash) override {
    return run("UPDATE accounts SET key_hash = :key_hash WHERE username = :username",
               [&](sqlite::Statement& s) { s.bind(":key_hash", hash).bind(":username", username); });
  }

  Result<std::optional<std::pair<std::string, std::string>>> select_account(
      const std::string& username) override {
    auto st = stmt("SELECT subdomain, allowfrom FROM accounts WHERE username = :username");
    if (!st) return st.error();
    (*st)->bind(":username", username);
    const int rc = (*st)->step();
    std::optional<std::pair<std::string, std::string>> out;
    if (rc == SQLITE_ROW) out.emplace((*st)->text(0), (*st)->text(1));
    const std::string err = (*st)->error();
    (*st)->reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  Status delete_account(const std::string& username) override {
    return run("DELETE FROM accounts WHERE username = :username",
               [&](sqlite::Statement& s) { s.bind(":username", username); });
  }

  Status set_serial(std::uint32_t serial) override {
    return run(
        "INSERT INTO meta(key, value) VALUES('serial', :value) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [&](sqlite::Statement& s) { s.bind(":value", std::to_string(serial)); });
  }

  Result<std::uint32_t> lock_serial() override { return stored_serial(); }

  Status insert_journal(const JournalRow& row) override {
    return run(
        "INSERT INTO ixfr_journal(from_serial, to_serial, removed, added) "
        "VALUES(:from, :to, :removed, :added)",
        [&](sqlite::Statement& s) {
          s.bind(":from", std::int64_t{row.from_serial})
              .bind(":to", std::int64_t{row.to_serial})
              .bind(":removed", row.removed)
              .bind(":added", row.added);
        });
  }

  Status trim_journal(std::int64_t keep) override {
    return run(
        "DELETE FROM ixfr_journal WHERE seq <= (SELECT seq FROM ixfr_journal ORDER BY seq DESC LIMIT 1 "
        "OFFSET :keep)",
        [&](sqlite::Statement& s) { s.bind(":keep", keep); });
  }

  Status clear_journal() override { return db_.exec("DELETE FROM ixfr_journal"); }

  Result<std::vector<JournalRow>> journal_rows() override {
    auto st =
        db_.prepare("SELECT from_serial, to_serial, removed, added, seq FROM ixfr_journal ORDER BY seq");
    if (!st) return st.error();
    std::vector<JournalRow> out;
    int rc = 0;
    while ((rc = st->step()) == SQLITE_ROW) {
      out.push_back({static_cast<std::uint32_t>(st->integer(0)), static_cast<std::uint32_t>(st->integer(1)),
                     st->text(2), st->text(3), st->integer(4)});
    }
    if (rc != SQLITE_DONE) return db_error(st->error());
    return out;
  }

  // One process serves a SQLite file: no change log.
  Result<std::int64_t> append_log(std::uint32_t, const std::string&, const std::vector<LogEntry>&) override {
    return std::int64_t{0};
  }
  Result<LogBatch> read_log(std::int64_t since, const std::string&) override {
    LogBatch b;
    b.last_seq = since;
    return b;
  }
  Status trim_log(std::int64_t) override { return ok_status(); }

  // dns-persist-01 records and DNSSEC keys: sqlite_features.cpp.
  Result<std::vector<PersistRecord>> list_persist(std::string_view name) override {
    return sqlite_sql::list_persist(db_, name);
  }
  Result<std::optional<std::string>> persist_value(const std::string& name, const std::string& issuer,
                                                   const std::string& account_uri) override {
    return sqlite_sql::persist_value(db_, name, issuer, account_uri);
  }
  Result<std::int64_t> count_persist(const std::string& name) override {
    return sqlite_sql::count_persist(db_, name);
  }
  Status upsert_persist(const std::string& name, const std::string& issuer, const std::string& account_uri,
                        const std::string& value, std::int64_t ms) override {
    return sqlite_sql::upsert_persist(db_, name, issuer, account_uri, value, ms);
  }
  Result<std::optional<std::string>> delete_persist(const std::string& name, const std::string& issuer,
                                                    const std::string& account_uri) override {
    return sqlite_sql::delete_persist(db_, name, issuer, account_uri);
  }
  Result<std::vector<std::string>> delete_persist_of_name(const std::string& name) override {
    return sqlite_sql::delete_persist_of_name(db_, name);
  }
  Status lock_dnssec_keys() override { return ok_status(); }  // BEGIN IMMEDIATE holds the lock
  Result<std::vector<DnssecKeyRecord>> dnssec_keys(const std::string& zone) override {
    return sqlite_sql::dnssec_keys(db_, zone);
  }
  Status insert_dnssec_key(const DnssecKeyRecord& key) override {
    return sqlite_sql::insert_dnssec_key(db_, key);
  }
  Status retire_dnssec_keys(const std::string& zone, std::int64_t retire, std::int64_t remove) override {
    return sqlite_sql::retire_dnssec_keys(db_, zone, retire, remove);
  }
  std::unique_ptr<AcmeStateStore> acme_state() override { return sqlite_sql::acme_state(db_); }

 private:
  // Statements are prepared on first use and kept: the writer uses most of them, the
  // readers only a few.
  Result<sqlite::Statement*> stmt(const char* sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return &it->second;
    auto st = db_.prepare(sql);
    if (!st) return st.error();
    return &cache_.emplace(sql, std::move(st.value())).first->second;
  }

  template <typename Bind>
  Status run(const char* sql, Bind&& bind) {
    auto st = stmt(sql);
    if (!st) return st.error();
    bind(**st);
    return (*st)->run();
  }

  static Result<std::vector<std::string>> column_list(sqlite::Statement& s) {
    std::vector<std::string> out;
    int rc = 0;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(s.text(0));
    const std::string err = s.error();
    s.reset();
    if (rc != SQLITE_DONE) return db_error(err);
    return out;
  }

  static AccountRecord account_of(sqlite::Statement& s) {
    AccountRecord a;
    a.username = s.text(0);
    a.subdomain = s.text(1);
    a.allowfrom = parse_allowfrom(s.text(2), a.allowfrom_invalid);
    a.allowfrom_invalid = a.allowfrom_invalid || s.integer(3) != 0;
    a.created_at = s.integer(4);
    return a;
  }

  sqlite::Connection db_;
  std::map<const char*, sqlite::Statement> cache_;  // keyed by the literal's address
};

// Moves committed pages from the WAL into the database file on its own thread and
// connection. SQLite's automatic checkpoint would run inside the writer's commit, and
// with synchronous = FULL it fsyncs the database file there: every thousand pages one
// batch of requests waited for it (the tail of the /update latency). A PASSIVE
// checkpoint never blocks the writer; the writer restarts the WAL from its beginning
// once a checkpoint has caught up.
class Checkpointer {
 public:
  Checkpointer(sqlite::Connection db, std::chrono::milliseconds every)
      : db_(std::move(db)), every_(every), thread_([this] { loop(); }) {}
  ~Checkpointer() { stop(); }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    enter_control_plane("wal-checkpoint");
    bool warned = false;
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, every_, [this] { return stopping_; });
        if (stopping_) return;
      }
      // A busy or failed checkpoint loses nothing: the pages stay in the WAL, readers
      // see them there, and the next round copies them.
      auto s = db_.exec("PRAGMA wal_checkpoint(PASSIVE)");
      if (!s && !warned) {
        log::warning("WAL checkpoint failed; will retry", {{"error", s.error().message}});
        warned = true;
      }
    }
  }

  sqlite::Connection db_;
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(std::string path) : path_(std::move(path)) {}
  ~SqliteBackend() override { stop(); }

  [[nodiscard]] const char* engine() const override { return "sqlite3"; }
  [[nodiscard]] bool shared() const override { return false; }

  Status prepare_storage() override {
    const std::filesystem::path path(path_);
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) return db_error(path.parent_path().string() + ": " + ec.message());
      ::chmod(path.parent_path().c_str(), 0700);
    }
    return ok_status();
  }

  Result<std::unique_ptr<Db>> connect() override {
    auto conn = sqlite::Connection::open(path_, false);
    if (!conn) return conn.error();
    if (first_) {
      if (auto s = conn->exec(kPragmas); !s) return s.error();
      first_ = false;
    }
    return std::unique_ptr<Db>(std::make_unique<SqliteDb>(std::move(conn.value())));
  }

  Status migrate(Db& db) override {
    auto& conn = static_cast<SqliteDb&>(db).connection();
    auto version = conn.query_int("PRAGMA user_version");
    if (!version) return version.error();
    const auto& list = migrations();
    if (*version > static_cast<std::int64_t>(list.size())) {
      return db_error(path_ + ": schema version " + std::to_string(*version) +
                      " is newer than this acme-dnsd knows (" + std::to_string(list.size()) + ")");
    }
    if (*version == 0) {
      // A file with tables but no version is not ours (an acme-dns database, say).
      auto tables = conn.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
      if (!tables) return tables.error();
      if (*tables > 0) {
        return db_error(path_ +
                        " is not an acme-dnsd database; to take over an acme-dns "
                        "database use `acme-dnsd import-acme-dns PATH`");
      }
    }
    for (auto v = *version; v < static_cast<std::int64_t>(list.size()); ++v) {
      sqlite::Transaction txn(conn);
      if (auto s = txn.begin(); !s) return s;
      if (auto s = conn.exec(list[static_cast<std::size_t>(v)]); !s) return s;
      if (auto s = conn.exec("PRAGMA user_version = " + std::to_string(v + 1)); !s) return s;
      if (auto s = txn.commit(); !s) return s;
    }
    return ok_status();
  }

  Status started(Db& writer) override {
    auto& conn = static_cast<SqliteDb&>(writer).connection();
    if (auto s = conn.exec("PRAGMA wal_autocheckpoint = 0"); !s) return s;  // see Checkpointer
    auto checkpoint_conn = sqlite::Connection::open(path_, false);
    if (!checkpoint_conn) return checkpoint_conn.error();
    if (auto s = checkpoint_conn->exec("PRAGMA synchronous = FULL"); !s) return s;
    struct stat opened {};
    if (::stat(path_.c_str(), &opened) != 0) {
      return db_error(path_ + ": " + std::error_code(errno, std::generic_category()).message());
    }
    device_ = opened.st_dev;
    inode_ = opened.st_ino;
    checkpointer_ =
        std::make_unique<Checkpointer>(std::move(checkpoint_conn.value()), std::chrono::milliseconds(200));
    return ok_status();
  }

  Status before_commit() override {
    auto placed = file_in_place();
    if (!placed) log::error("refusing to commit", {{"error", placed.error().message}});
    return placed;
  }

  std::string unavailable_reason(Db& reader) override {
    if (auto placed = file_in_place(); !placed) return placed.error().message;
    auto s = reader.ping();
    return s.ok() ? std::string() : "the database does not answer: " + s.error().message;
  }

  void stop() override {
    if (checkpointer_) checkpointer_->stop();
  }

  void listen(const std::string&, std::function<void()>) override {}

 private:
  // An operator who deletes or moves the database file under a running server would
  // otherwise see every later update acknowledged into an unlinked file and lost at
  // the next start.
  [[nodiscard]] Status file_in_place() const {
    struct stat now {};
    if (::stat(path_.c_str(), &now) != 0) return db_error("the database file " + path_ + " was removed");
    if (now.st_dev != device_ || now.st_ino != inode_) {
      return db_error("the database file " + path_ + " was replaced");
    }
    return ok_status();
  }

  std::string path_;
  bool first_ = true;
  dev_t device_ = 0;  // identity of the database file opened at start-up
  ino_t inode_ = 0;
  std::unique_ptr<Checkpointer> checkpointer_;
};

}  // namespace

std::unique_ptr<Backend> make_sqlite_backend(const StoreOptions& options) {
  return std::make_unique<SqliteBackend>(options.path);
}

}  // namespace acmednsd::store_detail
