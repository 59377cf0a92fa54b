#include "http_api/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace acmednsd::http_api {
namespace {

// An IPv6 source counts per /64: one host usually has a whole /64 to pick addresses from.
std::string key_of(const IpAddress& source) {
  const IpAddress a = source.unmapped();
  return std::string(reinterpret_cast<const char*>(a.bytes.data()), a.v6 ? 8 : 4);
}

}  // namespace

RateLimiter::RateLimiter(std::uint32_t per_minute, std::size_t max_sources)
    : per_minute_(per_minute), max_sources_(max_sources) {}

RateLimiter::Bucket& RateLimiter::bucket(const IpAddress& source, Clock::time_point now) {
  const std::string key = key_of(source);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) evict(now);
    it = buckets_.emplace(key, Bucket{static_cast<double>(per_minute_), now}).first;
    return it->second;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.updated).count();
  if (elapsed > 0) {
    b.tokens = std::min<double>(per_minute_, b.tokens + elapsed * per_minute_ / 60.0);
    b.updated = now;
  }
  return b;
}

void RateLimiter::evict(Clock::time_point now) {
  const double full_after = 60.0;  // an empty bucket is full again after a minute
  std::erase_if(buckets_, [&](const auto& item) {
    const double idle = std::chrono::duration<double>(now - item.second.updated).count();
    return idle >= full_after || item.second.tokens >= per_minute_;
  });
  if (buckets_.size() >= max_sources_) buckets_.clear();
}

bool RateLimiter::exhausted(const IpAddress& source, Clock::time_point now) {
  if (!enabled()) return false;
  std::lock_guard lock(mutex_);
  return bucket(source, now).tokens < 1.0;
}

bool RateLimiter::take(const IpAddress& source, Clock::time_point now) {
  if (!enabled()) return true;
  std::lock_guard lock(mutex_);
  Bucket& b = bucket(source, now);
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

unsigned RateLimiter::retry_after_seconds(const IpAddress& source, Clock::time_point now) {
  if (!enabled()) return 1;
  std::lock_guard lock(mutex_);
  const Bucket& b = bucket(source, now);
  const double missing = std::max(0.0, 1.0 - b.tokens);
  return std::max(1U, static_cast<unsigned>(std::ceil(missing * 60.0 / per_minute_)));
}

}  // namespace acmednsd::http_api
