// Store: opening the database through its Backend (SQLite or PostgreSQL), loading the
// answer index, reads through a pool of connections, and the write operations, each
// expressed as a writer Job over the dialect-neutral Db operations (store_backend.hpp).
#include <future>
#include <nlohmann/json.hpp>

#include "common/cidr.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "store/key_hash.hpp"
#include "store/store_internal.hpp"

namespace acmednsd {
namespace {

using store_detail::Db;
using store_detail::Job;
using store_detail::LogEntry;
using store_detail::WriterContext;

std::string allowfrom_json(const std::vector<std::string>& list) {
  return nlohmann::json(list).dump();
}

class StoreImpl final : public Store {
 public:
  StoreImpl(StoreOptions options, std::unique_ptr<AnswerIndex> index)
      : options_(std::move(options)), index_(std::move(index)) {
    if (options_.ixfr_journal > 0) journal_ = std::make_unique<ZoneJournal>(options_.ixfr_journal);
  }
  ~StoreImpl() override {
    if (backend_) backend_->stop();  // the listener first: it wakes the writer
    if (writer_) writer_->stop();
  }

  Status init() {
    backend_ = options_.engine == "postgres" ? store_detail::make_pg_backend(options_)
                                             : store_detail::make_sqlite_backend(options_);
    if (auto s = backend_->prepare_storage(); !s) return s;
    auto conn = backend_->connect();
    if (!conn) return conn.error();
    if (auto s = backend_->migrate(**conn); !s) return s;
    std::uint32_t loaded_serial = 0;
    std::int64_t log_seq = 0;
    if (auto s = (*conn)->load_index(*index_, loaded_serial, log_seq); !s) return s;
    index_->set_serial_at_least(AnswerIndex::next_serial(loaded_serial, store_detail::now_ms() / 1000));
    if (auto s = backend_->started(**conn); !s) return s;
    WriterContext ctx;
    ctx.db = std::move(conn.value());
    ctx.limit = options_.retention.limit;
    ctx.shared = backend_->shared();
    ctx.origin = random_uuid_v4();
    ctx.log_seq = log_seq;
    ctx.before_commit = [this] { return backend_->before_commit(); };
    ctx.apply_foreign = [this](const store_detail::LogBatch& batch) { apply_foreign(batch); };
    ctx.last_serial = loaded_serial;
    if (journal_) {
      ctx.journal = journal_.get();
      if (auto s = store_detail::load_journal(ctx, *journal_, loaded_serial, index_->serial()); !s) return s;
    }
    writer_ = std::make_unique<store_detail::Writer>(std::move(ctx), *index_);
    // Pruning is what makes an expired value leave the zone for secondaries too (it
    // raises the serial): run it at least twice per retention period, at most every second.
    const auto prune_every =
        std::chrono::seconds(std::clamp<std::int64_t>(options_.retention.retention_seconds / 2, 1, 60));
    writer_->add_periodic([this](WriterContext&) { prune_now(); }, prune_every);
    if (backend_->shared()) {
      // LISTEN wakes the catch-up at once; the period is the fallback when a
      // notification was lost (the listener's connection dropped).
      writer_->add_periodic([this](WriterContext& c) { follow_change_log(c); },
                            std::chrono::milliseconds(500));
      writer_->add_periodic([](WriterContext& c) { (void)c.db->trim_log(3600); }, std::chrono::minutes(5));
      backend_->listen([this] { writer_->wake_periodic(); });
    } else {
      writer_->add_periodic([this](WriterContext& c) { follow_external_commits(c); },
                            std::chrono::milliseconds(250));
    }
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options_.read_connections); ++i) {
      auto r = backend_->connect();
      if (!r) return r.error();
      readers_.push_back(std::move(r.value()));
    }
    return ok_status();
  }

  const AnswerIndex& index() const override { return *index_; }
  const ZoneJournal* journal() const override { return journal_.get(); }

  Result<std::optional<AccountRecord>> find_account(std::string_view username) override {
    auto r = lease();
    auto found = r->find_account(username);
    release(std::move(r));
    if (!found) return found.error();
    if (!*found) return std::optional<AccountRecord>();
    return std::optional<AccountRecord>(std::move((*found)->record));
  }

  Result<AuthResult> authenticate(std::string_view username, std::string_view key) override {
    auto r = lease();
    auto found = r->find_account(username);
    release(std::move(r));
    if (!found) return found.error();
    AuthResult result;
    if (!*found) {
      key_hash::verify_dummy(key);
      result.outcome = AuthOutcome::unknown_user;
      return result;
    }
    const auto v = key_hash::verify(key, (*found)->key_hash);
    if (!v.match) {
      result.outcome = AuthOutcome::bad_key;
      return result;
    }
    if (v.needs_upgrade) upgrade_hash((*found)->record.username, std::string(key));
    result.outcome = AuthOutcome::ok;
    result.account = std::move((*found)->record);
    return result;
  }

