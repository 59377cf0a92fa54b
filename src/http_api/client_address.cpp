#include "http_api/client_address.hpp"

#include <optional>
#include <string_view>

namespace acmednsd::http_api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated list of X-Forwarded-For style headers, empty items dropped.
std::vector<std::string_view> split_list(std::string_view header) {
  std::vector<std::string_view> items;
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string_view item = trim(header.substr(0, comma));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return items;
}

}  // namespace

ClientAddressResolver::ClientAddressResolver(const ApiConfig& config) : use_header_(config.use_header) {
  for (const auto& text : config.trusted_proxies) {
    if (auto cidr = Cidr::parse(text)) trusted_proxies_.push_back(*cidr);
  }
}

ClientAddress ClientAddressResolver::resolve(const IpAddress& peer, const std::string* header_value) const {
  ClientAddress client;
  client.primary = peer.unmapped();
  client.candidates.push_back(peer);
  if (!use_header_) return client;

  if (trusted_proxies_.empty()) {
    // acme-dns: the header replaces the peer entirely, every listed address counts.
    client.candidates.clear();
    client.from_header = true;
    if (header_value == nullptr) return client;
    for (const auto item : split_list(*header_value)) {
      if (auto address = IpAddress::parse(item)) client.candidates.push_back(*address);
    }
    if (!client.candidates.empty()) client.primary = client.candidates.front().unmapped();
    return client;
  }

  if (header_value == nullptr || !any_contains(trusted_proxies_, peer)) return client;
  const auto items = split_list(*header_value);
  std::optional<IpAddress> chosen;
  for (auto it = items.rbegin(); it != items.rend(); ++it) {
    auto address = IpAddress::parse(*it);
    // A hop our own proxies cannot have written: stop trusting the chain here.
    if (!address) break;
    chosen = address;
    if (!any_contains(trusted_proxies_, *address)) break;
  }
  if (!chosen) return client;
  client.primary = chosen->unmapped();
  client.candidates = {*chosen};
  client.from_header = true;
  return client;
}

bool allowfrom_permits(const std::vector<std::string>& allowfrom, bool allowfrom_invalid,
                       const ClientAddress& client) {
  if (allowfrom_invalid) return false;
  std::vector<Cidr> networks;
  networks.reserve(allowfrom.size());
  for (const auto& entry : allowfrom) {
    if (auto cidr = Cidr::parse(entry)) networks.push_back(*cidr);
  }
  if (networks.empty()) return true;
  for (const auto& candidate : client.candidates) {
    if (any_contains(networks, candidate)) return true;
  }
  return false;
}

}  // namespace acmednsd::http_api
