#include "store/dnssec_key_store.hpp"

#include "store/sqlite_db.hpp"

namespace acmednsd {
namespace {

constexpr const char* kSelect =
    "SELECT id, zone, algorithm, flags, private_key, created, publish, activate, retire, remove "
    "FROM dnssec_keys WHERE zone = :zone ORDER BY id";

Result<std::vector<DnssecKeyRecord>> select_keys(sqlite::Connection& db, const std::string& zone) {
  auto st = db.prepare(kSelect);
  if (!st) return st.error();
  st->bind(":zone", zone);
  std::vector<DnssecKeyRecord> out;
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) {
    DnssecKeyRecord k;
    k.id = st->integer(0);
    k.zone = st->text(1);
    k.algorithm = static_cast<std::uint8_t>(st->integer(2));
    k.flags = static_cast<std::uint16_t>(st->integer(3));
    k.private_key_pem = st->text(4);
    k.created = st->integer(5);
    k.publish = st->integer(6);
    k.activate = st->integer(7);
    if (!st->is_null(8)) k.retire = st->integer(8);
    if (!st->is_null(9)) k.remove = st->integer(9);
    out.push_back(std::move(k));
  }
  if (rc != SQLITE_DONE) return make_error("db_error", st->error());
  return out;
}

Status insert_key(sqlite::Connection& db, const DnssecKeyRecord& k) {
  auto st = db.prepare(
      "INSERT INTO dnssec_keys (zone, algorithm, flags, private_key, created, publish, activate) "
      "VALUES (:zone, :algorithm, :flags, :key, :created, :publish, :activate)");
  if (!st) return st.error();
  st->bind(":zone", k.zone)
      .bind(":algorithm", std::int64_t{k.algorithm})
      .bind(":flags", std::int64_t{k.flags})
      .bind(":key", k.private_key_pem)
      .bind(":created", k.created)
      .bind(":publish", k.publish)
      .bind(":activate", k.activate);
  return st->run();
}

}  // namespace

Result<std::vector<DnssecKeyRecord>> load_dnssec_keys(const std::string& db_path, const std::string& zone) {
  auto db = sqlite::Connection::open(db_path, true);
  if (!db) return db.error();
  return select_keys(*db, zone);
}

Result<std::vector<DnssecKeyRecord>> ensure_dnssec_key(
    const std::string& db_path, const std::string& zone,
    const std::function<Result<DnssecKeyRecord>()>& make_key) {
  auto db = sqlite::Connection::open(db_path, false);
  if (!db) return db.error();
  if (auto s = db->exec("PRAGMA busy_timeout = 5000"); !s) return s.error();
  sqlite::Transaction txn(*db);
  if (auto s = txn.begin(); !s) return s.error();
  auto keys = select_keys(*db, zone);
  if (!keys) return keys.error();
  if (!keys->empty()) return keys;
  auto key = make_key();
  if (!key) return key.error();
  if (auto s = insert_key(*db, *key); !s) return s.error();
  if (auto s = txn.commit(); !s) return s.error();
  return select_keys(*db, zone);
}

Status store_dnssec_roll(const std::string& db_path, const std::string& zone, std::int64_t retire,
                         std::int64_t remove, const DnssecKeyRecord& next) {
  auto db = sqlite::Connection::open(db_path, false);
  if (!db) return db.error();
  if (auto s = db->exec("PRAGMA busy_timeout = 5000"); !s) return s;
  sqlite::Transaction txn(*db);
  if (auto s = txn.begin(); !s) return s;
  auto st = db->prepare(
      "UPDATE dnssec_keys SET retire = :retire, remove = :remove WHERE zone = :zone AND retire IS NULL");
  if (!st) return st.error();
  st->bind(":retire", retire).bind(":remove", remove).bind(":zone", zone);
  if (auto s = st->run(); !s) return s;
  if (auto s = insert_key(*db, next); !s) return s;
  return txn.commit();
}

}  // namespace acmednsd
