// The certificates this process manages (the API's own and the [[certificate]] entries),
// their CA sessions and accounts, when each is due, and one attempt at issuing one with
// its bookkeeping (backoff on failure, deploy command and callbacks on success).
// Shared by the renewal service and the `cert` command.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme_client/acme_session.hpp"
#include "acme_client/acme_state.hpp"
#include "acme_client/certificate_issuer.hpp"
#include "acme_client/https_transport.hpp"

namespace acmednsd {
class Store;
class AcmeStateStore;
}  // namespace acmednsd

namespace acmednsd::acme {

struct ManagerOptions {
  std::function<std::int64_t()> clock;                   // unix seconds; injectable for tests
  std::function<double()> random01;                      // [0, 1)
  std::function<bool(std::chrono::milliseconds)> sleep;  // false when stopping
  const std::atomic<bool>* stop_requested = nullptr;
  std::optional<Endpoint> visibility_check;  // see IssueEnvironment
  // Several instances on one database ([database] engine = "postgres", or set here by
  // tests): the account, each certificate and its state live in the database, orders
  // run under a lease (certificate_sharing.cpp). Unset with engine "postgres": opened
  // from the config when first needed.
  std::shared_ptr<AcmeStateStore> shared;
  std::string holder;  // this process in leases; "" = host:pid:random
};

// Shared mode: how long a lease lasts without renewal (a crashed holder's certificate
// is ordered by another instance after this), how often the holder renews it while
// ordering, and how often every instance looks for a certificate another one stored.
inline constexpr std::chrono::seconds kLeaseLength{300};
inline constexpr std::chrono::seconds kLeaseRenewal{60};
inline constexpr std::chrono::seconds kSharedPollInterval{15};
inline constexpr std::chrono::seconds kLeaseBusyRecheck{2};  // while another instance orders
// After presenting challenge values, before the CA is asked to validate: the CA may ask
// any instance, which serves our values once it has read the change log (milliseconds).
inline constexpr std::chrono::milliseconds kSharedPropagationWait{1000};

std::string letsencrypt_directory(bool staging);
std::vector<CertificateJob> jobs_from_config(const Config& config);
std::string format_time(std::int64_t unix_seconds);  // "2025-01-02T03:04:05Z"
// "host:pid:random": who holds a lease, for the operator reading acme_leases.
std::string make_lease_holder();
// The account URL for `directory_url`: from the database with engine "postgres", else
// from [acme] state_dir; "" before the first order (or when the database does not answer).
std::string stored_account_url_for(const Config& config, const std::string& directory_url);

struct RenewalPlan {
  std::optional<CertificateInfo> current;  // the certificate on disk, when usable
  CertificateState state;
  std::int64_t due = 0;
  std::string reason;
  std::string chain_pem;  // the chain `current` was read from ("" when none)
};

// What an instance does once it holds the lease, from the plan it read before taking
// it (`planned_chain`) and the one read under the lease (`fresh`).
enum class LeaseDecision {
  order,        // order a certificate now
  take_stored,  // another instance stored a usable one meanwhile (or it is not due): use it
  not_due,      // nothing stored and not due (another instance's retry backoff holds)
};
LeaseDecision decide_under_lease(const std::string& planned_chain, const RenewalPlan& fresh, std::int64_t now,
                                 bool forced);

class CertificateManager {
 public:
  CertificateManager(const Config& config, Store& store, ManagerOptions options);
  ~CertificateManager();
  CertificateManager(const CertificateManager&) = delete;
  CertificateManager& operator=(const CertificateManager&) = delete;

  [[nodiscard]] const std::vector<CertificateJob>& jobs() const { return jobs_; }
  [[nodiscard]] const CertificateJob* find(const std::string& name) const;
  void on_api_certificate(std::function<void()> callback) { api_callback_ = std::move(callback); }

  // When `job` is due; with `ask_ca` it refreshes the ARI window from the CA first.
  RenewalPlan plan(const CertificateJob& job, bool ask_ca);
  // One issuance attempt now. Shared mode: under the certificate's lease, and only if
  // no other instance stored a newer certificate since this process decided to order
  // (`forced`: the operator asked for a new one; otherwise also only when still due).
  // Errors "lease_busy" (another instance orders it) and "not_due" change nothing.
  // `took_stored` is set when the result is another instance's certificate.
  Result<CertificateInfo> attempt(const CertificateJob& job, bool forced = true, bool* took_stored = nullptr);
  // Shared mode: makes this machine's files the certificate stored in the database
  // (deploy_command when they changed; the API callback when this process has not
  // announced it yet). No-op with files only.
  void sync(const CertificateJob& job);
  [[nodiscard]] bool shared_mode() const { return shared_mode_; }
  // Shared mode: who holds the certificate's lease now, "holder until time"; "" when
  // nobody does (or with files only).
  std::string lease_holder(const CertificateJob& job);
  // The ACME account URL known for `directory_url` ("" before the first order).
  std::string account_url(const std::string& directory_url);

 private:
  struct CaSession;
  Result<CaSession*> session_for(const std::string& directory_url, bool with_account);
  void refresh_renewal_info(const CertificateJob& job, const CertificateInfo& current,
                            CertificateState& state);
  void run_deploy_command(const CertificateJob& job) const;
  Result<CertificateInfo> order(const CertificateJob& job, const RenewalPlan& before);
  std::function<bool(std::chrono::milliseconds)> lease_keeping_sleep(const CertificateJob& job);
  Result<AcmeStateStore*> shared_state();
  Result<AccountState> load_account(const std::string& directory_url);
  Status save_account(const AccountState& account, const std::string& directory_url);
  void save_state(const CertificateJob& job, const CertificateState& state);
  void read_shared(const CertificateJob& job, RenewalPlan& plan);
  void store_shared(const CertificateJob& job, const CertificateState& state);
  void adopt_local_certificate(const CertificateJob& job);
  void announce(const CertificateJob& job, const std::string& chain);

  const Config& config_;
  Store& store_;
  ManagerOptions options_;
  std::vector<CertificateJob> jobs_;
  std::map<std::string, std::unique_ptr<CaSession>> sessions_;
  std::function<void()> api_callback_;
  bool shared_mode_ = false;
  std::shared_ptr<AcmeStateStore> shared_;
  std::string holder_;
  std::map<std::string, std::string> announced_;  // job name -> chain this process last announced
};

}  // namespace acmednsd::acme
