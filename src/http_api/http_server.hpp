// The HTTP plane's one public header: the acme-dns compatible API and its extensions.
// Everything else in src/http_api/ is private.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "config/config.hpp"
#include "store/store.hpp"

namespace boost::asio {
class io_context;
}

namespace acmednsd::http_api {

class HttpServer {
 public:
  // Binds the API (and metrics, if separate) listener before returning.
  static Result<std::unique_ptr<HttpServer>> create(boost::asio::io_context& io, const Config& config,
                                                    Store& store);
  virtual ~HttpServer() = default;
  virtual void stop() = 0;        // stop accepting, let in-flight requests finish
  virtual void reload_tls() = 0;  // re-read certificate files (SIGHUP)
  // SIGHUP: allowfrom/proxy rules, registration policy, CORS and HSTS of `config` apply
  // from the next request on; sockets, TLS mode and transport limits stay.
  virtual void reload_policy(const Config& config) = 0;
  // Prometheus text appended to /metrics, e.g. the DNS plane's counters. Call before
  // the io_context runs; `source` is then called on API threads.
  virtual void add_metrics_source(std::function<std::string()> source) = 0;
  // Runs `callback` once (posted to the io_context) when stop() was called and no
  // connection is open any more, so the app can end its grace period early.
  virtual void on_drained(std::function<void()> callback) = 0;
};

}  // namespace acmednsd::http_api
