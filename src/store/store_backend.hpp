// Private to src/store/: the seam between the shared store (answer index, writer,
// operations as jobs) and one SQL dialect (gsql-style: one set of operations, the
// statements per dialect). SQLite (sqlite_backend.cpp) and PostgreSQL
// (pg_backend.cpp) implement it; one contract test (tests/unit/store_contract_test.cpp)
// runs against both.
//
// A new table is one migration per dialect (migrations() in sqlite_backend.cpp and in
// pg_schema.cpp) plus the operations it needs here, implemented by both connections.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "store/acme_state_store.hpp"
#include "store/answer_index.hpp"
#include "store/dnssec_key_store.hpp"
#include "store/store.hpp"
#include "store/zone_journal.hpp"

namespace acmednsd::store_detail {

struct StoredAccount {
  AccountRecord record;
  std::string key_hash;
};

struct NewAccountRow {
  std::string username;
  std::string key_hash;
  std::string subdomain;
  std::string allowfrom_json;
  bool allowfrom_invalid = false;
  std::int64_t created_at = 0;
};

struct JournalRow {
  std::uint32_t from_serial = 0;
  std::uint32_t to_serial = 0;
  std::string removed;  // "name value" lines
  std::string added;
  std::int64_t seq = 0;  // the row's place in ixfr_journal (rows are read in this order)
};

// One change to the answer index, as other instances on a shared database replay it
// from the change log (PostgreSQL only).
struct LogEntry {
  // put_persistent/remove_persistent: dns-persist-01 records (AnswerIndex::put_persistent).
  enum class Kind : char {
    put = 'p',
    remove = 'r',
    add_name = 'n',
    remove_name = 'd',
    put_persistent = 'P',
    remove_persistent = 'R',
  };
  Kind kind = Kind::put;
  std::string name;
  std::string value;    // put/remove
  std::int64_t ms = 0;  // put: updated_ms
};

// One POST /update: a TXT value upserted into its name, which is then trimmed to the
// limit (what the add_txt job does alone).
struct TxtPut {
  std::string name;
  std::string value;
  std::int64_t ms = 0;  // updated_ms
};

// What a run of TxtPuts did, for the IXFR journal and the change log.
struct PutsDone {
  std::vector<std::pair<std::string, std::string>> added;    // (name, value) that were not there
  std::vector<std::pair<std::string, std::string>> trimmed;  // removed past the limit
};

// Rows of the change log past a sequence number, in commit order.
struct LogBatch {
  std::int64_t last_seq = 0;     // the highest sequence read (unchanged when none)
  std::uint32_t max_serial = 0;  // the highest serial of the rows read (0 = none)
  std::vector<LogEntry> entries;
  bool gap = false;  // rows past `since` were already trimmed: reload everything
  // The other instances' IXFR journal rows that came with these changes, in order, so
  // this instance's journal keeps one chain of diffs instead of starting over.
  std::vector<JournalRow> journal;
};

// One connection to the database. The writer owns one, each reader one; a connection
// is only ever used by one thread at a time.
class Db {
 public:
  virtual ~Db() = default;

  // ---- transactions (writer) ----
  virtual Status begin() = 0;  // a write transaction
  virtual Status commit() = 0;
  virtual void rollback() = 0;
  virtual Status savepoint() = 0;
  virtual void rollback_to_savepoint() = 0;
  virtual Status release_savepoint() = 0;

  // ---- reads ----
  virtual Result<std::optional<StoredAccount>> find_account(std::string_view username) = 0;
  // Newest first (updated_ms DESC, value).
  virtual Result<std::vector<TxtRecord>> list_txt(std::string_view name) = 0;
  virtual Result<std::vector<AccountRecord>> list_accounts() = 0;
  virtual Result<std::size_t> account_count() = 0;
  virtual Status ping() = 0;  // a trivial read: does the database answer?
  // Every name and value into `index`; `stored_serial` gets meta.serial, `log_seq` the
  // change log's end as of the same snapshot (0 when there is no change log).
  virtual Status load_index(AnswerIndex& index, std::uint32_t& stored_serial, std::int64_t& log_seq) = 0;
  virtual Result<std::uint32_t> stored_serial() = 0;

