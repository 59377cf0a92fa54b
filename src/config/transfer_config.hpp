// [transfer] and [[tsig_key]]: zone transfer to secondaries (SCALE-OUT.md). Kept apart
// from config.hpp so the transfer settings read as one block.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acmednsd {

enum class TsigAlgorithm { hmac_sha256, hmac_sha384, hmac_sha512 };

// [[tsig_key]]: a shared secret for TSIG (RFC 8945). The secret is never logged.
struct TsigKeyConfig {
  std::string name;  // lowercase, no trailing dot (compared case-insensitively)
  TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
  std::string secret;  // the decoded key bytes (from `secret` or `secret_file`)
  int line = 0;        // where it was defined, for messages
};

// One NOTIFY target: an IP literal (IPv6 without brackets) and a port.
struct NotifyTarget {
  std::string host;
  std::uint16_t port = 53;
};

// [transfer]: who may AXFR/IXFR, which keys they must sign with, whom to NOTIFY.
struct TransferConfig {
  std::vector<std::string> allow;         // CIDRs; empty = nobody may transfer
  std::vector<std::string> require_tsig;  // key names (lowercase); empty = unsigned is fine
  std::vector<NotifyTarget> notify;
  std::string notify_tsig;  // key name that signs NOTIFY; empty = unsigned
  std::uint32_t ixfr_journal = 10000;
  std::uint32_t max_transfers = 16;  // concurrent AXFR/IXFR streams; more get REFUSED
};

}  // namespace acmednsd
