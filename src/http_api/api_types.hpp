// The HTTP plane's own request/response model: what route handlers see and return.
// Plain structs with no Beast types, so the handlers are pure functions that unit
// tests drive without sockets.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/cidr.hpp"

namespace acmednsd::http_api {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ApiRequest {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // as sent, query included
  HeaderList headers;  // names as sent; looked up case-insensitively
  std::string body;
  IpAddress peer;  // the TCP peer

  // First header with this name (case-insensitive), or nullptr.
  [[nodiscard]] const std::string* header(std::string_view name) const;
  // The target without its query string.
  [[nodiscard]] std::string_view path() const;
};

struct ApiResponse {
  unsigned status = 200;
  HeaderList headers;
  std::string body;
  bool close_connection = false;  // e.g. after a 413 whose body was not read

  void set_header(std::string name, std::string value);
  [[nodiscard]] const std::string* header(std::string_view name) const;
};

// The routes the API knows; `other` is everything that gets 404.
enum class Route {
  register_account,
  update,
  health,
  ready,
  metrics,
  account,
  account_rotate_key,
  present,
  cleanup,
  persist,
  other,
};
inline constexpr std::size_t kRouteCount = 11;
std::string_view route_name(Route route);

// Called exactly once per request, possibly from the store's writer thread.
using Respond = std::function<void(ApiResponse)>;

// `{"error": "<code>"}` with Content-Type application/json: the acme-dns error form,
// one space after the colon, no trailing newline.
ApiResponse json_error(unsigned status, std::string_view code);
// A JSON body built by hand (exact bytes) with Content-Type application/json.
ApiResponse json_response(unsigned status, std::string body);

}  // namespace acmednsd::http_api
