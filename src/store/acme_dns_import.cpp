// Takes over an acme-dns SQLite database (opened read-only, never changed).
//
// Real acme-dns files hold: bcrypt hashes stored as BLOB (Go writes []byte), two TXT
// rows per account created empty at registration, and, in files from before its
// db_version 1, `Value`/`LastActive` columns on `records` instead of a `txt` table.
// An unreadable AllowFrom keeps the account but flags it: it is never read as "allow
// from anywhere".
#include <nlohmann/json.hpp>
#include <set>

#include "common/cidr.hpp"
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

Status read_source(const std::string& path, std::vector<SourceAccount>& accounts,
                   std::vector<SourceValue>& values, ImportReport& report) {
  auto db = sqlite::Connection::open(path, true);
  if (!db) return db.error();
  auto records = has_table(*db, "records");
  if (!records) return records.error();
  if (!*records)
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
  std::set<std::string> seen_subdomains;
  while ((rc = st->step()) == SQLITE_ROW) {
    SourceAccount a;
    const std::string raw_user = st->text(0);
    const auto user = canonical_uuid(raw_user);
    if (!user) {
      report.problems.push_back("record with username \"" + raw_user + "\": not a UUID, skipped");
      continue;
    }
    a.username = *user;
    a.key_hash = st->text(1);  // TEXT or BLOB: the bytes are the bcrypt string
    a.subdomain = st->text(2);
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
    if (!st->is_null(3)) read_allowfrom(st->text(3), a, report);
    if (legacy_values && !st->is_null(4)) {
      const std::string v = st->text(4);
      if (v.empty()) {
        ++report.skipped_empty_values;
      } else if (is_valid_txt_value(v)) {
        values.push_back({a.subdomain, v, st->integer(5) * 1000});
      } else {
        report.problems.push_back(a.username + ": TXT value \"" + v + "\" is not a challenge value, skipped");
      }
    }
    accounts.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return make_error("db_error", st->error());

  auto txt = has_table(*db, "txt");
  if (!txt) return txt.error();
  if (*txt) {
    auto tv = db->prepare("SELECT Subdomain, Value, LastUpdate FROM txt");
    if (!tv) return tv.error();
    while ((rc = tv->step()) == SQLITE_ROW) {
      std::string sub = tv->text(0);
      for (auto& c : sub) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string v = tv->text(1);
      if (v.empty()) {
        ++report.skipped_empty_values;
      } else if (!seen_subdomains.contains(sub)) {
        report.problems.push_back("TXT value for unknown subdomain \"" + sub + "\" skipped");
      } else if (!is_valid_txt_value(v)) {
        report.problems.push_back(sub + ": TXT value \"" + v + "\" is not a challenge value, skipped");
      } else {
        values.push_back({sub, v, tv->integer(2) * 1000});
      }
    }
    if (rc != SQLITE_DONE) return make_error("db_error", tv->error());
  }
  return ok_status();
}

}  // namespace

Result<ImportReport> import_acme_dns_database(Writer& writer, AnswerIndex& index, const std::string& path) {
  auto report = std::make_shared<ImportReport>();
  auto accounts = std::make_shared<std::vector<SourceAccount>>();
  auto values = std::make_shared<std::vector<SourceValue>>();
  if (auto s = read_source(path, *accounts, *values, *report); !s) return s.error();
  // Oldest first, so the index ends with each name's newest value in front.
  std::stable_sort(values->begin(), values->end(),
                   [](const SourceValue& a, const SourceValue& b) { return a.updated_ms < b.updated_ms; });
  auto imported = std::make_shared<std::set<std::string>>();

  Job job;
  job.apply = [accounts, values, report, imported](WriterContext& c) -> Status {
    if (c.changes) c.changes->reset = true;  // a bulk load: the IXFR journal starts over
    const std::int64_t now = now_ms() / 1000;
    for (const auto& a : *accounts) {
      // Each account in its own savepoint: a clash (already imported) skips only it.
      if (auto s = c.db->savepoint(); !s) return s;
      auto s = c.db->insert_account(
          {a.username, a.key_hash, a.subdomain, a.allowfrom_json, a.allowfrom_invalid, now});
      if (!s) {
        c.db->rollback_to_savepoint();
        report->problems.push_back(a.username + ": not imported (" + s.error().message + ")");
      } else {
        imported->insert(a.subdomain);
        c.note(LogEntry::Kind::add_name, a.subdomain);
      }
      if (auto r = c.db->release_savepoint(); !r) return r;
    }
    report->accounts = imported->size();
    for (const auto& v : *values) {
      if (!imported->contains(v.subdomain)) continue;
      if (auto s = c.db->upsert_txt(v.subdomain, v.value, v.updated_ms); !s) return s;
      c.note(LogEntry::Kind::put, v.subdomain, v.value, v.updated_ms);
      ++report->values;
    }
    return ok_status();
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
