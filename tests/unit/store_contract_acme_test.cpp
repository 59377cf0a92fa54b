// The store's contract for the ACME client's state (migration 5: one account per CA
// directory, each certificate's chain/key/state, and the lease that lets one instance
// order a certificate), on both backends: part of unit.store_contract_tests and
// unit.store_contract_tests_postgres (see store_contract_test.cpp).
#include "catch_compat.hpp"
#include <atomic>
#include <thread>
#include <vector>

#include "store/acme_state_store.hpp"
#include "store/store.hpp"
#include "store_test_db.hpp"

using namespace acmednsd;
using acmednsd::testing::TestDb;

namespace {

constexpr std::int64_t kT0 = 1'760'000'000'000;  // unix ms
constexpr std::int64_t kTtl = 300'000;

// The Store creates and migrates the database; the ACME state has connections of its own.
std::unique_ptr<AcmeStateStore> open_state(const TestDb& db) {
  auto state = AcmeStateStore::open(db.engine(), db.connection());
  INFO((state.ok() ? "" : state.error().message));
  REQUIRE(state.ok());
  return std::move(state.value());
}

void migrate(const TestDb& db) {
  auto store = Store::open(db.options());
  INFO((store.ok() ? "" : store.error().message));
  REQUIRE(store.ok());
}

}  // namespace

TEST_CASE("contract: ACME accounts: the first key stored for a directory is everyone's") {
  TestDb db;
  INFO("engine " << db.engine());
  migrate(db);
  auto a = open_state(db);
  auto b = open_state(db);
  const std::string dir = "https://ca.test/directory";
  auto none = a->account(dir);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  auto first = a->add_account({dir, "KEY-A", ""});
  REQUIRE(first.ok());
  CHECK(first->key_pem == "KEY-A");
  auto second = b->add_account({dir, "KEY-B", ""});  // B generated its own meanwhile: A's wins
  REQUIRE(second.ok());
  CHECK(second->key_pem == "KEY-A");
  CHECK(second->url.empty());

  REQUIRE(b->set_account_url(dir, "https://ca.test/acct/1").ok());
  auto seen = a->account(dir);
  REQUIRE(seen.ok());
  REQUIRE(seen->has_value());
  CHECK((*seen)->url == "https://ca.test/acct/1");
  CHECK((*seen)->key_pem == "KEY-A");
  // Another CA is another account.
  auto other = a->add_account({"https://other.test/dir", "KEY-C", ""});
  REQUIRE(other.ok());
  CHECK(other->key_pem == "KEY-C");
  CHECK(db.query("SELECT count(*) FROM acme_accounts") == "2");
}

TEST_CASE("contract: ACME certificates: chain, key and state; state alone keeps the chain") {
  TestDb db;
  INFO("engine " << db.engine());
  migrate(db);
  auto a = open_state(db);
  auto b = open_state(db);
  auto none = a->certificate("api");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  // A failure before any certificate: only state.
  REQUIRE(a->put_certificate_state("api", R"({"failures":1})").ok());
  auto only_state = b->certificate("api");
  REQUIRE(only_state.ok());
  REQUIRE(only_state->has_value());
  CHECK((*only_state)->fullchain.empty());
  CHECK((*only_state)->state == R"({"failures":1})");

  REQUIRE(a->put_certificate({"api", "CHAIN-1", "KEY-1", R"({"failures":0})", kT0}).ok());
  REQUIRE(b->put_certificate_state("api", R"({"ari":{}})").ok());
  auto row = b->certificate("api");
  REQUIRE(row.ok());
  REQUIRE(row->has_value());
  CHECK((*row)->fullchain == "CHAIN-1");
  CHECK((*row)->private_key == "KEY-1");
  CHECK((*row)->state == R"({"ari":{}})");
  CHECK((*row)->stored_ms == kT0);

  REQUIRE(b->put_certificate({"api", "CHAIN-2", "KEY-2", "{}", kT0 + 5}).ok());
  row = a->certificate("api");
  REQUIRE(row.ok());
  CHECK((*row)->fullchain == "CHAIN-2");
  CHECK((*row)->private_key == "KEY-2");
  CHECK((*row)->stored_ms == kT0 + 5);
  auto other = a->certificate("www");
  REQUIRE(other.ok());
  CHECK_FALSE(other->has_value());
}

