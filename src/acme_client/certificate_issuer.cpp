#include "acme_client/certificate_issuer.hpp"

#include <algorithm>

#include "acme_client/acme_problem.hpp"
#include "acme_client/acme_resources.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/jws.hpp"
#include "acme_client/persist_challenge.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"

namespace acmednsd::acme {
namespace {

constexpr std::string_view kDns01 = "dns-01";
constexpr std::string_view kDnsAccount01 = "dns-account-01";
constexpr std::string_view kDnsPersist01 = "dns-persist-01";
constexpr std::string_view kAuto = "auto";

std::string plan_key(std::string_view domain) {
  std::string out = to_lower_ascii(domain);
  if (out.starts_with("*.")) out.erase(0, 2);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// The challenge of `authorization` that `wanted` asks for; "auto" takes dns-account-01
// when the CA offers it. Null when the CA does not offer it.
const Challenge* pick_challenge(const Authorization& authorization, std::string_view wanted) {
  const auto find = [&](std::string_view type) -> const Challenge* {
    for (const auto& c : authorization.challenges) {
      if (c.type == type) return &c;
    }
    return nullptr;
  };
  if (wanted == kAuto) {
    const Challenge* account = find(kDnsAccount01);
    return account != nullptr ? account : find(kDns01);
  }
  return find(wanted);
}

std::string offered_types(const Authorization& authorization) {
  std::string out;
  for (const auto& c : authorization.challenges) out += (out.empty() ? "" : ", ") + c.type;
  return out.empty() ? "none" : out;
}

struct PresentedValue {
  std::string name;
  std::string value;
};

// Removes every presented value when the order ends, successful or not.
class PresentedValues {
 public:
  explicit PresentedValues(ChallengePresenter& presenter) : presenter_(presenter) {}
  PresentedValues(const PresentedValues&) = delete;
  PresentedValues& operator=(const PresentedValues&) = delete;
  ~PresentedValues() {
    for (const auto& presented : values_) {
      if (auto status = presenter_.cleanup(presented.name, presented.value); !status) {
        log::warning("could not remove a challenge TXT value",
                     {{"name", presented.name}, {"error", status.error().message}});
      }
    }
  }
  Status add(const std::string& name, const std::string& value) {
    if (auto status = presenter_.present(name, value); !status) return status;
    values_.push_back({name, value});
    return ok_status();
  }
  [[nodiscard]] const std::vector<PresentedValue>& values() const { return values_; }

 private:
  ChallengePresenter& presenter_;
  std::vector<PresentedValue> values_;
};

// Waits before the next poll: the CA's Retry-After when it sent one, else a short
// interval growing to 2 s. False when stopping or past the deadline.
bool wait_before_poll(AcmeSession& session, const IssueEnvironment& environment,
                      std::chrono::milliseconds& interval, std::chrono::steady_clock::time_point deadline) {
  auto delay = interval;
  if (auto hint = session.take_retry_after()) {
    delay = std::clamp<std::chrono::milliseconds>(*hint, std::chrono::milliseconds(100),
                                                  std::chrono::milliseconds(60000));
  }
  interval = std::min(interval * 2, std::chrono::milliseconds(2000));
  if (std::chrono::steady_clock::now() + delay > deadline) return false;
  return environment.sleep(delay);
}

Error stopped_or_timeout(const IssueEnvironment& environment, const std::string& what) {
  return make_error("timeout",
                    what + " did not finish within " + std::to_string(environment.max_wait.count()) + " s");
}

Result<Authorization> await_authorization(AcmeSession& session, const std::string& url,
                                          const IssueEnvironment& environment) {
  const auto deadline = std::chrono::steady_clock::now() + environment.max_wait;
  std::chrono::milliseconds interval(100);
  for (;;) {
    auto authorization = fetch_authorization(session, url);
    if (!authorization) return authorization.error();
    if (authorization->status != "pending" && authorization->status != "processing") {
      return authorization;
    }
    if (!wait_before_poll(session, environment, interval, deadline)) {
      return stopped_or_timeout(environment, "validation of " + authorization->domain);
    }
  }
}

Result<Order> await_order(AcmeSession& session, Order order, const std::vector<std::string>& until,
                          const IssueEnvironment& environment) {
  const auto deadline = std::chrono::steady_clock::now() + environment.max_wait;
  std::chrono::milliseconds interval(100);
  for (;;) {
    if (std::find(until.begin(), until.end(), order.status) != until.end()) return order;
    if (order.status == "invalid") {
      return make_error(
          "order", "the CA marked the order invalid" +
                       (order.error.is_object() ? ": " + problem::describe(order.error) : std::string()));
    }
    if (!wait_before_poll(session, environment, interval, deadline)) {
      return stopped_or_timeout(environment, "order " + order.url);
    }
    auto fresh = fetch_order(session, order.url);
    if (!fresh) return fresh.error();
    order = std::move(*fresh);
  }
}

// The CLI's store writes reach a running daemon's DNS index a moment later.
// Fails when nothing answers there: the CA could not validate either.
Status wait_until_served(const std::vector<PresentedValue>& values, const IssueEnvironment& environment) {
  if (!environment.visibility_check) return ok_status();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  const Endpoint& server = *environment.visibility_check;
  const std::string where =
      (server.host.empty() ? "127.0.0.1" : server.host) + ":" + std::to_string(server.port);
  for (const auto& value : values) {
    const std::string fqdn = value.name + "." + environment.zone + ".";
    for (;;) {
      auto served = query_txt(fqdn, server);
      if (served && std::find(served->begin(), served->end(), value.value) != served->end()) break;
      if (std::chrono::steady_clock::now() > deadline) {
        if (!served) {
          return make_error("dns", "our DNS server at " + where + " does not answer (" +
                                       served.error().message + "): is `acme-dnsd serve` running?");
        }
        log::warning("challenge value not yet served by our DNS; asking the CA anyway", {{"name", fqdn}});
        return ok_status();
      }
      if (!environment.sleep(std::chrono::milliseconds(100))) return make_error("stopped", "stopping");
    }
  }
  return ok_status();
}

bool retry_without_replaces(const Error& error) {
  // Not for rate limits (a second order would only count against them again) nor for
  // transport failures (no answer from the CA at all).
  return error.code.starts_with(problem::kPrefix) && error.code != problem::kRateLimited;
}

Result<EvpPkeyPtr> certificate_key(const CertificateJob& job) {
  if (job.reuse_key) {
    if (auto pem = read_file(job.key_path)) {
      if (auto key = private_key_from_pem(*pem)) return std::move(*key);
      log::warning("existing certificate key unreadable; generating a new one", {{"path", job.key_path}});
    }
  }
  return generate_private_key(job.key_type);
}

// dns-persist-01: the record `domain` validates through, written only when no stored
// record already authorizes this account (the point of the method: renewals write
// nothing). Returns the record written, or nullopt when none was needed.
Result<std::optional<PresentedValue>> ensure_persist_record(
    AcmeSession& session, ChallengePresenter& presenter, const Challenge& challenge,
    const std::string& domain, const CertificateJob& job, const IssueEnvironment& environment) {
  auto name = persist_record_name(domain, environment.zone, job.challenge_subdomain);
  if (!name) return name.error();
  auto issuer = persist_issuer(challenge, session.directory().caa_identities);
  if (!issuer) return issuer.error();
  const std::string canonical_jwk = [&] {
    auto jwk = public_jwk(session.account_key());
    return jwk ? jwk->dump() : std::string();  // RFC 7638 canonical form (see jwk_thumbprint)
  }();
  const auto account_uri_for = [&](const std::string& d) {
    return persist_account_uri(session.account_url(), session.directory().account_hash_prefix,
                               challenge.account_uri, d, canonical_jwk);
  };
  PersistValue wanted;
  wanted.issuer = *issuer;
  wanted.account_uri = account_uri_for(domain);
  // A record serves every name that maps to it with the same accounturi (all delegated
  // names of the certificate share one unless the accounturi is hashed per domain), so
  // it carries the wildcard policy when any of those names is a wildcard.
  wanted.wildcard = std::any_of(job.domains.begin(), job.domains.end(), [&](const std::string& d) {
    if (!d.starts_with("*.")) return false;
    auto other = persist_record_name(d, environment.zone, job.challenge_subdomain);
    return other && *other == *name && account_uri_for(d) == wanted.account_uri;
  });
  auto stored = presenter.persistent_values(*name);
  if (!stored)
    return make_error("store",
                      "cannot read the dns-persist-01 records at " + *name + ": " + stored.error().message);
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const std::string fqdn = *name + "." + environment.zone;
  switch (match_persist_records(*stored, wanted, now)) {
    case PersistMatch::present:
      log::debug("dns-persist-01 record already in place", {{"domain", domain}, {"name", fqdn}});
      return std::optional<PresentedValue>();
    case PersistMatch::expired:
      return make_error("persist",
                        domain + ": the dns-persist-01 record at " + fqdn + " for " + wanted.issuer +
                            " and this account has a persistUntil that has passed (or passes within " +
                            std::to_string(kPersistUntilMargin) +
                            " s); its owner chose that: remove or renew the record (DELETE or POST "
                            "/persist, or `acme-dnsd accounts persist`)");
    case PersistMatch::absent:
      break;
  }
  const std::string text = format_persist_value(wanted);
  if (auto status = presenter.put_persistent(*name, text); !status) {
    return make_error("store",
                      "cannot write the dns-persist-01 record for " + domain + ": " + status.error().message);
  }
  log::info("dns-persist-01 record written", {{"domain", domain}, {"name", fqdn}, {"value", text}});
  return std::optional<PresentedValue>(PresentedValue{*name, text});
}

}  // namespace

Result<ChallengePlan> check_job(const CertificateJob& job, const IssueEnvironment& environment,
                                const std::string& account_url) {
  if (job.domains.empty()) return make_error("config", "certificate " + job.name + " has no domains");
  if (!is_valid_key_type(job.key_type)) {
    return make_error("config", "certificate " + job.name + ": unknown key_type " + job.key_type);
  }
  if (job.challenge != kDns01 && job.challenge != kDnsAccount01 && job.challenge != kDnsPersist01 &&
      job.challenge != kAuto) {
    return make_error("config", "certificate " + job.name + ": unknown challenge " + job.challenge);
  }
  ChallengePlan plan;
  const std::string target = job.challenge_subdomain + "." + environment.zone;
  const std::string account_owner = account_url.empty() ? std::string() : dns_account_owner(account_url);
  for (const auto& domain : job.domains) {
    auto name = challenge_record_name(domain, environment.zone, job.challenge_subdomain);
    if (!name) return make_error("config", "certificate " + job.name + ": " + name.error().message);
    const std::string key = plan_key(domain);
    std::string type = job.challenge;
    const bool delegated = !is_inside_zone(domain, environment.zone);
    if (delegated && environment.check_cnames) {
      const auto cname_error = [&](const Error& e) {
        return make_error("cname", "certificate " + job.name + ": " + e.message);
      };
      if (type == kDns01) {
        if (auto status = check_cname_delegation(domain, target, environment.resolver); !status)
          return cname_error(status.error());
      } else if (type == kDnsPersist01) {
        const std::string persist_target = persist_cname_target(environment.zone, job.challenge_subdomain);
        if (auto status = check_cname_delegation(domain, persist_target, environment.resolver, kPersistOwner);
            !status)
          return cname_error(status.error());
      } else if (!account_owner.empty()) {
        auto by_account = check_cname_delegation(domain, target, environment.resolver, account_owner);
        if (by_account) {
          type = kDnsAccount01;
        } else if (type == kDnsAccount01) {
          return cname_error(by_account.error());
        } else if (auto status = check_cname_delegation(domain, target, environment.resolver); status) {
          type = kDns01;
        } else {
          return cname_error(
              Error{"cname", by_account.error().message + "; or, for dns-01, " + status.error().message});
        }
      }
    }
    plan[key] = type;
  }
  return plan;
}

Result<CertificateInfo> issue_certificate(AcmeSession& session, ChallengePresenter& presenter,
                                          const CertificateJob& job, const IssueEnvironment& environment,
                                          const std::string& replaces) {
  auto plan = check_job(job, environment, session.account_url());
  if (!plan) return plan.error();
  if (auto status = check_profile(session.directory(), job.profile, job.where); !status)
    return status.error();
  auto order = new_order(session, job.domains, replaces, job.profile);
  if (!order && !replaces.empty() && retry_without_replaces(order.error())) {
    // RFC 9773 5: alreadyReplaced means another order (ours, from an earlier run or the
    // CLI) already renews this certificate; a CA may also refuse an identifier it does
    // not know. The new certificate still matters more than the link to the old one.
    log::info(order.error().code == problem::kAlreadyReplaced
                  ? "the CA says this certificate was already replaced; ordering without replaces"
                  : "newOrder with replaces failed; retrying without",
              {{"certificate", job.name}, {"replaces", replaces}, {"error", order.error().message}});
    order = new_order(session, job.domains, "", job.profile);
  }
  if (!order) return order.error();

  const std::string thumbprint = [&] {
    auto jwk = public_jwk(session.account_key());
    return jwk ? jwk_thumbprint(*jwk) : std::string();
  }();
  std::vector<std::pair<Challenge, std::string>> to_validate;  // challenge, domain
  PresentedValues presented(presenter);
  std::vector<PresentedValue> persist_written;  // dns-persist-01 records this order wrote
  int already_valid = 0;                        // authorizations the CA reused
  for (const auto& url : order->authorizations) {
    auto authorization = fetch_authorization(session, url);
    if (!authorization) return authorization.error();
    if (authorization->status == "valid") {  // the CA reused an earlier validation
      ++already_valid;
      continue;
    }
    if (authorization->status != "pending") {
      return make_error("authorization",
                        authorization->domain + ": authorization is " + authorization->status);
    }
    const auto wanted = plan->find(plan_key(authorization->domain));
    const std::string type = wanted == plan->end() ? std::string(kDns01) : wanted->second;
    const Challenge* challenge = pick_challenge(*authorization, type);
    if (challenge == nullptr) {
      return make_error("authorization", authorization->domain + ": the CA offers no " + type +
                                             " challenge (it offers " + offered_types(*authorization) + ")");
    }
    const std::string domain = (authorization->wildcard ? "*." : "") + authorization->domain;
    if (challenge->type == kDnsPersist01) {
      auto written = ensure_persist_record(session, presenter, *challenge, domain, job, environment);
      if (!written) return written.error();
      if (*written) persist_written.push_back(std::move(**written));
      to_validate.emplace_back(*challenge, authorization->url);
      continue;
    }
    const std::string owner = challenge->type == kDnsAccount01 ? dns_account_owner(session.account_url())
                                                               : std::string(kDns01Owner);
    auto name = challenge_record_name(domain, environment.zone, job.challenge_subdomain, owner);
    if (!name) return name.error();
    const std::string value = dns01_txt_value(key_authorization(challenge->token, thumbprint));
    if (auto status = presented.add(*name, value); !status) {
      return make_error("store",
                        "cannot present the challenge for " + domain + ": " + status.error().message);
    }
    log::debug("presenting a challenge", {{"domain", domain}, {"type", challenge->type}, {"name", *name}});
    to_validate.emplace_back(*challenge, authorization->url);
  }
  if (!to_validate.empty()) {
    std::map<std::string, int> by_type;
    for (const auto& [challenge, url] : to_validate) ++by_type[challenge.type];
    std::vector<std::pair<std::string, std::string>> fields{{"certificate", job.name}};
    for (const auto& [type, count] : by_type) fields.emplace_back(type, std::to_string(count));
    // The proof that a repeat dns-persist-01 order needed no DNS write.
    if (by_type.contains(std::string(kDnsPersist01))) {
      fields.emplace_back("persist_records_written", std::to_string(persist_written.size()));
    }
    if (already_valid > 0) fields.emplace_back("already_valid", std::to_string(already_valid));
    log::info("challenges presented", fields);
  }
  std::vector<PresentedValue> to_check = presented.values();
  to_check.insert(to_check.end(), persist_written.begin(), persist_written.end());
  if (auto served = wait_until_served(to_check, environment); !served) return served.error();
  const bool delegated = std::any_of(job.domains.begin(), job.domains.end(), [&](const std::string& d) {
    return !is_inside_zone(d, environment.zone);
  });
  // Only a fresh write can be hidden by a resolver's cache of the shared target.
  if (delegated && !to_check.empty() && !environment.sleep(environment.delegated_cache_wait)) {
    return make_error("stopped", "stopping");
  }
  if (!to_check.empty() && environment.shared_store_wait.count() > 0 &&
      !environment.sleep(environment.shared_store_wait)) {
    return make_error("stopped", "stopping");
  }

  for (const auto& [challenge, authorization_url] : to_validate) {
    if (auto status = respond_to_challenge(session, challenge); !status) return status.error();
  }
  for (const auto& [challenge, authorization_url] : to_validate) {
    auto done = await_authorization(session, authorization_url, environment);
    if (!done) return done.error();
    if (done->status != "valid") {
      std::string detail = "authorization " + done->status;
      for (const auto& c : done->challenges) {
        if (c.type == challenge.type && c.error.is_object()) detail = problem::describe(c.error);
      }
      return make_error("challenge", done->domain + ": " + challenge.type + " validation failed: " + detail);
    }
  }

  auto ready = await_order(session, std::move(*order), {"ready", "valid"}, environment);
  if (!ready) return ready.error();
  auto key = certificate_key(job);
  if (!key) return key.error();
  if (ready->status == "ready") {
    auto csr = make_csr(key->get(), job.domains);
    if (!csr) return csr.error();
    auto finalized = finalize_order(session, *ready, *csr);
    if (!finalized) return finalized.error();
    ready = await_order(session, std::move(*finalized), {"valid"}, environment);
    if (!ready) return ready.error();
  }
  if (ready->certificate.empty()) return make_error("protocol", "valid order without certificate URL");
  auto chain = download_certificate(session, ready->certificate, job.preferred_chain);
  if (!chain) return chain.error();
  auto info = inspect_certificate_chain(*chain);
  if (!info)
    return make_error("certificate", "the CA returned no usable certificate: " + info.error().message);
  if (!certificate_matches_key(*chain, key->get())) {
    return make_error("certificate", "the issued certificate does not match our key");
  }
  if (auto status = write_file_atomically(job.key_path, private_key_to_pem(key->get()), 0600); !status) {
    return status.error();
  }
  if (auto status = write_file_atomically(job.cert_path, *chain, 0600); !status) return status.error();
  return info;
}

}  // namespace acmednsd::acme
