#include "dns/dnssec_key.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/c_handle.hpp"

namespace acmednsd::dns {
namespace {

using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, FreeWith<EVP_PKEY_CTX_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, FreeWith<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, FreeWith<BIO_free_all>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, FreeWith<ECDSA_SIG_free>>;

// The public key as DNSKEY carries it: P-256 X||Y (RFC 6605 4), Ed25519 raw (RFC 8080 3).
bool public_key_bytes(EVP_PKEY* key, std::uint8_t algorithm, std::vector<std::uint8_t>& out) {
  if (algorithm == kAlgEd25519) {
    std::size_t size = 32;
    out.resize(size);
    return EVP_PKEY_get_raw_public_key(key, out.data(), &size) == 1 && size == 32;
  }
  std::uint8_t point[65];
  std::size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &size) != 1 ||
      size != 65 || point[0] != 0x04) {
    return false;
  }
  out.assign(point + 1, point + 65);
  return true;
}

}  // namespace

void SigningKey::Free::operator()(evp_pkey_st* key) const {
  EVP_PKEY_free(key);
}

std::uint16_t key_tag_of(const std::vector<std::uint8_t>& rdata) {
  std::uint32_t ac = 0;
  for (std::size_t i = 0; i < rdata.size(); ++i) ac += (i & 1) != 0 ? rdata[i] : std::uint32_t{rdata[i]} << 8;
  ac += (ac >> 16) & 0xFFFF;
  return static_cast<std::uint16_t>(ac & 0xFFFF);
}

Result<std::string> generate_private_key_pem(std::uint8_t algorithm) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == kAlgEcdsaP256) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  } else if (algorithm == kAlgEd25519) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    return make_error("dnssec_error", "unsupported DNSSEC algorithm " + std::to_string(algorithm));
  }
  PkeyPtr key(raw);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!key || !bio ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return make_error("dnssec_error", "OpenSSL could not generate a DNSSEC key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Result<SigningKey> SigningKey::from_pem(std::uint8_t algorithm, std::uint16_t flags, const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return make_error("dnssec_error", "a stored DNSSEC private key cannot be read");
  const int id = EVP_PKEY_get_base_id(key.get());
  if ((algorithm == kAlgEcdsaP256 && id != EVP_PKEY_EC) ||
      (algorithm == kAlgEd25519 && id != EVP_PKEY_ED25519) ||
      (algorithm != kAlgEcdsaP256 && algorithm != kAlgEd25519)) {
    return make_error("dnssec_error",
                      "a stored DNSSEC key does not match its algorithm " + std::to_string(algorithm));
  }
  SigningKey k;
  k.algorithm_ = algorithm;
  k.flags_ = flags;
  std::vector<std::uint8_t> pub;
  if (!public_key_bytes(key.get(), algorithm, pub)) {
    return make_error("dnssec_error", "the public half of a stored DNSSEC key cannot be read");
  }
  k.dnskey_rdata_ = {static_cast<std::uint8_t>(flags >> 8), static_cast<std::uint8_t>(flags), 3, algorithm};
  k.dnskey_rdata_.insert(k.dnskey_rdata_.end(), pub.begin(), pub.end());
  k.key_tag_ = key_tag_of(k.dnskey_rdata_);
  k.key_ = std::shared_ptr<evp_pkey_st>(key.release(), Free{});
  return k;
}

std::vector<std::uint8_t> SigningKey::ds_rdata(const std::vector<std::uint8_t>& owner_wire) const {
  std::vector<std::uint8_t> input = owner_wire;
  input.insert(input.end(), dnskey_rdata_.begin(), dnskey_rdata_.end());
  std::uint8_t digest[32];
  unsigned size = 0;
  std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(key_tag_ >> 8),
                                   static_cast<std::uint8_t>(key_tag_), algorithm_,
                                   2};  // digest type 2: SHA-256
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr) != 1 || size != 32)
    return {};
  out.insert(out.end(), digest, digest + 32);
  return out;
}

std::vector<std::uint8_t> SigningKey::sign(const std::uint8_t* data, std::size_t size) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return {};
  // Ed25519 hashes internally (no digest); ECDSA P-256 signs the SHA-256 of the data.
  const EVP_MD* md = algorithm_ == kAlgEd25519 ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1) return {};
  std::size_t sig_size = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &sig_size, data, size) != 1) return {};
  std::vector<std::uint8_t> sig(sig_size);
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_size, data, size) != 1) return {};
  sig.resize(sig_size);
  if (algorithm_ == kAlgEd25519) return sig;
  // OpenSSL gives DER; DNSSEC wants r and s as two 32-byte big-endian numbers.
  const unsigned char* p = sig.data();
  EcdsaSigPtr parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) return {};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(parsed.get(), &r, &s);
  std::vector<std::uint8_t> out(64);
  if (BN_bn2binpad(r, out.data(), 32) != 32 || BN_bn2binpad(s, out.data() + 32, 32) != 32) return {};
  return out;
}

}  // namespace acmednsd::dns
