// Several instances on one PostgreSQL database behave as one ACME client: the account
// (per directory URL), every certificate with its key, and the retry/ARI state live in
// the database (store/acme_state_store.hpp), not under [acme] state_dir.
//
// An instance orders a certificate only while it holds the certificate's lease (a row:
// holder + expiry, kLeaseLength, renewed every kLeaseRenewal while it waits on the CA),
// and only after re-reading the stored certificate under the lease: if another instance
// stored a fresh one since this one decided to order, it takes that one instead. A
// crashed holder's lease runs out and the next instance whose schedule says "due" orders.
// Every instance copies the stored certificate to its own files (cert_path/key_path: its
// deploy_command and the API's TLS context read them) every kSharedPollInterval.
#include <unistd.h>

#include <set>

#include "acme_client/acme_service.hpp"
#include "acme_client/certificate_manager.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/renewal_schedule.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "store/acme_state_store.hpp"

namespace acmednsd::acme {
namespace {

bool same_domains(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::set<std::string> left;
  std::set<std::string> right;
  for (const auto& d : a) left.insert(to_lower_ascii(d));
  for (const auto& d : b) right.insert(to_lower_ascii(d));
  return left == right;
}

std::int64_t lease_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(kLeaseLength).count();
}

}  // namespace

LeaseDecision decide_under_lease(const std::string& planned_chain, const RenewalPlan& fresh, std::int64_t now,
                                 bool forced) {
  // Stored by someone else since we looked, and good for now: ordering again would only
  // spend the CA's rate limit on a second certificate.
  if (fresh.current && fresh.chain_pem != planned_chain && fresh.due > now) return LeaseDecision::take_stored;
  if (forced) return LeaseDecision::order;
  if (fresh.due > now) return fresh.current ? LeaseDecision::take_stored : LeaseDecision::not_due;
  return LeaseDecision::order;
}

std::string make_lease_holder() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  const std::uint64_t nonce = random_u64();
  return std::string(host) + ":" + std::to_string(getpid()) + ":" +
         hex_encode(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&nonce), 4));
}

std::string stored_account_url_for(const Config& config, const std::string& directory_url) {
  if (config.database.engine != "postgres") return stored_account_url(config.acme.state_dir, directory_url);
  auto db = AcmeStateStore::open(config.database.engine, config.database.connection);
  if (!db) return {};
  auto row = (*db)->account(directory_url);
  return row && *row ? (*row)->url : std::string();
}

Result<AcmeStateStore*> CertificateManager::shared_state() {
  if (!shared_) {
    auto opened = AcmeStateStore::open(config_.database.engine, config_.database.connection);
    if (!opened) return opened.error();
    shared_ = std::move(*opened);
  }
  return shared_.get();
}

std::string CertificateManager::account_url(const std::string& directory_url) {
  if (!shared_mode_) return stored_account_url(config_.acme.state_dir, directory_url);
  auto db = shared_state();
  if (!db) return {};
  auto row = (*db)->account(directory_url);
  return row && *row ? (*row)->url : std::string();
}

std::string CertificateManager::lease_holder(const CertificateJob& job) {
  if (!shared_mode_) return {};
  auto db = shared_state();
  if (!db) return {};
  auto lease = (*db)->lease(job.name);
  if (!lease || !*lease || (*lease)->expires_ms <= options_.clock() * 1000) return {};
  return (*lease)->holder + " until " + format_time((*lease)->expires_ms / 1000);
}

Result<AccountState> CertificateManager::load_account(const std::string& directory_url) {
  if (!shared_mode_) {
    return load_or_create_account(config_.acme.state_dir, directory_url, config_.acme.account_key_type);
  }
  auto db = shared_state();
  if (!db) return db.error();
  auto row = (*db)->account(directory_url);
  if (!row) return row.error();
  if (!*row) {
    const std::string& type = config_.acme.account_key_type;
    auto key = generate_private_key(
        type == "rsa2048" || type == "rsa3072" || type == "rsa4096" || type == "ec384" ? type : "ec256");
    if (!key) return key.error();
    const std::string pem = private_key_to_pem(key->get());
    // Instances starting together each generate a key; the first one stored is everyone's.
    auto stored = (*db)->add_account({directory_url, pem, ""});
    if (!stored) return stored.error();
    if (stored->key_pem == pem) {
      log::info("created an ACME account key in the shared database", {{"directory", directory_url}});
    }
    *row = std::move(*stored);
  }
  auto key = private_key_from_pem((*row)->key_pem);
  if (!key)
    return make_error("state", "the ACME account key in the database is unusable: " + key.error().message);
  AccountState account;
  account.key = std::move(*key);
  account.url = (*row)->url;
  return account;
}

