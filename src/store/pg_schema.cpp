// The PostgreSQL schema: the forward-only migrations, and the checks and the takeover
// that run before them (a database of another application is refused; acme-dns's own
// tables are taken over in place). Kept apart from pg_backend.cpp (the statements the
// store runs) because the two change for different reasons.
#include "store/pg_schema.hpp"

#include "common/log.hpp"
#include "store/acme_state_sql.hpp"
#include "store/feature_sql.hpp"

namespace acmednsd::store_detail {
namespace {

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

Status migrate_locked(Db& db, pg::Connection& c, const std::string& conninfo) {
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
                                      " is newer than this acme-dnsd knows (" + std::to_string(list.size()) +
                                      ")");
  }
  for (auto v = v0; v < static_cast<std::int64_t>(list.size()); ++v) {
    if (auto s = c.exec(list[static_cast<std::size_t>(v)]); !s) return s;
    if (auto s = c.exec("UPDATE acmednsd_schema SET version = " + std::to_string(v + 1)); !s) return s;
  }
  if (take_over) {
    auto report = import_into(db, conninfo);
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

}  // namespace

// Under a transaction-scoped advisory lock: instances starting together migrate once,
// the others wait and then find the schema current.
Status pg_migrate(Db& db, pg::Connection& c, const std::string& conninfo) {
  if (auto s = c.exec("BEGIN"); !s) return s;
  auto s = migrate_locked(db, c, conninfo);
  if (s) s = c.exec("COMMIT");
  if (!s) (void)c.exec("ROLLBACK");
  return s;
}

}  // namespace acmednsd::store_detail
