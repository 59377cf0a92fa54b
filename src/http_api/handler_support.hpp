// Small helpers shared by the route handlers (api_service.cpp, account_routes.cpp).
// Private to src/http_api/.
#pragma once

#include <exception>
#include <string_view>
#include <utility>

#include "common/log.hpp"
#include "common/result.hpp"
#include "http_api/api_types.hpp"

namespace acmednsd::http_api {

inline ApiResponse forbidden() {
  return json_error(401, "forbidden");
}

// A store failure: logged with what failed, answered as acme-dns does. A database that
// cannot be reached (PostgreSQL away) is 503: the request may be retried elsewhere.
inline ApiResponse db_error(const Error& error, std::string_view what) {
  log::error("store failure", {{"op", std::string(what)}, {"error", error.message}});
  return json_error(error.code == "db_unavailable" ? 503 : 500, "db_error");
}

// Wraps a store callback that runs on the writer thread: a throw there still answers,
// once, with 500 internal_error.
template <typename Fn>
auto guarded(Respond respond, Fn body) {
  return [respond = std::move(respond), body = std::move(body)](auto result) {
    try {
      body(std::move(result));
    } catch (const std::exception& e) {
      log::error("http handler failed", {{"error", e.what()}});
      respond(json_error(500, "internal_error"));
    }
  };
}

}  // namespace acmednsd::http_api
