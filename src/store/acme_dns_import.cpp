// Takes over an acme-dns SQLite database (opened read-only, never changed).
//
// Real acme-dns files hold: bcrypt hashes stored as BLOB (Go writes []byte), two TXT
// rows per account created empty at registration, and, in files from before its
// db_version 1, `Value`/`LastActive` columns on `records` instead of a `txt` table.
// An unreadable AllowFrom keeps the account but flags it: it is never read as "allow
// from anywhere".
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/cidr.hpp"
#include "store/acme_dns_source.hpp"
#include "store/sqlite_db.hpp"
#include "store/store_internal.hpp"

namespace acmednsd::store_detail {
namespace {

struct SourceAccount {
  std::string username;
  std::string key_hash;
  std::string subdomain;
  std::string allowfrom_json = "[]";
  bool allowfrom_invalid = false;
};

struct SourceValue {
  std::string subdomain;
  std::string value;
  std::int64_t updated_ms = 0;
};

Result<bool> has_table(sqlite::Connection& db, const char* table) {
  auto st = db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :name");
  if (!st) return st.error();
  st->bind(":name", table);
  if (st->step() != SQLITE_ROW) return make_error("db_error", st->error());
  return st->integer(0) > 0;
}

Result<std::set<std::string>> columns_of(sqlite::Connection& db, const char* table) {
  auto st = db.prepare(std::string("PRAGMA table_info(") + table + ")");
  if (!st) return st.error();
  std::set<std::string> out;
  while (st->step() == SQLITE_ROW) {
    std::string name = st->text(1);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.insert(name);
  }
  return out;
}

void read_allowfrom(const std::string& raw, SourceAccount& a, ImportReport& report) {
  if (raw.empty()) return;  // acme-dns stores "[]" or NULL for "anywhere"
  try {
    const auto j = nlohmann::json::parse(raw);
    if (j.is_null()) return;
    if (!j.is_array()) throw std::runtime_error("not an array");
    std::vector<std::string> list;
    for (const auto& e : j) {
      if (!e.is_string() || !Cidr::parse(e.get<std::string>())) throw std::runtime_error("bad entry");
      list.push_back(e.get<std::string>());
    }
    a.allowfrom_json = nlohmann::json(list).dump();
  } catch (const std::exception&) {
    a.allowfrom_invalid = true;
    report.flagged.push_back(a.username + ": allowfrom " + raw +
                             " is not a list of CIDRs; the account is kept but denied until "
                             "PATCH /account sets a valid allowfrom");
  }
}

Status fetch_sqlite(const std::string& path, std::vector<RawRecord>& records, std::vector<RawTxt>& txts) {
  auto db = sqlite::Connection::open(path, true);
  if (!db) return db.error();
  auto has_records = has_table(*db, "records");
  if (!has_records) return has_records.error();
  if (!*has_records)
    return make_error("import_error", path + " has no `records` table: not an acme-dns database");
  auto cols = columns_of(*db, "records");
  if (!cols) return cols.error();
  for (const char* need : {"username", "password", "subdomain"}) {
    if (!cols->contains(need)) {
      return make_error("import_error", path + ": table records has no column " + std::string(need));
    }
  }
  const bool has_allowfrom = cols->contains("allowfrom");
  const bool legacy_values = cols->contains("value") && cols->contains("lastactive");
  std::string sql = "SELECT Username, Password, Subdomain, ";
  sql += has_allowfrom ? "AllowFrom" : "NULL";
  sql += legacy_values ? ", Value, LastActive FROM records" : ", NULL, NULL FROM records";
  auto st = db->prepare(sql);
  if (!st) return st.error();
  int rc = 0;
  while ((rc = st->step()) == SQLITE_ROW) {
    RawRecord r{st->text(0), st->text(1), st->text(2), std::nullopt, std::nullopt, st->integer(5)};
    if (!st->is_null(3)) r.allowfrom = st->text(3);
    if (legacy_values && !st->is_null(4)) r.value = st->text(4);
    records.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return make_error("db_error", st->error());
  auto has_txt = has_table(*db, "txt");
  if (!has_txt) return has_txt.error();
  if (!*has_txt) return ok_status();
  auto tv = db->prepare("SELECT Subdomain, Value, LastUpdate FROM txt");
  if (!tv) return tv.error();
  while ((rc = tv->step()) == SQLITE_ROW) txts.push_back({tv->text(0), tv->text(1), tv->integer(2)});
  if (rc != SQLITE_DONE) return make_error("db_error", tv->error());
  return ok_status();
}

Status read_source(const std::string& source, std::vector<SourceAccount>& accounts,
                   std::vector<SourceValue>& values, ImportReport& report) {
  std::vector<RawRecord> records;
  std::vector<RawTxt> txts;
  const bool pg = is_postgres_source(source);
  if (auto s = pg ? fetch_acme_dns_postgres(source, records, txts) : fetch_sqlite(source, records, txts);
      !s) {
    return s;
  }
  std::set<std::string> seen_subdomains;
  for (auto& raw : records) {
    SourceAccount a;
    const auto user = canonical_uuid(raw.username);
    if (!user) {
      report.problems.push_back("record with username \"" + raw.username + "\": not a UUID, skipped");
      continue;
    }
    a.username = *user;
    a.key_hash = bcrypt_text(raw.password);  // TEXT or BLOB: the bytes are the bcrypt string
    a.subdomain = raw.subdomain;
    for (auto& c : a.subdomain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!is_valid_owner_name(a.subdomain) || a.subdomain.find('.') != std::string::npos) {
      report.problems.push_back(a.username + ": subdomain \"" + a.subdomain +
                                "\" is not a DNS label, skipped");
      continue;
    }
    if (a.key_hash.size() != 60 || a.key_hash[0] != '$') {
      report.problems.push_back(a.username + ": password is not a bcrypt hash, skipped");
      continue;
    }
    if (!seen_subdomains.insert(a.subdomain).second) {
      report.problems.push_back(a.username + ": subdomain used twice, skipped");
      continue;
    }
    if (raw.allowfrom) read_allowfrom(*raw.allowfrom, a, report);
    if (raw.value) {
      const std::string& v = *raw.value;
      if (v.empty()) {
        ++report.skipped_empty_values;
      } else if (is_valid_txt_value(v)) {
        values.push_back({a.subdomain, v, raw.last_active * 1000});
      } else {
        report.problems.push_back(a.username + ": TXT value \"" + v + "\" is not a challenge value, skipped");
      }
    }
    accounts.push_back(std::move(a));
  }
  for (auto& t : txts) {
    std::string sub = t.subdomain;
    for (auto& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (t.value.empty()) {
      ++report.skipped_empty_values;
    } else if (!seen_subdomains.contains(sub)) {
      report.problems.push_back("TXT value for unknown subdomain \"" + sub + "\" skipped");
    } else if (!is_valid_txt_value(t.value)) {
      report.problems.push_back(sub + ": TXT value \"" + t.value + "\" is not a challenge value, skipped");
    } else {
      values.push_back({sub, t.value, t.last_update * 1000});
    }
  }
  return ok_status();
}

}  // namespace

namespace {

// Inserts the checked rows; `log` (shared databases) gets the index changes.
Status insert_rows(Db& db, const std::vector<SourceAccount>& accounts, const std::vector<SourceValue>& values,
                   ImportReport& report, std::set<std::string>& imported, std::vector<LogEntry>* log) {
  const std::int64_t now = now_ms() / 1000;
  for (const auto& a : accounts) {
    // Each account in its own savepoint: a clash (already imported) skips only it.
    if (auto s = db.savepoint(); !s) return s;
    auto s =
        db.insert_account({a.username, a.key_hash, a.subdomain, a.allowfrom_json, a.allowfrom_invalid, now});
    if (!s) {
      db.rollback_to_savepoint();
      report.problems.push_back(a.username + ": not imported (" + s.error().message + ")");
    } else {
      imported.insert(a.subdomain);
      if (log) log->push_back({LogEntry::Kind::add_name, a.subdomain, {}, 0});
    }
    if (auto r = db.release_savepoint(); !r) return r;
  }
  report.accounts = imported.size();
  for (const auto& v : values) {
    if (!imported.contains(v.subdomain)) continue;
    if (auto s = db.upsert_txt(v.subdomain, v.value, v.updated_ms); !s) return s;
    if (log) log->push_back({LogEntry::Kind::put, v.subdomain, v.value, v.updated_ms});
    ++report.values;
  }
  return ok_status();
}

Status read_sorted(const std::string& source, std::vector<SourceAccount>& accounts,
                   std::vector<SourceValue>& values, ImportReport& report) {
  if (auto s = read_source(source, accounts, values, report); !s) return s;
  // Oldest first, so the index ends with each name's newest value in front.
  std::stable_sort(values.begin(), values.end(),
                   [](const SourceValue& a, const SourceValue& b) { return a.updated_ms < b.updated_ms; });
  return ok_status();
}

}  // namespace

Result<ImportReport> import_into(Db& db, const std::string& source) {
  ImportReport report;
  std::vector<SourceAccount> accounts;
  std::vector<SourceValue> values;
  if (auto s = read_sorted(source, accounts, values, report); !s) return s.error();
  std::set<std::string> imported;
  if (auto s = insert_rows(db, accounts, values, report, imported, nullptr); !s) return s.error();
  return report;
}

Result<ImportReport> import_acme_dns_database(Writer& writer, AnswerIndex& index, const std::string& path) {
  auto report = std::make_shared<ImportReport>();
  auto accounts = std::make_shared<std::vector<SourceAccount>>();
  auto values = std::make_shared<std::vector<SourceValue>>();
  if (auto s = read_sorted(path, *accounts, *values, *report); !s) return s.error();
  auto imported = std::make_shared<std::set<std::string>>();

  Job job;
  // A batch may run again (Writer::run_batch): each run starts from the report as read.
  job.apply = [accounts, values, report, imported, read = *report](WriterContext& c) -> Status {
    *report = read;
    imported->clear();
    if (c.changes) c.changes->reset = true;  // a bulk load: the IXFR journal starts over
    return insert_rows(*c.db, *accounts, *values, *report, *imported, c.log);
  };
  job.publish = [&index, accounts, values, imported] {
    for (const auto& a : *accounts) {
      if (imported->contains(a.subdomain)) index.add_name(a.subdomain);
    }
    for (const auto& v : *values) {
      if (imported->contains(v.subdomain))
        index.put_value(v.subdomain, v.value, v.updated_ms / 1000, v.updated_ms);
    }
  };
  if (auto s = writer.run_sync(std::move(job)); !s) return s.error();
  return *report;
}

}  // namespace acmednsd::store_detail