Status CertificateManager::save_account(const AccountState& account, const std::string& directory_url) {
  if (!shared_mode_) return save_account_url(account, directory_url);
  auto db = shared_state();
  if (!db) return db.error();
  return (*db)->set_account_url(directory_url, account.url);
}

void CertificateManager::save_state(const CertificateJob& job, const CertificateState& state) {
  Status status = ok_status();
  if (!shared_mode_) {
    status = save_certificate_state(config_.acme.state_dir, job.name, state);
  } else if (auto db = shared_state(); !db) {
    status = db.error();
  } else {
    status = (*db)->put_certificate_state(job.name, certificate_state_json(state));
  }
  if (!status) log::warning("cannot save certificate state", {{"error", status.error().message}});
}

void CertificateManager::read_shared(const CertificateJob& job, RenewalPlan& plan) {
  auto db = shared_state();
  auto row = db ? (*db)->certificate(job.name) : Result<std::optional<AcmeCertificateRow>>(db.error());
  if (!row) {
    // Not "missing": ordering now would bypass the lease the database holds.
    plan.due = options_.clock() + kMinimumRetryDelay.count();
    plan.reason = "the shared database does not answer: " + row.error().message;
    return;
  }
  if (!*row) return;
  plan.state = parse_certificate_state((*row)->state, "database acme_certificates: " + job.name);
  if ((*row)->fullchain.empty() || (*row)->private_key.empty()) return;
  auto info = inspect_certificate_chain((*row)->fullchain);
  if (info && same_domains(info->dns_names, job.domains)) {
    plan.current = std::move(*info);
    plan.chain_pem = (*row)->fullchain;
  }
}

void CertificateManager::store_shared(const CertificateJob& job, const CertificateState& state) {
  auto chain = read_file(job.cert_path);  // what issue_certificate just wrote
  auto key = read_file(job.key_path);
  auto db = shared_state();
  Status status = ok_status();
  if (!chain || !key) {
    status = chain ? key.error() : chain.error();
  } else if (!db) {
    status = db.error();
  } else {
    status = (*db)->put_certificate(
        {job.name, *chain, *key, certificate_state_json(state), options_.clock() * 1000});
  }
  if (!status) {
    log::error(
        "cannot store the certificate in the shared database: the other instances will order their own",
        {{"certificate", job.name}, {"error", status.error().message}});
  }
}

std::function<bool(std::chrono::milliseconds)> CertificateManager::lease_keeping_sleep(
    const CertificateJob& job) {
  if (!shared_mode_) return options_.sleep;
  auto last = std::make_shared<std::int64_t>(options_.clock());
  return [this, name = job.name, last](std::chrono::milliseconds delay) {
    const std::int64_t now = options_.clock();
    if (now - *last >= kLeaseRenewal.count()) {
      *last = now;
      auto db = shared_state();
      auto lease =
          db ? (*db)->take_lease(name, holder_, now * 1000, lease_ms()) : Result<AcmeLease>(db.error());
      if (!lease) {
        log::warning("cannot renew the certificate's lease",
                     {{"certificate", name}, {"error", lease.error().message}});
      } else if (!lease->held) {
        // Ours ran out (a stall longer than kLeaseLength): finishing the order costs at
        // most one extra certificate, abandoning it would waste the validations.
        log::warning("the certificate's lease passed to another instance",
                     {{"certificate", name}, {"holder", lease->holder}});
      }
    }
    return options_.sleep(delay);
  };
}

