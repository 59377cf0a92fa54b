// Builds databases exactly as acme-dns writes them (schema, BLOB bcrypt passwords, two
// empty TXT rows per account, old-format columns) and imports them.
#include <crypt.h>
#include <sqlite3.h>

#include "catch_compat.hpp"

#include "store/store.hpp"
#include "store_test_util.hpp"

using namespace acmednsd;
using acmednsd::testing::TempDir;
using acmednsd::testing::txt;

namespace {

std::string bcrypt(const std::string& key) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2a$", 10, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* h = crypt_r(key.c_str(), salt, &data);
  REQUIRE(h != nullptr);
  return h;
}

struct AcmeDnsDb {
  sqlite3* db = nullptr;
  explicit AcmeDnsDb(const std::string& path, bool legacy = false) {
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    exec("CREATE TABLE IF NOT EXISTS acmedns(Name TEXT, Value TEXT)");
    if (legacy) {
      exec(
          "CREATE TABLE IF NOT EXISTS records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, "
          "Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL, Value TEXT, LastActive INT, "
          "AllowFrom TEXT)");
      exec("INSERT INTO acmedns(Name, Value) VALUES('db_version', '0')");
    } else {
      exec(
          "CREATE TABLE IF NOT EXISTS records(Username TEXT UNIQUE NOT NULL PRIMARY KEY, "
          "Password TEXT UNIQUE NOT NULL, Subdomain TEXT UNIQUE NOT NULL, AllowFrom TEXT)");
      exec(
          "CREATE TABLE IF NOT EXISTS txt(Subdomain TEXT NOT NULL, Value TEXT NOT NULL DEFAULT '', "
          "LastUpdate INT)");
      exec("INSERT INTO acmedns(Name, Value) VALUES('db_version', '1')");
    }
  }
  ~AcmeDnsDb() { sqlite3_close(db); }
  void exec(const std::string& sql) {
    char* err = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK);
  }
  // As acme-dns's Register: password hash bound as []byte (a BLOB), two empty TXT rows.
  void add(const std::string& user, const std::string& hash, const std::string& sub, const char* allowfrom) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO records(Username, Password, Subdomain, AllowFrom) VALUES(?, ?, ?, ?)",
                       -1, &st, nullptr);
    sqlite3_bind_text(st, 1, user.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, hash.data(), static_cast<int>(hash.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, sub.c_str(), -1, SQLITE_TRANSIENT);
    if (allowfrom) {
      sqlite3_bind_text(st, 4, allowfrom, -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(st, 4);
    }
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    exec("INSERT INTO txt(Subdomain, Value, LastUpdate) VALUES('" + sub + "', '', 0)");
    exec("INSERT INTO txt(Subdomain, Value, LastUpdate) VALUES('" + sub + "', '', 0)");
  }
};

std::unique_ptr<Store> open_store(const std::string& path) {
  StoreOptions o;
  o.path = path;
  auto s = Store::open(o);
  REQUIRE(s.ok());
  return std::move(s.value());
}

}  // namespace

