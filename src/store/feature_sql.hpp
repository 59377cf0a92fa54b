// Private to src/store/: the statements of the dns-persist-01 records (migration 3) and
// the DNSSEC keys (migration 4) in each dialect, kept apart from sqlite_backend.cpp and
// pg_backend.cpp (whose Db overrides call these) so each file stays readable. These
// tables are read and written rarely (a /persist call, a key load), so the SQLite side
// prepares per call instead of caching statements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/answer_index.hpp"
#include "store/dnssec_key_store.hpp"
#include "store/pg_connection.hpp"
#include "store/sqlite_db.hpp"
#include "store/store.hpp"

namespace acmednsd::store_detail {

namespace sqlite_sql {
extern const char* const kPersistTable;  // migration 3
extern const char* const kDnssecTable;   // migration 4
Status load_persist(sqlite::Connection& db, AnswerIndex& index);
Result<std::vector<PersistRecord>> list_persist(sqlite::Connection& db, std::string_view name);
Result<std::optional<std::string>> persist_value(sqlite::Connection& db, const std::string& name,
                                                 const std::string& issuer, const std::string& account_uri);
Result<std::int64_t> count_persist(sqlite::Connection& db, const std::string& name);
Status upsert_persist(sqlite::Connection& db, const std::string& name, const std::string& issuer,
                      const std::string& account_uri, const std::string& value, std::int64_t ms);
Result<std::optional<std::string>> delete_persist(sqlite::Connection& db, const std::string& name,
                                                  const std::string& issuer, const std::string& account_uri);
Result<std::vector<std::string>> delete_persist_of_name(sqlite::Connection& db, const std::string& name);
Result<std::vector<DnssecKeyRecord>> dnssec_keys(sqlite::Connection& db, const std::string& zone);
Status insert_dnssec_key(sqlite::Connection& db, const DnssecKeyRecord& k);
Status retire_dnssec_keys(sqlite::Connection& db, const std::string& zone, std::int64_t retire,
                          std::int64_t remove);
}  // namespace sqlite_sql

namespace pg_sql {
extern const char* const kPersistTable;  // migration 3
extern const char* const kDnssecTable;   // migration 4
Result<std::vector<PersistRecord>> list_persist(pg::Connection& c, std::string_view name);
Result<std::optional<std::string>> persist_value(pg::Connection& c, const std::string& name,
                                                 const std::string& issuer, const std::string& account_uri);
Result<std::int64_t> count_persist(pg::Connection& c, const std::string& name);
Status upsert_persist(pg::Connection& c, const std::string& name, const std::string& issuer,
                      const std::string& account_uri, const std::string& value, std::int64_t ms);
Result<std::optional<std::string>> delete_persist(pg::Connection& c, const std::string& name,
                                                  const std::string& issuer, const std::string& account_uri);
Result<std::vector<std::string>> delete_persist_of_name(pg::Connection& c, const std::string& name);
// Inside the caller's transaction: until it ends, no other instance creates or rolls keys.
Status lock_dnssec_keys(pg::Connection& c);
Result<std::vector<DnssecKeyRecord>> dnssec_keys(pg::Connection& c, const std::string& zone);
Status insert_dnssec_key(pg::Connection& c, const DnssecKeyRecord& k);
Status retire_dnssec_keys(pg::Connection& c, const std::string& zone, std::int64_t retire,
                          std::int64_t remove);
}  // namespace pg_sql

}  // namespace acmednsd::store_detail
