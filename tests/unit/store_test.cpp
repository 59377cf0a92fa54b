#include <sqlite3.h>
#include <sys/stat.h>

#include "catch_compat.hpp"
#include <chrono>
#include <future>
#include <set>
#include <thread>

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

TEST_CASE("register, authenticate, and the key hash is never the key") {
  TempDir dir;
  auto store = open_store(dir.file("db/acme.db"));
  auto creds = store->create_account_sync({"192.168.1.0/24"});
  REQUIRE(creds.ok());
  CHECK(is_valid_api_key(creds->password));
  CHECK(canonical_uuid(creds->username) == creds->username);

  auto ok = store->authenticate(creds->username, creds->password);
  REQUIRE(ok.ok());
  CHECK(ok->outcome == AuthOutcome::ok);
  CHECK(ok->account.subdomain == creds->subdomain);
  CHECK(ok->account.allowfrom == std::vector<std::string>{"192.168.1.0/24"});

  auto bad = store->authenticate(creds->username, std::string(40, 'a'));
  CHECK(bad->outcome == AuthOutcome::bad_key);
  auto unknown = store->authenticate("00000000-0000-4000-8000-000000000000", creds->password);
  CHECK(unknown->outcome == AuthOutcome::unknown_user);

  CHECK(mode_of(dir.file("db/acme.db")) == 0600);
  CHECK(mode_of(dir.file("db")) == 0700);
  // The stored hash does not contain the key.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("db/acme.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT key_hash FROM accounts", -1, &st, nullptr);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::string hash = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  CHECK(hash.find(creds->password) == std::string::npos);
  CHECK(hash.rfind("s256$", 0) == 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_CASE("N values per account, visible in the index as soon as the write completes") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"));
  auto creds = store->create_account_sync({});
  REQUIRE(creds.ok());
  CHECK(served(*store, creds->subdomain).empty());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
    CHECK(served(*store, creds->subdomain).size() == static_cast<std::size_t>(i + 1));
  }
  // A repeated value refreshes instead of duplicating.
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(3)).ok());
  auto values = served(*store, creds->subdomain);
  CHECK(values.size() == 10);
  CHECK(values.front() == txt(3));
  auto listed = store->list_txt(creds->subdomain);
  REQUIRE(listed.ok());
  CHECK(listed->size() == 10);
}

TEST_CASE("limit: the store keeps at most txt_limit values, dropping the oldest") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"), RetentionPolicy{5, 86400});
  auto creds = store->create_account_sync({});
  // Apart by more than a millisecond, so "oldest" is the order of the calls.
  const auto add = [&](int i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
  };
  const auto stored = [&] {
    std::set<std::string> out;
    const auto listed = store->list_txt(creds->subdomain);
    REQUIRE(listed.ok());
    for (const auto& v : *listed) out.insert(v.value);
    return out;
  };
  for (int i = 0; i < 8; ++i) add(i);
  CHECK(stored() == std::set<std::string>{txt(3), txt(4), txt(5), txt(6), txt(7)});
  CHECK(served(*store, creds->subdomain).size() == 5);
  // A value sent again is new again: the next one past the limit drops txt(4), not txt(3).
  add(3);
  add(8);
  CHECK(stored() == std::set<std::string>{txt(3), txt(5), txt(6), txt(7), txt(8)});
  const auto answers = served(*store, creds->subdomain);
  CHECK(std::set<std::string>(answers.begin(), answers.end()) == stored());
}

TEST_CASE("retention: prune removes expired values but always keeps the two newest") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"), RetentionPolicy{100, 3600});
  auto creds = store->create_account_sync({});
  for (int i = 0; i < 5; ++i) REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
  std::promise<Result<std::size_t>> p;
  store->prune(std::time(nullptr) + 7200, [&p](Result<std::size_t> r) { p.set_value(std::move(r)); });
  auto removed = p.get_future().get();
  REQUIRE(removed.ok());
  CHECK(*removed == 3);
  CHECK(store->list_txt(creds->subdomain)->size() == 2);
}

