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

// The store name (relative to `zone`, lowercase, no trailing dot) that must hold the
// TXT value for `domain` ("*." stripped): "_acme-challenge[.<label>...]" for names inside
// the zone, else `challenge_subdomain` (the target of the domain's _acme-challenge CNAME).
Result<std::string> challenge_record_name(std::string_view domain, std::string_view zone,
                                          std::string_view challenge_subdomain);
// Whether `domain` ("*." stripped) is `zone` or below it.
bool is_inside_zone(std::string_view domain, std::string_view zone);

class ChallengePresenter {
 public:
  virtual ~ChallengePresenter() = default;
  virtual Status present(const std::string& name, const std::string& value) = 0;
  virtual Status cleanup(const std::string& name, const std::string& value) = 0;
};

// Writes through Store::add_txt_sync/remove_txt_sync: durable, and visible to this
// process's DNS listeners as soon as the call returns.
class StorePresenter final : public ChallengePresenter {
 public:
  explicit StorePresenter(Store& store) : store_(store) {}
  Status present(const std::string& name, const std::string& value) override;
  Status cleanup(const std::string& name, const std::string& value) override;

 private:
  Store& store_;
};

// Asks `resolver` ("host:port"; empty = /etc/resolv.conf) for _acme-challenge.<domain>
// CNAME and fails, naming the exact record to create, unless it points to `target`.
Status check_cname_delegation(std::string_view domain, std::string_view target, const std::string& resolver);

// TXT values at `fqdn` as `server` (an Endpoint of ours) answers them, without recursion.
Result<std::vector<std::string>> query_txt(const std::string& fqdn, const Endpoint& server);

}  // namespace acmednsd::acme
