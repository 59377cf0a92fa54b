// Private to src/store/: creating and migrating the PostgreSQL schema (pg_schema.cpp).
#pragma once

#include <string>

#include "common/result.hpp"
#include "store/pg_connection.hpp"
#include "store/store_backend.hpp"

namespace acmednsd::store_detail {

// Creates or migrates the schema in one transaction under an advisory lock (instances
// starting together migrate once; the others wait, then find it current), taking over
// acme-dns's tables when the database holds them. `c` is `db`'s connection; `conninfo`
// is where the takeover reads acme-dns's rows from.
Status pg_migrate(Db& db, pg::Connection& c, const std::string& conninfo);

}  // namespace acmednsd::store_detail
