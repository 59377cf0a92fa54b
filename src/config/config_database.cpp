#include "config/config_database.hpp"

#include <libpq-fe.h>

#include <regex>

namespace acmednsd::config_database {

std::string postgres_connection_error(const std::string& connection) {
  if (connection.empty()) return "is empty: give a PostgreSQL connection string";
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(connection.c_str(), &err);
  std::string out;
  if (options == nullptr) {
    out = err != nullptr ? err : "cannot be parsed";
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    out = "is not a PostgreSQL connection string (" + out + ")";
  }
  PQfreemem(err);
  PQconninfoFree(options);
  return out;
}

std::string redacted(const std::string& engine, const std::string& connection) {
  if (engine != "postgres") return connection;
  // URL form: scheme://user:password@host...
  static const std::regex url(R"(^(postgres(?:ql)?://[^:/@]*:)[^@]*@)");
  std::string out = std::regex_replace(connection, url, "$1***@");
  // key=value form (and URL query parameters): password=...
  static const std::regex kv(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]*))");
  return std::regex_replace(out, kv, "$1***");
}

}  // namespace acmednsd::config_database
