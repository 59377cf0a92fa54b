// Wiring of the DNS plane: zone data from Config, then one UDP and/or TCP listener per
// configured address. The plane has threads of its own: the UDP workers, and one
// "dns-tcp" thread running the TCP listeners on a private io_context. None is shared
// with the HTTP API, so the API's threads can run at a lower CPU priority (see
// common/threads.hpp) without slowing TCP answers, and an API burst never queues
// ahead of a DNS handler.
#include "dns/dns_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <future>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/threads.hpp"
#include "dns/dnssec_setup.hpp"
#include "dns/listeners.hpp"
#include "dns/notify.hpp"
#include "dns/responder.hpp"
#include "dns/socket_activation.hpp"
#include "dns/zone_data.hpp"

namespace acmednsd::dns {
namespace {

namespace asio = boost::asio;

std::string endpoint_text(const Endpoint& e) {
  const bool v6 = e.host.find(':') != std::string::npos;
  return (v6 ? "[" + e.host + "]" : e.host) + ":" + std::to_string(e.port);
}

// general.listen + general.protocol -> concrete addresses. ":53" means every address:
// "::" dual-stack, or only one family when the protocol has a 4/6 suffix.
Result<std::vector<ListenAddress>> resolve_listen(const GeneralConfig& general) {
  std::vector<ListenAddress> out;
  if (general.listen.empty()) return make_error("config_invalid", "[general] listen: no address given");
  for (const auto& e : general.listen) {
    ListenAddress a;
    a.port = e.port;
    if (e.host.empty()) {
      if (general.protocol.ipv6) {
        a.address = asio::ip::address_v6::any();
        a.v6_only = !general.protocol.ipv4;
      } else {
        a.address = asio::ip::address_v4::any();
      }
      out.push_back(a);
      continue;
    }
    boost::system::error_code ec;
    a.address = asio::ip::make_address(e.host, ec);
    if (ec) {
      return make_error("config_invalid", "[general] listen \"" + endpoint_text(e) + "\": not an IP address");
    }
    if ((a.address.is_v4() && !general.protocol.ipv4) || (a.address.is_v6() && !general.protocol.ipv6)) {
      return make_error("config_invalid",
                        "[general] listen \"" + endpoint_text(e) + "\": address family excluded by protocol");
    }
    out.push_back(a);
  }
  return out;
}

// Hands the sockets systemd passed (socket activation) to the configured addresses they
// match; one that matches none is closed with a warning rather than left half-served.
void attach_inherited_sockets(std::vector<ListenAddress>& addresses, const DnsTransport& protocol) {
  auto& inherited = inherited_sockets();
  for (auto& a : addresses) {
    for (auto& s : inherited) {
      if (s.used || s.port != a.port || s.address != a.address.to_string()) continue;
      if (s.datagram && protocol.udp && a.inherited_udp_fd < 0) {
        a.inherited_udp_fd = s.fd;
        s.used = true;
      } else if (!s.datagram && protocol.tcp && a.inherited_tcp_fd < 0) {
        a.inherited_tcp_fd = s.fd;
        s.used = true;
      }
    }
  }
  for (auto& s : inherited) {
    if (s.used) continue;
    const std::string where = s.address.find(':') != std::string::npos ? "[" + s.address + "]" : s.address;
    log::warning(
        "socket passed by systemd matches no [general] listen address; closed",
        {{"socket", std::string(s.datagram ? "udp " : "tcp ") + where + ":" + std::to_string(s.port)}});
    ::close(s.fd);
    s.used = true;
  }
}

// How long stop() lets open TCP connections finish closing before abandoning them.
constexpr auto kTcpStopGrace = std::chrono::seconds(2);

class DnsServerImpl : public DnsServer {
 public:
  explicit DnsServerImpl(std::shared_ptr<ServingContext> context)
      : context_(std::move(context)), work_(asio::make_work_guard(io_)) {}
  ~DnsServerImpl() override { stop(); }
  DnsServerImpl(const DnsServerImpl&) = delete;
  DnsServerImpl& operator=(const DnsServerImpl&) = delete;

  asio::io_context& io() { return io_; }
  void add(std::shared_ptr<Listener> listener) { listeners_.push_back(std::move(listener)); }
  void set_notify(std::unique_ptr<NotifySender> notify) { notify_ = std::move(notify); }

  // Every address is bound before any listener starts: a taken one fails create().
  void start() {
    for (auto& l : listeners_) l->start();
    std::promise<void> finished;
    tcp_finished_ = finished.get_future();
    tcp_thread_ = std::thread([this, done = std::move(finished)]() mutable {
      name_this_thread("dns-tcp");
      io_.run();
      done.set_value();
    });
  }

