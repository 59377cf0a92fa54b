// DNSSEC keys with OpenSSL: generation (PKCS#8 PEM, kept in the store), the DNSKEY
// rdata and key tag (RFC 4034), the DS digest (SHA-256, RFC 4509) and signatures in
// the DNSSEC wire form (ECDSA P-256 r||s, RFC 6605; Ed25519, RFC 8080).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

struct evp_pkey_st;

namespace acmednsd::dns {

inline constexpr std::uint8_t kAlgEcdsaP256 = 13;
inline constexpr std::uint8_t kAlgEd25519 = 15;
inline constexpr std::uint16_t kFlagsCsk = 257;  // Zone Key + Secure Entry Point

// A new private key for `algorithm`, as PKCS#8 PEM. Never logged.
Result<std::string> generate_private_key_pem(std::uint8_t algorithm);

class SigningKey {
 public:
  static Result<SigningKey> from_pem(std::uint8_t algorithm, std::uint16_t flags, const std::string& pem);

  [[nodiscard]] std::uint8_t algorithm() const { return algorithm_; }
  [[nodiscard]] std::uint16_t flags() const { return flags_; }
  [[nodiscard]] std::uint16_t key_tag() const { return key_tag_; }
  // flags, protocol 3, algorithm, public key.
  [[nodiscard]] const std::vector<std::uint8_t>& dnskey_rdata() const { return dnskey_rdata_; }
  // CDS/DS rdata with a SHA-256 digest of owner | DNSKEY rdata (owner lowercase wire).
  [[nodiscard]] std::vector<std::uint8_t> ds_rdata(const std::vector<std::uint8_t>& owner_wire) const;
  // The signature over `data` in DNSSEC wire form; empty when OpenSSL fails. Thread-safe
  // (a fresh context per call).
  [[nodiscard]] std::vector<std::uint8_t> sign(const std::uint8_t* data, std::size_t size) const;

 private:
  struct Free {
    void operator()(evp_pkey_st* key) const;
  };
  std::uint8_t algorithm_ = 0;
  std::uint16_t flags_ = 0;
  std::uint16_t key_tag_ = 0;
  std::vector<std::uint8_t> dnskey_rdata_;
  std::shared_ptr<evp_pkey_st> key_;
};

// RFC 4034 appendix B.
std::uint16_t key_tag_of(const std::vector<std::uint8_t>& dnskey_rdata);

}  // namespace acmednsd::dns
