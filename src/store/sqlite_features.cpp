// The SQLite statements of the dns-persist-01 records and the DNSSEC keys (see
// feature_sql.hpp).
#include "store/feature_sql.hpp"

namespace acmednsd::store_detail::sqlite_sql {

// One row per (name, issuer, accounturi), what a CA matches on; `value` is the canonical
// TXT text served at `name` (a relative owner, _validation-persist.<...>). No retention
// and no limit rule: the records stay until their owner removes them.
const char* const kPersistTable =
    "CREATE TABLE persist_values ("
    "  name        TEXT NOT NULL,"
    "  issuer      TEXT NOT NULL,"
    "  account_uri TEXT NOT NULL,"
    "  value       TEXT NOT NULL,"
    "  updated_ms  INTEGER NOT NULL,"
    "  PRIMARY KEY (name, issuer, account_uri)"
    ") WITHOUT ROWID;";

// One row per key, times in unix seconds (RFC 7583 publish/activate/retire/remove). The
// private key is PKCS#8 PEM.
const char* const kDnssecTable =
    "CREATE TABLE IF NOT EXISTS dnssec_keys ("
    "  id          INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  zone        TEXT NOT NULL,"
    "  algorithm   INTEGER NOT NULL,"
    "  flags       INTEGER NOT NULL,"
    "  private_key TEXT NOT NULL,"
    "  created     INTEGER NOT NULL,"
    "  publish     INTEGER NOT NULL,"
    "  activate    INTEGER NOT NULL,"
    "  retire      INTEGER,"
    "  remove      INTEGER"
    ");";

namespace {

using sqlite::db_error;

Result<std::optional<std::string>> optional_text(sqlite::Statement& s) {
  const int rc = s.step();
  std::optional<std::string> out;
  if (rc == SQLITE_ROW) out = s.text(0);
  const std::string err = s.error();
  s.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(err);
  return out;
}

}  // namespace

Status load_persist(sqlite::Connection& db, AnswerIndex& index) {
  auto rows = db.prepare("SELECT name, value FROM persist_values ORDER BY name, updated_ms, value");
  if (!rows) return rows.error();
  int rc = 0;
  while ((rc = rows->step()) == SQLITE_ROW) index.put_persistent(rows->text(0), rows->text(1));
  if (rc != SQLITE_DONE) return db_error(rows->error());
  return ok_status();
}

Result<std::vector<PersistRecord>> list_persist(sqlite::Connection& db, std::string_view name) {
  auto s = db.prepare(
      "SELECT name, issuer, account_uri, value, updated_ms FROM persist_values WHERE name = :name "
      "ORDER BY updated_ms, issuer, account_uri");
  if (!s) return s.error();
  s->bind(":name", name);
  std::vector<PersistRecord> out;
  int rc = 0;
  while ((rc = s->step()) == SQLITE_ROW) {
    out.push_back({s->text(0), s->text(1), s->text(2), s->text(3), s->integer(4) / 1000});
  }
  if (rc != SQLITE_DONE) return db_error(s->error());
  return out;
}

Result<std::optional<std::string>> persist_value(sqlite::Connection& db, const std::string& name,
                                                 const std::string& issuer, const std::string& account_uri) {
  auto s = db.prepare(
      "SELECT value FROM persist_values WHERE name = :name AND issuer = :issuer AND account_uri = :account");
  if (!s) return s.error();
  s->bind(":name", name).bind(":issuer", issuer).bind(":account", account_uri);
  return optional_text(*s);
}

Result<std::int64_t> count_persist(sqlite::Connection& db, const std::string& name) {
  auto s = db.prepare("SELECT count(*) FROM persist_values WHERE name = :name");
  if (!s) return s.error();
  s->bind(":name", name);
  if (s->step() != SQLITE_ROW) return db_error(s->error());
  return s->integer(0);
}

Status upsert_persist(sqlite::Connection& db, const std::string& name, const std::string& issuer,
                      const std::string& account_uri, const std::string& value, std::int64_t ms) {
  auto s = db.prepare(
      "INSERT INTO persist_values (name, issuer, account_uri, value, updated_ms) "
      "VALUES (:name, :issuer, :account, :value, :ms) ON CONFLICT (name, issuer, account_uri) "
      "DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms");
  if (!s) return s.error();
  return s->bind(":name", name)
      .bind(":issuer", issuer)
      .bind(":account", account_uri)
      .bind(":value", value)
      .bind(":ms", ms)
      .run();
}

Result<std::optional<std::string>> delete_persist(sqlite::Connection& db, const std::string& name,
                                                  const std::string& issuer, const std::string& account_uri) {
  // RETURNING: the whole DELETE happens at the first step.
  auto s = db.prepare(
      "DELETE FROM persist_values WHERE name = :name AND issuer = :issuer AND account_uri = :account "
      "RETURNING value");
  if (!s) return s.error();
  s->bind(":name", name).bind(":issuer", issuer).bind(":account", account_uri);
  return optional_text(*s);
}

Result<std::vector<std::string>> delete_persist_of_name(sqlite::Connection& db, const std::string& name) {
  auto s = db.prepare("DELETE FROM persist_values WHERE name = :name RETURNING value");
  if (!s) return s.error();
  s->bind(":name", name);
  std::vector<std::string> out;
  int rc = 0;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back(s->text(0));
  if (rc != SQLITE_DONE) return db_error(s->error());
  return out;
}

Result<std::vector<DnssecKeyRecord>> dnssec_keys(sqlite::Connection& db, const std::string& zone) {
  auto s = db.prepare(
      "SELECT id, zone, algorithm, flags, private_key, created, publish, activate, retire, remove "
      "FROM dnssec_keys WHERE zone = :zone ORDER BY id");
  if (!s) return s.error();
  s->bind(":zone", zone);
  std::vector<DnssecKeyRecord> out;
  int rc = 0;
  while ((rc = s->step()) == SQLITE_ROW) {
    DnssecKeyRecord k;
    k.id = s->integer(0);
    k.zone = s->text(1);
    k.algorithm = static_cast<std::uint8_t>(s->integer(2));
    k.flags = static_cast<std::uint16_t>(s->integer(3));
    k.private_key_pem = s->text(4);
    k.created = s->integer(5);
    k.publish = s->integer(6);
    k.activate = s->integer(7);
    if (!s->is_null(8)) k.retire = s->integer(8);
    if (!s->is_null(9)) k.remove = s->integer(9);
    out.push_back(std::move(k));
  }
  if (rc != SQLITE_DONE) return db_error(s->error());
  return out;
}

Status insert_dnssec_key(sqlite::Connection& db, const DnssecKeyRecord& k) {
  auto s = db.prepare(
      "INSERT INTO dnssec_keys (zone, algorithm, flags, private_key, created, publish, activate) "
      "VALUES (:zone, :algorithm, :flags, :key, :created, :publish, :activate)");
  if (!s) return s.error();
  return s->bind(":zone", k.zone)
      .bind(":algorithm", std::int64_t{k.algorithm})
      .bind(":flags", std::int64_t{k.flags})
      .bind(":key", k.private_key_pem)
      .bind(":created", k.created)
      .bind(":publish", k.publish)
      .bind(":activate", k.activate)
      .run();
}

Status retire_dnssec_keys(sqlite::Connection& db, const std::string& zone, std::int64_t retire,
                          std::int64_t remove) {
  auto s = db.prepare(
      "UPDATE dnssec_keys SET retire = :retire, remove = :remove WHERE zone = :zone AND retire IS NULL");
  if (!s) return s.error();
  return s->bind(":retire", retire).bind(":remove", remove).bind(":zone", zone).run();
}

}  // namespace acmednsd::store_detail::sqlite_sql
