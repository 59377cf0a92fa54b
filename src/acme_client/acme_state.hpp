// What the client keeps under acme.state_dir (0700) so it survives restarts: one
// account per directory URL (key 0600 + account URL) and, per certificate, its retry
// and ARI bookkeeping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "acme_client/openssl_handles.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

struct AccountState {
  EvpPkeyPtr key;
  std::string url;  // "" until the CA has told us (kid)
  std::string folder;
};

// Loads the account key for `directory_url`, generating and saving it (0600) first if
// needed. `key_type`: "ec256" (default) or an RSA type.
Result<AccountState> load_or_create_account(const std::string& state_dir, const std::string& directory_url,
                                            const std::string& key_type);
Status save_account_url(const AccountState& account, const std::string& directory_url);
// The account URL stored for `directory_url`, without creating anything: "" before the
// first order (used by `cert list` and `doctor` for the dns-account-01 label).
std::string stored_account_url(const std::string& state_dir, const std::string& directory_url);

struct AriState {
  std::string cert_id;
  std::int64_t window_start = 0;
  std::int64_t window_end = 0;
  std::int64_t chosen_time = 0;  // the random point of the window, chosen once
  std::int64_t fetched_at = 0;
  std::int64_t refetch_after = 0;  // from Retry-After
};

struct CertificateState {
  int failures = 0;             // consecutive
  std::int64_t next_retry = 0;  // unix seconds; 0 = no pending backoff
  std::int64_t last_attempt = 0;
  std::int64_t last_success = 0;
  std::string last_error;
  std::optional<AriState> ari;
};

// The state as JSON (files and the shared database hold the same text); text that is
// not a JSON object is a fresh state (logged, naming `where`).
std::string certificate_state_json(const CertificateState& state);
CertificateState parse_certificate_state(const std::string& text, const std::string& where);

std::string certificate_state_path(const std::string& state_dir, const std::string& name);
// A missing or unreadable file is a fresh state (logged), never an error.
CertificateState load_certificate_state(const std::string& state_dir, const std::string& name);
Status save_certificate_state(const std::string& state_dir, const std::string& name,
                              const CertificateState& state);

}  // namespace acmednsd::acme
