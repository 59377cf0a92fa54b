// Parsing of the small JSON request bodies, with the semantics of Go's encoding/json
// that acme-dns clients rely on: keys match case-insensitively (an exact match wins),
// unknown keys are ignored, and a field of the wrong type is treated as absent.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace acmednsd::http_api {

// The allowfrom list of /register and PATCH /account.
// Empty body, `{}`, `null` and `{"allowfrom": null}` all mean "no restriction".
struct AllowfromBody {
  bool present = false;  // the key was in the body (PATCH needs it)
  std::vector<std::string> entries;
};
enum class BodyError { malformed_json, invalid_cidr };
std::variant<AllowfromBody, BodyError> parse_allowfrom_body(std::string_view body);

// /update (POST and DELETE). Like acme-dns's json.Decoder, only the first JSON value
// is read, and a body that does not parse leaves both fields empty (which then fails
// the subdomain check with 401, as in acme-dns).
struct UpdateBody {
  std::string subdomain;
  std::string txt;
};
UpdateBody parse_update_body(std::string_view body);

// lego httpreq: default mode {"fqdn","value"} or RAW mode {"domain","token","keyAuth"}.
// Returns the TXT value to publish (RAW: base64url(SHA-256(keyAuth))), or nullopt when
// the body is not a JSON object. The value is not validated here.
std::optional<std::string> parse_httpreq_value(std::string_view body);

// True when every entry is a CIDR with an explicit prefix (brackets removed first).
bool valid_cidr_list(const std::vector<std::string>& entries);

// The entries acme-dns shows back: brackets removed, unreadable ones skipped.
std::vector<std::string> shown_allowfrom(const std::vector<std::string>& entries);

// `["a","b"]` with JSON escaping, no spaces.
std::string json_string_array(const std::vector<std::string>& items);

}  // namespace acmednsd::http_api
