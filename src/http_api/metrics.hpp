// Counters and a latency histogram of the HTTP plane, rendered in the Prometheus text
// exposition format. Lock-free counters: observe() runs on every request.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "http_api/api_types.hpp"

namespace acmednsd::http_api {

enum class AuthFailure { bad_user, bad_key, unknown_user, wrong_key, allowfrom, subdomain, count };
enum class RegistrationRefusal { rate, cap, count };

class ApiMetrics {
 public:
  void observe(Route route, unsigned status, double seconds);
  void count_update(bool added);  // added (POST /update, /present) or removed
  void count_auth_failure(AuthFailure reason);
  void count_registration_refused(RegistrationRefusal reason);
  void count_rejected_connection() { rejected_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

  // `gauges` adds store figures (accounts, live values) already formatted.
  [[nodiscard]] std::string render(const std::string& gauges) const;

 private:
  static constexpr std::array<unsigned, 15> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405,
                                                         413, 429, 431, 500, 503, 408, 0};
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  static std::size_t status_slot(unsigned status);

  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size()>, kRouteCount> requests_{};
  std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> latency_buckets_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
  std::atomic<std::uint64_t> latency_count_{0};
  std::atomic<std::uint64_t> values_added_{0};
  std::atomic<std::uint64_t> values_removed_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(AuthFailure::count)> auth_failures_{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(RegistrationRefusal::count)>
      registrations_refused_{};
  std::atomic<std::uint64_t> rejected_connections_{0};
  std::atomic<std::int64_t> open_connections_{0};
};

}  // namespace acmednsd::http_api
