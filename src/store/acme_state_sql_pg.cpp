// The PostgreSQL statements of the ACME client's tables (see acme_state_sql.hpp). The
// lease is a row, not pg_try_advisory_lock: a session lock lives as long as its TCP
// connection, which a half-open connection (a partitioned or frozen holder) can keep
// for the kernel's keepalive time; a row with an expiry is given up after a bounded
// time whatever happened to its holder, is visible (who holds it, until when) and
// behaves the same on SQLite.
#include "store/acme_state_sql.hpp"

#include <chrono>

namespace acmednsd::store_detail::pg_sql {

const char* const kAcmeStateTables =
    "CREATE TABLE IF NOT EXISTS acme_accounts ("
    "  directory  text PRIMARY KEY,"
    "  key_pem    text NOT NULL,"
    "  url        text NOT NULL DEFAULT '',"
    "  created_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS acme_certificates ("
    "  name        text PRIMARY KEY,"
    "  fullchain   text NOT NULL DEFAULT '',"
    "  private_key text NOT NULL DEFAULT '',"
    "  state       text NOT NULL DEFAULT '',"
    "  stored_ms   bigint NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS acme_leases ("
    "  name       text PRIMARY KEY,"
    "  holder     text NOT NULL,"
    "  expires_ms bigint NOT NULL);";

namespace {

std::string num(std::int64_t v) {
  return std::to_string(v);
}

Status done(const Result<pg::PgResult>& r) {
  if (!r) return r.error();
  return ok_status();
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PgAcmeState final : public AcmeStateStore {
 public:
  explicit PgAcmeState(pg::Connection& c) : c_(c) {}

  Result<std::optional<AcmeAccountRow>> account(const std::string& directory) override {
    auto r = c_.query("SELECT directory, key_pem, url FROM acme_accounts WHERE directory = $1", {directory});
    if (!r) return r.error();
    std::optional<AcmeAccountRow> out;
    if (r->rows() > 0) out = AcmeAccountRow{r->text(0, 0), r->text(0, 1), r->text(0, 2)};
    return out;
  }

  Result<AcmeAccountRow> add_account(const AcmeAccountRow& row) override {
    // Two instances inserting together: the second waits on the first's key and then
    // does nothing; both read the first one's row.
    auto r = c_.query(
        "INSERT INTO acme_accounts (directory, key_pem, url, created_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (directory) DO NOTHING",
        {row.directory, row.key_pem, row.url, num(now_ms())});
    if (!r) return r.error();
    auto stored = account(row.directory);
    if (!stored) return stored.error();
    if (!*stored) return make_error("db_error", "the ACME account row vanished after its insert");
    return std::move(**stored);
  }

  Status set_account_url(const std::string& directory, const std::string& url) override {
    return done(c_.query("UPDATE acme_accounts SET url = $2 WHERE directory = $1", {directory, url}));
  }

  Result<std::optional<AcmeCertificateRow>> certificate(const std::string& name) override {
    auto r = c_.query(
        "SELECT name, fullchain, private_key, state, stored_ms FROM acme_certificates WHERE name = $1",
        {name});
    if (!r) return r.error();
    std::optional<AcmeCertificateRow> out;
    if (r->rows() > 0) {
      out = AcmeCertificateRow{r->text(0, 0), r->text(0, 1), r->text(0, 2), r->text(0, 3), r->integer(0, 4)};
    }
    return out;
  }

  Status put_certificate(const AcmeCertificateRow& row) override {
    return done(c_.query(
        "INSERT INTO acme_certificates (name, fullchain, private_key, state, stored_ms) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET fullchain = excluded.fullchain, "
        "private_key = excluded.private_key, state = excluded.state, stored_ms = excluded.stored_ms",
        {row.name, row.fullchain, row.private_key, row.state, num(row.stored_ms)}));
  }

  Status put_certificate_state(const std::string& name, const std::string& state) override {
    return done(
        c_.query("INSERT INTO acme_certificates (name, state) VALUES ($1, $2) "
                 "ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                 {name, state}));
  }

  Result<AcmeLease> take_lease(const std::string& name, const std::string& holder, std::int64_t now,
                               std::int64_t ttl_ms) override {
    // One statement: two instances asking together for a free name serialize on its
    // key, and the second one's WHERE sees the first one's lease.
    auto taken = c_.query(
        "INSERT INTO acme_leases (name, holder, expires_ms) VALUES ($1, $2, $3) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms "
        "WHERE acme_leases.holder = excluded.holder OR acme_leases.expires_ms <= $4",
        {name, holder, num(now + ttl_ms), num(now)});
    if (!taken) return taken.error();
    auto r = c_.query("SELECT holder, expires_ms FROM acme_leases WHERE name = $1", {name});
    if (!r) return r.error();
    AcmeLease lease;
    if (r->rows() > 0) {  // none: released by its holder meanwhile; the caller asks again later
      lease.holder = r->text(0, 0);
      lease.expires_ms = r->integer(0, 1);
      lease.held = lease.holder == holder;
    }
    return lease;
  }

  Result<std::optional<AcmeLease>> lease(const std::string& name) override {
    auto r = c_.query("SELECT holder, expires_ms FROM acme_leases WHERE name = $1", {name});
    if (!r) return r.error();
    std::optional<AcmeLease> out;
    if (r->rows() > 0) out = AcmeLease{false, r->text(0, 0), r->integer(0, 1)};
    return out;
  }

  Status release_lease(const std::string& name, const std::string& holder) override {
    return done(c_.query("DELETE FROM acme_leases WHERE name = $1 AND holder = $2", {name, holder}));
  }

 private:
  pg::Connection& c_;
};

}  // namespace

std::unique_ptr<AcmeStateStore> acme_state(pg::Connection& c) {
  return std::make_unique<PgAcmeState>(c);
}

}  // namespace acmednsd::store_detail::pg_sql
