#include "http_api/api_types.hpp"

#include "common/encoding.hpp"

namespace acmednsd::http_api {

const std::string* ApiRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals_ascii(k, name)) return &v;
  }
  return nullptr;
}

std::string_view ApiRequest::path() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

void ApiResponse::set_header(std::string name, std::string value) {
  for (auto& [k, v] : headers) {
    if (iequals_ascii(k, name)) {
      v = std::move(value);
      return;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
}

const std::string* ApiResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals_ascii(k, name)) return &v;
  }
  return nullptr;
}

ApiResponse json_response(unsigned status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

ApiResponse json_error(unsigned status, std::string_view code) {
  std::string body = "{\"error\": \"";
  body += code;
  body += "\"}";
  return json_response(status, std::move(body));
}

std::string_view route_name(Route route) {
  switch (route) {
    case Route::register_account:
      return "register";
    case Route::update:
      return "update";
    case Route::health:
      return "health";
    case Route::ready:
      return "ready";
    case Route::metrics:
      return "metrics";
    case Route::account:
      return "account";
    case Route::account_rotate_key:
      return "account_rotate_key";
    case Route::present:
      return "present";
    case Route::cleanup:
      return "cleanup";
    case Route::persist:
      return "persist";
    case Route::other:
      return "other";
  }
  return "other";
}

}  // namespace acmednsd::http_api
