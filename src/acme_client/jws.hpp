// JSON Web Signatures as ACME uses them (RFC 8555 section 6.2): flattened JSON
// serialization, protected header with "nonce" and "url", "jwk" for newAccount and
// "kid" afterwards; External Account Binding (section 7.3.4); key authorizations and
// the DNS-01 TXT value (section 8.1, 8.4). Pure functions, known-answer tested.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "acme_client/openssl_handles.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

// token "." base64url(JWK thumbprint)
std::string key_authorization(std::string_view token, std::string_view thumbprint);
// base64url(SHA-256(key authorization)): what _acme-challenge.<domain> TXT must hold.
std::string dns01_txt_value(std::string_view key_authorization);

struct JwsHeader {
  std::string nonce;
  std::string url;
  std::string kid;  // empty: embed the public JWK instead (newAccount, revocation by key)
};

// {"protected": ..., "payload": ..., "signature": ...}. `payload` nullopt means
// POST-as-GET (empty payload string).
Result<nlohmann::json> sign_jws(EVP_PKEY* key, const JwsHeader& header,
                                const std::optional<nlohmann::json>& payload);

// The externalAccountBinding member of a newAccount payload: a JWS over the account's
// public JWK, HS256 with the CA-issued key, header {"alg","kid","url"}.
Result<nlohmann::json> external_account_binding(const nlohmann::json& account_jwk, std::string_view eab_kid,
                                                std::string_view eab_hmac_key_base64url,
                                                std::string_view new_account_url);

}  // namespace acmednsd::acme
