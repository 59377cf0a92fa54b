// Self-signed certificates with chosen validity for the client's unit tests.
#pragma once

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "acme_client/crypto_keys.hpp"
#include "acme_client/openssl_handles.hpp"

namespace acmednsd::acme::testing {

inline std::string make_test_certificate(EVP_PKEY* key, const std::vector<std::string>& dns_names,
                                         std::int64_t not_before, std::int64_t not_after,
                                         long serial = 0x1234) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Test Issuer"),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san;
  for (const auto& d : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& [nid, value] :
       std::vector<std::pair<int, std::string>>{{NID_subject_alt_name, san},
                                                {NID_subject_key_identifier, "hash"},
                                                {NID_authority_key_identifier, "keyid:always"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  X509_sign(cert.get(), key, EVP_sha256());
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert.get());
  return bio_to_string(bio.get());
}

}  // namespace acmednsd::acme::testing
