#include "acme_client/jws.hpp"

#include "acme_client/crypto_keys.hpp"
#include "common/encoding.hpp"

namespace acmednsd::acme {

std::string key_authorization(std::string_view token, std::string_view thumbprint) {
  std::string out(token);
  out += '.';
  out += thumbprint;
  return out;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  return base64url_encode(sha256(key_authorization));
}

Result<nlohmann::json> sign_jws(EVP_PKEY* key, const JwsHeader& header,
                                const std::optional<nlohmann::json>& payload) {
  auto algorithm = jws_algorithm(key);
  if (!algorithm) return algorithm.error();
  nlohmann::json protected_header{{"alg", *algorithm}, {"nonce", header.nonce}, {"url", header.url}};
  if (header.kid.empty()) {
    auto jwk = public_jwk(key);
    if (!jwk) return jwk.error();
    protected_header["jwk"] = *jwk;
  } else {
    protected_header["kid"] = header.kid;
  }
  const std::string protected_b64 = base64url_encode(protected_header.dump());
  const std::string payload_b64 = payload ? base64url_encode(payload->dump()) : std::string();
  auto signature = jws_sign(key, protected_b64 + "." + payload_b64);
  if (!signature) return signature.error();
  return nlohmann::json{
      {"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(*signature)}};
}

Result<nlohmann::json> external_account_binding(const nlohmann::json& account_jwk, std::string_view eab_kid,
                                                std::string_view eab_hmac_key_base64url,
                                                std::string_view new_account_url) {
  // CAs hand the HMAC key out base64url-encoded, some with padding.
  std::string_view trimmed = eab_hmac_key_base64url;
  while (!trimmed.empty() && trimmed.back() == '=') trimmed.remove_suffix(1);
  const auto hmac_key = base64url_decode(trimmed);
  if (!hmac_key || hmac_key->empty()) {
    return make_error("config", "[acme] eab_hmac_key is not base64url");
  }
  const nlohmann::json protected_header{
      {"alg", "HS256"}, {"kid", std::string(eab_kid)}, {"url", std::string(new_account_url)}};
  const std::string protected_b64 = base64url_encode(protected_header.dump());
  const std::string payload_b64 = base64url_encode(account_jwk.dump());
  const auto mac = hmac_sha256(*hmac_key, protected_b64 + "." + payload_b64);
  return nlohmann::json{
      {"protected", protected_b64}, {"payload", payload_b64}, {"signature", base64url_encode(mac)}};
}

}  // namespace acmednsd::acme
