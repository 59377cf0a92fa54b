// The route handlers of the HTTP API (API.md), as pure functions of an ApiRequest and
// the store: no sockets, no Beast. A handler answers through `respond`, either at once
// (reads, errors) or from the store's writer thread once a write is durable; the
// transport posts that answer back to its own executor before writing it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
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

class ApiService : public std::enable_shared_from_this<ApiService> {
 public:
  // `tls_active`: the API is served over TLS (enables HSTS when configured).
  static std::shared_ptr<ApiService> create(const Config& config, Store& store, bool tls_active);

  // The API listener. Calls `respond` exactly once; never throws.
  void handle(ApiRequest request, Respond respond);
  // A separate metrics listener ([api] metrics_listen): /metrics and /health only.
  void handle_metrics_listener(ApiRequest request, Respond respond);

  ApiMetrics& metrics() { return metrics_; }
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
                   Clock::time_point start, Respond respond);
  void dispatch(const ApiRequest& request, Route route, const ClientAddress& client, const Respond& respond);
  void decorate(ApiResponse& response, const std::string* origin) const;
  std::optional<ApiResponse> cors_preflight(const ApiRequest& request, Route route) const;

  // Checks 1..5 of /update (UUID, key format, user, key, allowfrom), or the response.
  AuthDecision authenticate(Credentials credentials, const ClientAddress& client, Route route);
  std::optional<ApiResponse> auth_rate_limited(const ClientAddress& client);

  void on_register(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  void on_update(const ApiRequest& request, const ClientAddress& client, bool remove, const Respond& respond);
  void on_httpreq(const ApiRequest& request, const ClientAddress& client, bool remove,
                  const Respond& respond);
  void on_account(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  void on_rotate_key(const ApiRequest& request, const ClientAddress& client, const Respond& respond);
  void write_value(const std::string& subdomain, const std::string& value, bool remove,
                   const Respond& respond);
  ApiResponse ready_response();
  ApiResponse metrics_response();

  std::string fulldomain(const std::string& subdomain) const;
  std::string credentials_body(const acmednsd::Credentials& credentials) const;
  std::string account_body(const AccountRecord& account, const std::vector<TxtRecord>& values) const;

  ApiConfig api_;
  std::string domain_;
  bool registration_open_;
  bool tls_active_;
  bool metrics_on_api_;
  std::vector<Cidr> registration_networks_;
  Store& store_;
  ClientAddressResolver resolver_;
  RateLimiter auth_failures_;
  RateLimiter registrations_;
  ApiMetrics metrics_;
  std::vector<std::function<std::string()>> extra_metrics_;
};

}  // namespace acmednsd::http_api
