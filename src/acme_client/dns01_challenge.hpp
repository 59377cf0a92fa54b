// DNS-01 presentation (RFC 8555 section 8.4) through our own zone: where a domain's
// challenge TXT lives in the store, the presenter that writes it, and the DNS lookups
// that check a CNAME delegation and that a value is served.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace acmednsd {
class Store;
}

namespace acmednsd::acme {

inline constexpr std::string_view kDns01Owner = "_acme-challenge";

// dns-account-01 (draft-ietf-acme-dns-account-label section 3.1): the account's label,
// base32 (RFC 4648, lowercase, no padding) of the first 10 bytes of SHA-256 of the
// account URL: 16 characters, so one CA account gets one validation name per domain.
std::string dns_account_label(std::string_view account_url);
// "_<label>._acme-challenge": the owner prefix dns-account-01 validates under.
std::string dns_account_owner(std::string_view account_url);

// The store name (relative to `zone`, lowercase, no trailing dot) that must hold the
// TXT value for `domain` ("*." stripped): "<owner>[.<label>...]" for names inside the
// zone, else `challenge_subdomain` (the target of the domain's <owner> CNAME). `owner`
// is "_acme-challenge" (dns-01) or dns_account_owner() (dns-account-01).
Result<std::string> challenge_record_name(std::string_view domain, std::string_view zone,
                                          std::string_view challenge_subdomain,
                                          std::string_view owner = kDns01Owner);
// Whether `domain` ("*." stripped) is `zone` or below it.
bool is_inside_zone(std::string_view domain, std::string_view zone);

class ChallengePresenter {
 public:
  virtual ~ChallengePresenter() = default;
  virtual Status present(const std::string& name, const std::string& value) = 0;
  virtual Status cleanup(const std::string& name, const std::string& value) = 0;
  // dns-persist-01: the record texts stored at `name`, and a durable write that
  // replaces the record of the same issuer and accounturi (never cleaned up).
  virtual Result<std::vector<std::string>> persistent_values(const std::string& name) = 0;
  virtual Status put_persistent(const std::string& name, const std::string& value) = 0;
};

// Writes through Store::add_txt_sync/remove_txt_sync: durable, and visible to this
// process's DNS listeners as soon as the call returns.
class StorePresenter final : public ChallengePresenter {
 public:
  explicit StorePresenter(Store& store) : store_(store) {}
  Status present(const std::string& name, const std::string& value) override;
  Status cleanup(const std::string& name, const std::string& value) override;
  Result<std::vector<std::string>> persistent_values(const std::string& name) override;
  Status put_persistent(const std::string& name, const std::string& value) override;

 private:
  Store& store_;
};

// Asks `resolver` ("host:port"; empty = /etc/resolv.conf) for <owner>.<domain> CNAME and
// fails, naming the exact record to create, unless it points to `target`.
Status check_cname_delegation(std::string_view domain, std::string_view target, const std::string& resolver,
                              std::string_view owner = kDns01Owner);

// TXT values at `fqdn` as `server` (an Endpoint of ours) answers them, without recursion.
Result<std::vector<std::string>> query_txt(const std::string& fqdn, const Endpoint& server);

}  // namespace acmednsd::acme
