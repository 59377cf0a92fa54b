// Store: opening and migrating the database, loading the answer index, reads through a
// pool of read connections (WAL lets them run beside the writer), and the write
// operations, each expressed as a writer Job.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <nlohmann/json.hpp>

#include "common/cidr.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "store/key_hash.hpp"
#include "store/schema_sql.hpp"
#include "store/store_internal.hpp"

namespace acmednsd {
namespace {

using store_detail::Job;
using store_detail::WriterContext;

// Forward-only migrations: index i brings the schema from version i to i + 1.
const std::vector<const char*>& migrations() {
  static const std::vector<const char*> list = {
      store_schema::kSchemaV1,
      // 2: the IXFR journal (ZoneJournal): one row per SOA serial change, in order.
      "CREATE TABLE ixfr_journal ("
      "  seq         INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  from_serial INTEGER NOT NULL,"
      "  to_serial   INTEGER NOT NULL,"
      "  removed     TEXT NOT NULL,"  // "name value" lines
      "  added       TEXT NOT NULL"
      ");",
      // 3: dns-persist-01 records (persist_store.cpp).
      store_detail::persist_migration_sql(),
      // 4: DNSSEC keys (store/dnssec_key_store.cpp): one row per key, times in unix
      // seconds (RFC 7583 publish/activate/retire/remove). The private key is PKCS#8 PEM.
      "CREATE TABLE IF NOT EXISTS dnssec_keys ("
      "  id          INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  zone        TEXT NOT NULL,"
      "  algorithm   INTEGER NOT NULL,"
      "  flags       INTEGER NOT NULL,"
      "  private_key TEXT NOT NULL,"
      "  created     INTEGER NOT NULL,"
      "  publish     INTEGER NOT NULL,"
      "  activate    INTEGER NOT NULL,"
      "  retire      INTEGER,"
      "  remove      INTEGER"
      ");",
  };
  return list;
}

constexpr const char* kPragmas =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

std::string allowfrom_json(const std::vector<std::string>& list) {
  return nlohmann::json(list).dump();
}

// Read-side connection with its statements, prepared once.
struct Reader {
  sqlite::Connection db;
  sqlite::Statement find_account;
  sqlite::Statement list_txt;
};

class StoreImpl final : public Store {
 public:
  StoreImpl(StoreOptions options, std::unique_ptr<AnswerIndex> index)
      : options_(std::move(options)), index_(std::move(index)) {
    if (options_.ixfr_journal > 0) journal_ = std::make_unique<ZoneJournal>(options_.ixfr_journal);
  }
  ~StoreImpl() override {
    if (writer_) writer_->stop();
    if (checkpointer_) checkpointer_->stop();
  }