  // [dnssec]: keeps the signer current. Every minute (and on SIGHUP) the keys are read
  // again, since `dnssec roll` or another instance on the same database may have added
  // one; a scheduled roll starts here; a new roll phase rebuilds the served zone.
  void start_dnssec(const Config& config, std::shared_ptr<const Signer> signer) {
    std::lock_guard lock(dnssec_mutex_);
    config_ = config;
    signer_ = std::move(signer);
    keeper_ = std::thread([this] {
      name_this_thread("dnssec");
      std::unique_lock keeper_lock(dnssec_mutex_);
      while (!dnssec_cv_.wait_for(keeper_lock, std::chrono::seconds(60), [this] { return stopping_; })) {
        refresh_keys(std::time(nullptr));
      }
    });
  }

  void stop() override {
    {
      std::lock_guard lock(dnssec_mutex_);
      stopping_ = true;
    }
    dnssec_cv_.notify_all();
    if (keeper_.joinable()) keeper_.join();
    if (notify_) notify_->stop();
    for (auto& l : listeners_) l->stop();
    listeners_.clear();
    work_.reset();
    if (!tcp_thread_.joinable()) return;
    // The listeners posted the closes; once they ran the io_context runs out of work.
    if (tcp_finished_.wait_for(kTcpStopGrace) != std::future_status::ready) io_.stop();
    tcp_thread_.join();
  }

  Status reload(const Config& config) override {
    std::lock_guard lock(dnssec_mutex_);
    const std::int64_t now = std::time(nullptr);
    std::shared_ptr<const Signer> signer = signer_;
    if (signer_ != nullptr) {
      start_scheduled_roll(now);                       // SIGHUP does what the minute timer does, at once
      auto loaded = load_signer(config_, now, false);  // [dnssec] itself needs a restart
      if (!loaded) return loaded.error();
      signer = *loaded;
    }
    auto zone = ZoneData::build(config.general, signer, now);
    if (!zone) return zone.error();
    context_->zone.store(zone.value());
    signer_ = signer;
    if (signer_ != nullptr) {
      phase_ = key_phase(*signer_, now);
      config_.general = config.general;
    }
    context_->query_log.store(config.log.query_log);
    return ok_status();
  }

 private:
  std::shared_ptr<ServingContext> context_;
  asio::io_context io_{1};  // declared before the listeners, which use it, so it outlives them
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::thread tcp_thread_;
  std::future<void> tcp_finished_;
  std::unique_ptr<NotifySender> notify_;

  // Called with dnssec_mutex_ held.
  void start_scheduled_roll(std::int64_t now) {
    auto rows =
        load_dnssec_keys(config_.database.engine, config_.database.connection, config_.general.domain);
    if (!rows) return log::warning("dnssec: cannot read the keys", {{"error", rows.error().message}});
    if (!roll_due(config_, *rows, now)) return;
    if (auto s = start_roll(config_, now, rows->back().id); !s) {
      if (s.error().code == "dnssec_roll_conflict") {
        return log::info("dnssec: the scheduled key roll was started by another instance");
      }
      return log::error("dnssec: the scheduled key roll did not start", {{"error", s.error().message}});
    }
    log::info("dnssec: scheduled key roll started");
  }

  // Called with dnssec_mutex_ held.
  void refresh_keys(std::int64_t now) {
    start_scheduled_roll(now);
    auto signer = load_signer(config_, now, false);
    if (!signer) return log::warning("dnssec: cannot load the keys", {{"error", signer.error().message}});
    const std::string phase = key_phase(**signer, now);
    if (phase == phase_) return;
    auto zone = ZoneData::build(config_.general, *signer, now);
    if (!zone) return log::error("dnssec: zone not rebuilt", {{"error", zone.error().message}});
    context_->zone.store(zone.value());
    signer_ = *signer;
    phase_ = phase;
    log::info("dnssec: keys changed, zone rebuilt", {{"keys", phase}});
  }

