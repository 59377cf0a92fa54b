// The store's contract, one suite for every backend: run as unit.store_contract_sqlite
// (a SQLite file) and unit.store_contract_postgres (a private PostgreSQL cluster
// started by tests/unit/with_postgres.py).
#include "catch_compat.hpp"
#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <set>
#include <thread>

#include "store/store.hpp"
#include "store_contract_util.hpp"

using namespace acmednsd;
using acmednsd::testing::open_store;
using acmednsd::testing::served;
using acmednsd::testing::served_set;
using acmednsd::testing::TestDb;
using acmednsd::testing::txt;
using acmednsd::testing::within;

TEST_CASE("contract: register, authenticate, and the key hash is never the key") {
  TestDb db;
  INFO("engine " << db.engine());
  auto store = open_store(db);
  auto creds = store->create_account_sync({"192.168.1.0/24"});
  REQUIRE(creds.ok());
  CHECK(is_valid_api_key(creds->password));
  CHECK(canonical_uuid(creds->username) == creds->username);
  auto ok = store->authenticate(creds->username, creds->password);
  REQUIRE(ok.ok());
  CHECK(ok->outcome == AuthOutcome::ok);
  CHECK(ok->account.subdomain == creds->subdomain);
  CHECK(ok->account.allowfrom == std::vector<std::string>{"192.168.1.0/24"});
  CHECK(store->authenticate(creds->username, std::string(40, 'a'))->outcome == AuthOutcome::bad_key);
  CHECK(store->authenticate("00000000-0000-4000-8000-000000000000", creds->password)->outcome ==
        AuthOutcome::unknown_user);
  const std::string hash = db.query("SELECT key_hash FROM accounts");
  CHECK(hash.rfind("s256$", 0) == 0);
  CHECK(hash.find(creds->password) == std::string::npos);
  CHECK(*store->account_count() == 1);
  CHECK(store->list_accounts()->size() == 1);
  CHECK(store->unavailable_reason().empty());
}

TEST_CASE("contract: N values per name, in the index when the write completes, newest first") {
  TestDb db;
  auto store = open_store(db);
  auto creds = store->create_account_sync({});
  REQUIRE(creds.ok());
  CHECK(served(*store, creds->subdomain).empty());
  for (int i = 0; i < 10; ++i) {
    REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
    CHECK(served(*store, creds->subdomain).size() == static_cast<std::size_t>(i + 1));
  }
  REQUIRE(store->add_txt_sync(creds->subdomain, txt(3)).ok());  // refreshes, no duplicate
  CHECK(served(*store, creds->subdomain).size() == 10);
  CHECK(served(*store, creds->subdomain).front() == txt(3));
  auto listed = store->list_txt(creds->subdomain);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 10);
  CHECK(listed->front().value == txt(3));
}

TEST_CASE("contract: the limit drops the oldest values, in the database and the index") {
  TestDb db;
  auto store = open_store(db, RetentionPolicy{5, 86400});
  auto creds = store->create_account_sync({});
  const auto add = [&](int i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
  };
  const auto stored = [&] {
    std::set<std::string> out;
    auto listed = store->list_txt(creds->subdomain);
    REQUIRE(listed.ok());
    for (const auto& v : listed.value()) out.insert(v.value);
    return out;
  };
  for (int i = 0; i < 8; ++i) add(i);
  CHECK(stored() == std::set<std::string>{txt(3), txt(4), txt(5), txt(6), txt(7)});
  add(3);
  add(8);
  CHECK(stored() == std::set<std::string>{txt(3), txt(5), txt(6), txt(7), txt(8)});
  CHECK(served_set(*store, creds->subdomain) == stored());
}

TEST_CASE("contract: prune removes expired values but keeps the two newest") {
  TestDb db;
  auto store = open_store(db, RetentionPolicy{100, 3600});
  auto creds = store->create_account_sync({});
  for (int i = 0; i < 5; ++i) REQUIRE(store->add_txt_sync(creds->subdomain, txt(i)).ok());
  std::promise<Result<std::size_t>> p;
  store->prune(std::time(nullptr) + 7200, [&p](Result<std::size_t> r) { p.set_value(std::move(r)); });
  auto removed = p.get_future().get();
  REQUIRE(removed.ok());
  CHECK(*removed == 3);
  CHECK(store->list_txt(creds->subdomain)->size() == 2);
  CHECK(served(*store, creds->subdomain).size() == 2);
}

TEST_CASE("contract: accounts, values and the serial survive a reopen") {
  TestDb db;
  std::string sub;
  std::uint32_t serial = 0;
  {
    auto store = open_store(db);
    sub = store->create_account_sync({})->subdomain;
    for (int i = 0; i < 3; ++i) REQUIRE(store->add_txt_sync(sub, txt(i)).ok());
    serial = store->index().serial();
  }
  auto store = open_store(db);
  CHECK(served(*store, sub).size() == 3);
  CHECK(served(*store, sub).front() == txt(2));
  CHECK(static_cast<std::int32_t>(store->index().serial() - serial) > 0);
}

