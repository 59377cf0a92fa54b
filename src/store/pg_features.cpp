// The PostgreSQL statements of the dns-persist-01 records and the DNSSEC keys (see
// feature_sql.hpp). Same tables as SQLite's; compared text is COLLATE "C".
#include "store/feature_sql.hpp"

namespace acmednsd::store_detail::pg_sql {

const char* const kPersistTable =
    "CREATE TABLE persist_values ("
    "  name        text COLLATE \"C\" NOT NULL,"
    "  issuer      text COLLATE \"C\" NOT NULL,"
    "  account_uri text COLLATE \"C\" NOT NULL,"
    "  value       text NOT NULL,"
    "  updated_ms  bigint NOT NULL,"
    "  PRIMARY KEY (name, issuer, account_uri));";

// Every instance on the database signs with these keys.
const char* const kDnssecTable =
    "CREATE TABLE dnssec_keys ("
    "  id          bigserial PRIMARY KEY,"
    "  zone        text NOT NULL,"
    "  algorithm   integer NOT NULL,"
    "  flags       integer NOT NULL,"
    "  private_key text NOT NULL,"
    "  created     bigint NOT NULL,"
    "  publish     bigint NOT NULL,"
    "  activate    bigint NOT NULL,"
    "  retire      bigint,"
    "  remove      bigint);";

namespace {

// pg_advisory_xact_lock key for creating or rolling DNSSEC keys: the migration lock's
// key ("acmednsd" in ASCII) + 1. Two instances starting together on an empty table
// would otherwise each insert a first key.
constexpr const char* kDnssecKeyLock = "SELECT pg_advisory_xact_lock(7017859889624740965)";

std::string num(std::int64_t v) {
  return std::to_string(v);
}

Status done(const Result<pg::PgResult>& r) {
  if (!r) return r.error();
  return ok_status();
}

Result<std::optional<std::string>> first_text(const Result<pg::PgResult>& r) {
  if (!r) return r.error();
  std::optional<std::string> out;
  if (r->rows() > 0) out = r->text(0, 0);
  return out;
}

}  // namespace

Result<std::vector<PersistRecord>> list_persist(pg::Connection& c, std::string_view name) {
  auto r = c.query(
      "SELECT name, issuer, account_uri, value, updated_ms FROM persist_values WHERE name = $1 "
      "ORDER BY updated_ms, issuer, account_uri",
      {std::string(name)});
  if (!r) return r.error();
  std::vector<PersistRecord> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back({r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->integer(i, 4) / 1000});
  }
  return out;
}

Result<std::optional<std::string>> persist_value(pg::Connection& c, const std::string& name,
                                                 const std::string& issuer, const std::string& account_uri) {
  return first_text(
      c.query("SELECT value FROM persist_values WHERE name = $1 AND issuer = $2 AND account_uri = $3",
              {name, issuer, account_uri}));
}

Result<std::int64_t> count_persist(pg::Connection& c, const std::string& name) {
  // The count decides whether one more record fits (the cap). Two instances adding to
  // one name would each count the other's uncommitted row out and both insert, so the
  // name is locked until the transaction ends; the count is a second statement, whose
  // snapshot (READ COMMITTED) is taken after the lock and sees the other's commit.
  // The two-key form (classid "pers" in ASCII, a hash of the name) cannot meet the
  // one-key locks of migrations and DNSSEC keys.
  if (auto locked = c.query("SELECT pg_advisory_xact_lock(1885696627, hashtext($1))", {name}); !locked) {
    return locked.error();
  }
  auto r = c.query("SELECT count(*) FROM persist_values WHERE name = $1", {name});
  if (!r) return r.error();
  return r->integer(0, 0);
}

Status upsert_persist(pg::Connection& c, const std::string& name, const std::string& issuer,
                      const std::string& account_uri, const std::string& value, std::int64_t ms) {
  return done(
      c.query("INSERT INTO persist_values (name, issuer, account_uri, value, updated_ms) "
              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name, issuer, account_uri) "
              "DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
              {name, issuer, account_uri, value, num(ms)}));
}

Result<std::optional<std::string>> delete_persist(pg::Connection& c, const std::string& name,
                                                  const std::string& issuer, const std::string& account_uri) {
  return first_text(c.query(
      "DELETE FROM persist_values WHERE name = $1 AND issuer = $2 AND account_uri = $3 RETURNING value",
      {name, issuer, account_uri}));
}

Result<std::vector<std::string>> delete_persist_of_name(pg::Connection& c, const std::string& name) {
  auto r = c.query("DELETE FROM persist_values WHERE name = $1 RETURNING value", {name});
  if (!r) return r.error();
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->text(i, 0));
  return out;
}

Status lock_dnssec_keys(pg::Connection& c) {
  return c.exec(kDnssecKeyLock);
}

Result<std::vector<DnssecKeyRecord>> dnssec_keys(pg::Connection& c, const std::string& zone) {
  auto r = c.query(
      "SELECT id, zone, algorithm, flags, private_key, created, publish, activate, retire, remove "
      "FROM dnssec_keys WHERE zone = $1 ORDER BY id",
      {zone});
  if (!r) return r.error();
  std::vector<DnssecKeyRecord> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    DnssecKeyRecord k;
    k.id = r->integer(i, 0);
    k.zone = r->text(i, 1);
    k.algorithm = static_cast<std::uint8_t>(r->integer(i, 2));
    k.flags = static_cast<std::uint16_t>(r->integer(i, 3));
    k.private_key_pem = r->text(i, 4);
    k.created = r->integer(i, 5);
    k.publish = r->integer(i, 6);
    k.activate = r->integer(i, 7);
    if (!r->is_null(i, 8)) k.retire = r->integer(i, 8);
    if (!r->is_null(i, 9)) k.remove = r->integer(i, 9);
    out.push_back(std::move(k));
  }
  return out;
}

Status insert_dnssec_key(pg::Connection& c, const DnssecKeyRecord& k) {
  return done(
      c.query("INSERT INTO dnssec_keys (zone, algorithm, flags, private_key, created, publish, activate) "
              "VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {k.zone, num(k.algorithm), num(k.flags), k.private_key_pem, num(k.created), num(k.publish),
               num(k.activate)}));
}

Status retire_dnssec_keys(pg::Connection& c, const std::string& zone, std::int64_t retire,
                          std::int64_t remove) {
  return done(c.query("UPDATE dnssec_keys SET retire = $1, remove = $2 WHERE zone = $3 AND retire IS NULL",
                      {num(retire), num(remove), zone}));
}

}  // namespace acmednsd::store_detail::pg_sql
