#include "http_api/tls_context.hpp"

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "common/log.hpp"

namespace acmednsd::http_api {
namespace ssl = boost::asio::ssl;

namespace {

// Mozilla "intermediate": ECDHE with AEAD ciphers for TLS 1.2; TLS 1.3 suites are
// OpenSSL's defaults, which are all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

Result<std::shared_ptr<ssl::context>> build_context(const std::string& chain, const std::string& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                       ssl::context::single_dh_use,
                   ec);
  if (ec) return make_error("tls_options", ec.message());
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return make_error("tls_options", "cannot restrict the TLS versions and ciphers");
  }
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  ctx->use_certificate_chain_file(chain, ec);
  if (ec) return make_error("tls_certificate", chain + ": " + ec.message());
  ctx->use_private_key_file(key, ssl::context::pem, ec);
  if (ec) return make_error("tls_private_key", key + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return make_error("tls_key_mismatch", key + " does not match the certificate in " + chain);
  }
  return ctx;
}

}  // namespace

bool TlsContextProvider::Stamp::operator==(const Stamp& other) const {
  return present == other.present && inode == other.inode && size == other.size &&
         mtime.tv_sec == other.mtime.tv_sec && mtime.tv_nsec == other.mtime.tv_nsec;
}

TlsContextProvider::Stamp TlsContextProvider::stamp_of(const std::string& path) {
  Stamp s;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return s;
  s.present = true;
  s.inode = st.st_ino;
  s.size = st.st_size;
  s.mtime = st.st_mtim;
  return s;
}

TlsContextProvider::TlsContextProvider(std::string fullchain_path, std::string privkey_path)
    : fullchain_path_(std::move(fullchain_path)), privkey_path_(std::move(privkey_path)) {}

TlsContextProvider::~TlsContextProvider() = default;

Status TlsContextProvider::load() {
  std::lock_guard lock(mutex_);
  return load_locked();
}

Status TlsContextProvider::load_locked() {
  const Stamp chain = stamp_of(fullchain_path_);
  const Stamp key = stamp_of(privkey_path_);
  last_check_ = std::chrono::steady_clock::now();
  auto built = build_context(fullchain_path_, privkey_path_);
  if (!built) {
    if (!(chain == failed_chain_ && key == failed_key_)) {
      log::warning(context_ ? "TLS certificate change not loaded, keeping the previous one"
                            : "no usable TLS certificate: HTTPS handshakes fail until one is written",
                   {{"error", built.error().message}});
    }
    failed_chain_ = chain;
    failed_key_ = key;
    return built.error();
  }
  const bool replaced = context_ != nullptr;
  context_ = std::move(*built);
  loaded_chain_ = chain;
  loaded_key_ = key;
  log::info(replaced ? "TLS certificate reloaded" : "TLS certificate loaded",
            {{"fullchain", fullchain_path_}});
  return ok_status();
}

std::shared_ptr<ssl::context> TlsContextProvider::current() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_check_ >= std::chrono::seconds(1)) {
    last_check_ = now;
    const Stamp chain = stamp_of(fullchain_path_);
    const Stamp key = stamp_of(privkey_path_);
    const bool changed = !(chain == loaded_chain_ && key == loaded_key_);
    const bool known_bad = chain == failed_chain_ && key == failed_key_;
    if (changed && !known_bad && chain.present && key.present) (void)load_locked();
  }
  return context_;
}

void TlsContextProvider::reload() {
  std::lock_guard lock(mutex_);
  failed_chain_ = {};
  failed_key_ = {};
  (void)load_locked();
}

}  // namespace acmednsd::http_api
