#include "common/cidr.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace acmednsd {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = false;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

IpAddress IpAddress::unmapped() const {
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6 || std::memcmp(bytes.data(), kMapped.data(), kMapped.size()) != 0) return *this;
  IpAddress v4;
  std::memcpy(v4.bytes.data(), bytes.data() + 12, 4);
  return v4;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
  std::string cleaned;
  for (char c : text) {
    if (c != '[' && c != ']') cleaned += c;
  }
  const auto slash = cleaned.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto address = IpAddress::parse(std::string_view(cleaned).substr(0, slash));
  if (!address) return std::nullopt;
  const std::string_view digits = std::string_view(cleaned).substr(slash + 1);
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  unsigned prefix = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (prefix > (address->v6 ? 128U : 32U)) return std::nullopt;
  return Cidr{*address, prefix};
}

bool Cidr::contains(const IpAddress& raw) const {
  IpAddress address = raw;
  if (!network.v6) address = raw.unmapped();
  if (address.v6 != network.v6) return false;
  const unsigned full = prefix / 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), full) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFU << (8 - rest));
  return (address.bytes[full] & mask) == (network.bytes[full] & mask);
}

IpAddress ip_of_sockaddr(const void* sockaddr_storage_ptr) {
  const auto* sa = static_cast<const sockaddr*>(sockaddr_storage_ptr);
  IpAddress ip;
  if (sa->sa_family == AF_INET) {
    const auto* a4 = static_cast<const sockaddr_in*>(sockaddr_storage_ptr);
    std::memcpy(ip.bytes.data(), &a4->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const auto* a6 = static_cast<const sockaddr_in6*>(sockaddr_storage_ptr);
    ip.v6 = true;
    std::memcpy(ip.bytes.data(), &a6->sin6_addr, 16);
  }
  return ip.unmapped();
}

bool any_contains(const std::vector<Cidr>& cidrs, const IpAddress& address) {
  for (const auto& c : cidrs) {
    if (c.contains(address)) return true;
  }
  return false;
}

}  // namespace acmednsd
