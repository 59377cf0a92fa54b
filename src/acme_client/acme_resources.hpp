// One small function per ACME resource (RFC 8555 section 7): account, order,
// authorization, challenge, finalize, certificate, and renewalInfo (RFC 9773).
// Each sends one request through the session and parses only what the client uses.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "acme_client/acme_session.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

struct AccountRequest {
  std::string email;  // empty: no contact
  bool agree_terms = false;
  std::string eab_kid;
  std::string eab_hmac_key;
};

// The account URL (kid) of the session's key: reuses an existing account
// (onlyReturnExisting) and creates one only when the CA knows none.
Result<std::string> find_or_create_account(AcmeSession& session, const AccountRequest& request);

struct Challenge {
  std::string type;
  std::string url;
  std::string token;
  std::string status;
  nlohmann::json error;
  // dns-persist-01 (draft-ietf-acme-dns-persist): the issuer domain names the CA accepts
  // and, from CAs that send it, the accounturi it expects.
  std::vector<std::string> issuer_domain_names;
  std::string account_uri;
};

struct Authorization {
  std::string url;
  std::string domain;  // identifier value, without "*." even for wildcards
  bool wildcard = false;
  std::string status;  // pending | valid | invalid | deactivated | expired | revoked
  std::vector<Challenge> challenges;
};

struct Order {
  std::string url;
  std::string status;  // pending | ready | processing | valid | invalid
  std::vector<std::string> authorizations;
  std::string finalize;
  std::string certificate;
  nlohmann::json error;
};

// `replaces`: the ARI certificate identifier of the certificate being renewed, if any;
// `profile`: the CA's profile name, if any (both omitted from the request when empty).
Result<Order> new_order(AcmeSession& session, const std::vector<std::string>& domains,
                        const std::string& replaces, const std::string& profile = {});
Result<Order> fetch_order(AcmeSession& session, const std::string& url);
Result<Authorization> fetch_authorization(AcmeSession& session, const std::string& url);
// Tells the CA the challenge is ready to be validated.
Status respond_to_challenge(AcmeSession& session, const Challenge& challenge);
Result<Order> finalize_order(AcmeSession& session, const Order& order,
                             const std::vector<std::uint8_t>& csr_der);
// The PEM chain; when `preferred_issuer` is set and the default chain's topmost issuer
// is not it, the alternates (Link rel="alternate") are tried and the matching one wins.
Result<std::string> download_certificate(AcmeSession& session, const std::string& url,
                                         const std::string& preferred_issuer);

struct RenewalWindow {
  std::int64_t start = 0;  // unix seconds
  std::int64_t end = 0;
  std::string explanation_url;
};
// A renewalInfo body (RFC 9773 4.2): suggestedWindow with RFC 3339 start < end.
Result<RenewalWindow> parse_renewal_info(const nlohmann::json& document);
Result<RenewalWindow> fetch_renewal_info(AcmeSession& session, const std::string& cert_id);

// Fails, naming the [[certificate]] key and what the CA offers, unless `profile` is
// empty or one of the directory's meta.profiles. `where`: "config.toml:12: certificate www".
Status check_profile(const Directory& directory, const std::string& profile, const std::string& where);

// Unix seconds of an RFC 3339 timestamp ("2025-01-02T03:04:05Z", fractions and offsets).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

}  // namespace acmednsd::acme
