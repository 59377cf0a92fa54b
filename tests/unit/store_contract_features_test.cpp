// The store's contract for the dns-persist-01 records (migration 3) and the DNSSEC keys
// (migration 4), on both backends: part of unit.store_contract_tests and
// unit.store_contract_tests_postgres (see store_contract_test.cpp).
#include "catch_compat.hpp"
#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <set>
#include <thread>

#include "store/dnssec_key_store.hpp"
#include "store/store.hpp"
#include "store_contract_util.hpp"

using namespace acmednsd;
using acmednsd::testing::open_store;
using acmednsd::testing::served_set;
using acmednsd::testing::TestDb;
using acmednsd::testing::txt;
using acmednsd::testing::within;

namespace {

const std::string kA = "ca.test; accounturi=https://ca.test/acct/1";
const std::string kB = "other.test; accounturi=https://other.test/acct/9";

DnssecKeyRecord key_named(const std::string& zone, const std::string& pem, std::int64_t at) {
  DnssecKeyRecord k;
  k.zone = zone;
  k.algorithm = 13;
  k.flags = 257;
  k.private_key_pem = pem;
  k.created = at;
  k.publish = at;
  k.activate = at;
  return k;
}

}  // namespace

TEST_CASE("contract: persist records are set, replaced, listed, capped, removed and kept on reopen") {
  TestDb db;
  INFO("engine " << db.engine());
  const std::string name = "_validation-persist.www";
  {
    auto store = open_store(db);
    const auto serial0 = store->index().serial();
    auto written = store->set_persist_sync(name, "CA.test ;accounturi=https://ca.test/acct/1");
    REQUIRE(written.ok());
    CHECK(*written);
    CHECK(served_set(*store, name) == std::set<std::string>{kA});
    CHECK(AnswerIndex::serial_after(store->index().serial(), serial0));
    const auto serial1 = store->index().serial();
    written = store->set_persist_sync(name, kA);  // identical: no write, same serial
    REQUIRE(written.ok());
    CHECK_FALSE(*written);
    CHECK(store->index().serial() == serial1);
    REQUIRE(store->set_persist_sync(name, kA + "; policy=wildcard").ok());  // same pair: replaced
    REQUIRE(store->set_persist_sync(name, kB).ok());
    CHECK(served_set(*store, name) == std::set<std::string>{kA + "; policy=wildcard", kB});
    auto listed = store->list_persist(name);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 2);
    CHECK(listed->at(0).issuer == "ca.test");
    CHECK(listed->at(0).value == kA + "; policy=wildcard");
    CHECK(listed->at(1).account_uri == "https://other.test/acct/9");
    CHECK(db.query("SELECT count(*) FROM persist_values") == "2");
    // The cap: 16 per name, the 17th refused and nothing changed.
    for (int i = 2; i < 16; ++i) {
      REQUIRE(store->set_persist_sync(name, "ca.test; accounturi=https://ca.test/acct/n" + std::to_string(i))
                  .ok());
    }
    const auto serial16 = store->index().serial();
    auto refused = store->set_persist_sync(name, "ca.test; accounturi=https://ca.test/acct/17");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == "persist_limit");
    CHECK(store->index().serial() == serial16);
    CHECK(db.query("SELECT count(*) FROM persist_values") == "16");
    auto removed = store->remove_persist_sync(name, "OTHER.test", "https://other.test/acct/9");
    REQUIRE(removed.ok());
    CHECK(*removed == kB);
    removed = store->remove_persist_sync(name, "other.test", "https://other.test/acct/9");
    REQUIRE(removed.ok());
    CHECK(removed->empty());
  }
  auto reopened = open_store(db);
  CHECK(served_set(*reopened, name).size() == 15);
  CHECK(served_set(*reopened, name).count(kA + "; policy=wildcard") == 1);
  CHECK(served_set(*reopened, name).count(kB) == 0);
}

