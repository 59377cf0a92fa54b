#include "acme_client/x509_tools.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/encoding.hpp"
#include "common/random.hpp"

namespace acmednsd::acme {
namespace {

std::int64_t asn1_time_to_unix(const ASN1_TIME* time) {
  std::tm parts{};
  if (ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return timegm(&parts);
}

std::string common_name(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

std::vector<X509Ptr> read_chain(const std::string& pem) {
  std::vector<X509Ptr> chain;
  const BioPtr bio = bio_over(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    chain.emplace_back(cert);
  }
  return chain;
}

// RFC 9773 section 4.1: the serial's DER content octets (the INTEGER without tag/length).
std::string serial_content_base64url(const X509* cert) {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
  unsigned char* der = nullptr;
  const int length = i2d_ASN1_INTEGER(serial, &der);
  if (length <= 2) {
    OPENSSL_free(der);
    return {};
  }
  // Serials are at most 20 octets, so the length is always in short form.
  std::string out =
      base64url_encode(std::span<const std::uint8_t>(der + 2, static_cast<std::size_t>(length - 2)));
  OPENSSL_free(der);
  return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> make_csr(EVP_PKEY* key, const std::vector<std::string>& domains) {
  if (domains.empty()) return make_error("csr", "no domains");
  const X509ReqPtr request(X509_REQ_new());
  if (!request || X509_REQ_set_version(request.get(), 0) != 1 ||
      X509_REQ_set_pubkey(request.get(), key) != 1) {
    return make_error("csr", "cannot build CSR");
  }
  if (domains.front().size() <= 64) {  // ub-common-name
    X509_NAME* subject = X509_REQ_get_subject_name(request.get());
    X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(domains.front().c_str()), -1, -1, 0);
  }
  const GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  for (const auto& domain : domains) {
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    ASN1_STRING_set(text, domain.data(), static_cast<int>(domain.size()));
    GENERAL_NAME_set0_value(name, GEN_DNS, text);
    sk_GENERAL_NAME_push(names.get(), name);
  }
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san = X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get());
  sk_X509_EXTENSION_push(extensions, san);
  const int added = X509_REQ_add_extensions(request.get(), extensions);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  if (added != 1) return make_error("csr", "cannot add subjectAltName");
  const EVP_MD* digest =
      EVP_PKEY_is_a(key, "EC") == 1 && EVP_PKEY_get_bits(key) > 256 ? EVP_sha384() : EVP_sha256();
  if (X509_REQ_sign(request.get(), key, digest) <= 0) return make_error("csr", "cannot sign CSR");
  unsigned char* der = nullptr;
  const int length = i2d_X509_REQ(request.get(), &der);
  if (length <= 0) return make_error("csr", "cannot encode CSR");
  std::vector<std::uint8_t> out(der, der + length);
  OPENSSL_free(der);
  return out;
}

Result<CertificateInfo> inspect_certificate_chain(const std::string& pem) {
  const auto chain = read_chain(pem);
  if (chain.empty()) return make_error("certificate", "no PEM certificate found");
  const X509* leaf = chain.front().get();
  CertificateInfo info;
  info.not_before = asn1_time_to_unix(X509_get0_notBefore(leaf));
  info.not_after = asn1_time_to_unix(X509_get0_notAfter(leaf));
  for (const auto& cert : chain)
    info.issuer_common_names.push_back(common_name(X509_get_issuer_name(cert.get())));
  const GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_DNS) continue;
      const ASN1_STRING* text = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                  static_cast<std::size_t>(ASN1_STRING_length(text)));
    }
  }
  const AuthorityKeyIdPtr aki(
      static_cast<AUTHORITY_KEYID*>(X509_get_ext_d2i(leaf, NID_authority_key_identifier, nullptr, nullptr)));
  if (aki && aki->keyid != nullptr) {
    const std::string serial = serial_content_base64url(leaf);
    if (!serial.empty()) {
      info.ari_cert_id =
          base64url_encode(std::span<const std::uint8_t>(
              ASN1_STRING_get0_data(aki->keyid), static_cast<std::size_t>(ASN1_STRING_length(aki->keyid)))) +
          "." + serial;
    }
  }
  return info;
}

bool certificate_matches_key(const std::string& pem, EVP_PKEY* key) {
  const auto chain = read_chain(pem);
  if (chain.empty()) return false;
  const EVP_PKEY* public_key = X509_get0_pubkey(chain.front().get());
  return public_key != nullptr && EVP_PKEY_eq(public_key, key) == 1;
}

Status write_file_atomically(const std::string& path, std::string_view content, unsigned mode) {
  const std::filesystem::path target(path);
  if (target.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
  }
  const std::string temporary = path + ".tmp-" + hex_encode(random_bytes(6));
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return make_error("io", "cannot create " + temporary + ": " + std::strerror(errno));
  ::fchmod(fd, mode);  // the umask may have narrowed it; never widen beyond `mode`
  std::size_t written = 0;
  bool failed = false;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      failed = true;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  failed = failed || ::fsync(fd) != 0;
  const int saved_errno = errno;
  ::close(fd);
  if (failed || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = failed ? saved_errno : errno;
    ::unlink(temporary.c_str());
    return make_error("io", "cannot write " + path + ": " + std::strerror(error));
  }
  return ok_status();
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("io", "cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status make_directories(const std::string& path, unsigned mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return make_error("io", "cannot create " + path + ": " + ec.message());
  ::chmod(path.c_str(), mode);
  return ok_status();
}

}  // namespace acmednsd::acme
