// Response-rate limiting for UDP (a simplified form of BIND/Knot RRL): at most
// `rate` responses per second to one source prefix. Over the limit, every `slip`-th
// response is sent as an empty TC=1 answer, so a real resolver whose address is being
// spoofed still gets through over TCP, and the others are dropped, so the server is
// not an amplifier. One limiter per UDP socket worker: no locks on the hot path, and
// since the kernel keeps a client's flow on one SO_REUSEPORT socket, the per-client
// limit holds except for clients that spread queries over many source ports.
// Exempt networks (BIND's exempt-clients; loopback by default) are never limited; they
// are looked up only once a source is over its rate, so the common path stays a hash.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/cidr.hpp"

namespace acmednsd::dns {

class ResponseRateLimiter {
 public:
  enum class Verdict { send, slip, drop };

  ResponseRateLimiter(std::uint32_t rate, std::uint32_t slip, std::uint32_t ipv4_prefix,
                      std::uint32_t ipv6_prefix, std::vector<Cidr> exempt = {});

  Verdict check(const sockaddr* address, std::int64_t now_seconds);

 private:
  [[nodiscard]] bool is_exempt(const sockaddr* address) const;

  struct Bucket {
    std::uint64_t key_high = 0;
    std::uint64_t key_low = 0;
    std::int64_t second = -1;
    std::uint32_t responses = 0;
    std::uint32_t limited = 0;
  };

  std::uint32_t rate_;
  std::uint32_t slip_;
  std::uint32_t ipv4_prefix_;
  std::uint32_t ipv6_prefix_;
  std::vector<Cidr> exempt_;
  std::vector<Bucket> buckets_;
};

// Cuts a rendered response down to header + question with TC=1 and no records.
std::size_t truncate_to_question(std::uint8_t* message, std::size_t size);

}  // namespace acmednsd::dns
