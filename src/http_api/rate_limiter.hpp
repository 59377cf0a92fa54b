// Per-source token buckets for auth failures and registrations ("N per minute"); an
// IPv4 address or an IPv6 /64 is one source.
// Memory is bounded: past `max_sources` tracked sources, buckets that have refilled
// (and so carry no information) are dropped, and if that is not enough, all are.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/cidr.hpp"

namespace acmednsd::http_api {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // per_minute == 0 disables the limiter (everything allowed).
  explicit RateLimiter(std::uint32_t per_minute, std::size_t max_sources = 65536);

  [[nodiscard]] bool enabled() const { return per_minute_ > 0; }
  // True when `source` has no token left (nothing is consumed).
  bool exhausted(const IpAddress& source, Clock::time_point now = Clock::now());
  // Takes one token; false when there was none.
  bool take(const IpAddress& source, Clock::time_point now = Clock::now());
  // Seconds until `source` has a token again (for Retry-After), at least 1.
  unsigned retry_after_seconds(const IpAddress& source, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };
  Bucket& bucket(const IpAddress& source, Clock::time_point now);  // refilled to `now`
  void evict(Clock::time_point now);

  std::uint32_t per_minute_;
  std::size_t max_sources_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace acmednsd::http_api
