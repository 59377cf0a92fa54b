#include "config/config_values.hpp"

#include <charconv>

#include "common/cidr.hpp"
#include "common/encoding.hpp"

namespace acmednsd::config_values {
namespace {

std::optional<std::uint64_t> parse_unsigned(std::string_view digits) {
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

}  // namespace

bool is_ip_literal(std::string_view text) {
  return IpAddress::parse(text).has_value();
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (!IpAddress::parse(host) || !IpAddress::parse(host)->v6) return std::nullopt;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    if (!host.empty() && host != "localhost") {
      const auto ip = IpAddress::parse(host);
      if (!ip || ip->v6) return std::nullopt;
    }
  }
  const auto p = parse_unsigned(port);
  if (!p || *p == 0 || *p > 65535) return std::nullopt;
  Endpoint e;
  e.host = host == "localhost" ? "127.0.0.1" : std::string(host);
  e.port = static_cast<std::uint16_t>(*p);
  return e;
}

std::optional<DnsTransport> parse_protocol(std::string_view text) {
  DnsTransport t;
  std::string_view base = text;
  if (!text.empty() && (text.back() == '4' || text.back() == '6')) {
    base = text.substr(0, text.size() - 1);
    t.ipv4 = text.back() == '4';
    t.ipv6 = text.back() == '6';
  }
  if (base == "both") {
    t.udp = t.tcp = true;
  } else if (base == "udp") {
    t.udp = true;
    t.tcp = false;
  } else if (base == "tcp") {
    t.udp = false;
    t.tcp = true;
  } else {
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> normalize_domain(std::string_view text) {
  std::string name = to_lower_ascii(text);
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || name.size() > 253) return std::nullopt;
  std::size_t label = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0 || label > 63) return std::nullopt;
      label = 0;
      continue;
    }
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return std::nullopt;
    ++label;
  }
  return name;
}

std::optional<std::int64_t> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  switch (text.back()) {
    case 's':
      unit = 1;
      text.remove_suffix(1);
      break;
    case 'm':
      unit = 60;
      text.remove_suffix(1);
      break;
    case 'h':
      unit = 3600;
      text.remove_suffix(1);
      break;
    case 'd':
      unit = 86400;
      text.remove_suffix(1);
      break;
    default:
      break;
  }
  const auto v = parse_unsigned(text);
  if (!v || *v > 10ULL * 365 * 86400) return std::nullopt;
  return static_cast<std::int64_t>(*v) * unit;
}

}  // namespace acmednsd::config_values