TEST_CASE("contract: remove_txt, rotate_key, set_allowfrom and delete_account") {
  TestDb db;
  auto store = open_store(db);
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
  CHECK((*store->find_account(creds->username))->allowfrom == std::vector<std::string>{"fd00::/8"});

  std::promise<Result<Done>> missing;
  store->set_allowfrom("00000000-0000-4000-8000-000000000000", {},
                       [&](Result<Done> r) { missing.set_value(std::move(r)); });
  auto m = missing.get_future().get();
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code == "not_found");

  REQUIRE(store->add_txt_sync(creds->subdomain, txt(2)).ok());
  CHECK(*store->delete_account_sync(creds->username) == true);
  CHECK(store->index().visit(
            creds->subdomain, 0, [](void*, std::string_view) {}, nullptr) == NameKind::absent);
  CHECK(!store->find_account(creds->username)->has_value());
  CHECK(store->list_txt(creds->subdomain)->empty());
  CHECK(*store->delete_account_sync(creds->username) == false);
}

TEST_CASE("contract: bad input changes nothing") {
  TestDb db;
  auto store = open_store(db);
  auto creds = store->create_account_sync({});
  CHECK(store->add_txt_sync(creds->subdomain, "short").error().code == "bad_txt");
  CHECK(store->add_txt_sync("Bad Name", txt(1)).error().code == "bad_subdomain");
  CHECK(store->create_account_sync({"10.0.0.1"}).error().code == "invalid_allowfrom_cidr");
  CHECK(*store->account_count() == 1);
  CHECK(store->list_txt(creds->subdomain)->empty());
}

TEST_CASE("contract: concurrent writers are group-committed and none is lost") {
  TestDb db;
  auto store = open_store(db, RetentionPolicy{1000, 86400});
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

TEST_CASE("contract: a schema newer than this binary is refused and left unchanged") {
  TestDb db;
  { auto store = open_store(db); }
  db.exec(db.postgres() ? "UPDATE acmednsd_schema SET version = 99" : "PRAGMA user_version = 99");
  auto s = Store::open(db.options());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("newer than this acme-dnsd knows") != std::string::npos);
  CHECK(db.query(db.postgres() ? "SELECT version FROM acmednsd_schema" : "PRAGMA user_version") == "99");
}

TEST_CASE("contract: a database of another application is refused and left unchanged") {
  TestDb db;
  db.exec("CREATE TABLE orders (id INTEGER)");
  auto s = Store::open(db.options());
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("not an acme-dnsd database") != std::string::npos);
  CHECK(s.error().message.find("import-acme-dns") != std::string::npos);
  CHECK(db.query(db.postgres() ? "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                               : "SELECT count(*) FROM sqlite_master WHERE type = 'table'") == "1");
}

TEST_CASE("contract: a second store on the same database follows the first's commits") {
  TestDb db;
  auto a = open_store(db);
  auto b = open_store(db);
  auto creds = a->create_account_sync({});
  REQUIRE(creds.ok());
  // Registered at A: authenticates at B at once (B reads the database).
  CHECK(b->authenticate(creds->username, creds->password)->outcome == AuthOutcome::ok);
  REQUIRE(a->add_txt_sync(creds->subdomain, txt(1)).ok());
  CHECK(within(std::chrono::seconds(1), [&] { return served(*b, creds->subdomain) == std::vector{txt(1)}; }));
  REQUIRE(a->remove_txt_sync(creds->subdomain, txt(1)).ok());
  CHECK(within(std::chrono::seconds(1), [&] { return served(*b, creds->subdomain).empty(); }));
  if (db.postgres()) {
    // Both write; both converge, with one serial for the same content.
    REQUIRE(b->add_txt_sync(creds->subdomain, txt(2)).ok());
    REQUIRE(a->add_txt_sync(creds->subdomain, txt(3)).ok());
    const std::set<std::string> both{txt(2), txt(3)};
    CHECK(within(std::chrono::seconds(1), [&] {
      return served_set(*a, creds->subdomain) == both && served_set(*b, creds->subdomain) == both &&
             a->index().serial() == b->index().serial();
    }));
    CHECK(a->index().serial() == b->index().serial());
    CHECK(db.query("SELECT value FROM meta WHERE key = 'serial'") == std::to_string(a->index().serial()));
  }
  REQUIRE(*a->delete_account_sync(creds->username));
  CHECK(within(std::chrono::seconds(1), [&] {
    return b->index().visit(
               creds->subdomain, 0, [](void*, std::string_view) {}, nullptr) == NameKind::absent;
  }));
}