  // ---- TXT values (inside the writer's transaction) ----
  virtual Result<bool> value_exists(const std::string& name, const std::string& value) = 0;
  virtual Status upsert_txt(const std::string& name, const std::string& value, std::int64_t ms) = 0;
  virtual Result<std::int64_t> count_txt(const std::string& name) = 0;
  // upsert_txt, then count_txt; a dialect may do both in one statement.
  virtual Result<std::int64_t> upsert_txt_count(const std::string& name, const std::string& value,
                                                std::int64_t ms) {
    if (auto s = upsert_txt(name, value, ms); !s) return s.error();
    return count_txt(name);
  }
  // Several TxtPuts in one go, in their order (a later put of the same value wins), each
  // name then trimmed to `limit`: the writer's hot path where a statement costs a round
  // trip (puts_in_bulk()). All or nothing: on failure nothing of it stays and the writer
  // runs the jobs one by one instead, so one bad job fails alone.
  [[nodiscard]] virtual bool puts_in_bulk() const { return false; }
  virtual Result<PutsDone> put_txt_bulk(const std::vector<TxtPut>& puts, std::int64_t limit) {
    (void)puts;
    (void)limit;
    return make_error("db_error", "not supported by this database");
  }
  // The `excess` oldest values of `name` (the reverse of the serving order).
  virtual Result<std::vector<std::string>> oldest_values(const std::string& name, std::int64_t excess) = 0;
  virtual Status trim_txt(const std::string& name, std::int64_t excess) = 0;
  virtual Result<bool> delete_txt(const std::string& name, const std::string& value) = 0;
  virtual Result<std::vector<std::string>> values_of_name(const std::string& name) = 0;
  virtual Status delete_txt_of_name(const std::string& name) = 0;
  // Values ranked per name newest first: rank > 2 and older than `cutoff_ms`, or rank > limit.
  virtual Result<std::vector<std::pair<std::string, std::string>>> prune_candidates(std::int64_t cutoff_ms,
                                                                                    std::int64_t limit) = 0;

  // ---- accounts ----
  virtual Status insert_account(const NewAccountRow& row) = 0;
  virtual Result<bool> update_allowfrom(const std::string& username, const std::string& json) = 0;
  virtual Status update_key_hash(const std::string& username, const std::string& hash) = 0;
  // subdomain and allowfrom JSON, or nullopt.
  virtual Result<std::optional<std::pair<std::string, std::string>>> select_account(
      const std::string& username) = 0;
  virtual Status delete_account(const std::string& username) = 0;

  // ---- the SOA serial and the IXFR journal ----
  virtual Status set_serial(std::uint32_t serial) = 0;
  // The stored serial, locked until the transaction ends (PostgreSQL: every instance's
  // zone-changing commits are serialized by this row, so the change log's order is
  // the commit order). SQLite's BEGIN IMMEDIATE already holds the only write lock.
  virtual Result<std::uint32_t> lock_serial() = 0;
  // lock_serial(), then read_log(since) under that lock; a dialect may send both at once.
  virtual Result<std::pair<std::uint32_t, LogBatch>> lock_serial_read_log(std::int64_t since,
                                                                          const std::string& origin) {
    auto serial = lock_serial();
    if (!serial) return serial.error();
    auto log = read_log(since, origin);
    if (!log) return log.error();
    return std::make_pair(*serial, std::move(log.value()));
  }
  virtual Status insert_journal(const JournalRow& row) = 0;
  virtual Status trim_journal(std::int64_t keep) = 0;
  virtual Status clear_journal() = 0;
  virtual Result<std::vector<JournalRow>> journal_rows() = 0;
  // The rows after `seq`, in order (the shared table: what other instances journaled).
  virtual Result<std::vector<JournalRow>> journal_rows_after(std::int64_t seq);