TEST_CASE("contract: a second store on the same database follows the persist records") {
  TestDb db;
  INFO("engine " << db.engine());
  auto a = open_store(db);
  auto b = open_store(db);
  auto creds = a->create_account_sync({});
  REQUIRE(creds.ok());
  const std::string name = std::string(kPersistLabel) + "." + creds->subdomain;
  REQUIRE(a->set_persist_sync(name, kA).ok());
  CHECK(within(std::chrono::seconds(2), [&] { return served_set(*b, name) == std::set<std::string>{kA}; }));
  // Replaced at A: B serves only the new value.
  REQUIRE(a->set_persist_sync(name, kA + "; policy=wildcard").ok());
  CHECK(within(std::chrono::seconds(2),
               [&] { return served_set(*b, name) == std::set<std::string>{kA + "; policy=wildcard"}; }));
  REQUIRE(a->set_persist_sync(name, kB).ok());
  CHECK(within(std::chrono::seconds(2), [&] { return served_set(*b, name).size() == 2; }));
  // Removed at A.
  REQUIRE(a->remove_persist_sync(name, "ca.test", "https://ca.test/acct/1").ok());
  CHECK(within(std::chrono::seconds(2), [&] { return served_set(*b, name) == std::set<std::string>{kB}; }));
  if (db.postgres()) {
    // B writes too; A follows it.
    REQUIRE(b->set_persist_sync(name, kA).ok());
    CHECK(within(std::chrono::seconds(2), [&] {
      return served_set(*a, name) == std::set<std::string>{kA, kB};
    }));
  }
  // The account deleted at A takes its records with it, at B too.
  REQUIRE(*a->delete_account_sync(creds->username));
  CHECK(served_set(*a, name).empty());
  CHECK(within(std::chrono::seconds(2), [&] { return served_set(*b, name).empty(); }));
  CHECK(db.query("SELECT count(*) FROM persist_values") == "0");
}

TEST_CASE("contract: the cap of 16 holds when two stores add to one name at once") {
  TestDb db;
  INFO("engine " << db.engine());
  auto a = open_store(db);
  auto b = open_store(db);
  const auto value = [](int i) { return "ca.test; accounturi=https://ca.test/acct/r" + std::to_string(i); };
  // Five names, each with 15 records; then both stores add the 16th and 17th at the same
  // moment. Without a lock per name, each counts 15 and both insert.
  for (int round = 0; round < 5; ++round) {
    auto creds = a->create_account_sync({});
    REQUIRE(creds.ok());
    const std::string name = std::string(kPersistLabel) + "." + creds->subdomain;
    for (int i = 0; i < 15; ++i) REQUIRE(a->set_persist_sync(name, value(i)).ok());
    std::promise<void> go;
    auto start = go.get_future().share();
    auto add = [&](Store& store, int i) {
      start.wait();
      return store.set_persist_sync(name, value(i));
    };
    auto at_a = std::async(std::launch::async, add, std::ref(*a), 100);
    auto at_b = std::async(std::launch::async, add, std::ref(*b), 101);
    go.set_value();
    const auto ra = at_a.get();
    const auto rb = at_b.get();
    CHECK(ra.ok() != rb.ok());  // exactly one of them
    const auto& refused = ra.ok() ? rb : ra;
    if (!refused.ok()) CHECK(refused.error().code == "persist_limit");
    CHECK(db.query("SELECT count(*) FROM persist_values WHERE name = '" + name + "'") == "16");
  }
}

