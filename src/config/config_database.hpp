// [database]: which engine and where. Kept out of config.cpp: the PostgreSQL
// connection string is checked with libpq's own parser, the one that will use it.
#pragma once

#include <string>

namespace acmednsd::config_database {

// Empty when `connection` is a connection string libpq accepts (URL
// "postgres://user:pass@host:port/db?sslmode=..." or "key=value ..."); otherwise why
// not, never quoting the string itself (it may hold a password).
std::string postgres_connection_error(const std::string& connection);

// `connection` for logs and messages: a PostgreSQL password replaced by "***".
std::string redacted(const std::string& engine, const std::string& connection);

}  // namespace acmednsd::config_database
