// The renewal service: one thread that issues what is missing, then sleeps until the
// next certificate is due (or the check interval passes), interruptible by stop().
#include "acme_client/acme_service.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "acme_client/certificate_manager.hpp"
#include "acme_client/renewal_schedule.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "common/threads.hpp"

namespace acmednsd::acme {
namespace {

std::int64_t system_clock_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double csprng_fraction() {
  return static_cast<double>(random_u64() >> 11U) / static_cast<double>(1ULL << 53U);
}

class RenewalService final : public AcmeService {
 public:
  RenewalService(const Config& config, Store& store, AcmeServiceOptions options)
      : config_(config), clock_(options.clock ? options.clock : system_clock_seconds) {
    ManagerOptions manager_options;
    manager_options.clock = clock_;
    manager_options.random01 = options.random01 ? options.random01 : csprng_fraction;
    manager_options.sleep = [this](std::chrono::milliseconds delay) { return sleep(delay); };
    manager_options.stop_requested = &stopping_;
    manager_ = std::make_unique<CertificateManager>(config, store, std::move(manager_options));
  }

  ~RenewalService() override { stop(); }

  Status validate() const {
    IssueEnvironment offline;
    offline.zone = config_.general.domain;
    offline.check_cnames = false;  // needs the network; checked before each order
    for (const auto& job : manager_->jobs()) {
      if (auto plan = check_job(job, offline); !plan) return plan.error();
    }
    return ok_status();
  }

  void start() override {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void on_api_certificate(std::function<void()> callback) override {
    manager_->on_api_certificate(std::move(callback));
  }

 private:
  bool sleep(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, delay, [this] { return stopping_.load(); });
    return !stopping_;
  }

  // One pass over the certificates; returns the unix time of the next due one.
  std::int64_t renew_due_certificates() {
    std::int64_t next = clock_() + std::max<std::int64_t>(config_.acme.renew_check_interval_seconds, 60);
    // Several instances on one database: look for certificates the others stored.
    if (manager_->shared_mode()) next = std::min(next, clock_() + kSharedPollInterval.count());
    for (const auto& job : manager_->jobs()) {
      if (stopping_) break;
      manager_->sync(job);
      RenewalPlan plan = manager_->plan(job, true);
      if (plan.due <= clock_()) {
        // While another instance orders it, this one asks every 2 s: say so once.
        const bool was_waiting = waiting_.contains(job.name);
        const auto note = was_waiting ? log::debug : log::info;
        note("certificate due", {{"certificate", job.name}, {"reason", plan.reason}});
        // Logs its outcome and schedules the retry; in shared mode it may instead find
        // another instance ordering it ("lease_busy") or done with it ("not_due").
        auto outcome = manager_->attempt(job, false);
        const bool busy = !outcome && outcome.error().code == "lease_busy";
        if (busy || (!outcome && outcome.error().code == "not_due")) {
          note("certificate left to another instance",
               {{"certificate", job.name}, {"why", outcome.error().message}});
        }
        if (busy) {
          waiting_.insert(job.name);
        } else {
          waiting_.erase(job.name);
        }
        // Another instance is ordering it: look again soon, so its certificate is served
        // here moments after it is stored (most of all the first one, before which
        // this instance's API has no certificate at all).
        if (busy) next = std::min(next, clock_() + kLeaseBusyRecheck.count());
        const bool issued = outcome.ok();
        // After an issuance ask the CA's renewalInfo at once: with short-lived
        // certificates its window may open long before one third of the lifetime is left.
        plan = manager_->plan(job, issued);
        // Even if the retry could not be saved, a failure never leads to a tight loop.
        if (!issued) plan.due = std::max(plan.due, clock_() + kMinimumRetryDelay.count());
      }
      next = std::min(next, plan.due);
    }
    return next;
  }

  void run() {
    enter_control_plane("acme-client");
    while (!stopping_) {
      std::int64_t next = clock_() + 60;
      try {
        next = renew_due_certificates();
      } catch (const std::exception& e) {
        // A broken invariant must not kill the DNS server: log it and back off.
        log::error("ACME renewal pass failed", {{"error", e.what()}});
      }
      // Wake at least once a minute so a clock jump (suspend, NTP) is noticed.
      const std::int64_t seconds = std::clamp<std::int64_t>(next - clock_(), 1, 60);
      sleep(std::chrono::seconds(seconds));
    }
  }

  const Config& config_;
  std::function<std::int64_t()> clock_;
  std::unique_ptr<CertificateManager> manager_;
  std::set<std::string> waiting_;  // jobs another instance was ordering at the last pass
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<AcmeService>> AcmeService::create(const Config& config, Store& store) {
  return create(config, store, AcmeServiceOptions{});
}

Result<std::unique_ptr<AcmeService>> AcmeService::create(const Config& config, Store& store,
                                                         AcmeServiceOptions options) {
  auto service = std::make_unique<RenewalService>(config, store, std::move(options));
  if (auto status = service->validate(); !status) return status.error();
  return std::unique_ptr<AcmeService>(std::move(service));
}

std::string api_certificate_path(const Config& config) {
  return config.api.acme_cache_dir + "/" + config.general.domain + "/fullchain.pem";
}

std::string api_private_key_path(const Config& config) {
  return config.api.acme_cache_dir + "/" + config.general.domain + "/privkey.pem";
}

}  // namespace acmednsd::acme
