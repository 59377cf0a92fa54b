// Private keys for ACME accounts and certificates, JWK (RFC 7517) and JWK thumbprints
// (RFC 7638), raw JWS signatures (RFC 7518: ES256/ES384 as r||s, RS256 PKCS#1 v1.5).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme_client/openssl_handles.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

// "ec256" | "ec384" | "rsa2048" | "rsa3072" | "rsa4096".
bool is_valid_key_type(std::string_view key_type);
Result<EvpPkeyPtr> generate_private_key(std::string_view key_type);
Result<EvpPkeyPtr> private_key_from_pem(const std::string& pem);
std::string private_key_to_pem(EVP_PKEY* key);

// The public JWK with only the required members (the ones RFC 7638 hashes).
Result<nlohmann::json> public_jwk(EVP_PKEY* key);
// base64url(SHA-256(canonical JSON of the required members)), RFC 7638 section 3.
std::string jwk_thumbprint(const nlohmann::json& jwk);
// "ES256", "ES384" or "RS256" for the key's type.
Result<std::string> jws_algorithm(EVP_PKEY* key);
// The JWS signature over `signing_input` in the encoding JWS wants.
Result<std::vector<std::uint8_t>> jws_sign(EVP_PKEY* key, std::string_view signing_input);

std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);

}  // namespace acmednsd::acme
