// Formats shared by every entry point (API, CLI, import, ACME client).
#include "common/encoding.hpp"
#include <nlohmann/json.hpp>

#include "common/cidr.hpp"
#include "store/store_backend.hpp"
#include "store/store.hpp"

namespace acmednsd {
namespace {

bool all_base64url(std::string_view s) {
  for (char c : s) {
    if (!is_base64url_char(c)) return false;
  }
  return true;
}

}  // namespace

bool is_valid_txt_value(std::string_view value) {
  return value.size() == kTxtValueLength && all_base64url(value);
}

bool is_valid_api_key(std::string_view key) {
  return key.size() == 40 && all_base64url(key);
}

bool is_valid_owner_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63) return false;
      label = 0;
      continue;
    }
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
    ++label;
  }
  return true;
}

std::optional<std::string> canonical_uuid(std::string_view text) {
  // The forms Go's uuid.Parse (acme-dns) accepts: canonical, {braced}, urn:uuid:, 32 hex.
  if (text.size() == 45 && iequals_ascii(text.substr(0, 9), "urn:uuid:")) text.remove_prefix(9);
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  std::string out(text);
  if (out.size() == 32) {
    out = out.substr(0, 8) + '-' + out.substr(8, 4) + '-' + out.substr(12, 4) + '-' + out.substr(16, 4) +
          '-' + out.substr(20);
  }
  if (out.size() != 36) return std::nullopt;
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

}  // namespace acmednsd

namespace acmednsd::store_detail {

std::vector<std::string> parse_allowfrom(const std::string& text, bool& invalid) {
  std::vector<std::string> out;
  try {
    const auto j = nlohmann::json::parse(text);
    if (!j.is_array()) throw std::runtime_error("not an array");
    for (const auto& e : j) {
      if (!e.is_string() || !Cidr::parse(e.get<std::string>())) throw std::runtime_error("bad entry");
      out.push_back(e.get<std::string>());
    }
  } catch (const std::exception&) {
    invalid = true;  // never read as "allow from anywhere"
  }
  return out;
}

}  // namespace acmednsd::store_detail