TEST_CASE("contract: migrations 3, 4 and 5 upgrade a version-2 database") {
  TestDb db;
  INFO("engine " << db.engine());
  std::string sub;
  {
    auto store = open_store(db);
    sub = store->create_account_sync({})->subdomain;
    REQUIRE(store->add_txt_sync(sub, txt(1)).ok());
  }
  // What a binary from before both features left.
  db.exec(db.postgres()
              ? "DROP TABLE persist_values; DROP TABLE dnssec_keys; DROP TABLE acme_accounts; "
                "DROP TABLE acme_certificates; DROP TABLE acme_leases; UPDATE acmednsd_schema SET version = 2"
              : "DROP TABLE persist_values; DROP TABLE dnssec_keys; DROP TABLE acme_accounts; "
                "DROP TABLE acme_certificates; DROP TABLE acme_leases; PRAGMA user_version = 2");
  auto store = open_store(db);
  CHECK(served_set(*store, sub) == std::set<std::string>{txt(1)});
  REQUIRE(store->set_persist_sync(std::string(kPersistLabel) + "." + sub, kA).ok());
  auto keys = ensure_dnssec_key(db.engine(), db.connection(), "auth.example.org", [] {
    return Result<DnssecKeyRecord>(key_named("auth.example.org", "PEM", 1));
  });
  REQUIRE(keys.ok());
  CHECK(keys->size() == 1);
  CHECK(db.query("SELECT count(*) FROM acme_leases") == "0");  // migration 5 ran
  CHECK(db.query(db.postgres() ? "SELECT version FROM acmednsd_schema" : "PRAGMA user_version") == "5");
}

TEST_CASE("contract: DNSSEC keys: one first key however many start together, then a roll") {
  TestDb db;
  INFO("engine " << db.engine());
  auto store = open_store(db);  // creates and migrates the schema
  const std::string zone = "auth.example.org";
  auto none = load_dnssec_keys(db.engine(), db.connection(), zone);
  REQUIRE(none.ok());
  CHECK(none->empty());

  // Eight callers at once, each with its own key; the slow key generation widens the
  // window in which two transactions would both see an empty table.
  constexpr int kCallers = 8;
  std::atomic<int> generated{0};
  std::vector<std::future<Result<std::vector<DnssecKeyRecord>>>> calls;
  calls.reserve(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    calls.push_back(std::async(std::launch::async, [&, i] {
      return ensure_dnssec_key(db.engine(), db.connection(), zone, [&, i] {
        ++generated;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return Result<DnssecKeyRecord>(key_named(zone, "PEM-" + std::to_string(i), 1000));
      });
    }));
  }
  std::set<std::string> seen;
  for (auto& c : calls) {
    auto keys = c.get();
    INFO((keys.ok() ? "" : keys.error().message));
    REQUIRE(keys.ok());
    REQUIRE(keys->size() == 1);
    seen.insert(keys->front().private_key_pem);
  }
  CHECK(seen.size() == 1);
  CHECK(generated.load() == 1);
  CHECK(db.query("SELECT count(*) FROM dnssec_keys") == "1");

  // A roll: the signing key gets retire/remove, the next one is appended.
  const std::int64_t first_id = load_dnssec_keys(db.engine(), db.connection(), zone)->front().id;
  REQUIRE(store_dnssec_roll(db.engine(), db.connection(), zone, first_id, 2000, 3000,
                            key_named(zone, "PEM-next", 1500))
              .ok());
  // A second roll decided on the same newest key (another instance's scheduled roll
  // falling due at the same time) is refused and changes nothing.
  auto twice = store_dnssec_roll(db.engine(), db.connection(), zone, first_id, 2100, 3100,
                                 key_named(zone, "PEM-again", 1600));
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().code == "dnssec_roll_conflict");
  auto keys = load_dnssec_keys(db.engine(), db.connection(), zone);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 2);
  CHECK(keys->at(0).private_key_pem == *seen.begin());
  CHECK(keys->at(0).retire == std::optional<std::int64_t>(2000));
  CHECK(keys->at(0).remove == std::optional<std::int64_t>(3000));
  CHECK(keys->at(1).private_key_pem == "PEM-next");
  CHECK_FALSE(keys->at(1).retire.has_value());
  CHECK(keys->at(1).activate == 1500);
  CHECK(keys->at(1).algorithm == 13);
  CHECK(keys->at(1).flags == 257);
  // Another zone's keys are apart.
  CHECK(load_dnssec_keys(db.engine(), db.connection(), "other.example.org")->empty());
}
