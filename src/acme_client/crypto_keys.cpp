#include "acme_client/crypto_keys.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>

#include "common/encoding.hpp"

namespace acmednsd::acme {
namespace {

struct KeyTypeSpec {
  std::string_view name;
  const char* curve;  // nullptr for RSA
  unsigned rsa_bits;
};

constexpr std::array<KeyTypeSpec, 5> kKeyTypes{{
    {"ec256", "P-256", 0},
    {"ec384", "P-384", 0},
    {"rsa2048", nullptr, 2048},
    {"rsa3072", nullptr, 3072},
    {"rsa4096", nullptr, 4096},
}};

bool is_ec(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "EC") == 1;
}
bool is_rsa(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1;
}

std::size_t coordinate_size(EVP_PKEY* key) {
  return static_cast<std::size_t>(EVP_PKEY_get_bits(key) + 7) / 8;
}

Result<std::string> bignum_param(EVP_PKEY* key, const char* name, std::size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return make_error("crypto", std::string("cannot read key parameter ") + name);
  }
  const BignumPtr value(raw);
  const std::size_t size = pad_to ? pad_to : static_cast<std::size_t>(BN_num_bytes(value.get()));
  std::vector<std::uint8_t> bytes(size);
  if (BN_bn2binpad(value.get(), bytes.data(), static_cast<int>(size)) < 0) {
    return make_error("crypto", std::string("key parameter too large: ") + name);
  }
  return base64url_encode(bytes);
}

}  // namespace

bool is_valid_key_type(std::string_view key_type) {
  for (const auto& spec : kKeyTypes) {
    if (spec.name == key_type) return true;
  }
  return false;
}

Result<EvpPkeyPtr> generate_private_key(std::string_view key_type) {
  for (const auto& spec : kKeyTypes) {
    if (spec.name != key_type) continue;
    EVP_PKEY* key = spec.curve != nullptr
                        ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.curve)
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{spec.rsa_bits});
    if (key == nullptr) return make_error("crypto", "key generation failed");
    return EvpPkeyPtr(key);
  }
  return make_error("config", "unknown key type \"" + std::string(key_type) +
                                  "\" (ec256, ec384, rsa2048, rsa3072, rsa4096)");
}

Result<EvpPkeyPtr> private_key_from_pem(const std::string& pem) {
  const BioPtr bio = bio_over(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return make_error("crypto", "not a PEM private key");
  EvpPkeyPtr owned(key);
  if (!is_ec(key) && !is_rsa(key)) return make_error("crypto", "private key is neither EC nor RSA");
  return owned;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  const BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_to_string(bio.get());
}

Result<nlohmann::json> public_jwk(EVP_PKEY* key) {
  if (is_ec(key)) {
    const std::size_t size = coordinate_size(key);
    const char* curve = size == 32 ? "P-256" : size == 48 ? "P-384" : nullptr;
    if (curve == nullptr) return make_error("crypto", "unsupported EC curve");
    auto x = bignum_param(key, OSSL_PKEY_PARAM_EC_PUB_X, size);
    auto y = bignum_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, size);
    if (!x) return x.error();
    if (!y) return y.error();
    return nlohmann::json{{"crv", curve}, {"kty", "EC"}, {"x", *x}, {"y", *y}};
  }
  if (is_rsa(key)) {
    auto n = bignum_param(key, OSSL_PKEY_PARAM_RSA_N, 0);
    auto e = bignum_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!n) return n.error();
    if (!e) return e.error();
    return nlohmann::json{{"e", *e}, {"kty", "RSA"}, {"n", *n}};
  }
  return make_error("crypto", "unsupported key type");
}

std::string jwk_thumbprint(const nlohmann::json& jwk) {
  // nlohmann's object keeps members sorted and dump() adds no whitespace: exactly the
  // canonical form of RFC 7638 for the string-only members of a public JWK.
  return base64url_encode(sha256(jwk.dump()));
}

Result<std::string> jws_algorithm(EVP_PKEY* key) {
  if (is_rsa(key)) return std::string("RS256");
  if (is_ec(key)) {
    const std::size_t size = coordinate_size(key);
    if (size == 32) return std::string("ES256");
    if (size == 48) return std::string("ES384");
  }
  return make_error("crypto", "no JWS algorithm for this key");
}

Result<std::vector<std::uint8_t>> jws_sign(EVP_PKEY* key, std::string_view signing_input) {
  const bool ec = is_ec(key);
  const EVP_MD* digest = ec && coordinate_size(key) == 48 ? EVP_sha384() : EVP_sha256();
  const EvpMdCtxPtr context(EVP_MD_CTX_new());
  std::size_t length = 0;
  const auto* input = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!context || EVP_DigestSignInit(context.get(), nullptr, digest, nullptr, key) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, input, signing_input.size()) != 1) {
    return make_error("crypto", "signing failed");
  }
  std::vector<std::uint8_t> der(length);
  if (EVP_DigestSign(context.get(), der.data(), &length, input, signing_input.size()) != 1) {
    return make_error("crypto", "signing failed");
  }
  der.resize(length);
  if (!ec) return der;

  // JWS wants ECDSA signatures as fixed-size big-endian r || s, not DER (RFC 7518 3.4).
  const unsigned char* cursor = der.data();
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size()));
  if (parsed == nullptr) return make_error("crypto", "malformed ECDSA signature");
  const std::unique_ptr<ECDSA_SIG, FreeWith<ECDSA_SIG_free>> signature(parsed);
  const std::size_t size = coordinate_size(key);
  std::vector<std::uint8_t> raw(2 * size);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(parsed), raw.data(), static_cast<int>(size)) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(parsed), raw.data() + size, static_cast<int>(size)) < 0) {
    return make_error("crypto", "ECDSA signature too large");
  }
  return raw;
}

std::vector<std::uint8_t> hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
  std::vector<std::uint8_t> mac(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length);
  mac.resize(length);
  return mac;
}

}  // namespace acmednsd::acme
