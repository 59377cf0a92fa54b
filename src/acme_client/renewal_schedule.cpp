#include "acme_client/renewal_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace acmednsd::acme {

std::int64_t renewal_time_by_lifetime(std::int64_t not_before, std::int64_t not_after) {
  const std::int64_t lifetime = std::max<std::int64_t>(not_after - not_before, 0);
  return not_after - lifetime / 3;
}

std::int64_t renewal_time_in_window(std::int64_t window_start, std::int64_t window_end, double random01,
                                    std::int64_t now) {
  if (window_end <= now) return now;
  const double fraction = std::clamp(random01, 0.0, 1.0);
  const std::int64_t usable = std::max<std::int64_t>(window_end - window_start, 0) / 10 * 9;
  const auto span = static_cast<double>(usable);
  return std::max(now, window_start + static_cast<std::int64_t>(span * fraction));
}

std::chrono::seconds retry_delay(int consecutive_failures, double random01,
                                 std::optional<std::chrono::seconds> retry_after) {
  const int exponent = std::clamp(consecutive_failures - 1, 0, 20);
  const double base =
      std::min(60.0 * std::pow(2.0, exponent), static_cast<double>(kMaximumRetryDelay.count()));
  const double jitter = 0.75 + 0.5 * std::clamp(random01, 0.0, 1.0);
  auto delay = std::chrono::seconds(static_cast<std::int64_t>(base * jitter));
  delay = std::clamp(delay, kMinimumRetryDelay, kMaximumRetryDelay);
  if (retry_after) delay = std::max(delay, std::min(*retry_after, std::chrono::seconds(86400)));
  return delay;
}

std::chrono::seconds renewal_info_refetch_delay(std::optional<std::chrono::seconds> retry_after,
                                                bool answered) {
  if (retry_after) return std::clamp(*retry_after, std::chrono::seconds(60), std::chrono::seconds(86400));
  return answered ? std::chrono::seconds(6 * 3600) : std::chrono::seconds(15 * 60);
}

}  // namespace acmednsd::acme
