// The route handlers of the HTTP API (API.md), as pure functions of an ApiRequest and
// the store: no sockets, no Beast. A handler answers through `respond`, either at once
// (reads, errors) or from the store's writer thread once a write is durable; the
// transport posts that answer back to its own executor before writing it.
#pragma once

#include <chrono>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "config/config.hpp"
#include "http_api/api_types.hpp"
#include "http_api/client_address.hpp"
#include "http_api/metrics.hpp"
#include "http_api/rate_limiter.hpp"
#include "store/store.hpp"

namespace acmednsd::http_api {

// The part of [api] that decides who may do what. A SIGHUP replaces it as a whole;
// each request reads it once, so a request never sees half of an old and half of a
// new policy.
struct ApiPolicy {
  explicit ApiPolicy(const ApiConfig& config);

  ApiConfig api;
  bool registration_open;
  std::vector<Cidr> registration_networks;
  std::vector<Cidr> registration_rate_exempt;
  ClientAddressResolver resolver;
};

class ApiService : public std::enable_shared_from_this<ApiService> {
 public:
  // `tls_active`: the API is served over TLS (enables HSTS when configured).
  static std::shared_ptr<ApiService> create(const Config& config, Store& store, bool tls_active);

  // The API listener. Calls `respond` exactly once; never throws.
  void handle(ApiRequest request, Respond respond);
  // A separate metrics listener ([api] metrics_listen): /metrics and /health only.
  void handle_metrics_listener(ApiRequest request, Respond respond);

  ApiMetrics& metrics() { return metrics_; }
  // SIGHUP: the allowfrom/proxy, registration, CORS and HSTS keys of `config` apply
  // from the next request on.
  void reload(const Config& config);
  // More Prometheus text appended to /metrics (e.g. the DNS plane's counters).
  // Called before serving starts.
  void add_metrics_source(std::function<std::string()> source);

  ApiService(const Config& config, Store& store, bool tls_active);  // use create()

 private:
  using Clock = std::chrono::steady_clock;
  struct Credentials {
    const std::string* user = nullptr;
    const std::string* key = nullptr;
  };
  using AuthDecision = std::variant<AccountRecord, ApiResponse>;

  Respond finisher(const ApiRequest& request, Route route, const ClientAddress& client,
                   std::shared_ptr<const ApiPolicy> policy, Clock::time_point start, Respond respond);
  void dispatch(const ApiRequest& request, Route route, const ClientAddress& client, const ApiPolicy& policy,
                const Respond& respond);
  void decorate(ApiResponse& response, const std::string* origin, const ApiPolicy& policy) const;
  static std::optional<ApiResponse> cors_preflight(const ApiRequest& request, Route route,
                                                   const ApiPolicy& policy);

  // Checks 1..5 of /update (UUID, key format, user, key, allowfrom), or the response.
  AuthDecision authenticate(Credentials credentials, const ClientAddress& client, Route route);
  // The per-source failure limit, then authenticate() with X-Api-User / X-Api-Key.
  AuthDecision authenticate_api_headers(const ApiRequest& request, const ClientAddress& client, Route route);
  std::optional<ApiResponse> auth_rate_limited(const ClientAddress& client);

  // Counts one registration in flight unless the account cap would be passed.
  bool reserve_registration(std::uint32_t max_accounts);
  void on_register(const ApiRequest& request, const ClientAddress& client, const ApiPolicy& policy,
                   const Respond& respond);
  void on_update(const ApiRequest& request, const ClientAddress& client, bool remove, const Respond& respond);
  void on_httpreq(const ApiRequest& request, const ClientAddress& client, bool remove,
                  const Respond& respond);
  void on_account(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  void on_rotate_key(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  // dns-persist-01 records of the account (persist_routes.cpp).
  void on_persist(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  void write_value(const std::string& subdomain, const std::string& value, bool remove,
                   const Respond& respond);
  ApiResponse ready_response();
  ApiResponse metrics_response();

  std::string fulldomain(const std::string& subdomain) const;
  std::string credentials_body(const acmednsd::Credentials& credentials) const;
  std::string account_body(const AccountRecord& account, const std::vector<TxtRecord>& values) const;

  std::shared_ptr<const ApiPolicy> policy() const;

  std::string domain_;
  bool tls_active_;
  bool metrics_on_api_;
  Store& store_;
  mutable std::mutex policy_mutex_;
  std::shared_ptr<const ApiPolicy> policy_;  // replaced by reload(), read once per request
  RateLimiter auth_failures_;
  RateLimiter registrations_;
  // Registrations accepted but not yet in the answer index, so that concurrent requests
  // cannot all pass the account cap on the same count.
  std::atomic<std::uint32_t> registrations_in_flight_{0};
  std::atomic<std::int64_t> cap_logged_at_{0};  // unix seconds; the cap is logged once a minute
  ApiMetrics metrics_;
  std::vector<std::function<std::string()>> extra_metrics_;
};

}  // namespace acmednsd::http_api
