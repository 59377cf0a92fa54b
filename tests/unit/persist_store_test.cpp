// dns-persist-01 records in the store (persist_store.cpp): set, replace, remove, outside
// retention and txt_limit, journaled, kept across a reopen, and migration 3 applied to a
// version-2 database.
#include <sqlite3.h>

#include "catch_compat.hpp"
#include <ctime>
#include <future>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "store_test_util.hpp"

using namespace acmednsd;
using acmednsd::testing::TempDir;
using acmednsd::testing::txt;

namespace {

std::unique_ptr<Store> open_store(const std::string& path, RetentionPolicy policy = {},
                                  std::size_t journal = 0) {
  StoreOptions o;
  o.path = path;
  o.retention = policy;
  o.ixfr_journal = journal;
  auto s = Store::open(o);
  INFO((s.ok() ? "" : s.error().message));
  REQUIRE(s.ok());
  return std::move(s.value());
}

std::vector<std::string> served(const Store& store, const std::string& name, std::int64_t now) {
  std::vector<std::string> out;
  store.index().visit(
      name, now,
      [](void* c, std::string_view v) { static_cast<std::vector<std::string>*>(c)->emplace_back(v); }, &out);
  return out;
}

const std::string kA = "ca.test; accounturi=https://ca.test/acct/1";

}  // namespace

TEST_CASE("persist records: set, replace by issuer and accounturi, remove") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"), {}, 100);
  const std::string name = "_validation-persist.www";
  const auto serial0 = store->index().serial();
  auto written = store->set_persist_sync(name, "CA.test ;accounturi=https://ca.test/acct/1");
  REQUIRE(written.ok());
  CHECK(*written);
  CHECK(served(*store, name, std::time(nullptr)) == std::vector<std::string>{kA});  // canonical form
  const auto serial1 = store->index().serial();
  CHECK(AnswerIndex::serial_after(serial1, serial0));

  // The identical record again: nothing written, the serial stays.
  written = store->set_persist_sync(name, kA);
  REQUIRE(written.ok());
  CHECK_FALSE(*written);
  CHECK(store->index().serial() == serial1);

  // Same issuer and accounturi, new policy: replaced, and the journal has both sides.
  REQUIRE(store->set_persist_sync(name, kA + "; policy=wildcard").ok());
  CHECK(served(*store, name, std::time(nullptr)) == std::vector<std::string>{kA + "; policy=wildcard"});
  auto diffs = store->journal()->diffs_since(serial1, store->index().serial());
  REQUIRE(diffs);
  REQUIRE(diffs->size() == 1);
  REQUIRE(diffs->front().removed.size() == 1);
  CHECK(diffs->front().removed[0].value == kA);
  REQUIRE(diffs->front().added.size() == 1);
  CHECK(diffs->front().added[0].value == kA + "; policy=wildcard");

  auto listed = store->list_persist(name);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().issuer == "ca.test");
  CHECK(listed->front().account_uri == "https://ca.test/acct/1");

  auto removed = store->remove_persist_sync(name, "CA.TEST", "https://ca.test/acct/1");
  REQUIRE(removed.ok());
  CHECK(*removed == kA + "; policy=wildcard");
  CHECK(store->index().visit(
            name, std::time(nullptr), [](void*, std::string_view) {}, nullptr) == NameKind::absent);
  removed = store->remove_persist_sync(name, "ca.test", "https://ca.test/acct/1");
  REQUIRE(removed.ok());
  CHECK(removed->empty());
}

TEST_CASE("persist records: hostile values and names are refused and change nothing") {
  TempDir dir;
  auto store = open_store(dir.file("acme.db"));
  REQUIRE(store->set_persist_sync("_validation-persist.www", kA).ok());
  const auto serial = store->index().serial();
  for (const std::string bad : {"", "ca.test", "ca.test; accounturi=x", "ca.test; accounturi=https://a/1\n",
                                "ca.test; accounturi=https://a/1; policy=all"}) {
    auto r = store->set_persist_sync("_validation-persist.www", bad);
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == "persist_value");
  }
  auto r = store->set_persist_sync("_validation-persist.WWW", kA);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "bad_subdomain");
  for (std::size_t i = 1; i < kMaxPersistRecordsPerName; ++i) {
    REQUIRE(store
                ->set_persist_sync("_validation-persist.www",
                                   "ca" + std::to_string(i) + ".test; accounturi=https://a/1")
                .ok());
  }
  r = store->set_persist_sync("_validation-persist.www", "one-more.test; accounturi=https://a/1");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == "persist_limit");
  CHECK(store->list_persist("_validation-persist.www")->size() == kMaxPersistRecordsPerName);
  CHECK(AnswerIndex::serial_after(store->index().serial(), serial));  // the 15 good ones
}

TEST_CASE("persist records: outside retention and txt_limit, removed with their account, kept on reopen") {
  TempDir dir;
  std::string sub;
  {
    auto store = open_store(dir.file("acme.db"), RetentionPolicy{2, 60});
    auto creds = store->create_account_sync({});
    REQUIRE(creds.ok());
    sub = creds->subdomain;
    const std::string name = std::string(kPersistLabel) + "." + sub;
    REQUIRE(store->set_persist_sync(name, kA).ok());
    for (int i = 0; i < 4; ++i) REQUIRE(store->add_txt_sync(sub, txt(i)).ok());
    CHECK(store->list_txt(sub)->size() == 2);  // the limit holds for challenge values only
    std::promise<Result<std::size_t>> p;
    store->prune(std::time(nullptr) + 7200, [&p](Result<std::size_t> r) { p.set_value(std::move(r)); });
    REQUIRE(p.get_future().get().ok());
    // Hours later: the persist record is still served.
    CHECK(served(*store, name, std::time(nullptr) + 7200) == std::vector<std::string>{kA});
  }
  auto store = open_store(dir.file("acme.db"), RetentionPolicy{2, 60});
  const std::string name = std::string(kPersistLabel) + "." + sub;
  CHECK(served(*store, name, std::time(nullptr)) == std::vector<std::string>{kA});
  auto accounts = store->list_accounts();
  REQUIRE(accounts.ok());
  REQUIRE(store->delete_account_sync(accounts->front().username).ok());
  CHECK(store->list_persist(name)->empty());
  CHECK(served(*store, name, std::time(nullptr)).empty());
}

TEST_CASE("persist records: migration 3 upgrades a version-2 database") {
  TempDir dir;
  const std::string path = dir.file("acme.db");
  std::string sub;
  {
    auto store = open_store(path);
    sub = store->create_account_sync({})->subdomain;
    REQUIRE(store->add_txt_sync(sub, txt(1)).ok());
  }
  {  // What an acme-dnsd from before this change left: schema version 2, no table.
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "DROP TABLE persist_values; PRAGMA user_version = 2;", nullptr, nullptr,
                         nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = open_store(path);
  CHECK(served(*store, sub, std::time(nullptr)) == std::vector<std::string>{txt(1)});
  REQUIRE(store->set_persist_sync("_validation-persist." + sub, kA).ok());
  CHECK(store->list_persist("_validation-persist." + sub)->size() == 1);
}
