// The thin network loops around the responder. Private to src/dns/.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "common/result.hpp"
#include "dns/transfer.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace acmednsd::dns {

// The served zone, which SIGHUP may replace. A ZoneData never changes once built; a
// reload stores a new one. Readers keep their own reference and look at the generation
// (one atomic load per batch), so the hot path takes no lock and never sees a zone
// freed under it.
class ZoneSlot {
 public:
  void store(std::shared_ptr<const ZoneData> zone) {
    {
      std::lock_guard lock(mutex_);
      zone_ = std::move(zone);
    }
    generation_.fetch_add(1, std::memory_order_release);
  }
  [[nodiscard]] std::shared_ptr<const ZoneData> load() const {
    std::lock_guard lock(mutex_);
    return zone_;
  }
  // Points `cached` at the current zone when it changed since `seen`.
  void refresh(std::shared_ptr<const ZoneData>& cached, std::uint64_t& seen) const {
    const std::uint64_t now = generation_.load(std::memory_order_acquire);
    if (now == seen && cached) return;
    cached = load();
    seen = now;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ZoneData> zone_;
  std::atomic<std::uint64_t> generation_{0};
};

// What every listener shares: the zone, the index (read-only here), the query-log switch.
struct ServingContext {
  ZoneSlot zone;
  const AnswerIndex* index = nullptr;
  std::atomic<bool> query_log{false};
  // Response-rate limiting of UDP answers per source prefix; rate 0 = off.
  std::uint32_t rrl_responses_per_second = 0;
  std::uint32_t rrl_slip = 2;
  std::uint32_t rrl_ipv4_prefix = 24;
  std::uint32_t rrl_ipv6_prefix = 56;
  std::vector<Cidr> rrl_exempt;
  // [transfer]: AXFR/IXFR and TSIG-signed queries; null when nothing is configured.
  std::shared_ptr<TransferGate> transfer;
};

struct ListenAddress {
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  bool v6_only = true;  // false only for the dual-stack wildcard "::"
  // Sockets systemd bound for us (socket activation), -1 when we bind ourselves.
  int inherited_udp_fd = -1;
  int inherited_tcp_fd = -1;

  [[nodiscard]] std::string to_string() const;
};

// One query-log line per answered query (only when [logconfig] query_log is on).
void log_query(const std::string& client, const char* transport, const std::uint8_t* response,
               std::size_t size);
std::string sockaddr_text(const void* sockaddr_storage_ptr);

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void start() = 0;
  virtual void stop() = 0;  // thread-safe; runs the close on the listener's strand
};

// `sockets` SO_REUSEPORT sockets on the same address, one per worker thread.
Result<std::shared_ptr<Listener>> open_udp_listener(boost::asio::io_context& io, const ListenAddress& where,
                                                    unsigned sockets,
                                                    std::shared_ptr<const ServingContext> context);

struct TcpLimits {
  std::uint32_t max_connections = 1024;
  std::uint32_t idle_timeout_ms = 10000;
};

Result<std::shared_ptr<Listener>> open_tcp_listener(boost::asio::io_context& io, const ListenAddress& where,
                                                    const TcpLimits& limits,
                                                    std::shared_ptr<const ServingContext> context);

}  // namespace acmednsd::dns
