// Renewal timing with an injected clock: one third of the lifetime, the ARI window,
// backoff after failures (no crash loop) and state that survives a restart.
#include <sys/stat.h>

#include "catch_compat.hpp"
#include <filesystem>

#include "acme_client/acme_state.hpp"
#include "acme_client/certificate_manager.hpp"
#include "acme_client/renewal_schedule.hpp"
#include "acme_client/x509_tools.hpp"
#include "store/store.hpp"
#include "client_test_util.hpp"
#include "test_certificates.hpp"

using namespace acmednsd;
using namespace acmednsd::acme;
using acmednsd::acme::testing::kDay;
using acmednsd::acme::testing::kT0;
using acmednsd::acme::testing::TempDir;

namespace {

unsigned file_mode(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 0777U;
}

}  // namespace

TEST_CASE("renewal at one third of the lifetime left") {
  CHECK(renewal_time_by_lifetime(kT0, kT0 + 90 * kDay) == kT0 + 60 * kDay);
  CHECK(renewal_time_by_lifetime(kT0, kT0 + 6 * kDay) == kT0 + 4 * kDay);
  CHECK(renewal_time_by_lifetime(kT0, kT0) == kT0);  // degenerate: due at once
}

TEST_CASE("ARI: a random point inside the suggested window, or now once it has passed") {
  const std::int64_t start = kT0 + 10 * kDay;
  const std::int64_t end = kT0 + 12 * kDay;
  CHECK(renewal_time_in_window(start, end, 0.0, kT0) == start);
  CHECK(renewal_time_in_window(start, end, 0.5, kT0) == start + kDay * 9 / 10);
  CHECK(renewal_time_in_window(start, end, 0.999, kT0) < end - kDay / 5);  // time left to finish
  CHECK(renewal_time_in_window(start, end, 0.5, end + 5) == end + 5);
  CHECK(renewal_time_in_window(kT0 - kDay, kT0 + kDay, 0.0, kT0) == kT0);  // started already
}

TEST_CASE("backoff grows, is jittered, is capped, honours Retry-After") {
  using std::chrono::seconds;
  CHECK(retry_delay(1, 0.5, std::nullopt) == seconds(60));
  CHECK(retry_delay(2, 0.5, std::nullopt) == seconds(120));
  CHECK(retry_delay(5, 0.5, std::nullopt) == seconds(960));
  CHECK(retry_delay(1, 0.0, std::nullopt) == seconds(45));
  CHECK(retry_delay(1, 1.0, std::nullopt) == seconds(75));
  CHECK(retry_delay(50, 1.0, std::nullopt) == kMaximumRetryDelay);
  CHECK(retry_delay(1, 0.5, seconds(3600)) == seconds(3600));
  CHECK(retry_delay(1, 0.5, seconds(10 * 86400)) == seconds(86400));  // a silly hint is bounded
}

TEST_CASE("a CA that always fails is asked a bounded number of times per day") {
  // The service loop: attempt when due, then the next attempt is due after the delay.
  std::int64_t now = kT0;
  int failures = 0;
  int attempts = 0;
  std::int64_t shortest_gap = kDay;
  while (now < kT0 + kDay) {
    ++attempts;
    ++failures;
    const auto delay = retry_delay(failures, 0.0, std::nullopt).count();  // worst-case jitter
    shortest_gap = std::min(shortest_gap, delay);
    now += delay;
  }
  CHECK(shortest_gap >= kMinimumRetryDelay.count());
  CHECK(attempts <= 16);
}

TEST_CASE("state files: account key 0600 in a 0700 folder, reused after a restart") {
  TempDir dir;
  const std::string state = dir.path + "/state";
  auto first = load_or_create_account(state, "https://127.0.0.1:14000/dir", "ec256");
  REQUIRE(first);
  CHECK(file_mode(state) == 0700);
  CHECK(file_mode(first->folder) == 0700);
  CHECK(file_mode(first->folder + "/account.key") == 0600);
  first->url = "https://127.0.0.1:14000/my-account/1";
  REQUIRE(save_account_url(*first, "https://127.0.0.1:14000/dir"));

  auto second = load_or_create_account(state, "https://127.0.0.1:14000/dir", "ec256");
  REQUIRE(second);
  CHECK(second->url == first->url);
  CHECK(EVP_PKEY_eq(first->key.get(), second->key.get()) == 1);
  auto other_ca = load_or_create_account(state, "https://ca.test/directory", "ec256");
  REQUIRE(other_ca);
  CHECK(other_ca->url.empty());
  CHECK(EVP_PKEY_eq(first->key.get(), other_ca->key.get()) != 1);

  CertificateState saved;
  saved.failures = 3;
  saved.next_retry = kT0 + 500;
  saved.last_error = "rejectedIdentifier: no";
  saved.ari = AriState{"abc.def", kT0, kT0 + 10, kT0 + 5, kT0, kT0 + 3600};
  REQUIRE(save_certificate_state(state, "www", saved));
  CHECK(file_mode(certificate_state_path(state, "www")) == 0600);
  const CertificateState loaded = load_certificate_state(state, "www");
  CHECK(loaded.failures == 3);
  CHECK(loaded.next_retry == kT0 + 500);
  CHECK(loaded.last_error == saved.last_error);
  REQUIRE(loaded.ari);
  CHECK(loaded.ari->chosen_time == kT0 + 5);
  CHECK(load_certificate_state(state, "never-seen").failures == 0);
}

