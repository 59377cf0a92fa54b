// dns-persist-01 (draft-ietf-acme-dns-persist) on the client side: which record a name
// validates through, what it must say, and whether the one already stored will do. The
// record is written once; later orders find it and write nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme_client/acme_resources.hpp"
#include "common/persist_value.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

inline constexpr std::string_view kPersistOwner = "_validation-persist";

// The store name (relative to `zone`) of the record for `domain` ("*." stripped):
// "_validation-persist[.<labels>]" inside the zone, else
// "_validation-persist.<challenge_subdomain>", which the operator's
// `_validation-persist.<domain> CNAME` points to (persist_cname_target()).
Result<std::string> persist_record_name(std::string_view domain, std::string_view zone,
                                        std::string_view challenge_subdomain);
// "_validation-persist.<challenge_subdomain>.<zone>." (absolute).
std::string persist_cname_target(std::string_view zone, std::string_view challenge_subdomain);

// The accounturi the CA matches for `domain` (the identifier, without "*."):
// - the challenge's own "accounturi" when the CA sends one;
// - else, when the directory announces accountHashPrefix (draft-02), the hashed form
//   prefix + "sha-256/" + base64url(SHA-256(domain || 0x00 || key || account URL)), where
//   key is the account's public JWK in RFC 7638 canonical JSON (`canonical_jwk`). This
//   follows the construction under review in ietf-wg-acme/draft-ietf-acme-dns-persist
//   PR #67 (the draft-02 text itself was not readable here): it differs per domain;
// - else the account URL (draft-00/01, Pebble 2.10).
std::string persist_account_uri(std::string_view account_url, std::string_view account_hash_prefix,
                                std::string_view challenge_account_uri, std::string_view domain = {},
                                std::string_view canonical_jwk = {});

// The issuer-domain-name to write: the challenge's first issuer-domain-names entry, else
// the directory's first caaIdentities entry (lowercase, no trailing dot).
Result<std::string> persist_issuer(const Challenge& challenge,
                                   const std::vector<std::string>& caa_identities);

enum class PersistMatch {
  present,  // a stored record authorizes `wanted`: nothing to write
  absent,   // none does: write `wanted`
  expired,  // the matching record's persistUntil has passed (or passes within
            // kPersistUntilMargin): its owner chose that; the order fails, nothing is written
};
inline constexpr std::int64_t kPersistUntilMargin = 3600;  // the CA validates a little later

// Compares the TXT texts stored at the name with what the order needs: same issuer
// (case-insensitive) and accounturi, policy=wildcard when `wanted` has it.
PersistMatch match_persist_records(const std::vector<std::string>& stored, const PersistValue& wanted,
                                   std::int64_t now);

}  // namespace acmednsd::acme