TEST_CASE("import an acme-dns database: accounts, values, bcrypt keys upgraded on use") {
  TempDir dir;
  const std::string key1 = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01";
  const std::string user1 = "c36f50e8-4632-44f0-83fe-e070fef28a10";
  const std::string sub1 = "8e5700ea-a4bf-4c35-8a43-ec2a32f8b9d5";
  const std::string user2 = "a097455b-52cc-4569-90c8-7a4b97c6eba8";
  const std::string sub2 = "8f7e4b3f-2a90-4c3b-9d17-7a1ecb1e3f2a";
  {
    AcmeDnsDb src(dir.file("acme-dns.db"));
    src.add(user1, bcrypt(key1), sub1, "[\"192.168.1.0/24\"]");
    src.add(user2, bcrypt("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), sub2, "not json");
    // acme-dns's Update overwrites the oldest of the two rows.
    src.exec("UPDATE txt SET Value = '" + txt(1) + "', LastUpdate = 1700000000 WHERE rowid = 1");
  }
  auto store = open_store(dir.file("ours.db"));
  auto report = store->import_acme_dns(dir.file("acme-dns.db"));
  INFO((report.ok() ? "" : report.error().message));
  REQUIRE(report.ok());
  CHECK(report->accounts == 2);
  CHECK(report->values == 1);
  CHECK(report->skipped_empty_values == 3);
  REQUIRE(report->flagged.size() == 1);
  CHECK(report->flagged[0].find(user2) != std::string::npos);

  // Values are served; the second account exists (NODATA) but is flagged, never open.
  std::vector<std::string> values;
  store->index().visit(
      sub1, 1700000001,
      [](void* c, std::string_view v) { static_cast<std::vector<std::string>*>(c)->emplace_back(v); },
      &values);
  CHECK(values == std::vector<std::string>{txt(1)});
  auto flagged = store->find_account(user2);
  REQUIRE(flagged->has_value());
  CHECK((*flagged)->allowfrom_invalid);
  CHECK((*flagged)->allowfrom.empty());

  // The acme-dns key works (bcrypt), then the hash is replaced by the fast one.
  auto auth = store->authenticate(user1, key1);
  REQUIRE(auth->outcome == AuthOutcome::ok);
  CHECK(auth->account.allowfrom == std::vector<std::string>{"192.168.1.0/24"});
  CHECK(store->authenticate(user1, std::string(40, 'a'))->outcome == AuthOutcome::bad_key);
  // The upgrade is queued on the writer; a following write is ordered after it.
  REQUIRE(store->add_txt_sync(sub1, txt(2)).ok());
  sqlite3* db = nullptr;
  sqlite3_open(dir.file("ours.db").c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT key_hash FROM accounts WHERE username = ?", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, user1.c_str(), -1, SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))).rfind("s256$", 0) == 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  CHECK(store->authenticate(user1, key1)->outcome == AuthOutcome::ok);

  // Importing again adds nothing and says why.
  auto again = store->import_acme_dns(dir.file("acme-dns.db"));
  REQUIRE(again.ok());
  CHECK(again->accounts == 0);
  CHECK(again->problems.size() == 2);
}

TEST_CASE("import an old acme-dns database with Value/LastActive columns") {
  TempDir dir;
  const std::string sub = "0e2f5b1c-4b5e-4f4a-9c55-7a8b9c0d1e2f";
  {
    AcmeDnsDb src(dir.file("old.db"), true);
    src.exec("INSERT INTO records VALUES('3f0a8c6e-1d2b-4c3a-8e9f-0a1b2c3d4e5f', '" +
             bcrypt("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk") + "', '" + sub + "', '" + txt(7) +
             "', 1600000000, '[]')");
  }
  auto store = open_store(dir.file("ours.db"));
  auto report = store->import_acme_dns(dir.file("old.db"));
  REQUIRE(report.ok());
  CHECK(report->accounts == 1);
  CHECK(report->values == 1);
  CHECK(store->list_txt(sub)->front().value == txt(7));
}

TEST_CASE("bad import files are refused and change nothing") {
  TempDir dir;
  auto store = open_store(dir.file("ours.db"));
  SECTION("missing file") {
    CHECK_FALSE(store->import_acme_dns(dir.file("nope.db")).ok());
  }
  SECTION("not an acme-dns database") {
    sqlite3* db = nullptr;
    sqlite3_open(dir.file("x.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE foo(a)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    auto r = store->import_acme_dns(dir.file("x.db"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("not an acme-dns database") != std::string::npos);
  }
  SECTION("bad rows are skipped and reported") {
    {
      AcmeDnsDb src(dir.file("bad.db"));
      src.exec("INSERT INTO records VALUES('not-a-uuid', 'x', 'sub', '[]')");
      src.exec(
          "INSERT INTO records VALUES('3f0a8c6e-1d2b-4c3a-8e9f-0a1b2c3d4e5f', 'plaintext', 'sub2', '[]')");
      src.exec("INSERT INTO txt VALUES('sub9', '" + txt(1) + "', 1)");
    }
    auto r = store->import_acme_dns(dir.file("bad.db"));
    REQUIRE(r.ok());
    CHECK(r->accounts == 0);
    CHECK(r->problems.size() == 3);
  }
  CHECK(*store->account_count() == 0);
}