  Result<std::vector<TxtRecord>> list_txt(std::string_view name) override {
    auto r = lease();
    auto out = r->list_txt(name);
    release(std::move(r));
    return out;
  }

  Result<std::vector<PersistRecord>> list_persist(std::string_view name) override {
    auto r = lease();
    auto out = r->list_persist(name);
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
    auto out = r->list_accounts();
    release(std::move(r));
    return out;
  }

  Result<std::size_t> account_count() override {
    auto r = lease();
    auto out = r->account_count();
    release(std::move(r));
    return out;
  }

  std::string unavailable_reason() override {
    auto r = lease();
    auto reason = backend_->unavailable_reason(*r);
    release(std::move(r));
    return reason;
  }

  void add_txt(std::string name, std::string value, Completion<Done> done) override {
    if (!is_valid_txt_value(value)) return done(make_error("bad_txt", "not a 43-character base64url value"));
    if (!is_valid_owner_name(name)) return done(make_error("bad_subdomain", "not a lowercase DNS name"));
    const auto ms = store_detail::unique_now_ms();
    Job job;
    job.apply = [name, value, ms](WriterContext& c) -> Status {
      if (c.changes) {
        auto found = c.db->value_exists(name, value);
        if (!found) return found.error();
        if (!*found) c.changes->added(name, value);
      }
      // Counting walks the primary key; the trim sorts, so it runs only past the limit.
      auto count = c.db->upsert_txt_count(name, value, ms);
      if (!count) return count.error();
      c.note(LogEntry::Kind::put, name, value, ms);
      if (*count <= static_cast<std::int64_t>(c.limit)) return ok_status();
      const std::int64_t excess = *count - static_cast<std::int64_t>(c.limit);
      if (c.changes || c.log) {
        auto oldest = c.db->oldest_values(name, excess);
        if (!oldest) return oldest.error();
        for (const auto& v : *oldest) {
          if (c.changes) c.changes->removed(name, v);
          c.note(LogEntry::Kind::remove, name, v);
        }
      }
      return c.db->trim_txt(name, excess);
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
      auto deleted = c.db->delete_txt(name, value);
      if (!deleted) return deleted.error();
      *existed = *deleted;
      if (*existed && c.changes) c.changes->removed(name, value);
      if (*existed) c.note(LogEntry::Kind::remove, name, value);
      return ok_status();
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
      auto s = c.db->insert_account(
          {creds->username, hash, creds->subdomain, allowfrom_json(creds->allowfrom), false, created});
      if (s) c.note(LogEntry::Kind::add_name, creds->subdomain);
      return s;
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
      auto updated = c.db->update_allowfrom(username, json);
      if (!updated) return updated.error();
      if (!*updated) return make_error("not_found", "no such account");
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
      auto found = c.db->select_account(creds->username);
      if (!found) return found.error();
      if (!*found) return make_error("not_found", "no such account");
      creds->subdomain = (*found)->first;
      bool invalid = false;
      creds->allowfrom = store_detail::parse_allowfrom((*found)->second, invalid);
      return c.db->update_key_hash(creds->username, hash);
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
      auto found = c.db->select_account(username);
      if (!found) return found.error();
      if (!*found) return ok_status();  // nothing to delete
      *subdomain = (*found)->first;
      if (c.changes) {
        auto values = c.db->values_of_name(*subdomain);
        if (!values) return values.error();
        for (const auto& v : *values) c.changes->removed(*subdomain, v);
      }
      if (auto s = c.db->delete_txt_of_name(*subdomain); !s) return s;
      if (auto s = store_detail::delete_persist_of_name(c, persist_name(*subdomain), *persist); !s) return s;
      if (auto s = c.db->delete_account(username); !s) return s;
      c.note(LogEntry::Kind::remove_name, *subdomain);
      return ok_status();
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
      auto found = c.db->prune_candidates((now_unix - policy.retention_seconds) * 1000,
                                          static_cast<std::int64_t>(policy.limit));
      if (!found) return found.error();
      *removed = std::move(found.value());
      for (const auto& [name, value] : *removed) {
        if (auto s = c.db->delete_txt(name, value); !s) return s.error();
        if (c.changes) c.changes->removed(name, value);
        c.note(LogEntry::Kind::remove, name, value);
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

  void upgrade_hash(const std::string& username, const std::string& key) {
    Job job;
    job.apply = [username, hash = key_hash::hash_new(key)](WriterContext& c) -> Status {
      return c.db->update_key_hash(username, hash);
    };
    job.finish = [username](const Status& s) {
      if (s.ok()) log::info("upgraded an imported bcrypt key hash", {{"username", username}});
    };
    writer_->submit(std::move(job));
  }

  // Rebuilds the index from the database (another process changed it without a change
  // log entry this process can replay).
  void reload_index(WriterContext& c, const char* why) {
    auto fresh = std::make_shared<AnswerIndex>(options_.retention);
    std::uint32_t loaded = 0;
    std::int64_t log_seq = 0;
    if (auto s = c.db->load_index(*fresh, loaded, log_seq); !s) {
      log::error("cannot reload the answer index after an external change", {{"error", s.error().message}});
      return;
    }
    fresh->set_serial_at_least(AnswerIndex::next_serial(loaded, store_detail::now_ms() / 1000));
    c.last_serial = loaded;
    c.log_seq = log_seq;
    writer_->publish([this, fresh, why] {
      {
        std::lock_guard batch_lock(index_->batch_mutex());
        index_->replace_contents(*fresh);
        // Another process changed the zone without journaling it: no diff reaches the
        // new serial, so secondaries get the whole zone once.
        if (journal_) journal_->clear();
      }
      log::info(why, {{"names", std::to_string(index_->name_count())}});
    });
  }

  // SQLite: the CLI (accounts add, import-acme-dns, cert issue) writes the same file
  // from another process. Every committed change also writes meta.serial; a stored
  // serial that is not the one this writer last wrote means another process committed,
  // and the index is rebuilt from the database so DNS answers what the file holds.
  void follow_external_commits(WriterContext& c) {
    auto stored = c.db->stored_serial();
    if (!stored || *stored == c.last_serial) return;
    reload_index(c, "reloaded the answer index after a change by another process");
  }

  // PostgreSQL: other instances' commits, read from the change log by sequence, so a
  // lost notification or a dropped connection delays them but never loses them.
  void follow_change_log(WriterContext& c) {
    auto batch = c.db->read_log(c.log_seq, c.origin);
    if (!batch) return;  // the database is away: the next round (or wake-up) retries
    if (batch->gap) return reload_index(c, "reloaded the answer index: the change log was trimmed past it");
    c.log_seq = batch->last_seq;
    if (batch->max_serial != 0 && AnswerIndex::serial_after(batch->max_serial, c.last_serial)) {
      c.last_serial = batch->max_serial;
    }
    if (batch->entries.empty() && batch->max_serial == 0) return;
    // After the log: rows committed meanwhile may run ahead of the index's serial, which
    // only means a secondary asking for them is told the current serial first.
    store_detail::read_foreign_journal(c, *batch);
    auto shared = std::make_shared<store_detail::LogBatch>(std::move(batch.value()));
    writer_->publish([this, shared] {
      std::lock_guard batch_lock(index_->batch_mutex());
      apply_foreign(*shared);
    });
  }

  // Publisher thread, under the batch lock.
  void apply_foreign(const store_detail::LogBatch& batch) {
    store_detail::apply_log_entries(*index_, batch.entries);
    if (batch.max_serial != 0) index_->set_serial_at_least(batch.max_serial);
    // The other instances' diffs continue this journal's chain, so a secondary of this
    // instance gets an IXFR whichever instance took the writes.
    if (journal_) {
      for (const auto& row : batch.journal) journal_->append(store_detail::journal_diff(row));
    }
  }

  void prune_now() {
    // Runs on the writer thread when idle; submitting from there is fine (queued).
    prune(store_detail::now_ms() / 1000, [](const Result<std::size_t>& r) {
      if (r.ok() && *r > 0) log::debug("pruned expired TXT values", {{"count", std::to_string(*r)}});
    });
  }

  std::unique_ptr<Db> lease() {
    std::unique_lock lock(readers_mutex_);
    readers_free_.wait(lock, [this] { return !readers_.empty(); });
    auto r = std::move(readers_.back());
    readers_.pop_back();
    return r;
  }
  void release(std::unique_ptr<Db> r) {
    {
      std::lock_guard lock(readers_mutex_);
      readers_.push_back(std::move(r));
    }
    readers_free_.notify_one();
  }

  StoreOptions options_;
  std::unique_ptr<AnswerIndex> index_;
  std::unique_ptr<ZoneJournal> journal_;  // before writer_: the writer's publisher uses it
  std::unique_ptr<store_detail::Backend> backend_;
  std::unique_ptr<store_detail::Writer> writer_;
  std::mutex readers_mutex_;
  std::condition_variable readers_free_;
  std::vector<std::unique_ptr<Db>> readers_;
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