TEST_CASE("contract: ACME lease: one holder, extended by it, taken over only after it expires") {
  TestDb db;
  INFO("engine " << db.engine());
  migrate(db);
  auto a = open_state(db);
  auto b = open_state(db);

  auto taken = a->take_lease("api", "A", kT0, kTtl);
  REQUIRE(taken.ok());
  CHECK(taken->held);
  CHECK(taken->expires_ms == kT0 + kTtl);

  auto shown = b->lease("api");  // what `cert list` shows
  REQUIRE(shown.ok());
  REQUIRE(shown->has_value());
  CHECK((*shown)->holder == "A");
  CHECK((*shown)->expires_ms == kT0 + kTtl);
  auto none = b->lease("www");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  auto refused = b->take_lease("api", "B", kT0 + 1000, kTtl);
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->held);
  CHECK(refused->holder == "A");
  CHECK(refused->expires_ms == kT0 + kTtl);
  // Another certificate is another lease.
  auto www = b->take_lease("www", "B", kT0 + 1000, kTtl);
  REQUIRE(www.ok());
  CHECK(www->held);

  // The holder extends its own lease.
  auto extended = a->take_lease("api", "A", kT0 + 60'000, kTtl);
  REQUIRE(extended.ok());
  CHECK(extended->held);
  CHECK(extended->expires_ms == kT0 + 60'000 + kTtl);
  refused = b->take_lease("api", "B", kT0 + kTtl + 1000, kTtl);  // past the first expiry, not the second
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->held);

  // A crashed holder: its lease expires and B takes it.
  auto expired = b->take_lease("api", "B", kT0 + 60'000 + kTtl, kTtl);
  REQUIRE(expired.ok());
  CHECK(expired->held);
  CHECK(expired->holder == "B");
  // A, back, releases what it thinks it holds: B's lease stays.
  REQUIRE(a->release_lease("api", "A").ok());
  CHECK(db.query("SELECT holder FROM acme_leases WHERE name = 'api'") == "B");
  auto late = a->take_lease("api", "A", kT0 + 60'000 + kTtl + 1, kTtl);
  REQUIRE(late.ok());
  CHECK_FALSE(late->held);
  CHECK(late->holder == "B");

  // Released by its holder: free at once.
  REQUIRE(b->release_lease("api", "B").ok());
  CHECK_FALSE(a->lease("api")->has_value());
  auto again = a->take_lease("api", "A", kT0 + 60'000 + kTtl + 2, kTtl);
  REQUIRE(again.ok());
  CHECK(again->held);
}

TEST_CASE("contract: ACME lease: of eight connections asking at once, one holds it") {
  TestDb db;
  INFO("engine " << db.engine());
  migrate(db);
  constexpr int kContenders = 8;
  std::vector<std::unique_ptr<AcmeStateStore>> states;
  for (int i = 0; i < kContenders; ++i) states.push_back(open_state(db));
  for (int round = 0; round < 5; ++round) {
    const std::string name = "cert-" + std::to_string(round);
    std::atomic<int> holders{0};
    std::atomic<int> errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kContenders; ++i) {
      threads.emplace_back([&, i] {
        while (!go) std::this_thread::yield();
        auto lease =
            states[static_cast<std::size_t>(i)]->take_lease(name, "holder-" + std::to_string(i), kT0, kTtl);
        if (!lease) {
          ++errors;
        } else if (lease->held) {
          ++holders;
        }
      });
    }
    go = true;
    for (auto& t : threads) t.join();
    CHECK(errors == 0);
    CHECK(holders == 1);
  }
}
