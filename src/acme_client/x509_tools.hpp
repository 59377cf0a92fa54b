// Certificates and requests: the CSR for finalize (RFC 8555 7.4), reading an issued
// PEM chain (validity, issuers, the RFC 9773 certificate identifier), and writing
// secrets atomically with restrictive modes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acme_client/openssl_handles.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

// DER CSR for `domains` (first one also the subject CN when short enough), signed by `key`.
Result<std::vector<std::uint8_t>> make_csr(EVP_PKEY* key, const std::vector<std::string>& domains);

struct CertificateInfo {
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
  std::vector<std::string> dns_names;
  std::vector<std::string> issuer_common_names;  // one per certificate, leaf first
  std::string ari_cert_id;                       // base64url(AKI keyIdentifier) "." base64url(serial), or ""
};

// Reads the leaf (first certificate) of a PEM chain plus the issuers of all of them.
Result<CertificateInfo> inspect_certificate_chain(const std::string& pem);
// Whether the leaf's public key is `key`'s.
bool certificate_matches_key(const std::string& pem, EVP_PKEY* key);

// Writes `content` to a temporary file beside `path` (mode `mode`), fsyncs it, renames
// it over `path`: readers see the old file or the new one, never half of one.
Status write_file_atomically(const std::string& path, std::string_view content, unsigned mode);
Result<std::string> read_file(const std::string& path);
// Creates `path` and missing parents with `mode` (0700 for state folders).
Status make_directories(const std::string& path, unsigned mode);

}  // namespace acmednsd::acme
