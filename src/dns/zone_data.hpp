// The served zone, built once from Config at start-up: apex SOA/NS and the static
// records of general.records, already in wire form so answering only copies bytes.
// The challenge names live in the AnswerIndex, not here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace acmednsd::dns {

struct RrSet {
  std::uint16_t type = 0;
  std::uint32_t ttl = 0;
  std::vector<std::vector<std::uint8_t>> rdatas;  // uncompressed wire rdata, case kept
};

// One owner name of the static data. Empty non-terminals (names that exist only
// because a static name lies below them) are nodes without RRsets.
struct ZoneNode {
  std::string name;           // relative to the zone, lowercase, "" = apex, "*.x" = wildcard
  std::vector<RrSet> rrsets;  // apex: SOA first, then NS, then the rest

  [[nodiscard]] const RrSet* find(std::uint16_t type) const;
  [[nodiscard]] bool empty_nonterminal() const { return rrsets.empty(); }
};

class Signer;

class ZoneData {
 public:
  // Parses general.records with ldns. Errors name the record and what is wrong. With a
  // signer, the apex also gets the DNSKEY, CDS and CDNSKEY RRsets its keys publish at
  // `now_unix` (a key roll rebuilds the zone when a phase begins).
  static Result<std::shared_ptr<const ZoneData>> build(const GeneralConfig& general,
                                                       std::shared_ptr<const Signer> signer = nullptr,
                                                       std::int64_t now_unix = 0);

  // Exact match of a relative lowercase name, or nullptr.
  [[nodiscard]] const ZoneNode* find(std::string_view relative_name) const;
  [[nodiscard]] const ZoneNode& apex() const { return *apex_; }
  [[nodiscard]] const std::vector<ZoneNode>& nodes() const { return nodes_; }  // for zone transfers
  [[nodiscard]] bool has_wildcards() const { return has_wildcards_; }

  // The zone name in lowercase wire form ("\4auth\7example\4test\0").
  [[nodiscard]] const std::vector<std::uint8_t>& origin_wire() const { return origin_wire_; }
  [[nodiscard]] std::size_t origin_labels() const { return origin_labels_; }

  std::uint32_t txt_ttl = 1;
  std::uint32_t negative_ttl = 5;
  std::uint32_t edns_udp_size = 1232;
  // Non-null when [dnssec] is enabled: DO=1 queries get signed answers.
  std::shared_ptr<const Signer> signer;

 private:
  std::vector<ZoneNode> nodes_;  // sorted by name
  const ZoneNode* apex_ = nullptr;
  bool has_wildcards_ = false;
  std::vector<std::uint8_t> origin_wire_;
  std::size_t origin_labels_ = 0;
};

// Offset of the 32-bit serial inside SOA rdata built by ZoneData (it is patched per
// response with AnswerIndex::serial()): the serial is followed by four 32-bit fields.
inline std::size_t soa_serial_offset(const std::vector<std::uint8_t>& soa_rdata) {
  return soa_rdata.size() - 20;
}

// Converts a wire name (no compression) to the relative lowercase text form used as
// key by ZoneData and the AnswerIndex. Returns false when the name is not at or below
// `origin_wire`, or when a label holds a byte that the text form cannot carry ('.'
// or a control character): no configured or registered name can match such a label.
bool relative_name_of(const std::uint8_t* name, std::size_t name_size,
                      const std::vector<std::uint8_t>& origin_wire, std::size_t origin_labels, char* out,
                      std::size_t out_capacity, std::size_t& out_size, bool& inside_zone);

}  // namespace acmednsd::dns
