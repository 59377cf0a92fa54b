// The embedded ACME client (RFC 8555): the plane's one public header.
//
// Obtains and renews certificates through DNS-01, presenting the challenge TXT values
// straight into the store (durable and visible to DNS at once). Used for the API's own
// certificate ([api] tls = "acme"/"letsencrypt"/"letsencryptstaging"), for the
// [[certificate]] entries of the config, and by `acme-dnsd cert ...`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "store/store.hpp"

namespace acmednsd::acme {

// Seams for tests: the clock (unix seconds) and the random draw (in [0, 1)) behind the
// renewal schedule. Unset members mean the system clock and the OS CSPRNG.
struct AcmeServiceOptions {
  std::function<std::int64_t()> clock;
  std::function<double()> random01;
};

class AcmeService {  // owns a background thread: the renewal scheduler
 public:
  // Fails (naming the certificate and key) when the certificates in `config` cannot be
  // issued as written: unknown key type, a domain outside the zone without
  // challenge_subdomain. Nothing is asked of the CA before start().
  static Result<std::unique_ptr<AcmeService>> create(const Config& config, Store& store);
  static Result<std::unique_ptr<AcmeService>> create(const Config& config, Store& store,
                                                     AcmeServiceOptions options);
  // Issues missing or expiring certificates now, then renews on schedule.
  virtual void start() = 0;
  // Prompt: interrupts waits and joins the thread.
  virtual void stop() = 0;
  // Called (on the service thread) after the API's own certificate was written; the app
  // routes it to HttpServer::reload_tls().
  virtual void on_api_certificate(std::function<void()> callback) = 0;
  virtual ~AcmeService() = default;
};

// Where the API certificate lives for the tls = acme modes (the HTTP plane reads them):
// <api.acme_cache_dir>/<general.domain>/fullchain.pem and .../privkey.pem.
std::string api_certificate_path(const Config& config);
std::string api_private_key_path(const Config& config);

// dns-account-01 (draft-ietf-acme-dns-account-label): what a [[certificate]] with
// challenge = "dns-account-01" or "auto" validates through, per name. `target` is the
// CNAME target the operator creates at `owner` for a delegated name ("" for names inside
// general.domain, which this server answers itself). Empty before the ACME account
// exists (its URL makes the label).
struct DnsAccountRecord {
  std::string certificate;
  std::string domain;
  std::string label;  // 16 base32 characters, without the leading "_"
  std::string owner;  // "_<label>._acme-challenge.<domain>." (wildcards: the base name)
  std::string target;
};
// Only the records for `domain` ("*." ignored) when it is not empty.
std::vector<DnsAccountRecord> dns_account_records(const Config& config, const std::string& domain = {});

// dns-persist-01 (draft-ietf-acme-dns-persist): per name of a [[certificate]] with
// challenge = "dns-persist-01", the record a CA asks (`owner`) and, for a delegated
// name, the CNAME target the operator creates there ("" inside general.domain). The
// target does not depend on the ACME account, so it can be created before the first order.
struct DnsPersistRecord {
  std::string certificate;
  std::string domain;
  std::string owner;       // "_validation-persist.<domain>." (wildcards: the base name)
  std::string target;      // "_validation-persist.<challenge_subdomain>.<general.domain>."
  std::string store_name;  // where our zone holds the TXT, relative to general.domain
};
std::vector<DnsPersistRecord> dns_persist_records(const Config& config, const std::string& domain = {});

// `acme-dnsd cert issue|list|renew [NAME...]`: prints to stdout/stderr and returns the
// process exit code.
int run_cert_command(const Config& config, Store& store, const std::vector<std::string>& args);

}  // namespace acmednsd::acme
