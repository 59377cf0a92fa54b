// Reading an acme-dns database that lives in PostgreSQL (its tables records, txt,
// acmedns), for the import. Private to src/store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace acmednsd::store_detail {

// The rows as acme-dns wrote them, before any check (from SQLite or PostgreSQL).
struct RawRecord {
  std::string username, password, subdomain;
  std::optional<std::string> allowfrom;
  std::optional<std::string> value;  // files before acme-dns db_version 1
  std::int64_t last_active = 0;
};
struct RawTxt {
  std::string subdomain, value;
  std::int64_t last_update = 0;
};

// A libpq connection string (URL or key=value) rather than a file name.
bool is_postgres_source(const std::string& source);
Status fetch_acme_dns_postgres(const std::string& conninfo, std::vector<RawRecord>& records,
                               std::vector<RawTxt>& txts);
// The bcrypt hash as text: acme-dns hands Go []byte to the driver, which may have
// stored it as a bytea literal ("\x2432...") in a text column.
std::string bcrypt_text(const std::string& stored);

}  // namespace acmednsd::store_detail
