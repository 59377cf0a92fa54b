// When to (re)issue a certificate: pure functions of the certificate's validity, the
// CA's ARI window (RFC 9773), past failures, a clock value and a random draw, so they
// are tested with injected values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace acmednsd::acme {

// Renew with one third of the lifetime left (certmagic's rule): 90-day certificates at
// 60 days, 6-day ones at 4.
std::int64_t renewal_time_by_lifetime(std::int64_t not_before, std::int64_t not_after);

// RFC 9773 section 4.2: a uniformly random point of the suggested window (random01 in
// [0, 1)); a window already past means "now". The draw covers the window's first nine
// tenths: the order itself takes time, and a CA whose window ends at notAfter (Pebble's
// for short-lived certificates) would otherwise see renewals finish after expiry.
std::int64_t renewal_time_in_window(std::int64_t window_start, std::int64_t window_end, double random01,
                                    std::int64_t now);

// Delay before the next attempt after `consecutive_failures` (>= 1) failures: 1 min,
// 2, 4 ... capped at 6 h, each jittered by -25%..+25% so a fleet does not retry in step,
// never less than the CA's Retry-After. Never zero, so a failing CA cannot cause a
// tight loop.
std::chrono::seconds retry_delay(int consecutive_failures, double random01,
                                 std::optional<std::chrono::seconds> retry_after);

// RFC 9773 4.3: when to ask renewalInfo again. The CA's Retry-After, bounded to
// 1 min .. 1 day so neither a tiny nor a silly value is obeyed blindly; without one,
// 6 h after an answer and 15 min after a failed or malformed one (the lifetime rule
// applies meanwhile).
std::chrono::seconds renewal_info_refetch_delay(std::optional<std::chrono::seconds> retry_after,
                                                bool answered);

inline constexpr std::chrono::seconds kMinimumRetryDelay{45};
inline constexpr std::chrono::seconds kMaximumRetryDelay{6 * 3600};

}  // namespace acmednsd::acme
