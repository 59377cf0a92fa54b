#include "dns/rate_limiter.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

// Power of two: a source maps to a bucket by masking its hash. A collision shares or
// takes over a bucket, which can only make limiting looser, never block a stranger.
constexpr std::size_t kBuckets = 1 << 14;

void mask_prefix(std::uint8_t* bytes, std::size_t size, std::uint32_t prefix) {
  for (std::size_t i = 0; i < size; ++i) {
    const std::uint32_t bit = static_cast<std::uint32_t>(i) * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - bit < 8) {
      bytes[i] &= static_cast<std::uint8_t>(0xFF << (8 - (prefix - bit)));
    }
  }
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

bool ResponseRateLimiter::is_exempt(const sockaddr* address) const {
  return !exempt_.empty() && any_contains(exempt_, ip_of_sockaddr(address));
}

ResponseRateLimiter::ResponseRateLimiter(std::uint32_t rate, std::uint32_t slip, std::uint32_t ipv4_prefix,
                                         std::uint32_t ipv6_prefix, std::vector<Cidr> exempt)
    : rate_(rate),
      slip_(slip),
      ipv4_prefix_(std::min<std::uint32_t>(ipv4_prefix, 32)),
      ipv6_prefix_(std::min<std::uint32_t>(ipv6_prefix, 128)),
      exempt_(std::move(exempt)),
      buckets_(kBuckets) {}

ResponseRateLimiter::Verdict ResponseRateLimiter::check(const sockaddr* address, std::int64_t now_seconds) {
  std::uint8_t key[16] = {};
  if (address->sa_family == AF_INET) {
    std::memcpy(key, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, 4);
    mask_prefix(key, 4, ipv4_prefix_);
  } else if (address->sa_family == AF_INET6) {
    const auto* a6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {  // dual-stack socket, IPv4 client
      std::memcpy(key, a6->sin6_addr.s6_addr + 12, 4);
      mask_prefix(key, 4, ipv4_prefix_);
    } else {
      std::memcpy(key, a6->sin6_addr.s6_addr, 16);
      mask_prefix(key, 16, ipv6_prefix_);
      key[15] ^= 0x80;  // keep v6 keys apart from v4 ones with the same leading bytes
    }
  } else {
    return Verdict::send;
  }
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key, 8);
  std::memcpy(&low, key + 8, 8);
  Bucket& b = buckets_[mix(high ^ mix(low)) & (kBuckets - 1)];
  if (b.key_high != high || b.key_low != low || b.second != now_seconds) {
    b = Bucket{high, low, now_seconds, 0, 0};
  }
  if (++b.responses <= rate_) return Verdict::send;
  if (is_exempt(address)) return Verdict::send;
  ++b.limited;
  return slip_ != 0 && b.limited % slip_ == 0 ? Verdict::slip : Verdict::drop;
}

std::size_t truncate_to_question(std::uint8_t* message, std::size_t size) {
  if (size < kHeaderSize) return 0;
  std::size_t end = kHeaderSize;
  if (read_u16(message + 4) == 1) {
    while (end < size && message[end] != 0 && message[end] <= kMaxLabel) end += 1u + message[end];
    end += 1 + 4;  // root label, type, class
    if (end > size) return 0;
  }
  message[2] |= 0x02;              // TC
  std::memset(message + 6, 0, 6);  // no answer, authority or additional records
  return end;
}

}  // namespace acmednsd::dns