  // ---- dns-persist-01 records (table persist_values, migration 3) ----
  // One row per (name, issuer, account_uri); `value` is the canonical TXT text.
  virtual Result<std::vector<PersistRecord>> list_persist(std::string_view name) = 0;
  virtual Result<std::optional<std::string>> persist_value(const std::string& name, const std::string& issuer,
                                                           const std::string& account_uri) = 0;
  virtual Result<std::int64_t> count_persist(const std::string& name) = 0;
  virtual Status upsert_persist(const std::string& name, const std::string& issuer,
                                const std::string& account_uri, const std::string& value,
                                std::int64_t ms) = 0;
  // The removed value, or nullopt when there was no such record.
  virtual Result<std::optional<std::string>> delete_persist(const std::string& name,
                                                            const std::string& issuer,
                                                            const std::string& account_uri) = 0;
  // Every record at `name` (its account goes away); the removed values.
  virtual Result<std::vector<std::string>> delete_persist_of_name(const std::string& name) = 0;

  // ---- DNSSEC keys (table dnssec_keys, migration 4) ----
  // Inside begin()/commit(): makes the transaction the only one creating or rolling keys
  // (SQLite: BEGIN IMMEDIATE already holds the write lock; PostgreSQL: an advisory lock,
  // so instances starting together create one first key, not two).
  virtual Status lock_dnssec_keys() = 0;
  // Oldest first.
  virtual Result<std::vector<DnssecKeyRecord>> dnssec_keys(const std::string& zone) = 0;
  virtual Status insert_dnssec_key(const DnssecKeyRecord& key) = 0;
  // The keys of `zone` that still sign get `retire` and `remove`.
  virtual Status retire_dnssec_keys(const std::string& zone, std::int64_t retire, std::int64_t remove) = 0;

  // ---- the ACME client's state (tables acme_*, migration 5) ----
  // Its statements over this connection; valid while this Db lives (acme_state_sql.hpp).
  virtual std::unique_ptr<AcmeStateStore> acme_state() = 0;

  // ---- the change log (shared databases) ----
  // Appends one commit's entries with its serial and wakes the other instances;
  // returns the row's sequence number.
  virtual Result<std::int64_t> append_log(std::uint32_t serial, const std::string& origin,
                                          const std::vector<LogEntry>& entries) = 0;
  // Rows after `since`, in commit order (`origin` is kept for diagnostics).
  virtual Result<LogBatch> read_log(std::int64_t since, const std::string& origin) = 0;
  // Drops rows older than `max_age_seconds`, remembering the floor for read_log's gap.
  virtual Status trim_log(std::int64_t max_age_seconds) = 0;
};

// One database: how to connect, migrate and check it.
class Backend {
 public:
  virtual ~Backend() = default;
  [[nodiscard]] virtual const char* engine() const = 0;
  // Several processes may serve from this database at once (change log, shared serial).
  [[nodiscard]] virtual bool shared() const = 0;
  virtual Status prepare_storage() = 0;  // SQLite: the folder; PostgreSQL: nothing
  virtual Result<std::unique_ptr<Db>> connect() = 0;
  // Creates or migrates the schema (forward-only); refuses a database that is not ours
  // or newer than this binary.
  virtual Status migrate(Db& db) = 0;
  // After the index is loaded, before the writer starts (SQLite: the checkpointer).
  virtual Status started(Db& writer) = 0;
  // Runs before each COMMIT; a failure rolls the batch back.
  virtual Status before_commit() = 0;
  // Empty when the database is usable; otherwise why not (GET /ready).
  virtual std::string unavailable_reason(Db& reader) = 0;
  virtual void stop() = 0;
  // A wake-up from other instances' commits (PostgreSQL LISTEN): `wake` is called from
  // the listener's thread, not for the commits of `origin` (this process). SQLite: nothing.
  virtual void listen(const std::string& origin, std::function<void()> wake) = 0;
};

std::unique_ptr<Backend> make_sqlite_backend(const StoreOptions& options);
std::unique_ptr<Backend> make_pg_backend(const StoreOptions& options);

std::vector<std::string> parse_allowfrom(const std::string& text, bool& invalid);

// Imports an acme-dns database (SQLite file or PostgreSQL connection string) through
// `db`, inside the caller's transaction (the PostgreSQL takeover at first start).
Result<ImportReport> import_into(Db& db, const std::string& source);

}  // namespace acmednsd::store_detail
