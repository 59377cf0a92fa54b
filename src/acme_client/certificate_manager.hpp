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
}

namespace acmednsd::acme {

struct ManagerOptions {
  std::function<std::int64_t()> clock;                   // unix seconds; injectable for tests
  std::function<double()> random01;                      // [0, 1)
  std::function<bool(std::chrono::milliseconds)> sleep;  // false when stopping
  const std::atomic<bool>* stop_requested = nullptr;
  std::optional<Endpoint> visibility_check;  // see IssueEnvironment
};

std::string letsencrypt_directory(bool staging);
std::vector<CertificateJob> jobs_from_config(const Config& config);
std::string format_time(std::int64_t unix_seconds);  // "2025-01-02T03:04:05Z"

struct RenewalPlan {
  std::optional<CertificateInfo> current;  // the certificate on disk, when usable
  CertificateState state;
  std::int64_t due = 0;
  std::string reason;
};

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
  // One issuance attempt now, whatever the schedule says.
  Result<CertificateInfo> attempt(const CertificateJob& job);

 private:
  struct CaSession;
  Result<CaSession*> session_for(const std::string& directory_url, bool with_account);
  void refresh_renewal_info(const CertificateJob& job, const CertificateInfo& current,
                            CertificateState& state);
  void run_deploy_command(const CertificateJob& job) const;

  const Config& config_;
  Store& store_;
  ManagerOptions options_;
  std::vector<CertificateJob> jobs_;
  std::map<std::string, std::unique_ptr<CaSession>> sessions_;
  std::function<void()> api_callback_;
};

}  // namespace acmednsd::acme
