#include "acme_client/certificate_manager.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <set>
#include <thread>

#include "acme_client/acme_problem.hpp"
#include "acme_client/acme_resources.hpp"
#include "acme_client/acme_service.hpp"
#include "acme_client/persist_challenge.hpp"
#include "acme_client/renewal_schedule.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"

extern char** environ;  // NOLINT: POSIX

namespace acmednsd::acme {
namespace {

constexpr std::chrono::seconds kDeployTimeout{300};

std::set<std::string> domain_set(const std::vector<std::string>& domains) {
  std::set<std::string> out;
  for (const auto& d : domains) out.insert(to_lower_ascii(d));
  return out;
}

std::string directory_for_api(const Config& config) {
  if (config.api.tls == TlsMode::letsencrypt) return letsencrypt_directory(false);
  if (config.api.tls == TlsMode::letsencryptstaging) return letsencrypt_directory(true);
  return config.acme.directory;
}

}  // namespace

struct CertificateManager::CaSession {
  std::unique_ptr<HttpsClient> http;
  AccountState account;
  std::unique_ptr<AcmeSession> session;
  bool directory_loaded = false;
};

std::string letsencrypt_directory(bool staging) {
  return staging ? "https://acme-staging-v02.api.letsencrypt.org/directory"
                 : "https://acme-v02.api.letsencrypt.org/directory";
}

std::string format_time(std::int64_t unix_seconds) {
  const std::time_t t = unix_seconds;
  std::tm parts{};
  gmtime_r(&t, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::vector<CertificateJob> jobs_from_config(const Config& config) {
  std::vector<CertificateJob> jobs;
  const TlsMode mode = config.api.tls;
  if (mode == TlsMode::acme || mode == TlsMode::letsencrypt || mode == TlsMode::letsencryptstaging) {
    CertificateJob api;
    api.name = "api";
    api.domains = {config.general.domain};
    api.cert_path = api_certificate_path(config);
    api.key_path = api_private_key_path(config);
    api.directory_url = directory_for_api(config);
    api.is_api_certificate = true;
    api.where = "[api] tls";
    jobs.push_back(std::move(api));
  }
  for (const auto& entry : config.certificates) {
    CertificateJob job;
    job.name =
        entry.name.empty() ? (entry.domains.empty() ? "certificate" : entry.domains.front()) : entry.name;
    job.domains = entry.domains;
    job.challenge_subdomain = entry.challenge_subdomain;
    const std::string folder = config.acme.state_dir + "/certificates/" + job.name;
    job.cert_path = entry.cert_path.empty() ? folder + "/fullchain.pem" : entry.cert_path;
    job.key_path = entry.key_path.empty() ? folder + "/privkey.pem" : entry.key_path;
    job.key_type = entry.key_type;
    job.reuse_key = entry.reuse_key;
    job.preferred_chain = entry.preferred_chain;
    job.deploy_command = entry.deploy_command;
    job.directory_url = config.acme.directory;
    job.profile = entry.profile;
    job.challenge = entry.challenge;
    job.where = (config.source_path.empty() ? std::string("config") : config.source_path) + ":" +
                std::to_string(entry.line) + ": [[certificate]] " + job.name;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::vector<DnsAccountRecord> dns_account_records(const Config& config, const std::string& domain) {
  std::vector<DnsAccountRecord> out;
  const std::string wanted = to_lower_ascii(domain.starts_with("*.") ? domain.substr(2) : domain);
  std::set<std::string> seen;
  for (const auto& job : jobs_from_config(config)) {
    if (job.challenge == "dns-01" || job.challenge == "dns-persist-01") continue;
    const std::string account = stored_account_url_for(config, job.directory_url);
    if (account.empty()) continue;
    for (const auto& name : job.domains) {
      const std::string base = to_lower_ascii(name.starts_with("*.") ? name.substr(2) : name);
      if (!wanted.empty() && base != wanted) continue;
      if (!seen.insert(job.name + "/" + base).second) continue;  // "x" and "*.x" share one record
      DnsAccountRecord record;
      record.certificate = job.name;
      record.domain = base;
      record.label = dns_account_label(account);
      record.owner = dns_account_owner(account) + "." + base + ".";
      if (!is_inside_zone(base, config.general.domain) && !job.challenge_subdomain.empty()) {
        record.target = job.challenge_subdomain + "." + config.general.domain + ".";
      }
      out.push_back(std::move(record));
    }
  }
  return out;
}

std::vector<DnsPersistRecord> dns_persist_records(const Config& config, const std::string& domain) {
  std::vector<DnsPersistRecord> out;
  const std::string wanted = to_lower_ascii(domain.starts_with("*.") ? domain.substr(2) : domain);
  std::set<std::string> seen;
  for (const auto& job : jobs_from_config(config)) {
    if (job.challenge != "dns-persist-01") continue;
    for (const auto& name : job.domains) {
      const std::string base = to_lower_ascii(name.starts_with("*.") ? name.substr(2) : name);
      if (!wanted.empty() && base != wanted) continue;
      if (!seen.insert(job.name + "/" + base).second) continue;
      auto store_name = persist_record_name(base, config.general.domain, job.challenge_subdomain);
      if (!store_name) continue;  // check_job() reports it before any order
      DnsPersistRecord record{job.name, base, std::string(kPersistOwner) + "." + base + ".", "", *store_name};
      if (!is_inside_zone(base, config.general.domain)) {
        record.target = persist_cname_target(config.general.domain, job.challenge_subdomain);
      }
      out.push_back(std::move(record));
    }
  }
  return out;
}

CertificateManager::CertificateManager(const Config& config, Store& store, ManagerOptions options)
    : config_(config), store_(store), options_(std::move(options)), jobs_(jobs_from_config(config)) {
  shared_ = options_.shared;
  shared_mode_ = shared_ != nullptr || config.database.engine == "postgres";
  holder_ = options_.holder.empty() ? make_lease_holder() : options_.holder;
}

CertificateManager::~CertificateManager() = default;

const CertificateJob* CertificateManager::find(const std::string& name) const {
  for (const auto& job : jobs_) {
    if (job.name == name) return &job;
  }
  return nullptr;
}

Result<CertificateManager::CaSession*> CertificateManager::session_for(const std::string& directory_url,
                                                                       bool with_account) {
  auto& slot = sessions_[directory_url];
  if (!slot) {
    auto account = load_account(directory_url);
    if (!account) return account.error();
    HttpsOptions http_options;
    http_options.ca_bundle = config_.acme.ca_bundle;
    http_options.stop_requested = options_.stop_requested;
    auto http = HttpsClient::create(http_options);
    if (!http) return http.error();
    auto fresh = std::make_unique<CaSession>();
    fresh->http = std::move(*http);
    fresh->account = std::move(*account);
    fresh->session = std::make_unique<AcmeSession>(*fresh->http, directory_url, fresh->account.key.get());
    slot = std::move(fresh);
  }
  CaSession* ca = slot.get();
  if (!ca->directory_loaded) {
    if (auto status = ca->session->load_directory(); !status) return status.error();
    ca->directory_loaded = true;
  }
  if (with_account && ca->session->account_url().empty()) {
    if (ca->account.url.empty()) {
      AccountRequest request{config_.acme.email.empty() ? config_.api.notification_email : config_.acme.email,
                             config_.acme.agree_terms, config_.acme.eab_kid, config_.acme.eab_hmac_key};
      auto url = find_or_create_account(*ca->session, request);
      if (!url) return make_error(url.error().code, "ACME account: " + url.error().message);
      ca->account.url = *url;
      if (auto status = save_account(ca->account, directory_url); !status) return status.error();
      log::info("using ACME account", {{"directory", directory_url}, {"account", *url}});
    }
    ca->session->set_account_url(ca->account.url);
  }
  return ca;
}

RenewalPlan CertificateManager::plan(const CertificateJob& job, bool ask_ca) {
  RenewalPlan plan;
  const std::int64_t now = options_.clock();
  if (shared_mode_) {
    read_shared(job, plan);
    if (plan.due != 0) return plan;  // the database did not answer
  } else {
    plan.state = load_certificate_state(config_.acme.state_dir, job.name);
    if (auto pem = read_file(job.cert_path)) {
      auto info = inspect_certificate_chain(*pem);
      if (info && domain_set(info->dns_names) == domain_set(job.domains) && read_file(job.key_path)) {
        plan.current = std::move(*info);
        plan.chain_pem = std::move(*pem);
      }
    }
  }
  if (!plan.current) {
    plan.due = now;
    plan.reason = "no usable certificate for these domains";
  } else {
    if (ask_ca) refresh_renewal_info(job, *plan.current, plan.state);
    const auto& ari = plan.state.ari;
    if (ari && ari->cert_id == plan.current->ari_cert_id && ari->chosen_time > 0) {
      plan.due = ari->chosen_time;
      plan.reason = "in the CA's renewal window (ARI)";
    } else {
      plan.due = renewal_time_by_lifetime(plan.current->not_before, plan.current->not_after);
      plan.reason = "one third of its lifetime left";
    }
  }
  if (plan.state.failures > 0 && plan.state.next_retry > plan.due) {
    plan.due = plan.state.next_retry;
    plan.reason =
        "retry after " + std::to_string(plan.state.failures) + " failure(s): " + plan.state.last_error;
  }
  return plan;
}

void CertificateManager::refresh_renewal_info(const CertificateJob& job, const CertificateInfo& current,
                                              CertificateState& state) {
  if (current.ari_cert_id.empty()) return;
  const std::int64_t now = options_.clock();
  if (state.ari && state.ari->cert_id == current.ari_cert_id && now < state.ari->refetch_after) return;
  auto ca = session_for(job.directory_url, false);
  if (!ca || (*ca)->session->directory().renewal_info.empty()) return;
  (*ca)->session->take_retry_after();  // only this reply's Retry-After counts
  auto window = fetch_renewal_info(*(*ca)->session, current.ari_cert_id);
  const auto hint = (*ca)->session->take_retry_after();
  AriState ari = state.ari && state.ari->cert_id == current.ari_cert_id ? *state.ari : AriState{};
  ari.cert_id = current.ari_cert_id;
  ari.refetch_after = now + renewal_info_refetch_delay(hint, window.ok()).count();
  if (!window) {
    // Keep the window of an earlier answer, if any; else the lifetime rule applies.
    log::warning("renewalInfo unusable; asking again later",
                 {{"certificate", job.name},
                  {"error", window.error().message},
                  {"next_attempt", format_time(ari.refetch_after)}});
  } else {
    const bool moved = ari.window_start != window->start || ari.window_end != window->end;
    ari.window_start = window->start;
    ari.window_end = window->end;
    ari.fetched_at = now;
    if (moved || ari.chosen_time == 0) {
      // RFC 9773 4.2: a uniformly random point of the window, chosen again only when
      // the CA moves the window.
      ari.chosen_time = renewal_time_in_window(window->start, window->end, options_.random01(), now);
      log::info("renewal window from the CA", {{"certificate", job.name},
                                               {"start", format_time(window->start)},
                                               {"end", format_time(window->end)},
                                               {"renew_at", format_time(ari.chosen_time)},
                                               {"explanation", window->explanation_url}});
    }
  }
  state.ari = ari;
  save_state(job, state);
}

Result<CertificateInfo> CertificateManager::order(const CertificateJob& job, const RenewalPlan& before) {
  CertificateState state = before.state;
  const std::int64_t started = options_.clock();
  state.last_attempt = started;

  Result<CertificateInfo> outcome = make_error("internal", "not attempted");
  std::optional<std::chrono::seconds> retry_after;
  auto ca = session_for(job.directory_url, true);
  if (!ca) {
    outcome = ca.error();
  } else {
    StorePresenter presenter(store_);
    IssueEnvironment environment;
    if (shared_mode_) environment.shared_store_wait = kSharedPropagationWait;
    environment.zone = config_.general.domain;
    environment.check_cnames = config_.acme.check_cnames;
    environment.resolver = config_.acme.resolver;
    environment.visibility_check = options_.visibility_check;
    environment.sleep = lease_keeping_sleep(job);
    environment.delegated_cache_wait = std::chrono::seconds(config_.general.txt_ttl + 1);
    const bool offers_ari = !(*ca)->session->directory().renewal_info.empty();
    const std::string replaces = before.current && offers_ari ? before.current->ari_cert_id : "";
    log::info("requesting a certificate",
              {{"certificate", job.name}, {"domains", std::to_string(job.domains.size())}});
    outcome = issue_certificate(*(*ca)->session, presenter, job, environment, replaces);
    retry_after = (*ca)->session->take_retry_after();
    if (!outcome && outcome.error().code == problem::kAccountDoesNotExist) {
      (*ca)->account.url.clear();  // the CA forgot us: look the account up again next time
      (*ca)->session->set_account_url("");
    }
  }

  if (outcome) {
    state = CertificateState{};
    state.last_attempt = started;
    state.last_success = options_.clock();
    log::info(
        "certificate issued",
        {{"certificate", job.name}, {"path", job.cert_path}, {"not_after", format_time(outcome->not_after)}});
  } else {
    state.failures += 1;
    const auto delay = retry_delay(state.failures, options_.random01(), retry_after);
    state.next_retry = options_.clock() + delay.count();
    state.last_error = outcome.error().message;
    log::error("certificate request failed", {{"certificate", job.name},
                                              {"error", outcome.error().message},
                                              {"failures", std::to_string(state.failures)},
                                              {"next_attempt", format_time(state.next_retry)}});
  }
  if (shared_mode_ && outcome) {
    store_shared(job, state);  // chain, key and state together
  } else {
    save_state(job, state);
  }
  if (outcome) {
    run_deploy_command(job);
    if (auto chain = read_file(job.cert_path)) announced_[job.name] = *chain;
    if (job.is_api_certificate && api_callback_) api_callback_();
  }
  return outcome;
}

void CertificateManager::run_deploy_command(const CertificateJob& job) const {
  if (job.deploy_command.empty()) return;
  std::vector<std::string> environment_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) environment_strings.emplace_back(*entry);
  environment_strings.push_back("ACMEDNSD_CERT_NAME=" + job.name);
  environment_strings.push_back("ACMEDNSD_CERT_PATH=" + job.cert_path);
  environment_strings.push_back("ACMEDNSD_KEY_PATH=" + job.key_path);
  std::string domains;
  for (const auto& d : job.domains) domains += (domains.empty() ? "" : " ") + d;
  environment_strings.push_back("ACMEDNSD_DOMAINS=" + domains);
  std::vector<char*> envp;
  for (auto& s : environment_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::string flag = "-c";
  std::string command = job.deploy_command;
  std::vector<char*> argv{shell.data(), flag.data(), command.data(), nullptr};

  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), envp.data()) != 0) {
    log::error("cannot start deploy_command", {{"certificate", job.name}});
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + kDeployTimeout;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);  // our own child, by its PID
      waitpid(pid, &status, 0);
      log::error("deploy_command timed out and was killed", {{"certificate", job.name}});
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code == 0) {
    log::info("deploy_command succeeded", {{"certificate", job.name}});
  } else {
    log::error("deploy_command failed", {{"certificate", job.name}, {"exit_code", std::to_string(code)}});
  }
}

}  // namespace acmednsd::acme
