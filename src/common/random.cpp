#include "common/random.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

#include "common/encoding.hpp"

namespace acmednsd {

std::vector<std::uint8_t> random_bytes(std::size_t count) {
  std::vector<std::uint8_t> out(count);
  if (count > 0 && RAND_bytes(out.data(), static_cast<int>(count)) != 1) {
    // Handing out predictable credentials would be worse than stopping.
    std::fputs("fatal: the CSPRNG failed\n", stderr);
    std::abort();
  }
  return out;
}

std::string random_uuid_v4() {
  auto b = random_bytes(16);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0FU) | 0x40U);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3FU) | 0x80U);
  const std::string hex = hex_encode(b);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' + hex.substr(16, 4) + '-' +
         hex.substr(20, 12);
}

std::string random_api_key() {
  // 30 random bytes encode to exactly 40 base64url characters, each uniform.
  const auto b = random_bytes(30);
  return base64url_encode(b);
}

std::uint64_t random_u64() {
  const auto b = random_bytes(8);
  std::uint64_t v = 0;
  for (auto x : b) v = (v << 8U) | x;
  return v;
}

}  // namespace acmednsd
