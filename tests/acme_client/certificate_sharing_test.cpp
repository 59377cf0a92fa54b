// Shared mode of the certificate manager (several instances on one database), on a
// SQLite database standing in for PostgreSQL (the same tables and statements; the
// contract tests run them on both): the decision taken under the lease, a lease held
// by another instance, a certificate another instance stored, and the copy of the
// stored certificate to this machine's files with its deploy_command and TLS reload.
// The CA's directory is a closed loopback port: any order attempt fails fast, so a
// test that expects no order fails if one is tried.
#include "catch_compat.hpp"
#include <filesystem>

#include "acme_client/certificate_manager.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/x509_tools.hpp"
#include "store/acme_state_store.hpp"
#include "store/store.hpp"
#include "client_test_util.hpp"
#include "test_certificates.hpp"

using namespace acmednsd;
using namespace acmednsd::acme;
using acmednsd::acme::testing::kDay;
using acmednsd::acme::testing::kT0;
using acmednsd::acme::testing::TempDir;

namespace {

RenewalPlan plan_with(const std::string& chain, std::int64_t due) {
  RenewalPlan p;
  if (!chain.empty()) p.current = CertificateInfo{};
  p.chain_pem = chain;
  p.due = due;
  return p;
}

std::string read(const std::string& path) {
  auto text = read_file(path);
  return text ? *text : std::string();
}

}  // namespace

TEST_CASE("under the lease: take what another instance stored meanwhile, else order when due or asked") {
  const std::int64_t now = kT0;
  // Nothing changed since we decided, still due: order.
  CHECK(decide_under_lease("A", plan_with("A", now), now, false) == LeaseDecision::order);
  CHECK(decide_under_lease("", plan_with("", now), now, false) == LeaseDecision::order);
  // Another instance stored a fresh one meanwhile: take it, even when the operator asked.
  CHECK(decide_under_lease("A", plan_with("B", now + 60 * kDay), now, false) == LeaseDecision::take_stored);
  CHECK(decide_under_lease("A", plan_with("B", now + 60 * kDay), now, true) == LeaseDecision::take_stored);
  CHECK(decide_under_lease("", plan_with("B", now + 60 * kDay), now, true) == LeaseDecision::take_stored);
  // A new one that is itself due already (a CA's ARI window): order.
  CHECK(decide_under_lease("A", plan_with("B", now), now, false) == LeaseDecision::order);
  // The operator asked for a new one and nothing changed: order though not due.
  CHECK(decide_under_lease("A", plan_with("A", now + 60 * kDay), now, true) == LeaseDecision::order);
  // Not due any more (another instance's backoff): nothing to order or take.
  CHECK(decide_under_lease("", plan_with("", now + 120), now, false) == LeaseDecision::not_due);
  CHECK(decide_under_lease("A", plan_with("A", now + 120), now, false) == LeaseDecision::take_stored);
}