  Status init() {
    const std::filesystem::path path(options_.path);
    if (path.has_parent_path() && !std::filesystem::exists(path.parent_path())) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) return make_error("db_error", path.parent_path().string() + ": " + ec.message());
      ::chmod(path.parent_path().c_str(), 0700);
    }
    auto conn = sqlite::Connection::open(options_.path, false);
    if (!conn) return conn.error();
    if (auto s = conn->exec(kPragmas); !s) return s;
    if (auto s = migrate(*conn); !s) return s;
    std::uint32_t loaded_serial = 0;
    if (auto s = load_index(*conn, *index_, loaded_serial); !s) return s;
    if (auto s = conn->exec("PRAGMA wal_autocheckpoint = 0"); !s) return s;  // see Checkpointer
    auto checkpoint_conn = sqlite::Connection::open(options_.path, false);
    if (!checkpoint_conn) return checkpoint_conn.error();
    if (auto s = checkpoint_conn->exec("PRAGMA synchronous = FULL"); !s) return s;
    auto ctx = store_detail::prepare_writer(std::move(conn.value()), options_.retention.limit);
    if (!ctx) return ctx.error();
    struct stat opened {};
    if (::stat(options_.path.c_str(), &opened) != 0) {
      return make_error("db_error", options_.path + ": " + std::strerror(errno));
    }
    file_device_ = opened.st_dev;
    file_inode_ = opened.st_ino;
    ctx->before_commit = [this] {
      auto placed = file_in_place();
      if (!placed) log::error("refusing to commit", {{"error", placed.error().message}});
      return placed;
    };
    ctx->last_serial = loaded_serial;
    if (journal_) {
      ctx->journal = journal_.get();
      if (auto s = store_detail::load_journal(*ctx, *journal_, loaded_serial, index_->serial()); !s) return s;
    }
    writer_ = std::make_unique<store_detail::Writer>(std::move(ctx.value()), *index_);
    checkpointer_ = std::make_unique<store_detail::Checkpointer>(std::move(checkpoint_conn.value()),
                                                                 std::chrono::milliseconds(200));
    // Pruning is what makes an expired value leave the zone for secondaries too (it
    // raises the serial): run it at least twice per retention period, at most every second.
    const auto prune_every =
        std::chrono::seconds(std::clamp<std::int64_t>(options_.retention.retention_seconds / 2, 1, 60));
    writer_->add_periodic([this](WriterContext&) { prune_now(); }, prune_every);
    writer_->add_periodic([this](WriterContext& c) { follow_external_commits(c); },
                          std::chrono::milliseconds(250));
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.read_connections); ++i) {
      auto r = open_reader();
      if (!r) return r.error();
      readers_.push_back(std::move(r.value()));
    }
    return ok_status();
  }

  const AnswerIndex& index() const override { return *index_; }
  const ZoneJournal* journal() const override { return journal_.get(); }

  Result<std::optional<AccountRecord>> find_account(std::string_view username) override {
    auto r = lease();
    std::optional<AccountRecord> out;
    std::string ignored_hash;
    auto s = read_account(*r, username, out, ignored_hash);
    release(std::move(r));
    if (!s) return s.error();
    return out;
  }

  Result<AuthResult> authenticate(std::string_view username, std::string_view key) override {
    auto r = lease();
    std::optional<AccountRecord> account;
    std::string stored_hash;
    auto s = read_account(*r, username, account, stored_hash);
    release(std::move(r));
    if (!s) return s.error();
    AuthResult result;
    if (!account) {
      key_hash::verify_dummy(key);
      result.outcome = AuthOutcome::unknown_user;
      return result;
    }
    const auto v = key_hash::verify(key, stored_hash);
    if (!v.match) {
      result.outcome = AuthOutcome::bad_key;
      return result;
    }
    if (v.needs_upgrade) upgrade_hash(account->username, std::string(key));
    result.outcome = AuthOutcome::ok;
    result.account = std::move(*account);
    return result;
  }

  Result<std::vector<TxtRecord>> list_txt(std::string_view name) override {
    auto r = lease();
    std::vector<TxtRecord> out;
    r->list_txt.bind(":name", name);
    int rc = 0;
    while ((rc = r->list_txt.step()) == SQLITE_ROW) {
      out.push_back({r->list_txt.text(0), r->list_txt.integer(1) / 1000});
    }
    const std::string err = r->list_txt.error();
    r->list_txt.reset();
    release(std::move(r));
    if (rc != SQLITE_DONE) return make_error("db_error", err);
    return out;
  }

  Result<std::vector<PersistRecord>> list_persist(std::string_view name) override {
    auto r = lease();
    auto out = store_detail::read_persist(r->db, name);
    release(std::move(r));
    return out;
  }

  void set_persist(std::string name, std::string value, Completion<bool> done) override {
    auto job = store_detail::set_persist_job(*index_, std::move(name), value, done);
    if (!job) return done(job.error());
    writer_->submit(std::move(*job));
  }

  void remove_persist(std::string name, std::string issuer, std::string account_uri,
                      Completion<std::string> done) override {
    writer_->submit(store_detail::remove_persist_job(*index_, name, issuer, account_uri, std::move(done)));
  }

  Result<std::vector<AccountRecord>> list_accounts() override {
    auto r = lease();
    auto st = r->db.prepare(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at FROM accounts ORDER BY "
        "created_at, username");
    std::vector<AccountRecord> out;
    if (!st) {
      release(std::move(r));
      return st.error();
    }
    int rc = 0;
    while ((rc = st->step()) == SQLITE_ROW) {
      AccountRecord a;
      a.username = st->text(0);
      a.subdomain = st->text(1);
      a.allowfrom = parse_allowfrom(st->text(2), a.allowfrom_invalid);
      a.allowfrom_invalid = a.allowfrom_invalid || st->integer(3) != 0;
      a.created_at = st->integer(4);
      out.push_back(std::move(a));
    }
    const std::string err = st->error();
    release(std::move(r));
    if (rc != SQLITE_DONE) return make_error("db_error", err);
    return out;
  }

  Result<std::size_t> account_count() override {
    auto r = lease();
    auto n = r->db.query_int("SELECT count(*) FROM accounts");
    release(std::move(r));
    if (!n) return n.error();
    return static_cast<std::size_t>(*n);
  }

  std::string unavailable_reason() override {
    if (auto placed = file_in_place(); !placed) return placed.error().message;
    auto r = lease();
    auto n = r->db.query_int("SELECT count(*) FROM meta");
    release(std::move(r));
    return n.ok() ? std::string() : "the database does not answer: " + n.error().message;
  }

  // An operator who deletes or moves the database file under a running server would
  // otherwise see every later update acknowledged into an unlinked file and lost at
  // the next start.
  Status file_in_place() const {
    struct stat now {};
    if (::stat(options_.path.c_str(), &now) != 0) {
      return make_error("db_error", "the database file " + options_.path + " was removed");
    }
    if (now.st_dev != file_device_ || now.st_ino != file_inode_) {
      return make_error("db_error", "the database file " + options_.path + " was replaced");
    }
    return ok_status();
  }

  void add_txt(std::string name, std::string value, Completion<Done> done) override {
    if (!is_valid_txt_value(value)) return done(make_error("bad_txt", "not a 43-character base64url value"));
    if (!is_valid_owner_name(name)) return done(make_error("bad_subdomain", "not a lowercase DNS name"));
    const auto ms = store_detail::unique_now_ms();
    Job job;
    job.apply = [name, value, ms](WriterContext& c) -> Status {
      if (c.changes) {
        c.value_exists.bind(":name", name).bind(":value", value);
        const int found = c.value_exists.step();
        c.value_exists.reset();
        if (found == SQLITE_DONE) c.changes->added(name, value);
      }
      if (auto s = c.upsert_txt.bind(":name", name).bind(":value", value).bind(":ms", ms).run(); !s) return s;
      // Counting walks the primary key; the trim sorts, so it runs only past the limit.
      c.count_txt.bind(":name", name);
      const bool counted = c.count_txt.step() == SQLITE_ROW;
      const std::int64_t count = counted ? c.count_txt.integer(0) : 0;
      const std::string err = c.count_txt.error();
      c.count_txt.reset();
      if (!counted) return make_error("db_error", err);
      if (count <= static_cast<std::int64_t>(c.limit)) return ok_status();
      if (c.changes) {
        c.select_trimmed.bind(":name", name).bind(":excess", count - static_cast<std::int64_t>(c.limit));
        while (c.select_trimmed.step() == SQLITE_ROW) c.changes->removed(name, c.select_trimmed.text(0));
        c.select_trimmed.reset();
      }
      return c.trim_txt.bind(":name", name).bind(":excess", count - static_cast<std::int64_t>(c.limit)).run();
    };
    job.publish = [this, name, value, ms] { index_->put_value(name, value, ms / 1000, ms); };
    job.finish = [done = std::move(done)](const Status& s) {
      done(s.ok() ? Result<Done>(Done{}) : Result<Done>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void remove_txt(std::string name, std::string value, Completion<bool> done) override {
    auto existed = std::make_shared<bool>(false);
    Job job;
    job.apply = [name, value, existed](WriterContext& c) -> Status {
      auto s = c.delete_txt.bind(":name", name).bind(":value", value).run();
      *existed = c.db.changes() > 0;
      if (s.ok() && *existed && c.changes) c.changes->removed(name, value);
      return s;
    };
    job.publish = [this, name, value] { index_->remove_value(name, value); };
    job.changed = [existed] { return *existed; };
    job.finish = [done = std::move(done), existed](const Status& s) {
      done(s.ok() ? Result<bool>(*existed) : Result<bool>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void create_account(std::vector<std::string> allowfrom, Completion<Credentials> done) override {
    for (const auto& c : allowfrom) {
      if (!Cidr::parse(c)) return done(make_error("invalid_allowfrom_cidr", c));
    }
    auto creds = std::make_shared<Credentials>();
    creds->username = random_uuid_v4();
    creds->subdomain = random_uuid_v4();
    creds->password = random_api_key();
    creds->allowfrom = std::move(allowfrom);
    const std::string hash = key_hash::hash_new(creds->password);
    const std::int64_t created = store_detail::now_ms() / 1000;
    Job job;
    job.apply = [creds, hash, created](WriterContext& c) -> Status {
      return c.insert_account.bind(":username", creds->username)
          .bind(":key_hash", hash)
          .bind(":subdomain", creds->subdomain)
          .bind(":allowfrom", allowfrom_json(creds->allowfrom))
          .bind(":invalid", std::int64_t{0})
          .bind(":created", created)
          .run();
    };
    job.publish = [this, creds] { index_->add_name(creds->subdomain); };
    job.finish = [done = std::move(done), creds](const Status& s) {
      done(s.ok() ? Result<Credentials>(*creds) : Result<Credentials>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void set_allowfrom(std::string username, std::vector<std::string> allowfrom,
                     Completion<Done> done) override {
    for (const auto& c : allowfrom) {
      if (!Cidr::parse(c)) return done(make_error("invalid_allowfrom_cidr", c));
    }
    Job job;
    job.apply = [username, json = allowfrom_json(allowfrom)](WriterContext& c) -> Status {
      if (auto s = c.update_allowfrom.bind(":allowfrom", json).bind(":username", username).run(); !s)
        return s;
      if (c.db.changes() == 0) return make_error("not_found", "no such account");
      return ok_status();
    };
    job.finish = [done = std::move(done)](const Status& s) {
      done(s.ok() ? Result<Done>(Done{}) : Result<Done>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void rotate_key(std::string username, Completion<Credentials> done) override {
    auto creds = std::make_shared<Credentials>();
    creds->username = username;
    creds->password = random_api_key();
    const std::string hash = key_hash::hash_new(creds->password);
    Job job;
    job.apply = [creds, hash](WriterContext& c) -> Status {
      c.select_account.bind(":username", creds->username);
      const int rc = c.select_account.step();
      if (rc == SQLITE_ROW) {
        creds->subdomain = c.select_account.text(0);
        bool invalid = false;
        creds->allowfrom = parse_allowfrom(c.select_account.text(1), invalid);
      }
      const std::string err = c.select_account.error();
      c.select_account.reset();
      if (rc == SQLITE_DONE) return make_error("not_found", "no such account");
      if (rc != SQLITE_ROW) return make_error("db_error", err);
      return c.update_key_hash.bind(":key_hash", hash).bind(":username", creds->username).run();
    };
    job.finish = [done = std::move(done), creds](const Status& s) {
      done(s.ok() ? Result<Credentials>(*creds) : Result<Credentials>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void delete_account(std::string username, Completion<bool> done) override {
    auto subdomain = std::make_shared<std::string>();
    auto persist = std::make_shared<std::vector<std::string>>();  // its dns-persist-01 values
    Job job;
    job.apply = [username, subdomain, persist](WriterContext& c) -> Status {
      c.select_account.bind(":username", username);
      const int rc = c.select_account.step();
      if (rc == SQLITE_ROW) *subdomain = c.select_account.text(0);
      c.select_account.reset();
      if (rc != SQLITE_ROW) return ok_status();  // nothing to delete
      if (c.changes) {
        c.select_values_of_name.bind(":name", *subdomain);
        while (c.select_values_of_name.step() == SQLITE_ROW) {
          c.changes->removed(*subdomain, c.select_values_of_name.text(0));
        }
        c.select_values_of_name.reset();
      }
      if (auto s = c.delete_txt_of_name.bind(":name", *subdomain).run(); !s) return s;
      if (auto s = store_detail::delete_persist_of_name(c, persist_name(*subdomain), *persist); !s) return s;
      return c.delete_account.bind(":username", username).run();
    };
    job.publish = [this, subdomain, persist] {
      if (subdomain->empty()) return;
      index_->remove_name(*subdomain);
      for (const auto& v : *persist) index_->remove_persistent(persist_name(*subdomain), v);
    };
    job.changed = [subdomain] { return !subdomain->empty(); };
    job.finish = [done = std::move(done), subdomain](const Status& s) {
      done(s.ok() ? Result<bool>(!subdomain->empty()) : Result<bool>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  void prune(std::int64_t now_unix, Completion<std::size_t> done) override {
    auto removed = std::make_shared<std::vector<std::pair<std::string, std::string>>>();
    const RetentionPolicy policy = options_.retention;
    Job job;
    job.apply = [removed, now_unix, policy](WriterContext& c) -> Status {
      // Rank values per name, newest first; rank >= 2 and expired, or past the limit, go.
      auto st = c.db.prepare(
          "SELECT name, value FROM (SELECT name, value, updated_ms, row_number() OVER "
          "(PARTITION BY name ORDER BY updated_ms DESC, value) AS rank FROM txt_values) "
          "WHERE (rank > 2 AND updated_ms < :cutoff) OR rank > :limit");
      if (!st) return st.error();
      st->bind(":cutoff", (now_unix - policy.retention_seconds) * 1000)
          .bind(":limit", static_cast<std::int64_t>(policy.limit));
      int rc = 0;
      while ((rc = st->step()) == SQLITE_ROW) removed->emplace_back(st->text(0), st->text(1));
      if (rc != SQLITE_DONE) return make_error("db_error", st->error());
      for (const auto& [name, value] : *removed) {
        if (auto s = c.delete_txt.bind(":name", name).bind(":value", value).run(); !s) return s;
        if (c.changes) c.changes->removed(name, value);
      }
      return ok_status();
    };
    job.publish = [this, removed] {
      for (const auto& [name, value] : *removed) index_->remove_value(name, value);
    };
    job.changed = [removed] { return !removed->empty(); };
    job.finish = [done = std::move(done), removed](const Status& s) {
      done(s.ok() ? Result<std::size_t>(removed->size()) : Result<std::size_t>(s.error()));
    };
    writer_->submit(std::move(job));
  }

  Result<ImportReport> import_acme_dns(const std::string& path) override {
    return store_detail::import_acme_dns_database(*writer_, *index_, path);
  }

 private:
  static std::string persist_name(const std::string& subdomain) {
    return std::string(kPersistLabel) + "." + subdomain;
  }

  static std::vector<std::string> parse_allowfrom(const std::string& text, bool& invalid) {
    std::vector<std::string> out;
    try {
      const auto j = nlohmann::json::parse(text);
      if (!j.is_array()) throw std::runtime_error("not an array");
      for (const auto& e : j) {
        if (!e.is_string() || !Cidr::parse(e.get<std::string>())) throw std::runtime_error("bad entry");
        out.push_back(e.get<std::string>());
      }
    } catch (const std::exception&) {
      invalid = true;  // never read as "allow from anywhere"
    }
    return out;
  }

  Status migrate(sqlite::Connection& conn) {
    auto version = conn.query_int("PRAGMA user_version");
    if (!version) return version.error();
    const auto& list = migrations();
    if (*version > static_cast<std::int64_t>(list.size())) {
      return make_error("db_error", options_.path + ": schema version " + std::to_string(*version) +
                                        " is newer than this acme-dnsd knows (" +
                                        std::to_string(list.size()) + ")");
    }
    if (*version == 0) {
      // A file with tables but no version is not ours (an acme-dns database, say).
      auto tables = conn.query_int("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
      if (!tables) return tables.error();
      if (*tables > 0) {
        return make_error("db_error", options_.path +
                                          " is not an acme-dnsd database; to take over an acme-dns "
                                          "database use `acme-dnsd import-acme-dns PATH`");
      }
    }
    for (auto v = *version; v < static_cast<std::int64_t>(list.size()); ++v) {
      sqlite::Transaction txn(conn);
      if (auto s = txn.begin(); !s) return s;
      if (auto s = conn.exec(list[static_cast<std::size_t>(v)]); !s) return s;
      if (auto s = conn.exec("PRAGMA user_version = " + std::to_string(v + 1)); !s) return s;
      if (auto s = txn.commit(); !s) return s;
    }
    return ok_status();
  }

  // Loads names and values; `stored_serial` receives meta.serial as read.
  static Status load_index(sqlite::Connection& conn, AnswerIndex& index, std::uint32_t& stored_serial) {
    if (auto n = conn.query_int("SELECT count(*) FROM accounts"); n)
      index.reserve(static_cast<std::size_t>(*n));
    auto accounts = conn.prepare("SELECT subdomain FROM accounts");
    if (!accounts) return accounts.error();
    int rc = 0;
    while ((rc = accounts->step()) == SQLITE_ROW) index.add_name(accounts->text(0));
    if (rc != SQLITE_DONE) return make_error("db_error", accounts->error());
    // Unordered: put_value keeps each name's values newest first (sorting a million rows
    // in SQLite would dominate start-up).
    auto values = conn.prepare("SELECT name, value, updated_ms FROM txt_values");
    if (!values) return values.error();
    while ((rc = values->step()) == SQLITE_ROW) {
      index.put_value(values->text(0), values->text(1), values->integer(2) / 1000, values->integer(2));
    }
    if (rc != SQLITE_DONE) return make_error("db_error", values->error());
    if (auto s = store_detail::load_persist_index(conn, index); !s) return s;
    auto stored = read_stored_serial(conn);
    if (!stored) return stored.error();
    stored_serial = *stored;
    index.set_serial_at_least(AnswerIndex::next_serial(*stored, store_detail::now_ms() / 1000));
    return ok_status();
  }

  Result<std::unique_ptr<Reader>> open_reader() {
    auto conn = sqlite::Connection::open(options_.path, false);
    if (!conn) return conn.error();
    auto r = std::make_unique<Reader>();
    r->db = std::move(conn.value());
    auto fa = r->db.prepare(
        "SELECT username, subdomain, allowfrom, allowfrom_invalid, created_at, key_hash FROM accounts WHERE "
        "username = :username");
    if (!fa) return fa.error();
    r->find_account = std::move(fa.value());
    auto lt = r->db.prepare(
        "SELECT value, updated_ms FROM txt_values WHERE name = :name ORDER BY updated_ms DESC, value");
    if (!lt) return lt.error();
    r->list_txt = std::move(lt.value());
    return r;
  }

  Status read_account(Reader& r, std::string_view username, std::optional<AccountRecord>& out,
                      std::string& hash) {
    r.find_account.bind(":username", username);
    const int rc = r.find_account.step();
    if (rc == SQLITE_ROW) {
      AccountRecord a;
      a.username = r.find_account.text(0);
      a.subdomain = r.find_account.text(1);
      a.allowfrom = parse_allowfrom(r.find_account.text(2), a.allowfrom_invalid);
      a.allowfrom_invalid = a.allowfrom_invalid || r.find_account.integer(3) != 0;
      a.created_at = r.find_account.integer(4);
      hash = r.find_account.text(5);
      out = std::move(a);
    }
    const std::string err = r.find_account.error();
    r.find_account.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return make_error("db_error", err);
    return ok_status();
  }

  void upgrade_hash(const std::string& username, const std::string& key) {
    Job job;
    job.apply = [username, hash = key_hash::hash_new(key)](WriterContext& c) -> Status {
      return c.update_key_hash.bind(":key_hash", hash).bind(":username", username).run();
    };
    job.finish = [username](const Status& s) {
      if (s.ok()) log::info("upgraded an imported bcrypt key hash", {{"username", username}});
    };
    writer_->submit(std::move(job));
  }

  // The CLI (accounts add, import-acme-dns, cert issue) writes the same file from another
  // process. Every committed change also writes meta.serial; a stored serial that is not
  // the one this writer last wrote means another process committed, and the index is
  // rebuilt from the database so DNS answers what the file holds.
  void follow_external_commits(WriterContext& c) {
    auto stored = read_stored_serial(c.db);
    if (!stored || *stored == c.last_serial) return;
    auto fresh = std::make_shared<AnswerIndex>(options_.retention);
    std::uint32_t loaded = 0;
    if (auto s = load_index(c.db, *fresh, loaded); !s) {
      log::error("cannot reload the answer index after an external change", {{"error", s.error().message}});
      return;
    }
    c.last_serial = loaded;
    writer_->publish([this, fresh] {
      {
        std::lock_guard batch_lock(index_->batch_mutex());
        index_->replace_contents(*fresh);
        // Another process changed the zone without journaling it: no diff reaches the
        // new serial, so secondaries get the whole zone once.
        if (journal_) journal_->clear();
      }
      log::info("reloaded the answer index after a change by another process",
                {{"names", std::to_string(index_->name_count())}});
    });
  }

  static Result<std::uint32_t> read_stored_serial(sqlite::Connection& conn) {
    auto serial = conn.prepare("SELECT value FROM meta WHERE key = 'serial'");
    if (!serial) return serial.error();
    const int rc = serial->step();
    if (rc == SQLITE_DONE) return 0U;
    if (rc != SQLITE_ROW) return make_error("db_error", serial->error());
    return static_cast<std::uint32_t>(std::strtoul(serial->text(0).c_str(), nullptr, 10));
  }

  void prune_now() {
    // Runs on the writer thread when idle; submitting from there is fine (queued).
    prune(store_detail::now_ms() / 1000, [](const Result<std::size_t>& r) {
      if (r.ok() && *r > 0) log::debug("pruned expired TXT values", {{"count", std::to_string(*r)}});
    });
  }

  std::unique_ptr<Reader> lease() {
    std::unique_lock lock(readers_mutex_);
    readers_free_.wait(lock, [this] { return !readers_.empty(); });
    auto r = std::move(readers_.back());
    readers_.pop_back();
    return r;
  }
  void release(std::unique_ptr<Reader> r) {
    {
      std::lock_guard lock(readers_mutex_);
      readers_.push_back(std::move(r));
    }
    readers_free_.notify_one();
  }

  StoreOptions options_;
  std::unique_ptr<AnswerIndex> index_;
  std::unique_ptr<ZoneJournal> journal_;  // before writer_: the writer's publisher uses it
  std::unique_ptr<store_detail::Writer> writer_;
  dev_t file_device_ = 0;  // identity of the database file opened at start-up
  ino_t file_inode_ = 0;
  std::unique_ptr<store_detail::Checkpointer> checkpointer_;
  std::mutex readers_mutex_;
  std::condition_variable readers_free_;
  std::vector<std::unique_ptr<Reader>> readers_;
};

template <typename T, typename Start>
Result<T> wait_for(Start&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  auto store = std::make_unique<StoreImpl>(options, std::make_unique<AnswerIndex>(options.retention));
  if (auto s = store->init(); !s) return s.error();
  return std::unique_ptr<Store>(std::move(store));
}

Status Store::add_txt_sync(std::string name, std::string value) {
  auto r = wait_for<Done>([&](auto cb) { add_txt(std::move(name), std::move(value), cb); });
  if (!r) return r.error();
  return ok_status();
}

Result<bool> Store::remove_txt_sync(std::string name, std::string value) {
  return wait_for<bool>([&](auto cb) { remove_txt(std::move(name), std::move(value), cb); });
}

Result<bool> Store::set_persist_sync(std::string name, std::string value) {
  return wait_for<bool>([&](auto cb) { set_persist(std::move(name), std::move(value), cb); });
}

Result<std::string> Store::remove_persist_sync(std::string name, std::string issuer,
                                               std::string account_uri) {
  return wait_for<std::string>(
      [&](auto cb) { remove_persist(std::move(name), std::move(issuer), std::move(account_uri), cb); });
}

Result<Credentials> Store::create_account_sync(std::vector<std::string> allowfrom) {
  return wait_for<Credentials>([&](auto cb) { create_account(std::move(allowfrom), cb); });
}

Result<bool> Store::delete_account_sync(std::string username) {
  return wait_for<bool>([&](auto cb) { delete_account(std::move(username), cb); });
}

}  // namespace acmednsd
