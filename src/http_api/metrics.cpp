#include "http_api/metrics.hpp"

#include <cstdio>

namespace acmednsd::http_api {
namespace {

constexpr std::array<const char*, static_cast<std::size_t>(AuthFailure::count)> kAuthFailureNames = {
    "bad_user", "bad_key", "unknown_user", "wrong_key", "allowfrom", "subdomain"};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::size_t ApiMetrics::status_slot(unsigned status) {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;  // "other"
}

void ApiMetrics::observe(Route route, unsigned status, double seconds) {
  requests_[static_cast<std::size_t>(route)][status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = kBuckets.size();
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      bucket = i;
      break;
    }
  }
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  latency_count_.fetch_add(1, std::memory_order_relaxed);
}

void ApiMetrics::count_update(bool added) {
  (added ? values_added_ : values_removed_).fetch_add(1, std::memory_order_relaxed);
}

void ApiMetrics::count_auth_failure(AuthFailure reason) {
  auth_failures_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

void ApiMetrics::count_registration_refused(RegistrationRefusal reason) {
  registrations_refused_[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
}

std::string ApiMetrics::render(const std::string& gauges) const {
  std::string out;
  out.reserve(4096);
  out += "# HELP acmednsd_http_requests_total HTTP API requests by route and status.\n";
  out += "# TYPE acmednsd_http_requests_total counter\n";
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string status = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      out += "acmednsd_http_requests_total{route=\"";
      out += route_name(static_cast<Route>(r));
      out += "\",status=\"" + status + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# HELP acmednsd_http_request_duration_seconds Time from a complete request to its response.\n";
  out += "# TYPE acmednsd_http_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += latency_buckets_[i].load(std::memory_order_relaxed);
    out += "acmednsd_http_request_duration_seconds_bucket{le=\"" + number(kBuckets[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  cumulative += latency_buckets_[kBuckets.size()].load(std::memory_order_relaxed);
  out += "acmednsd_http_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += "acmednsd_http_request_duration_seconds_sum " +
         number(static_cast<double>(latency_sum_us_.load(std::memory_order_relaxed)) / 1e6) + "\n";
  out += "acmednsd_http_request_duration_seconds_count " +
         std::to_string(latency_count_.load(std::memory_order_relaxed)) + "\n";
  out += "# HELP acmednsd_txt_updates_total TXT values written through the API.\n";
  out += "# TYPE acmednsd_txt_updates_total counter\n";
  out += "acmednsd_txt_updates_total{op=\"add\"} " + std::to_string(values_added_.load()) + "\n";
  out += "acmednsd_txt_updates_total{op=\"remove\"} " + std::to_string(values_removed_.load()) + "\n";
  out += "# HELP acmednsd_http_auth_failures_total Rejected credentials by reason.\n";
  out += "# TYPE acmednsd_http_auth_failures_total counter\n";
  for (std::size_t i = 0; i < auth_failures_.size(); ++i) {
    out += "acmednsd_http_auth_failures_total{reason=\"";
    out += kAuthFailureNames[i];
    out += "\"} " + std::to_string(auth_failures_[i].load(std::memory_order_relaxed)) + "\n";
  }
  out +=
      "# HELP acmednsd_registrations_refused_total /register refused by the per-source rate or the account "
      "cap.\n";
  out += "# TYPE acmednsd_registrations_refused_total counter\n";
  out += "acmednsd_registrations_refused_total{reason=\"rate\"} " +
         std::to_string(registrations_refused_[0].load(std::memory_order_relaxed)) + "\n";
  out += "acmednsd_registrations_refused_total{reason=\"cap\"} " +
         std::to_string(registrations_refused_[1].load(std::memory_order_relaxed)) + "\n";
  out += "# HELP acmednsd_http_connections_open Open HTTP API connections.\n";
  out += "# TYPE acmednsd_http_connections_open gauge\n";
  out += "acmednsd_http_connections_open " + std::to_string(open_connections_.load()) + "\n";
  out += "# HELP acmednsd_http_connections_rejected_total Connections closed at the max_connections cap.\n";
  out += "# TYPE acmednsd_http_connections_rejected_total counter\n";
  out += "acmednsd_http_connections_rejected_total " + std::to_string(rejected_connections_.load()) + "\n";
  out += gauges;
  return out;
}

}  // namespace acmednsd::http_api
