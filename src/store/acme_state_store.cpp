// AcmeStateStore::open: a connection of the configured engine of its own, kept for the
// life of the ACME client (a poll every few seconds would otherwise connect each time);
// a lost PostgreSQL connection is re-established by the next call (pg_connection.hpp).
#include "store/acme_state_store.hpp"

#include <mutex>

#include "store/store_backend.hpp"

namespace acmednsd {
namespace {

class OwningAcmeState final : public AcmeStateStore {
 public:
  OwningAcmeState(std::unique_ptr<store_detail::Db> db, std::unique_ptr<AcmeStateStore> inner)
      : db_(std::move(db)), inner_(std::move(inner)) {}
  ~OwningAcmeState() override { inner_.reset(); }  // it refers to db_'s connection
  OwningAcmeState(const OwningAcmeState&) = delete;
  OwningAcmeState& operator=(const OwningAcmeState&) = delete;

  Result<std::optional<AcmeAccountRow>> account(const std::string& directory) override {
    std::lock_guard lock(mutex_);
    return inner_->account(directory);
  }
  Result<AcmeAccountRow> add_account(const AcmeAccountRow& row) override {
    std::lock_guard lock(mutex_);
    return inner_->add_account(row);
  }
  Status set_account_url(const std::string& directory, const std::string& url) override {
    std::lock_guard lock(mutex_);
    return inner_->set_account_url(directory, url);
  }
  Result<std::optional<AcmeCertificateRow>> certificate(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return inner_->certificate(name);
  }
  Status put_certificate(const AcmeCertificateRow& row) override {
    std::lock_guard lock(mutex_);
    return inner_->put_certificate(row);
  }
  Status put_certificate_state(const std::string& name, const std::string& state) override {
    std::lock_guard lock(mutex_);
    return inner_->put_certificate_state(name, state);
  }
  Result<AcmeLease> take_lease(const std::string& name, const std::string& holder, std::int64_t now_ms,
                               std::int64_t ttl_ms) override {
    std::lock_guard lock(mutex_);
    return inner_->take_lease(name, holder, now_ms, ttl_ms);
  }
  Result<std::optional<AcmeLease>> lease(const std::string& name) override {
    std::lock_guard lock(mutex_);
    return inner_->lease(name);
  }
  Status release_lease(const std::string& name, const std::string& holder) override {
    std::lock_guard lock(mutex_);
    return inner_->release_lease(name, holder);
  }

 private:
  std::mutex mutex_;  // one connection, one statement at a time
  std::unique_ptr<store_detail::Db> db_;
  std::unique_ptr<AcmeStateStore> inner_;
};

}  // namespace

Result<std::unique_ptr<AcmeStateStore>> AcmeStateStore::open(const std::string& engine,
                                                             const std::string& connection) {
  StoreOptions options;
  options.path = connection;
  options.engine = engine;
  auto backend = engine == "postgres" ? store_detail::make_pg_backend(options)
                                      : store_detail::make_sqlite_backend(options);
  auto db = backend->connect();
  if (!db) return db.error();
  auto inner = (*db)->acme_state();
  return std::unique_ptr<AcmeStateStore>(std::make_unique<OwningAcmeState>(std::move(*db), std::move(inner)));
}

}  // namespace acmednsd
