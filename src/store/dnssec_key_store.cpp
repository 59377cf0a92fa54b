#include "store/dnssec_key_store.hpp"

#include "store/store_backend.hpp"

namespace acmednsd {
namespace {

// A short-lived connection of the configured engine: the key reads and writes are rare
// (start-up, every 60 s, a roll) and happen outside the Store's writer.
Result<std::unique_ptr<store_detail::Db>> connect(const std::string& engine, const std::string& connection) {
  StoreOptions options;
  options.path = connection;
  options.engine = engine;
  auto backend = engine == "postgres" ? store_detail::make_pg_backend(options)
                                      : store_detail::make_sqlite_backend(options);
  return backend->connect();
}

// Runs `body` in one write transaction holding the key lock (see Db::lock_dnssec_keys).
Status in_key_transaction(store_detail::Db& db, const std::function<Status()>& body) {
  if (auto s = db.begin(); !s) return s;
  auto s = db.lock_dnssec_keys();
  if (s) s = body();
  if (s) s = db.commit();
  if (!s) db.rollback();
  return s;
}

}  // namespace

Result<std::vector<DnssecKeyRecord>> load_dnssec_keys(const std::string& engine,
                                                      const std::string& connection,
                                                      const std::string& zone) {
  auto db = connect(engine, connection);
  if (!db) return db.error();
  return (*db)->dnssec_keys(zone);
}

Result<std::vector<DnssecKeyRecord>> ensure_dnssec_key(
    const std::string& engine, const std::string& connection, const std::string& zone,
    const std::function<Result<DnssecKeyRecord>()>& make_key) {
  auto db = connect(engine, connection);
  if (!db) return db.error();
  auto s = in_key_transaction(**db, [&]() -> Status {
    auto keys = (*db)->dnssec_keys(zone);
    if (!keys) return keys.error();
    if (!keys->empty()) return ok_status();
    auto key = make_key();
    if (!key) return key.error();
    return (*db)->insert_dnssec_key(*key);
  });
  if (!s) return s.error();
  return (*db)->dnssec_keys(zone);
}

Status store_dnssec_roll(const std::string& engine, const std::string& connection, const std::string& zone,
                         std::int64_t newest_id, std::int64_t retire, std::int64_t remove,
                         const DnssecKeyRecord& next) {
  auto db = connect(engine, connection);
  if (!db) return db.error();
  return in_key_transaction(**db, [&]() -> Status {
    auto keys = (*db)->dnssec_keys(zone);
    if (!keys) return keys.error();
    if (keys->empty() || keys->back().id != newest_id) {
      return make_error(
          "dnssec_roll_conflict",
          "the keys of " + zone + " changed meanwhile (another instance or the CLI started a roll)");
    }
    if (auto s = (*db)->retire_dnssec_keys(zone, retire, remove); !s) return s;
    return (*db)->insert_dnssec_key(next);
  });
}

}  // namespace acmednsd
