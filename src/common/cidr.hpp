// IP addresses and CIDR networks, for allowfrom and trusted-proxy checks.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace acmednsd {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // v4 uses the first 4

  static std::optional<IpAddress> parse(std::string_view text);  // "1.2.3.4", "::1", "[::1]"
  // "::ffff:1.2.3.4" -> 1.2.3.4; any other address unchanged.
  [[nodiscard]] IpAddress unmapped() const;
  [[nodiscard]] std::string to_string() const;
};

struct Cidr {
  IpAddress network;
  unsigned prefix = 0;

  // Requires an explicit prefix, as Go's net.ParseCIDR (acme-dns): "10.0.0.0/8",
  // "fd00::/8". Surrounding '[' and ']' are removed first, as acme-dns does.
  static std::optional<Cidr> parse(std::string_view text);
  // IPv4 networks also match IPv4-mapped IPv6 addresses.
  [[nodiscard]] bool contains(const IpAddress& address) const;
};

// The address of a sockaddr_in or sockaddr_in6 (as a sockaddr_storage holds them),
// v4-mapped IPv6 given as IPv4; an all-zero IPv4 address for any other family.
IpAddress ip_of_sockaddr(const void* sockaddr_storage_ptr);

// True when `address` is inside any of `cidrs` (each already validated).
bool any_contains(const std::vector<Cidr>& cidrs, const IpAddress& address);

}  // namespace acmednsd
