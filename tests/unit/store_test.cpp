#include <sqlite3.h>
#include <sys/stat.h>

#include "catch_compat.hpp"
#include <fstream>
#include <iterator>

#include "store/store.hpp"
#include "store_test_util.hpp"

using namespace acmednsd;
using acmednsd::testing::TempDir;
using acmednsd::testing::txt;

namespace {

std::unique_ptr<Store> open_store(const std::string& path, RetentionPolicy policy = {}) {
  StoreOptions o;
  o.path = path;
  o.retention = policy;
  auto s = Store::open(o);
  INFO((s.ok() ? "" : s.error().message));
  REQUIRE(s.ok());
  return std::move(s.value());
}

std::vector<std::string> served(const Store& store, const std::string& name) {
  std::vector<std::string> out;
  store.index().visit(
      name, std::time(nullptr),
      [](void* c, std::string_view v) { static_cast<std::vector<std::string>*>(c)->emplace_back(v); }, &out);
  return out;
}

int mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<int>(st.st_mode & 0777);
}

}  // namespace

TEST_CASE("sqlite: the database file is 0600 in a 0700 directory, and holds no key") {
  TempDir dir;
  auto store = open_store(dir.file("db/acme.db"));
  auto creds = store->create_account_sync({"192.168.1.0/24"});
  REQUIRE(creds.ok());
  CHECK(mode_of(dir.file("db/acme.db")) == 0600);
  CHECK(mode_of(dir.file("db")) == 0700);
  // The key is not in the file at all, not only not in key_hash (the contract checks that).
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(1)).ok());
  store.reset();
  std::ifstream in(dir.file("db/acme.db"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.size() > 0);
  CHECK(bytes.find(creds->password) == std::string::npos);
}

TEST_CASE("sqlite: a database that cannot be written makes writes fail with db_error and changes nothing") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"));
  auto creds = store->create_account_sync({});
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(1)).ok());
  // Another process holds the write lock for longer than the busy timeout.
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(dir.file("acme.db").c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto r = store->add_txt_sync(creds->subdomain, txt(2));
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "db_error");
  CHECK(served(*store, creds->subdomain) == std::vector<std::string>{txt(1)});
  CHECK(store->list_txt(creds->subdomain)->size() == 1);
}

TEST_CASE(
    "sqlite: an acme-dns database is refused with a hint to import-acme-dns is refused with a hint, and left "
    "unchanged") {
  TempDir dir;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("other.db").c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE records(Username TEXT)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  StoreOptions o;
  o.path = dir.file("other.db");
  auto s = Store::open(o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("import-acme-dns") != std::string::npos);
  REQUIRE(sqlite3_open(dir.file("other.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT group_concat(name) FROM sqlite_master", -1, &st, nullptr) ==
          SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "records");
  sqlite3_finalize(st);
  sqlite3_close(db);
}
