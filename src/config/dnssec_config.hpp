// [dnssec] (DNSSEC.md, a fixed interface): online signing of the served zone.
#pragma once

#include <cstdint>
#include <string>

namespace acmednsd {

struct DnssecConfig {
  bool enabled = false;
  std::uint8_t algorithm = 13;                     // 13 ecdsap256sha256, 15 ed25519
  std::int64_t signature_validity = 14LL * 86400;  // RRSIG expiration - inception
  std::int64_t refresh = 7LL * 86400;              // re-sign when less than this is left
  std::int64_t key_roll = 0;                       // 0 = manual rolls only
};

// Algorithm number -> the config spelling ("ecdsap256sha256", "ed25519").
std::string dnssec_algorithm_name(std::uint8_t algorithm);

}  // namespace acmednsd
