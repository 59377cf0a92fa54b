// The HTTPS client under the ACME client: synchronous calls from the service's own
// thread, certificate verification always on (system roots or acme.ca_bundle), keep-alive
// to the CA, every operation bounded by a timeout and interruptible by a stop flag.
// Boost.Beast lives only in https_transport.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace acmednsd::acme {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  std::string body;

  // First value of a header, or "".
  [[nodiscard]] std::string header(std::string_view name) const;
  [[nodiscard]] std::vector<std::string> all_headers(std::string_view name) const;
};

struct HttpsOptions {
  std::string ca_bundle;  // PEM file; empty = the system's roots
  std::chrono::milliseconds timeout{30000};
  const std::atomic<bool>* stop_requested = nullptr;  // checked while waiting
  std::string user_agent = "acme-dnsd";
};

class HttpsClient {
 public:
  static Result<std::unique_ptr<HttpsClient>> create(const HttpsOptions& options);
  virtual ~HttpsClient() = default;
  // `url` must be https://. `body` is sent when method is POST.
  virtual Result<HttpResponse> request(std::string_view method, const std::string& url,
                                       const std::string& body = {}, std::string_view content_type = {}) = 0;
};

// Parsed https:// URL. Port defaults to 443; `target` starts with '/'.
struct HttpsUrl {
  std::string host;
  std::string port;
  std::string target;
};
Result<HttpsUrl> parse_https_url(std::string_view url);

// Targets of `Link: <url>;rel="name"` headers (RFC 8288), resolved against nothing:
// ACME servers send absolute URLs.
std::vector<std::string> link_targets(const HttpResponse& response, std::string_view rel);

}  // namespace acmednsd::acme
