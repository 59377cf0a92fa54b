// Private to src/store/: the ACME client's tables (migration 5) in each dialect, kept
// apart from sqlite_backend.cpp and pg_backend.cpp, whose Db::acme_state() returns these
// statements over the Db's own connection. Used rarely (an order, a poll every few
// seconds per certificate), so the SQLite side prepares per call.
#pragma once

#include <memory>

#include "store/acme_state_store.hpp"
#include "store/pg_connection.hpp"
#include "store/sqlite_db.hpp"

namespace acmednsd::store_detail {

namespace sqlite_sql {
extern const char* const kAcmeStateTables;  // migration 5
// Valid while `db` lives.
std::unique_ptr<AcmeStateStore> acme_state(sqlite::Connection& db);
}  // namespace sqlite_sql

namespace pg_sql {
extern const char* const kAcmeStateTables;  // migration 5
// Valid while `c` lives.
std::unique_ptr<AcmeStateStore> acme_state(pg::Connection& c);
}  // namespace pg_sql

}  // namespace acmednsd::store_detail
