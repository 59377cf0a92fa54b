// `acme-dnsd cert list|issue|renew [NAME...]`: the operator's view of the embedded
// client. Runs in its own process beside a running daemon: the TXT values it writes to
// the shared database reach the daemon's DNS index a moment later, so it waits until
// the daemon serves them before the CA looks.
#include <chrono>
#include <iostream>
#include <thread>

#include "acme_client/acme_service.hpp"
#include "acme_client/acme_state.hpp"
#include "acme_client/certificate_manager.hpp"
#include "acme_client/dns01_challenge.hpp"
#include "common/log.hpp"
#include "common/random.hpp"

namespace acmednsd::acme {
namespace {

constexpr const char* kUsage =
    "usage: acme-dnsd [-c FILE] cert list|issue|renew [NAME...]\n"
    "  list            the managed certificates, their expiry and next renewal\n"
    "  issue [NAME...] request the named certificates (default: all) now\n"
    "  renew [NAME...] renew the named certificates now; without names, those that are due\n"
    "The certificate of the API (tls = \"acme\") is named \"api\". A running `acme-dnsd serve`\n"
    "on the same configuration must answer DNS for the zone.\n";

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Where our DNS listens, as seen from this host.
std::optional<Endpoint> own_dns_endpoint(const Config& config) {
  for (const auto& endpoint : config.general.listen) {
    Endpoint out = endpoint;
    if (out.host.empty() || out.host == "0.0.0.0") out.host = "127.0.0.1";
    if (out.host == "::") out.host = "::1";
    if (out.port != 0) return out;
  }
  return std::nullopt;
}

// For dns-account-01: the label of our account and, per delegated name, the CNAME the
// operator creates (names inside the zone need none).
void print_dns_account(const Config& config, const CertificateJob& job) {
  if (job.challenge == "dns-01") return;
  if (job.challenge == "dns-persist-01") {
    // The record is written by the first order and kept; delegated names need a CNAME
    // to it, which does not depend on the ACME account.
    for (const auto& record : dns_persist_records(config)) {
      if (record.certificate != job.name) continue;
      if (record.target.empty()) {
        std::cout << "    " << record.owner << " (inside our zone: no record to create)\n";
      } else {
        std::cout << "    create: " << record.owner << " CNAME " << record.target << "\n";
      }
    }
    return;
  }
  const std::string account = stored_account_url_for(config, job.directory_url);
  if (account.empty()) {
    std::cout << "  dns-account-01: label known after the first order creates the ACME account\n";
    return;
  }
  std::cout << "  dns-account-01 label: _" << dns_account_label(account) << " (account " << account << ")\n";
  for (const auto& record : dns_account_records(config)) {
    if (record.certificate != job.name) continue;
    if (record.target.empty()) {
      std::cout << "    " << record.owner << " (inside our zone: no record to create)\n";
    } else {
      std::cout << "    create: " << record.owner << " CNAME " << record.target << "\n";
    }
  }
}

void print_list(const Config& config, CertificateManager& manager) {
  if (manager.jobs().empty()) {
    std::cout << "no certificates configured ([api] tls = \"acme\" or [[certificate]])\n";
    return;
  }
  for (const auto& job : manager.jobs()) {
    const RenewalPlan plan = manager.plan(job, false);
    std::cout << job.name << "\n  domains:";
    for (const auto& d : job.domains) std::cout << ' ' << d;
    std::cout << "\n  files:   " << job.cert_path << ", " << job.key_path << "\n";
    std::cout << "  challenge: " << job.challenge;
    if (!job.profile.empty()) std::cout << ", profile: " << job.profile;
    std::cout << "\n";
    print_dns_account(config, job);
    if (plan.current) {
      std::cout << "  expires: " << format_time(plan.current->not_after) << "\n";
    } else {
      std::cout << "  expires: (no certificate yet)\n";
    }
    std::cout << "  renew:   " << format_time(plan.due) << " (" << plan.reason << ")\n";
    if (const std::string holder = manager.lease_holder(job); !holder.empty()) {
      std::cout << "  ordering: another instance holds the lease: " << holder << "\n";
    }
    if (plan.state.failures > 0) {
      std::cout << "  failing: " << plan.state.failures
                << " consecutive, last error: " << plan.state.last_error << "\n";
    }
  }
}

}  // namespace

namespace {
int run(const Config& config, Store& store, const std::vector<std::string>& raw_args);
}  // namespace

int run_cert_command(const Config& config, Store& store, const std::vector<std::string>& raw_args) {
  try {
    return run(config, store, raw_args);
  } catch (const std::exception& e) {  // a broken invariant: report it, do not abort
    std::cerr << "acme-dnsd cert: internal error: " << e.what() << "\n";
    return 1;
  }
}

namespace {
int run(const Config& config, Store& store, const std::vector<std::string>& raw_args) {
  std::vector<std::string> args = raw_args;
  if (!args.empty() && args.front() == "cert") args.erase(args.begin());
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string action = args.front();
  const std::vector<std::string> names(args.begin() + 1, args.end());
  if (action != "list" && action != "issue" && action != "renew") {
    std::cerr << "acme-dnsd cert: unknown action \"" << action << "\"\n" << kUsage;
    return 2;
  }

  // The configured level applies here too, so `loglevel = "debug"` shows the CA exchange
  // (badNonce retries, polling) of a manual issuance; lines go to stdout, not the log file.
  log::set_level(config.log.loglevel);

  ManagerOptions options;
  options.clock = now_seconds;
  options.random01 = [] {
    return static_cast<double>(random_u64() >> 11U) / static_cast<double>(1ULL << 53U);
  };
  options.sleep = [](std::chrono::milliseconds delay) {
    std::this_thread::sleep_for(delay);
    return true;
  };
  options.visibility_check = own_dns_endpoint(config);
  CertificateManager manager(config, store, std::move(options));

  std::vector<const CertificateJob*> selected;
  for (const auto& name : names) {
    const CertificateJob* job = manager.find(name);
    if (job == nullptr) {
      std::cerr << "acme-dnsd cert: no certificate named \"" << name << "\" (see `acme-dnsd cert list`)\n";
      return 2;
    }
    selected.push_back(job);
  }
  if (action == "list") {
    print_list(config, manager);
    return 0;
  }
  if (selected.empty()) {
    for (const auto& job : manager.jobs()) selected.push_back(&job);
  }
  if (selected.empty()) {
    std::cerr << "acme-dnsd cert: no certificates configured ([api] tls = \"acme\" or [[certificate]])\n";
    return 2;
  }

  int failures = 0;
  for (const CertificateJob* job : selected) {
    if (action == "renew" && names.empty()) {
      const RenewalPlan plan = manager.plan(*job, true);
      if (plan.due > now_seconds()) {
        std::cout << job->name << ": not due until " << format_time(plan.due) << " (" << plan.reason << ")\n";
        continue;
      }
    }
    // Named, or `issue`: the operator wants a new certificate even if not due.
    const bool forced = action == "issue" || !names.empty();
    bool took_stored = false;
    auto issued = manager.attempt(*job, forced, &took_stored);
    if (issued) {
      std::cout << job->name
                << (took_stored ? ": another instance stored a new one; written to " : ": issued ")
                << job->cert_path << " (expires " << format_time(issued->not_after) << ")\n";
      continue;
    }
    ++failures;
    if (issued.error().code == "lease_busy" || issued.error().code == "not_due") {
      std::cerr << job->name << ": " << issued.error().message << "\n";
      continue;
    }
    const RenewalPlan plan = manager.plan(*job, false);
    std::cerr << job->name << ": " << issued.error().message << "\n"
              << "  the running server retries at " << format_time(plan.due) << " (after "
              << plan.state.failures << " consecutive failure(s)); `acme-dnsd cert issue " << job->name
              << "` retries now\n";
  }
  return failures == 0 ? 0 : 1;
}
}  // namespace

}  // namespace acmednsd::acme
