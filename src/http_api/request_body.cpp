#include "http_api/request_body.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

#include "common/cidr.hpp"
#include "common/encoding.hpp"

namespace acmednsd::http_api {
namespace {

using nlohmann::json;

// json.Unmarshal: the whole body must be exactly one JSON value.
std::optional<json> parse_whole(std::string_view body) {
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

// json.Decoder.Decode: the first JSON value; whatever follows is not read.
std::optional<json> parse_first(std::string_view body) {
  std::istringstream in{std::string(body)};
  json value;
  try {
    in >> value;
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return value;
}

// Go's field lookup: the exact key wins, otherwise a case-insensitive match.
const json* find_key(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto exact = object.find(std::string(key));
  if (exact != object.end()) return &*exact;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (iequals_ascii(it.key(), key)) return &it.value();
  }
  return nullptr;
}

std::string string_field(const json& object, std::string_view key) {
  const json* field = find_key(object, key);
  if (field == nullptr || !field->is_string()) return {};
  return field->get<std::string>();
}

std::string strip_brackets(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != '[' && c != ']') out += c;
  }
  return out;
}

}  // namespace

std::variant<AllowfromBody, BodyError> parse_allowfrom_body(std::string_view body) {
  AllowfromBody result;
  if (body.empty()) return result;
  const auto parsed = parse_whole(body);
  if (!parsed) return BodyError::malformed_json;
  if (parsed->is_null()) return result;
  if (!parsed->is_object()) return BodyError::malformed_json;
  const json* list = find_key(*parsed, "allowfrom");
  if (list == nullptr) return result;
  result.present = true;
  if (list->is_null()) return result;
  if (!list->is_array()) return BodyError::malformed_json;
  for (const auto& item : *list) {
    if (item.is_null()) {
      result.entries.emplace_back();  // Go leaves "" here, which then is no CIDR
    } else if (item.is_string()) {
      result.entries.push_back(item.get<std::string>());
    } else {
      return BodyError::malformed_json;
    }
  }
  if (!valid_cidr_list(result.entries)) return BodyError::invalid_cidr;
  return result;
}

UpdateBody parse_update_body(std::string_view body) {
  UpdateBody result;
  const auto parsed = parse_first(body);
  if (!parsed || !parsed->is_object()) return result;
  result.subdomain = string_field(*parsed, "subdomain");
  result.txt = string_field(*parsed, "txt");
  return result;
}

std::optional<std::string> parse_httpreq_value(std::string_view body) {
  const auto parsed = parse_whole(body);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  if (const json* key_auth = find_key(*parsed, "keyAuth"); key_auth != nullptr) {
    if (!key_auth->is_string() || key_auth->get_ref<const std::string&>().empty()) {
      return std::string();
    }
    const auto digest = sha256(key_auth->get_ref<const std::string&>());
    return base64url_encode(std::span<const std::uint8_t>(digest));
  }
  return string_field(*parsed, "value");
}

bool valid_cidr_list(const std::vector<std::string>& entries) {
  for (const auto& entry : entries) {
    if (!Cidr::parse(entry)) return false;
  }
  return true;
}

std::vector<std::string> shown_allowfrom(const std::vector<std::string>& entries) {
  std::vector<std::string> shown;
  shown.reserve(entries.size());
  for (const auto& entry : entries) {
    if (Cidr::parse(entry)) shown.push_back(strip_brackets(entry));
  }
  return shown;
}

std::string json_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += json_escape(items[i]);
    out += '"';
  }
  out += ']';
  return out;
}

}  // namespace acmednsd::http_api
