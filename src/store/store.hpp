// The durable state of acme-dnsd: accounts and TXT values in SQLite (WAL,
// synchronous=FULL) or PostgreSQL (several instances may share one database), mirrored
// into the in-memory AnswerIndex. The dialects sit behind store_backend.hpp.
//
// Writes go through one writer thread that batches concurrent requests into one
// transaction (group commit). A write's completion runs only after its transaction
// is durable and the index shows the change, so an HTTP 200 sent from a completion
// is never lost and the very next DNS query sees the value.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "store/answer_index.hpp"
#include "store/zone_journal.hpp"

namespace acmednsd {

struct StoreOptions {
  // SQLite: the file (its folder is created 0700, the file 0600). PostgreSQL: the
  // connection string, URL or key=value form ([database] connection).
  std::string path;
  RetentionPolicy retention;
  std::size_t read_connections = 4;
  // Changes kept for IXFR ([transfer] ixfr_journal); 0 = no journal. Only the serving
  // process keeps one (the CLI's short-lived stores do not).
  std::size_t ixfr_journal = 0;
  // "sqlite3" or "postgres" ([database] engine). Last, so that aggregate initializers
  // written before it ({path, retention, readers}) keep their meaning.
  std::string engine = "sqlite3";
};

struct AccountRecord {
  std::string username;                // canonical lowercase UUID
  std::string subdomain;               // lowercase UUID label
  std::vector<std::string> allowfrom;  // CIDRs as written at registration
  bool allowfrom_invalid = false;      // imported with unreadable allowfrom: never "allow all"
  std::int64_t created_at = 0;
};

// What /register and rotate-key return; the password is shown once and never stored.
struct Credentials {
  std::string username;
  std::string password;
  std::string subdomain;
  std::vector<std::string> allowfrom;
};

struct TxtRecord {
  std::string value;
  std::int64_t updated_at = 0;
};

// A dns-persist-01 record (draft-ietf-acme-dns-persist): one per (name, issuer,
// accounturi); setting it again replaces its policy and persistUntil.
struct PersistRecord {
  std::string name;         // relative owner name, e.g. "_validation-persist.<subdomain>"
  std::string issuer;       // issuer-domain-name, lowercase
  std::string account_uri;  // accounturi as written
  std::string value;        // the canonical TXT text (format_persist_value)
  std::int64_t updated_at = 0;
};

// At most this many persist records at one name: a handful of CAs times a few accounts.
inline constexpr std::size_t kMaxPersistRecordsPerName = 16;
// The owner label of persist records: "_validation-persist.<name>" is what a CA asks.
inline constexpr std::string_view kPersistLabel = "_validation-persist";

enum class AuthOutcome { ok, unknown_user, bad_key };

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::unknown_user;
  AccountRecord account;  // filled when outcome == ok
};

struct ImportReport {
  std::size_t accounts = 0;
  std::size_t values = 0;
  std::size_t skipped_empty_values = 0;
  std::vector<std::string> flagged;   // accounts whose allowfrom could not be read
  std::vector<std::string> problems;  // rows that were not imported, with the reason
};

class Store {
 public:
  // Opens (creating or migrating) the database and loads the answer index.
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  virtual ~Store() = default;

  [[nodiscard]] virtual const AnswerIndex& index() const = 0;
  // The IXFR journal, or null when StoreOptions::ixfr_journal is 0.
  [[nodiscard]] virtual const ZoneJournal* journal() const = 0;

  // ---- Reads: any thread, a pooled read connection, microseconds. ----
  virtual Result<std::optional<AccountRecord>> find_account(std::string_view username) = 0;
  // Same work whether the user exists or not; constant-time key comparison.
  // A correct bcrypt key (imported from acme-dns) is re-hashed with the fast hash.
  virtual Result<AuthResult> authenticate(std::string_view username, std::string_view key) = 0;
  virtual Result<std::vector<TxtRecord>> list_txt(std::string_view name) = 0;
  virtual Result<std::vector<PersistRecord>> list_persist(std::string_view name) = 0;
  virtual Result<std::vector<AccountRecord>> list_accounts() = 0;
  virtual Result<std::size_t> account_count() = 0;
  // Empty when the database answers a read and its file is still the one opened at
  // start-up; otherwise why not (for GET /ready's 503).
  virtual std::string unavailable_reason() = 0;

  // ---- Writes: durable before the completion runs (on the writer thread). ----
  template <typename T>
  using Completion = std::function<void(Result<T>)>;

  // Adds or refreshes `value` at `name` (an account subdomain, or a name inside the
  // zone used by the embedded ACME client). Applies the limit rule.
  virtual void add_txt(std::string name, std::string value, Completion<Done> done) = 0;
  // Result: whether the value was there.
  virtual void remove_txt(std::string name, std::string value, Completion<bool> done) = 0;
  // dns-persist-01 records (store/persist_store.cpp). `value` is parsed strictly
  // (common/persist_value.hpp; error code "persist_value") and stored in canonical form,
  // replacing the record of the same issuer and accounturi at `name`. Never pruned,
  // not counted in txt_limit; at most kMaxPersistRecordsPerName per name (error
  // "persist_limit"). Result: false when the identical record was already there (then
  // nothing is written and the SOA serial stays).
  virtual void set_persist(std::string name, std::string value, Completion<bool> done) = 0;
  // Result: the removed record's text, or "" when there was none.
  virtual void remove_persist(std::string name, std::string issuer, std::string account_uri,
                              Completion<std::string> done) = 0;
  virtual void create_account(std::vector<std::string> allowfrom, Completion<Credentials> done) = 0;
  virtual void set_allowfrom(std::string username, std::vector<std::string> allowfrom,
                             Completion<Done> done) = 0;
  virtual void rotate_key(std::string username, Completion<Credentials> done) = 0;
  // Result: whether the account existed.
  virtual void delete_account(std::string username, Completion<bool> done) = 0;
  // Drops values past retention and limit (the index already hides them).
  virtual void prune(std::int64_t now_unix, Completion<std::size_t> done) = 0;

  // Blocking versions for the CLI, tests and the ACME client's own thread.
  Status add_txt_sync(std::string name, std::string value);
  Result<bool> remove_txt_sync(std::string name, std::string value);
  Result<bool> set_persist_sync(std::string name, std::string value);
  Result<std::string> remove_persist_sync(std::string name, std::string issuer, std::string account_uri);
  Result<Credentials> create_account_sync(std::vector<std::string> allowfrom);
  Result<bool> delete_account_sync(std::string username);

  // Copies accounts and values from an acme-dns SQLite database (read-only).
  virtual Result<ImportReport> import_acme_dns(const std::string& acme_dns_path) = 0;
};

// Validation shared by every entry point.
bool is_valid_txt_value(std::string_view value);  // 43 chars of A-Za-z0-9-_
bool is_valid_api_key(std::string_view key);      // 40 chars of A-Za-z0-9-_
// A lowercase relative owner name: labels of 1..63 [a-z0-9-_], at most 200 in all.
bool is_valid_owner_name(std::string_view name);
// Canonical lowercase form of a UUID in any case, or nullopt.
std::optional<std::string> canonical_uuid(std::string_view text);

}  // namespace acmednsd
