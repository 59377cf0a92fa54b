// `acme-dnsd serve`: wires the planes together (the HTTP API on this io_context, the DNS
// plane on threads of its own), and handles signals: SIGTERM/SIGINT drain and exit;
// SIGHUP reopens the log, reloads TLS files and re-reads the config file, applying what
// can change live (config_reload.hpp).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "acme_client/acme_service.hpp"
#include "app/app.hpp"
#include "common/log.hpp"
#include "common/threads.hpp"
#include "config/config_database.hpp"
#include "config/config_reload.hpp"
#include "dns/dns_server.hpp"
#include "http_api/http_server.hpp"
#include "store/store.hpp"

namespace acmednsd::app {
namespace {

namespace asio = boost::asio;

StoreOptions store_options(const Config& config) {
  StoreOptions o;
  o.engine = config.database.engine;
  o.path = config.database.connection;
  o.retention.limit = config.general.txt_limit;
  o.retention.retention_seconds = config.general.txt_retention_seconds;
  return o;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// SIGHUP: re-reads the config file. All of it is validated first; a bad file changes
// nothing and the running configuration stays.
void reload_config(Config& running, dns::DnsServer& dns_server, http_api::HttpServer& http_server) {
  auto loaded = load_config(running.source_path);
  if (!loaded) {
    log::error("SIGHUP: configuration not reloaded, the running one stays",
               {{"error", loaded.error().message}});
    return;
  }
  Config merged = merge_live_keys(running, *loaded);
  if (auto status = dns_server.reload(merged); !status) {
    log::error("SIGHUP: configuration not reloaded, the running one stays",
               {{"error", status.error().message}});
    return;
  }
  http_server.reload_policy(merged);
  for (const auto& w : merged.warnings) log::warning(w);
  const ReloadPlan plan = plan_reload(running, *loaded);
  // Reported at the old level, then the new one applies: lowering the level to "error"
  // still tells the operator that the reload happened.
  if (plan.unchanged()) log::info("SIGHUP: configuration unchanged", {{"config", running.source_path}});
  if (!plan.applied.empty()) log::info("SIGHUP: configuration reloaded", {{"applied", joined(plan.applied)}});
  if (!plan.needs_restart.empty()) {
    log::warning("SIGHUP: these changes need a restart to take effect",
                 {{"keys", joined(plan.needs_restart)}});
  }
  log::set_level(merged.log.loglevel);
  running = std::move(merged);
}

bool uses_acme(const Config& config) {
  return config.api.tls == TlsMode::acme || config.api.tls == TlsMode::letsencrypt ||
         config.api.tls == TlsMode::letsencryptstaging || !config.certificates.empty();
}

}  // namespace

Result<std::unique_ptr<Store>> open_store(const Config& config) {
  return Store::open(store_options(config));
}

int check_config(const Config& config) {
  for (const auto& w : config.warnings) std::cerr << "warning: " << w << "\n";
  if (auto s = dns::check_zone_config(config); !s) {
    std::cerr << "acme-dnsd: invalid configuration:\n" << s.error().message << "\n";
    return kExitUsage;
  }
  std::cout << "configuration OK: " << config.source_path << "\n";
  return kExitOk;
}

int serve(const Config& config) {
  if (auto err = log::configure(config.log); !err.empty()) {
    std::cerr << "acme-dnsd: " << err << "\n";
    return kExitFailure;
  }
  for (const auto& w : config.warnings) log::warning(w);
  if (auto s = dns::check_zone_config(config); !s) {
    std::cerr << "acme-dnsd: invalid configuration:\n" << s.error().message << "\n";
    return kExitUsage;
  }
  // Before the store's writer and the other control-plane threads exist (threads.hpp).
  set_control_plane_policy(resolve_control_plane_policy(config.general.control_plane_scheduling),
                           config.general.control_plane_nice);
  // Only the serving process keeps the IXFR journal, and only when someone may transfer.
  StoreOptions options = store_options(config);
  if (!config.transfer.allow.empty()) options.ixfr_journal = config.transfer.ixfr_journal;
  auto store = Store::open(options);
  if (!store) {
    log::error("cannot open the database",
               {{"path", config_database::redacted(config.database.engine, config.database.connection)},
                {"error", store.error().message}});
    return kExitFailure;
  }
  const unsigned threads = config.general.threads != 0 ? config.general.threads
                                                       : std::max(1U, std::thread::hardware_concurrency());
  asio::io_context io(static_cast<int>(threads));

  auto dns_server = dns::DnsServer::create(config, (*store)->index(), (*store)->journal());
  if (!dns_server) {
    log::error("cannot start the DNS server", {{"error", dns_server.error().message}});
    return kExitFailure;
  }
  auto http_server = http_api::HttpServer::create(io, config, **store);
  if (!http_server) {
    log::error("cannot start the HTTP API", {{"error", http_server.error().message}});
    return kExitFailure;
  }
  std::unique_ptr<acme::AcmeService> acme_service;
  if (uses_acme(config)) {
    auto created = acme::AcmeService::create(config, **store);
    if (!created) {
      log::error("cannot start the ACME client", {{"error", created.error().message}});
      return kExitFailure;
    }
    acme_service = std::move(created.value());
    auto* http = http_server->get();
    acme_service->on_api_certificate([http] { http->reload_tls(); });
    acme_service->start();
  }

  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set hup_signal(io, SIGHUP);
  // In-flight requests get a bounded time to finish. The deadline runs on its own thread,
  // not as a timer, so an idle server exits at once instead of waiting for the timer.
  std::mutex grace_mutex;
  std::condition_variable grace_cv;
  bool finished = false;
  std::thread grace;
  stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    hup_signal.cancel();
    (*dns_server)->stop();
    (*http_server)->stop();
    grace = std::thread([&] {
      std::unique_lock lock(grace_mutex);
      if (!grace_cv.wait_for(lock, std::chrono::seconds(5), [&] { return finished; })) io.stop();
    });
  });
  Config running = config;
  std::function<void()> wait_hup = [&] {
    hup_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (auto err = log::reopen(); !err.empty()) std::cerr << "acme-dnsd: " << err << "\n";
      (*http_server)->reload_tls();
      log::info("SIGHUP: log reopened, TLS certificate files reloaded");
      reload_config(running, **dns_server, **http_server);
      wait_hup();
    });
  };
  wait_hup();

  log::info("acme-dnsd started", {{"zone", config.general.domain},
                                  {"api", config.api.ip + ":" + std::to_string(config.api.port)},
                                  {"threads", std::to_string(threads)},
                                  {"accounts", std::to_string((*store)->index().name_count())}});
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) {
    pool.emplace_back([&io] {
      enter_control_plane("io");
      io.run();
    });
  }
  enter_control_plane(nullptr);  // the main thread is one of the HTTP threads
  io.run();
  for (auto& t : pool) t.join();
  {
    std::lock_guard lock(grace_mutex);
    finished = true;
  }
  grace_cv.notify_all();
  if (grace.joinable()) grace.join();
  if (acme_service) acme_service->stop();
  log::info("stopped");
  return kExitOk;
}

int cert(const Config& config, const std::vector<std::string>& args) {
  auto store = open_store(config);
  if (!store) {
    std::cerr << "acme-dnsd: cannot open the database: " << store.error().message << "\n";
    return kExitFailure;
  }
  return acme::run_cert_command(config, **store, args);
}

}  // namespace acmednsd::app