TEST_CASE("shared mode: lease, stored certificates, local copies, deploy_command and TLS reload") {
  TempDir dir;
  const std::string db_path = dir.path + "/db.sqlite";
  auto store = Store::open(StoreOptions{db_path, {}, 1});
  REQUIRE(store);
  auto opened = AcmeStateStore::open("sqlite3", db_path);
  REQUIRE(opened);
  std::shared_ptr<AcmeStateStore> shared = std::move(*opened);
  auto other = AcmeStateStore::open("sqlite3", db_path);  // "another instance"
  REQUIRE(other);

  Config config;
  config.general.domain = "auth.example.test";
  config.acme.state_dir = dir.path + "/state";
  config.acme.directory = "https://127.0.0.1:1/directory";  // nothing listens: an order fails at once
  config.api.tls = TlsMode::acme;
  config.api.acme_cache_dir = dir.path + "/api";
  CertificateConfig entry;
  entry.name = "www";
  entry.domains = {"www.auth.example.test"};
  entry.cert_path = dir.path + "/www/fullchain.pem";
  entry.key_path = dir.path + "/www/privkey.pem";
  entry.deploy_command = "echo \"$ACMEDNSD_CERT_NAME\" >> " + dir.path + "/deployed";
  config.certificates.push_back(entry);

  std::int64_t now = kT0;
  ManagerOptions options;
  options.clock = [&now] { return now; };
  options.random01 = [] { return 0.5; };
  options.sleep = [](std::chrono::milliseconds) { return true; };
  options.shared = shared;
  options.holder = "me";
  CertificateManager manager(config, **store, options);
  REQUIRE(manager.shared_mode());
  int reloads = 0;
  manager.on_api_certificate([&reloads] { ++reloads; });
  REQUIRE(manager.jobs().size() == 2);
  const CertificateJob& api = manager.jobs()[0];
  const CertificateJob& www = manager.jobs()[1];
  REQUIRE(api.is_api_certificate);

  auto key = generate_private_key("ec256");
  REQUIRE(key);
  const std::string key_pem = private_key_to_pem(key->get());
  const std::string chain1 =
      testing::make_test_certificate(key->get(), {"www.auth.example.test"}, kT0, kT0 + 90 * kDay);

  SECTION("a lease held by another instance: no order, no state written") {
    auto lease = (*other)->take_lease("www", "other", now * 1000, 300'000);
    REQUIRE(lease);
    REQUIRE(lease->held);
    auto outcome = manager.attempt(www, false);
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().code == "lease_busy");
    CHECK(outcome.error().message.find("other") != std::string::npos);
    auto row = shared->certificate("www");
    REQUIRE(row);
    CHECK_FALSE(row->has_value());
    // Its holder crashed: after the lease's length this instance orders (and here fails
    // at the CA), its failure recorded for everyone and the lease released.
    now += kLeaseLength.count();
    auto ordered = manager.attempt(www, false);
    REQUIRE_FALSE(ordered);
    CHECK(ordered.error().code != "lease_busy");
    CHECK(manager.plan(www, false).state.failures == 1);
    auto again = (*other)->take_lease("www", "other", now * 1000, 300'000);
    REQUIRE(again);
    CHECK(again->held);
  }

  SECTION("a certificate stored by another instance is taken, not ordered") {
    REQUIRE((*other)->put_certificate({"www", chain1, key_pem, "{}", now * 1000}));
    bool took = false;
    auto outcome = manager.attempt(www, false, &took);
    INFO((outcome ? "" : outcome.error().message));
    REQUIRE(outcome);
    CHECK(took);
    CHECK(read(entry.cert_path) == chain1);
    CHECK(read(entry.key_path) == key_pem);
    CHECK(read(dir.path + "/deployed") == "www\n");
    // The operator's `cert renew www` orders though it is not due (and fails at the CA here).
    auto forced = manager.attempt(www, true, &took);
    REQUIRE_FALSE(forced);
    CHECK_FALSE(took);
    CHECK(manager.plan(www, false).state.failures == 1);
    CHECK(manager.plan(www, false).current);  // the stored certificate stays
  }

  SECTION("every instance copies the stored certificate; deploy and reload only on change") {
    const std::string api_chain =
        testing::make_test_certificate(key->get(), {"auth.example.test"}, kT0, kT0 + 90 * kDay, 0x77);
    manager.sync(api);
    manager.sync(www);
    CHECK(reloads == 0);  // nothing stored yet
    CHECK_FALSE(std::filesystem::exists(api.cert_path));
    REQUIRE((*other)->put_certificate({"api", api_chain, key_pem, "{}", now * 1000}));
    REQUIRE((*other)->put_certificate({"www", chain1, key_pem, "{}", now * 1000}));
    manager.sync(api);
    manager.sync(www);
    CHECK(reloads == 1);
    CHECK(read(api.cert_path) == api_chain);
    CHECK(read(api.key_path) == key_pem);
    CHECK(read(dir.path + "/deployed") == "www\n");
    manager.sync(api);
    manager.sync(www);
    CHECK(reloads == 1);
    CHECK(read(dir.path + "/deployed") == "www\n");
    // Renewed elsewhere: copied, deployed and reloaded once more.
    const std::string chain2 = testing::make_test_certificate(key->get(), {"www.auth.example.test"},
                                                              kT0 + kDay, kT0 + 91 * kDay, 0x99);
    REQUIRE((*other)->put_certificate({"www", chain2, key_pem, "{}", (now + 1) * 1000}));
    manager.sync(www);
    CHECK(read(entry.cert_path) == chain2);
    CHECK(read(dir.path + "/deployed") == "www\nwww\n");
    // A stored certificate for other names (an older config) is not copied.
    const std::string wrong =
        testing::make_test_certificate(key->get(), {"other.auth.example.test"}, kT0, kT0 + 90 * kDay);
    REQUIRE((*other)->put_certificate({"www", wrong, key_pem, "{}", (now + 2) * 1000}));
    manager.sync(www);
    CHECK(read(entry.cert_path) == chain2);
  }

  SECTION("a certificate this machine already has is stored for the others") {
    REQUIRE(write_file_atomically(entry.key_path, key_pem, 0600));
    REQUIRE(write_file_atomically(entry.cert_path, chain1, 0600));
    manager.sync(www);
    auto row = (*other)->certificate("www");
    REQUIRE(row);
    REQUIRE(row->has_value());
    CHECK((*row)->fullchain == chain1);
    CHECK((*row)->private_key == key_pem);
    CHECK_FALSE(std::filesystem::exists(dir.path + "/deployed"));  // its files did not change
  }
}
