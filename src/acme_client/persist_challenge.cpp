#include "acme_client/persist_challenge.hpp"

#include "acme_client/dns01_challenge.hpp"
#include "common/encoding.hpp"

namespace acmednsd::acme {

Result<std::string> persist_record_name(std::string_view domain, std::string_view zone,
                                        std::string_view challenge_subdomain) {
  auto name = challenge_record_name(domain, zone, challenge_subdomain, kPersistOwner);
  if (!name) return name.error();
  // challenge_record_name() answers the bare challenge_subdomain for a delegated name;
  // persist records sit one label below it, apart from the dns-01 values there.
  if (!is_inside_zone(domain, zone)) return std::string(kPersistOwner) + "." + *name;
  return name;
}

std::string persist_cname_target(std::string_view zone, std::string_view challenge_subdomain) {
  std::string apex = to_lower_ascii(zone);
  while (!apex.empty() && apex.back() == '.') apex.pop_back();
  return std::string(kPersistOwner) + "." + std::string(challenge_subdomain) + "." + apex + ".";
}

std::string persist_account_uri(std::string_view account_url, std::string_view account_hash_prefix,
                                std::string_view challenge_account_uri, std::string_view domain,
                                std::string_view canonical_jwk) {
  if (!challenge_account_uri.empty()) return std::string(challenge_account_uri);
  if (account_hash_prefix.empty()) return std::string(account_url);
  std::string input = to_lower_ascii(domain);
  if (input.starts_with("*.")) input.erase(0, 2);
  while (!input.empty() && input.back() == '.') input.pop_back();
  input.push_back('\0');
  input.append(canonical_jwk);
  input.append(account_url);
  return std::string(account_hash_prefix) + "sha-256/" + base64url_encode(sha256(input));
}

Result<std::string> persist_issuer(const Challenge& challenge,
                                   const std::vector<std::string>& caa_identities) {
  std::string issuer;
  if (!challenge.issuer_domain_names.empty()) {
    issuer = challenge.issuer_domain_names.front();
  } else if (!caa_identities.empty()) {
    issuer = caa_identities.front();
  } else {
    return make_error("persist",
                      "the CA names no issuer for dns-persist-01 (neither issuer-domain-names in "
                      "the challenge nor caaIdentities in its directory)");
  }
  issuer = to_lower_ascii(issuer);
  while (!issuer.empty() && issuer.back() == '.') issuer.pop_back();
  return issuer;
}

PersistMatch match_persist_records(const std::vector<std::string>& stored, const PersistValue& wanted,
                                   std::int64_t now) {
  bool expired = false;
  for (const auto& text : stored) {
    auto record = parse_persist_value(text);
    if (!record || record->issuer != wanted.issuer || record->account_uri != wanted.account_uri) continue;
    if (!persist_value_current(*record, now + kPersistUntilMargin)) {
      expired = true;
      continue;
    }
    if (wanted.wildcard && !record->wildcard) continue;  // replaced by one with the policy
    return PersistMatch::present;
  }
  return expired ? PersistMatch::expired : PersistMatch::absent;
}

}  // namespace acmednsd::acme