  std::mutex dnssec_mutex_;
  std::condition_variable dnssec_cv_;
  bool stopping_ = false;
  std::thread keeper_;
  Config config_;
  std::shared_ptr<const Signer> signer_;
  std::string phase_;
};

}  // namespace

std::string ListenAddress::to_string() const {
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(port);
}

void log_query(const std::string& client, const char* transport, const std::uint8_t* response,
               std::size_t size) {
  const auto summary = summarize_response({response, size});
  if (!summary) return;
  static constexpr const char* kRcodes[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                            "NXDOMAIN", "NOTIMP",  "REFUSED"};
  log::info("dns query",
            {{"client", client},
             {"transport", transport},
             {"name", summary->name},
             {"type", std::to_string(summary->type)},
             {"rcode", summary->rcode < 6 ? kRcodes[summary->rcode] : std::to_string(summary->rcode)},
             {"tc", summary->truncated ? "1" : "0"}});
}

std::string sockaddr_text(const void* sockaddr_storage_ptr) {
  const auto* sa = static_cast<const sockaddr*>(sockaddr_storage_ptr);
  char host[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    const auto* a4 = static_cast<const sockaddr_in*>(sockaddr_storage_ptr);
    inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a4->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const auto* a6 = static_cast<const sockaddr_in6*>(sockaddr_storage_ptr);
    inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a6->sin6_port));
  }
  return host;
}

Status check_zone_config(const Config& config) {
  auto zone = ZoneData::build(config.general);
  if (!zone) return zone.error();
  return ok_status();
}

Result<std::unique_ptr<DnsServer>> DnsServer::create(const Config& config, const AnswerIndex& index,
                                                     const ZoneJournal* journal) {
  std::int64_t now = std::time(nullptr);
  std::shared_ptr<const Signer> signer;
  if (config.dnssec.enabled) {
    auto loaded = load_signer(config, now, true);
    if (!loaded) return loaded.error();
    signer = *loaded;
    // Instances starting together on one database: the one that created the first key
    // while this one waited for the key lock published it at its own, later, second.
    // Built with the time from before the wait, the zone would leave that key out (and
    // be unsigned) until the next key refresh, a minute later.
    now = std::max(now, static_cast<std::int64_t>(std::time(nullptr)));
    log::info("dnssec: signing", {{"zone", config.general.domain}, {"keys", key_phase(*signer, now)}});
  }
  auto zone = ZoneData::build(config.general, signer, now);
  if (!zone) return zone.error();
  auto addresses = resolve_listen(config.general);
  if (!addresses) return addresses.error();
  attach_inherited_sockets(addresses.value(), config.general.protocol);

  auto context = std::make_shared<ServingContext>();
  context->zone.store(zone.value());
  context->index = &index;
  context->query_log.store(config.log.query_log);
  context->rrl_responses_per_second = config.general.rrl_responses_per_second;
  context->rrl_slip = config.general.rrl_slip;
  context->rrl_ipv4_prefix = config.general.rrl_ipv4_prefix;
  context->rrl_ipv6_prefix = config.general.rrl_ipv6_prefix;
  for (const auto& text : config.general.rrl_exempt) {
    if (auto cidr = Cidr::parse(text)) context->rrl_exempt.push_back(*cidr);
  }
  if (auto gate = std::make_shared<TransferGate>(config, journal); gate->enabled()) context->transfer = gate;

  // UDP worker threads: general.threads when set; by default one per two cores. Measured
  // with dnsperf on 2 cores (bench/dns-qps --threads 1|2), a second UDP thread fighting
  // the client and the kernel's network softirq for the same cores lowered throughput
  // from ~228k to ~104k q/s, and ACME validation traffic is tiny next to what one
  // thread answers.
  const unsigned threads = config.general.threads != 0
                               ? config.general.threads
                               : std::max(1u, std::thread::hardware_concurrency() / 2);
  const TcpLimits limits{config.general.tcp_max_connections, config.general.tcp_idle_timeout_ms};
  auto server = std::make_unique<DnsServerImpl>(context);
  for (const auto& address : addresses.value()) {
    if (config.general.protocol.udp) {
      auto udp = open_udp_listener(server->io(), address, threads, context);
      if (!udp) return udp.error();
      server->add(udp.value());
    }
    if (config.general.protocol.tcp) {
      auto tcp = open_tcp_listener(server->io(), address, limits, context);
      if (!tcp) return tcp.error();
      server->add(tcp.value());
    }
    log::info("dns listening", {{"address", address.to_string()},
                                {"udp", config.general.protocol.udp ? "yes" : "no"},
                                {"tcp", config.general.protocol.tcp ? "yes" : "no"}});
  }
  server->start();
  if (signer != nullptr) server->start_dnssec(config, signer);
  auto notify = NotifySender::start(config, context);
  if (!notify) return notify.error();
  server->set_notify(std::move(notify.value()));
  return std::unique_ptr<DnsServer>(std::move(server));
}

}  // namespace acmednsd::dns