Result<CertificateInfo> CertificateManager::attempt(const CertificateJob& job, bool forced,
                                                    bool* took_stored) {
  if (took_stored != nullptr) *took_stored = false;
  const RenewalPlan before = plan(job, false);
  if (!shared_mode_) return order(job, before);

  auto db = shared_state();
  if (!db) return make_error(db.error().code, "the shared database: " + db.error().message);
  auto lease = (*db)->take_lease(job.name, holder_, options_.clock() * 1000, lease_ms());
  if (!lease)
    return make_error(lease.error().code, "cannot take the certificate's lease: " + lease.error().message);
  if (!lease->held) {
    return make_error("lease_busy", "another instance (" + lease->holder +
                                        ") is ordering this certificate (lease until " +
                                        format_time(lease->expires_ms / 1000) + ")");
  }
  struct Release {
    AcmeStateStore& db;
    const std::string& name;
    const std::string& holder;
    ~Release() {
      if (auto s = db.release_lease(name, holder); !s) {
        log::warning("cannot release the certificate's lease (it expires by itself)",
                     {{"certificate", name}, {"error", s.error().message}});
      }
    }
  } release{**db, job.name, holder_};

  const RenewalPlan fresh = plan(job, false);  // what the others did before we held the lease
  switch (decide_under_lease(before.chain_pem, fresh, options_.clock(), forced)) {
    case LeaseDecision::take_stored:
      log::info("using the certificate stored by another instance",
                {{"certificate", job.name}, {"not_after", format_time(fresh.current->not_after)}});
      sync(job);
      if (took_stored != nullptr) *took_stored = true;
      return *fresh.current;
    case LeaseDecision::not_due:
      return make_error("not_due", "not due until " + format_time(fresh.due) + " (" + fresh.reason + ")");
    case LeaseDecision::order:
      break;
  }
  return order(job, fresh);
}

void CertificateManager::sync(const CertificateJob& job) {
  if (!shared_mode_) return;
  auto db = shared_state();
  if (!db) return;  // plan() reports it
  auto row = (*db)->certificate(job.name);
  if (!row) {
    // The files stay as they are and keep being served; nothing is ordered meanwhile
    // (plan() says "not due" while the database does not answer).
    log::warning("cannot read the shared certificate; serving this machine's copy",
                 {{"certificate", job.name}, {"error", row.error().message}});
    return;
  }
  if (!*row || (*row)->fullchain.empty()) {
    adopt_local_certificate(job);
    return;
  }
  const std::string& chain = (*row)->fullchain;
  const std::string& key = (*row)->private_key;
  auto info = inspect_certificate_chain(chain);
  // A stored certificate for other names (the config changed) is not served: plan()
  // finds it unusable and this instance orders one under the lease.
  if (!info || key.empty() || !same_domains(info->dns_names, job.domains)) return;
  auto local_chain = read_file(job.cert_path);
  auto local_key = read_file(job.key_path);
  if (!local_chain || *local_chain != chain || !local_key || *local_key != key) {
    // Key first: whoever reads the new chain finds its key beside it.
    for (const auto& [path, text] : {std::pair{&job.key_path, &key}, std::pair{&job.cert_path, &chain}}) {
      if (auto s = write_file_atomically(*path, *text, 0600); !s) {
        log::error("cannot write the certificate from the shared database",
                   {{"certificate", job.name}, {"error", s.error().message}});
        return;
      }
    }
    log::info(
        "certificate from the shared database written",
        {{"certificate", job.name}, {"path", job.cert_path}, {"not_after", format_time(info->not_after)}});
    run_deploy_command(job);
  }
  announce(job, chain);
}

void CertificateManager::announce(const CertificateJob& job, const std::string& chain) {
  std::string& announced = announced_[job.name];
  if (announced == chain) return;
  announced = chain;
  if (job.is_api_certificate && api_callback_) api_callback_();
}

// An instance moved from SQLite to the shared database keeps serving its certificate
// and stores it for the others, instead of every instance ordering a new one.
void CertificateManager::adopt_local_certificate(const CertificateJob& job) {
  auto chain = read_file(job.cert_path);
  auto key_pem = read_file(job.key_path);
  if (!chain || !key_pem) return;
  auto info = inspect_certificate_chain(*chain);
  auto key = private_key_from_pem(*key_pem);
  const std::int64_t now = options_.clock();
  if (!info || !key || info->not_after <= now || !same_domains(info->dns_names, job.domains) ||
      !certificate_matches_key(*chain, key->get())) {
    return;
  }
  auto db = shared_state();
  if (!db) return;
  auto lease = (*db)->take_lease(job.name, holder_, now * 1000, lease_ms());
  if (!lease || !lease->held) return;
  auto row = (*db)->certificate(job.name);
  if (row && (!*row || (*row)->fullchain.empty())) {
    const CertificateState state = load_certificate_state(config_.acme.state_dir, job.name);
    if (auto s =
            (*db)->put_certificate({job.name, *chain, *key_pem, certificate_state_json(state), now * 1000});
        s) {
      log::info("stored this machine's certificate in the shared database",
                {{"certificate", job.name}, {"not_after", format_time(info->not_after)}});
    }
  }
  (void)(*db)->release_lease(job.name, holder_);
}

}  // namespace acmednsd::acme
