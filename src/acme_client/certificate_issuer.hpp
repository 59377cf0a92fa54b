// The orchestrator: one order from newOrder to the PEM files on disk. Presents every
// DNS-01 value before asking the CA to validate any (the CA may check them in any order),
// cleans them up whatever happens, finalizes with a fresh (or reused) key, downloads the
// preferred chain and writes key and chain atomically.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acme_client/acme_session.hpp"
#include "acme_client/dns01_challenge.hpp"
#include "acme_client/x509_tools.hpp"
#include "common/result.hpp"
#include "config/config.hpp"

namespace acmednsd::acme {

struct CertificateJob {
  std::string name;
  std::vector<std::string> domains;
  std::string challenge_subdomain;
  std::string cert_path;
  std::string key_path;
  std::string key_type = "ec256";
  bool reuse_key = false;
  std::string preferred_chain;
  std::string deploy_command;
  std::string directory_url;
  bool is_api_certificate = false;
  std::string profile;               // the CA's profile name; "" = its default
  std::string challenge = "dns-01";  // dns-01 | dns-account-01 | dns-persist-01 | auto
  std::string where;                 // "config.toml:12: [[certificate]] www", for messages
};

struct IssueEnvironment {
  std::string zone;  // general.domain
  bool check_cnames = true;
  std::string resolver;  // for the CNAME check
  // Set when another process serves our DNS (the CLI beside a running daemon): wait
  // until that server answers the presented values before asking the CA to validate.
  std::optional<Endpoint> visibility_check;
  // Sleeps; returns false when the service is stopping.
  std::function<bool(std::chrono::milliseconds)> sleep;
  std::chrono::seconds max_wait{600};  // per polling phase
  // CNAME-delegated names reach us through the CA's recursive resolver, which may still
  // hold the RRset of a previous order at the shared target for one TTL: wait that out.
  std::chrono::seconds delegated_cache_wait{2};  // general.txt_ttl + 1
  // Several instances on one database: the CA may ask any of them, and each serves our
  // values once it has read the change log (milliseconds): wait this long before
  // asking the CA to validate. 0 = one instance.
  std::chrono::milliseconds shared_store_wait{0};
};

// The challenge type per domain ("*." stripped, lowercase): dns-01, dns-account-01, or
// auto (decided per authorization: dns-account-01 when the CA offers it).
using ChallengePlan = std::map<std::string, std::string>;

// Checks the job's names map to store names (and, for CNAME-delegated ones when
// asked, that the CNAMEs exist) before any request to the CA, and decides which
// challenge each name uses. `account_url` ("" when not known yet) names the
// dns-account-01 label; for `challenge = "auto"` a delegated name uses dns-account-01
// when its _<label>._acme-challenge CNAME exists, else dns-01.
Result<ChallengePlan> check_job(const CertificateJob& job, const IssueEnvironment& environment,
                                const std::string& account_url = {});

// `replaces`: ARI identifier of the certificate being renewed ("" for none).
Result<CertificateInfo> issue_certificate(AcmeSession& session, ChallengePresenter& presenter,
                                          const CertificateJob& job, const IssueEnvironment& environment,
                                          const std::string& replaces);

}  // namespace acmednsd::acme