TEST_CASE("values, accounts and the serial survive a reopen") {
  TempDir dir;
  std::string sub;
  std::uint32_t serial = 0;
  {
    auto store = open_store(dir.file("acme.db"));
    auto creds = store->create_account_sync({});
    sub = creds->subdomain;
    for (int i = 0; i < 3; ++i) REQUIRE(store->add_txt_sync(sub, txt(i)).ok());
    serial = store->index().serial();
  }
  auto store = open_store(dir.file("acme.db"));
  CHECK(served(*store, sub).size() == 3);
  CHECK(served(*store, sub).front() == txt(2));
  CHECK(static_cast<std::int32_t>(store->index().serial() - serial) > 0);
}

TEST_CASE("remove_txt, rotate_key, set_allowfrom and delete_account") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"));
  auto creds = store->create_account_sync({});
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(1)).ok());
  CHECK(*store->remove_txt_sync(creds->subdomain, txt(1)) == true);
  CHECK(*store->remove_txt_sync(creds->subdomain, txt(1)) == false);
  CHECK(served(*store, creds->subdomain).empty());

  std::promise<Result<Credentials>> rotated;
  store->rotate_key(creds->username, [&](Result<Credentials> r) { rotated.set_value(std::move(r)); });
  auto fresh = rotated.get_future().get();
  REQUIRE(fresh.ok());
  CHECK(fresh->subdomain == creds->subdomain);
  CHECK(store->authenticate(creds->username, creds->password)->outcome == AuthOutcome::bad_key);
  CHECK(store->authenticate(creds->username, fresh->password)->outcome == AuthOutcome::ok);

  std::promise<Result<Done>> patched;
  store->set_allowfrom(creds->username, {"fd00::/8"},
                       [&](Result<Done> r) { patched.set_value(std::move(r)); });
  REQUIRE(patched.get_future().get().ok());
  CHECK((*store->find_account(creds->username))->allowfrom == std::vector<std::string>{"fd00::/8"});

  std::promise<Result<Done>> bad_patch;
  store->set_allowfrom(creds->username, {"fd00::"},
                       [&](Result<Done> r) { bad_patch.set_value(std::move(r)); });
  auto bp = bad_patch.get_future().get();
  REQUIRE_FALSE(bp.ok());
  CHECK(bp.error().code == "invalid_allowfrom_cidr");

  CHECK(*store->delete_account_sync(creds->username) == true);
  CHECK(store->index().visit(
            creds->subdomain, 0, [](void*, std::string_view) {}, nullptr) == NameKind::absent);
  CHECK(!store->find_account(creds->username)->has_value());
  CHECK(store->list_txt(creds->subdomain)->empty());
  CHECK(*store->delete_account_sync(creds->username) == false);
}

TEST_CASE("bad input changes nothing") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"));
  auto creds = store->create_account_sync({});
  CHECK(store->add_txt_sync(creds->subdomain, "short").error().code == "bad_txt");
  CHECK(store->add_txt_sync("Bad Name", txt(1)).error().code == "bad_subdomain");
  CHECK(store->create_account_sync({"10.0.0.1"}).error().code == "invalid_allowfrom_cidr");
  CHECK(*store->account_count() == 1);
  CHECK(store->list_txt(creds->subdomain)->empty());
}

TEST_CASE("concurrent writers are group-committed and none is lost") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"), RetentionPolicy{1000, 86400});
  auto creds = store->create_account_sync({});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!store->add_txt_sync(creds->subdomain, txt(t * 100 + i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(store->list_txt(creds->subdomain)->size() == 200);
  CHECK(served(*store, creds->subdomain).size() == 200);
}

TEST_CASE("a database that cannot be written makes writes fail with db_error and changes nothing") {
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

TEST_CASE("a database that is not ours is refused with a hint, and left unchanged") {
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
}
