// The API's TLS server context, rebuilt when the certificate files change.
//
// New connections take the current context; a context in use stays alive until its
// last connection ends (shared_ptr). Changes are picked up by reload() (SIGHUP, or the
// app after the ACME client wrote a certificate) and by a cheap stat() of both files
// at most once a second when connections arrive, so a renewal by an outside tool
// (certbot, cert-manager) needs no restart.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace acmednsd::http_api {

class TlsContextProvider {
 public:
  TlsContextProvider(std::string fullchain_path, std::string privkey_path);
  ~TlsContextProvider();

  // Loads the files now. On failure the previous context (if any) stays in use.
  Status load();
  // The context for a new connection, or nullptr while no certificate could be loaded.
  std::shared_ptr<boost::asio::ssl::context> current();
  // Forces a re-read (the files may have the same mtime after a fast rewrite).
  void reload();

  [[nodiscard]] const std::string& fullchain_path() const { return fullchain_path_; }

 private:
  struct Stamp {
    bool present = false;
    ino_t inode = 0;
    off_t size = 0;
    timespec mtime{};
    bool operator==(const Stamp& other) const;
  };
  static Stamp stamp_of(const std::string& path);
  Status load_locked();

  std::string fullchain_path_;
  std::string privkey_path_;
  std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  Stamp loaded_chain_, loaded_key_;  // what context_ was built from
  Stamp failed_chain_, failed_key_;  // last pair that did not load (logged once)
  std::chrono::steady_clock::time_point last_check_{};
};

}  // namespace acmednsd::http_api