TEST_CASE("inspecting an issued chain: validity, names, ARI identifier") {
  auto key = generate_private_key("ec256");
  REQUIRE(key);
  const std::string pem = testing::make_test_certificate(key->get(), {"a.example.test", "b.example.test"},
                                                         kT0, kT0 + 90 * kDay, 0x87654321);
  auto info = inspect_certificate_chain(pem);
  REQUIRE(info);
  CHECK(info->not_before == kT0);
  CHECK(info->not_after == kT0 + 90 * kDay);
  CHECK(info->dns_names == std::vector<std::string>{"a.example.test", "b.example.test"});
  CHECK(info->issuer_common_names == std::vector<std::string>{"Test Issuer"});
  // RFC 9773 4.1: "<base64url keyIdentifier>.<base64url serial content octets>".
  const auto dot = info->ari_cert_id.find('.');
  REQUIRE(dot != std::string::npos);
  CHECK(info->ari_cert_id.substr(dot + 1) == "AIdlQyE");  // 0x00 87 65 43 21
  CHECK(certificate_matches_key(pem, key->get()));
  auto other = generate_private_key("ec256");
  CHECK_FALSE(certificate_matches_key(pem, other->get()));
}

TEST_CASE("atomic writes replace the file whole with the requested mode") {
  TempDir dir;
  const std::string path = dir.path + "/out/fullchain.pem";
  REQUIRE(write_file_atomically(path, "first", 0600));
  REQUIRE(write_file_atomically(path, "second", 0600));
  CHECK(*read_file(path) == "second");
  CHECK(file_mode(path) == 0600);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path + "/out")) ++entries;
  CHECK(entries == 1);  // no temporary left behind
}

TEST_CASE("the manager's plan with an injected clock: missing, lifetime, ARI, backoff") {
  TempDir dir;
  auto store = Store::open(StoreOptions{dir.path + "/db.sqlite", {}, 1});
  REQUIRE(store);
  Config config;
  config.general.domain = "auth.example.test";
  config.acme.state_dir = dir.path + "/state";
  CertificateConfig entry;
  entry.name = "www";
  entry.domains = {"www.auth.example.test", "*.www.auth.example.test"};
  entry.cert_path = dir.path + "/www/fullchain.pem";
  entry.key_path = dir.path + "/www/privkey.pem";
  config.certificates.push_back(entry);

  std::int64_t now = kT0;
  ManagerOptions options;
  options.clock = [&now] { return now; };
  options.random01 = [] { return 0.5; };
  options.sleep = [](std::chrono::milliseconds) { return true; };
  CertificateManager manager(config, **store, options);
  REQUIRE(manager.jobs().size() == 1);
  const CertificateJob& job = manager.jobs().front();

  SECTION("no certificate: due now") {
    const RenewalPlan plan = manager.plan(job, false);
    CHECK_FALSE(plan.current);
    CHECK(plan.due == now);
  }

  auto key = generate_private_key("ec256");
  REQUIRE(key);
  REQUIRE(write_file_atomically(entry.key_path, private_key_to_pem(key->get()), 0600));
  const std::string pem = testing::make_test_certificate(
      key->get(), {"*.www.auth.example.test", "WWW.auth.example.test"}, kT0, kT0 + 90 * kDay);
  REQUIRE(write_file_atomically(entry.cert_path, pem, 0600));

  SECTION("a fresh certificate is due at one third of its lifetime left") {
    const RenewalPlan plan = manager.plan(job, false);
    REQUIRE(plan.current);
    CHECK(plan.due == kT0 + 60 * kDay);
    now = kT0 + 61 * kDay;  // time passes: now it is due
    CHECK(manager.plan(job, false).due <= now);
  }
  SECTION("a certificate for other names is due now") {
    REQUIRE(write_file_atomically(
        entry.cert_path,
        testing::make_test_certificate(key->get(), {"www.auth.example.test"}, kT0, kT0 + 90 * kDay), 0600));
    CHECK(manager.plan(job, false).due == now);
  }
  SECTION("the CA's ARI window for this very certificate wins") {
    CertificateState state;
    const std::string id = inspect_certificate_chain(pem)->ari_cert_id;
    state.ari = AriState{id, kT0 + 20 * kDay, kT0 + 22 * kDay, kT0 + 21 * kDay, kT0, kT0 + 3600};
    REQUIRE(save_certificate_state(config.acme.state_dir, "www", state));
    CHECK(manager.plan(job, false).due == kT0 + 21 * kDay);
    state.ari->cert_id = "other.certificate";  // a window for an older certificate is ignored
    REQUIRE(save_certificate_state(config.acme.state_dir, "www", state));
    CHECK(manager.plan(job, false).due == kT0 + 60 * kDay);
  }
  SECTION("after failures the retry time holds, even across a restart") {
    now = kT0 + 70 * kDay;
    CertificateState state;
    state.failures = 2;
    state.next_retry = now + 120;
    state.last_error = "rejectedIdentifier: policy forbids";
    REQUIRE(save_certificate_state(config.acme.state_dir, "www", state));
    CertificateManager restarted(config, **store, options);
    const RenewalPlan plan = restarted.plan(restarted.jobs().front(), false);
    CHECK(plan.due == now + 120);
    CHECK(plan.reason.find("policy forbids") != std::string::npos);
    now += 121;
    CHECK(restarted.plan(restarted.jobs().front(), false).due <= now);
  }
}
