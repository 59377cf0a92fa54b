// The embedded ACME client's state in the acme-dnsd database (migration 5: tables
// acme_accounts, acme_certificates, acme_leases), for several instances on one
// PostgreSQL database: one ACME account per directory, each certificate ordered once
// (under a lease) and served by every instance. With SQLite the client keeps its files
// under [acme] state_dir as before; the tables exist there too (same migrations) and
// the contract tests run these operations on both engines. Open the Store first: it
// creates and migrates the database.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace acmednsd {

struct AcmeAccountRow {
  std::string directory;  // the CA's directory URL
  std::string key_pem;    // secret: never logged, never printed
  std::string url;        // "" until the CA has told us (kid)
};

struct AcmeCertificateRow {
  std::string name;            // the certificate job's name ("api" for the API's own)
  std::string fullchain;       // PEM, "" while only state was stored
  std::string private_key;     // PEM; secret
  std::string state;           // the retry/ARI bookkeeping (JSON of acme_state.hpp)
  std::int64_t stored_ms = 0;  // when `fullchain` was stored
};

struct AcmeLease {
  bool held = false;   // by the caller's holder
  std::string holder;  // who holds it now
  std::int64_t expires_ms = 0;
};

// One connection of its own (the ACME thread, or the CLI), used by one thread at a time.
// Times are the caller's clock (unix milliseconds): instances are expected to agree
// within seconds (NTP), far below the lease's length.
class AcmeStateStore {
 public:
  static Result<std::unique_ptr<AcmeStateStore>> open(const std::string& engine,
                                                      const std::string& connection);
  virtual ~AcmeStateStore() = default;

  virtual Result<std::optional<AcmeAccountRow>> account(const std::string& directory) = 0;
  // Inserts `row` unless the directory already has an account; returns the stored one,
  // so instances creating their first account together end up with one key.
  virtual Result<AcmeAccountRow> add_account(const AcmeAccountRow& row) = 0;
  virtual Status set_account_url(const std::string& directory, const std::string& url) = 0;

  virtual Result<std::optional<AcmeCertificateRow>> certificate(const std::string& name) = 0;
  // Stores chain, key and state (replacing all three).
  virtual Status put_certificate(const AcmeCertificateRow& row) = 0;
  // Stores only the state; chain and key stay.
  virtual Status put_certificate_state(const std::string& name, const std::string& state) = 0;

  // Takes the lease on `name` for `ttl_ms` when it is free, expired, or already ours
  // (then it is extended). `held` says whether the caller holds it now.
  virtual Result<AcmeLease> take_lease(const std::string& name, const std::string& holder,
                                       std::int64_t now_ms, std::int64_t ttl_ms) = 0;
  // The lease on `name` as stored (expired or not), for the operator; nullopt when none.
  virtual Result<std::optional<AcmeLease>> lease(const std::string& name) = 0;
  // Only the holder's own lease is released.
  virtual Status release_lease(const std::string& name, const std::string& holder) = 0;
};

}  // namespace acmednsd
