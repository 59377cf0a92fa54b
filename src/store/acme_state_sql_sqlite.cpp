// The SQLite statements of the ACME client's tables (see acme_state_sql.hpp).
#include "store/acme_state_sql.hpp"

#include <chrono>

namespace acmednsd::store_detail::sqlite_sql {

// One account per CA directory; per certificate its chain, key and bookkeeping; per
// certificate at most one instance ordering it (the lease, until expires_ms). IF NOT
// EXISTS: a database whose version was set back by hand (tests) migrates again.
const char* const kAcmeStateTables =
    "CREATE TABLE IF NOT EXISTS acme_accounts ("
    "  directory  TEXT PRIMARY KEY,"
    "  key_pem    TEXT NOT NULL,"
    "  url        TEXT NOT NULL DEFAULT '',"
    "  created_ms INTEGER NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS acme_certificates ("
    "  name        TEXT PRIMARY KEY,"
    "  fullchain   TEXT NOT NULL DEFAULT '',"
    "  private_key TEXT NOT NULL DEFAULT '',"
    "  state       TEXT NOT NULL DEFAULT '',"
    "  stored_ms   INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE IF NOT EXISTS acme_leases ("
    "  name       TEXT PRIMARY KEY,"
    "  holder     TEXT NOT NULL,"
    "  expires_ms INTEGER NOT NULL"
    ");";

namespace {

using sqlite::db_error;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class SqliteAcmeState final : public AcmeStateStore {
 public:
  explicit SqliteAcmeState(sqlite::Connection& db) : db_(db) {}

  Result<std::optional<AcmeAccountRow>> account(const std::string& directory) override {
    auto s = db_.prepare("SELECT directory, key_pem, url FROM acme_accounts WHERE directory = :dir");
    if (!s) return s.error();
    s->bind(":dir", directory);
    std::optional<AcmeAccountRow> out;
    const int rc = s->step();
    if (rc == SQLITE_ROW) out = AcmeAccountRow{s->text(0), s->text(1), s->text(2)};
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(s->error());
    return out;
  }

  Result<AcmeAccountRow> add_account(const AcmeAccountRow& row) override {
    auto s = db_.prepare(
        "INSERT INTO acme_accounts (directory, key_pem, url, created_ms) VALUES (:dir, :key, :url, :ms) "
        "ON CONFLICT (directory) DO NOTHING");
    if (!s) return s.error();
    if (auto r = s->bind(":dir", row.directory)
                     .bind(":key", row.key_pem)
                     .bind(":url", row.url)
                     .bind(":ms", now_ms())
                     .run();
        !r) {
      return r.error();
    }
    auto stored = account(row.directory);
    if (!stored) return stored.error();
    if (!*stored) return db_error("the ACME account row vanished after its insert");
    return std::move(**stored);
  }

  Status set_account_url(const std::string& directory, const std::string& url) override {
    auto s = db_.prepare("UPDATE acme_accounts SET url = :url WHERE directory = :dir");
    if (!s) return s.error();
    return s->bind(":url", url).bind(":dir", directory).run();
  }

  Result<std::optional<AcmeCertificateRow>> certificate(const std::string& name) override {
    auto s = db_.prepare(
        "SELECT name, fullchain, private_key, state, stored_ms FROM acme_certificates WHERE name = :name");
    if (!s) return s.error();
    s->bind(":name", name);
    std::optional<AcmeCertificateRow> out;
    const int rc = s->step();
    if (rc == SQLITE_ROW)
      out = AcmeCertificateRow{s->text(0), s->text(1), s->text(2), s->text(3), s->integer(4)};
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(s->error());
    return out;
  }

  Status put_certificate(const AcmeCertificateRow& row) override {
    auto s = db_.prepare(
        "INSERT INTO acme_certificates (name, fullchain, private_key, state, stored_ms) "
        "VALUES (:name, :chain, :key, :state, :ms) ON CONFLICT (name) DO UPDATE SET "
        "fullchain = excluded.fullchain, private_key = excluded.private_key, state = excluded.state, "
        "stored_ms = excluded.stored_ms");
    if (!s) return s.error();
    return s->bind(":name", row.name)
        .bind(":chain", row.fullchain)
        .bind(":key", row.private_key)
        .bind(":state", row.state)
        .bind(":ms", row.stored_ms)
        .run();
  }

  Status put_certificate_state(const std::string& name, const std::string& state) override {
    auto s = db_.prepare(
        "INSERT INTO acme_certificates (name, state) VALUES (:name, :state) "
        "ON CONFLICT (name) DO UPDATE SET state = excluded.state");
    if (!s) return s.error();
    return s->bind(":name", name).bind(":state", state).run();
  }

  Result<AcmeLease> take_lease(const std::string& name, const std::string& holder, std::int64_t now,
                               std::int64_t ttl_ms) override {
    // BEGIN IMMEDIATE: the upsert and the read of its outcome under one write lock.
    if (auto b = db_.exec("BEGIN IMMEDIATE"); !b) return b.error();
    auto lease = take_lease_locked(name, holder, now, ttl_ms);
    if (auto c = db_.exec(lease ? "COMMIT" : "ROLLBACK"); !c && lease) return c.error();
    return lease;
  }

  Result<std::optional<AcmeLease>> lease(const std::string& name) override {
    auto q = db_.prepare("SELECT holder, expires_ms FROM acme_leases WHERE name = :name");
    if (!q) return q.error();
    q->bind(":name", name);
    std::optional<AcmeLease> out;
    const int rc = q->step();
    if (rc == SQLITE_ROW) out = AcmeLease{false, q->text(0), q->integer(1)};
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(q->error());
    return out;
  }

  Status release_lease(const std::string& name, const std::string& holder) override {
    auto s = db_.prepare("DELETE FROM acme_leases WHERE name = :name AND holder = :holder");
    if (!s) return s.error();
    return s->bind(":name", name).bind(":holder", holder).run();
  }

 private:
  Result<AcmeLease> take_lease_locked(const std::string& name, const std::string& holder, std::int64_t now,
                                      std::int64_t ttl_ms) {
    auto s = db_.prepare(
        "INSERT INTO acme_leases (name, holder, expires_ms) VALUES (:name, :holder, :expires) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
        "WHERE acme_leases.holder = excluded.holder OR acme_leases.expires_ms <= :now");
    if (!s) return s.error();
    if (auto r = s->bind(":name", name)
                     .bind(":holder", holder)
                     .bind(":expires", now + ttl_ms)
                     .bind(":now", now)
                     .run();
        !r) {
      return r.error();
    }
    auto q = db_.prepare("SELECT holder, expires_ms FROM acme_leases WHERE name = :name");
    if (!q) return q.error();
    q->bind(":name", name);
    if (q->step() != SQLITE_ROW) return db_error("the lease row is missing after its upsert: " + q->error());
    AcmeLease lease;
    lease.holder = q->text(0);
    lease.expires_ms = q->integer(1);
    lease.held = lease.holder == holder;
    return lease;
  }

  sqlite::Connection& db_;
};

}  // namespace

std::unique_ptr<AcmeStateStore> acme_state(sqlite::Connection& db) {
  return std::make_unique<SqliteAcmeState>(db);
}

}  // namespace acmednsd::store_detail::sqlite_sql
