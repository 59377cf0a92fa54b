#include <set>

#include "store/acme_dns_source.hpp"
#include "store/pg_connection.hpp"

namespace acmednsd::store_detail {

bool is_postgres_source(const std::string& source) {
  if (source.rfind("postgres://", 0) == 0 || source.rfind("postgresql://", 0) == 0) return true;
  // key=value: "host=... dbname=..."; a file name has no '=' before its first '/'.
  const auto eq = source.find('=');
  return eq != std::string::npos && source.find('/') > eq && pg::conninfo_error(source).empty();
}

std::string bcrypt_text(const std::string& stored) {
  if (stored.size() < 4 || stored.rfind("\\x", 0) != 0 || stored.size() % 2 != 0) return stored;
  std::string out;
  for (std::size_t i = 2; i + 1 < stored.size(); i += 2) {
    const auto hex = stored.substr(i, 2);
    if (hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return stored;
    out.push_back(static_cast<char>(std::stoi(hex, nullptr, 16)));
  }
  return out;
}

Status fetch_acme_dns_postgres(const std::string& conninfo, std::vector<RawRecord>& records,
                               std::vector<RawTxt>& txts) {
  pg::Connection c(conninfo);
  if (auto s = c.connect(); !s) return s;
  // Read-only, one snapshot: the source is never changed.
  if (auto s = c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s) return s;
  auto cols = c.query(
      "SELECT lower(column_name) FROM information_schema.columns WHERE table_schema = current_schema() AND "
      "lower(table_name) = 'records'");
  if (!cols) return cols.error();
  std::set<std::string> have;
  for (int i = 0; i < cols->rows(); ++i) have.insert(cols->text(i, 0));
  if (have.empty())
    return make_error("import_error", "the PostgreSQL database has no `records` table: not acme-dns's");
  for (const char* need : {"username", "password", "subdomain"}) {
    if (!have.contains(need))
      return make_error("import_error", std::string("table records has no column ") + need);
  }
  // acme-dns created its tables unquoted: the names are lowercase in PostgreSQL.
  auto rows =
      c.query(have.contains("allowfrom") ? "SELECT username, password, subdomain, allowfrom FROM records"
                                         : "SELECT username, password, subdomain, NULL FROM records");
  if (!rows) return rows.error();
  for (int i = 0; i < rows->rows(); ++i) {
    RawRecord r{rows->text(i, 0), rows->text(i, 1), rows->text(i, 2), std::nullopt, std::nullopt, 0};
    if (!rows->is_null(i, 3)) r.allowfrom = rows->text(i, 3);
    records.push_back(std::move(r));
  }
  auto has_txt = c.query("SELECT to_regclass('txt') IS NOT NULL");
  if (!has_txt) return has_txt.error();
  if (has_txt->text(0, 0) == "t") {
    auto tv = c.query("SELECT subdomain, value, coalesce(lastupdate, 0) FROM txt");
    if (!tv) return tv.error();
    for (int i = 0; i < tv->rows(); ++i) txts.push_back({tv->text(i, 0), tv->text(i, 1), tv->integer(i, 2)});
  }
  (void)c.exec("ROLLBACK");
  return ok_status();
}

}  // namespace acmednsd::store_detail
