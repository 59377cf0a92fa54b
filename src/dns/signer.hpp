// Online DNSSEC signing for DO=1 answers (DNSSEC.md). The responder renders an answer
// as it does unsigned, then asks the Signer to append RRSIGs for each RRset it wrote.
// Signatures are cached per RRset content (owner, type, TTL, sorted rdata, signing
// keys): the hot path only hashes and copies bytes unless the content changed or the
// cached signature comes within `refresh` of its expiry. Denial is RFC 9824's compact
// answer: one NSEC at the query name, its next name "\000.<qname>".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "dns/dnssec_key.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {

namespace rrtype {
inline constexpr std::uint16_t DS = 43;
inline constexpr std::uint16_t RRSIG = 46;
inline constexpr std::uint16_t NSEC = 47;
inline constexpr std::uint16_t DNSKEY = 48;
inline constexpr std::uint16_t CDS = 59;
inline constexpr std::uint16_t CDNSKEY = 60;
inline constexpr std::uint16_t NXNAME = 128;  // RFC 9824 meta-type, only in NSEC bitmaps
}  // namespace rrtype

// A key with its RFC 7583 timeline (unix seconds).
struct TimedKey {
  SigningKey key;
  std::int64_t publish = 0;
  std::int64_t activate = 0;
  std::optional<std::int64_t> retire;
  std::optional<std::int64_t> remove;

  [[nodiscard]] bool published(std::int64_t now) const {
    return publish <= now && (!remove || now < *remove);
  }
  [[nodiscard]] bool active(std::int64_t now) const { return activate <= now && (!retire || now < *retire); }
};

struct SignerOptions {
  std::int64_t validity = 14LL * 86400;
  std::int64_t refresh = 7LL * 86400;
  std::int64_t backdate = 3600;  // inception this far in the past: clients with slow clocks
  std::size_t cache_limit = 100000;
};

class Signer {
 public:
  Signer(std::vector<std::uint8_t> origin_wire, std::vector<TimedKey> keys, SignerOptions options);

  // Appends one RRSIG per signing key covering the records in [start, end) of `w`, all
  // written by the responder with one owner (a compression pointer to an uncompressed
  // name), type and TTL. Returns the number of RRSIG records written (0 on overflow).
  // `wildcard_owner` (lowercase wire "*.<closest encloser>"), for an answer synthesized
  // from a wildcard: signed over that owner with its label count (RFC 4035 5.3.2), so one
  // signature serves every name the wildcard answers for.
  std::uint16_t sign_records(WireWriter& w, std::size_t start, std::size_t end, std::int64_t now,
                             const std::vector<std::uint8_t>* wildcard_owner = nullptr) const;

  // The proof that accompanies a wildcard answer (RFC 4035 3.1.3.3): an NSEC whose owner
  // "\000.<wildcard>" and next name "\000.<qname>" cover the query name (at
  // `qname_offset`, uncompressed) and nothing else, so the name is shown not to exist
  // while the wildcard is not denied. The owner is written in full.
  static void write_wildcard_nsec(WireWriter& w, std::size_t qname_offset, std::size_t skip_labels,
                                  const std::vector<std::uint8_t>& wildcard_owner, std::uint32_t ttl);

  // The compact-denial NSEC at the (uncompressed) name at `owner_offset`; `types` are
  // the bitmap's types, any order.
  static void write_nsec(WireWriter& w, std::size_t owner_offset, std::uint32_t ttl,
                         const std::uint16_t* types, std::size_t count);

  // The DNSKEY, CDS and CDNSKEY rdatas the apex publishes at `now`.
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> dnskey_rdatas(std::int64_t now) const;
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> cds_rdatas(std::int64_t now) const;
  [[nodiscard]] std::vector<std::vector<std::uint8_t>> cdnskey_rdatas(std::int64_t now) const;

  [[nodiscard]] const std::vector<TimedKey>& keys() const { return keys_; }
  [[nodiscard]] const std::vector<std::uint8_t>& origin_wire() const { return origin_wire_; }
  // Signatures made so far (tests check the cache: a repeated answer makes none).
  [[nodiscard]] std::uint64_t signatures_made() const;

 private:
  struct Entry {
    std::vector<std::uint8_t> rrsigs;  // RRSIG rdatas, each preceded by its 2-byte length
    std::int64_t inception = 0;
    std::int64_t expiration = 0;
  };
  bool write_cached(WireWriter& w, std::uint16_t owner_pointer, std::uint32_t ttl, const Entry& e,
                    std::uint16_t& count) const;
  Entry make_entry(const std::vector<std::uint8_t>& owner, const std::vector<std::string>& rdatas,
                   std::uint16_t type, std::uint8_t labels, std::uint32_t ttl, std::int64_t now) const;

  std::vector<std::uint8_t> origin_wire_;
  std::vector<TimedKey> keys_;
  SignerOptions options_;
  mutable std::shared_mutex mutex_;
  mutable std::unordered_map<std::string, Entry> cache_;
  mutable std::uint64_t signatures_ = 0;
};

// The canonical (RFC 4034 6.2, RFC 6840 5.1) form of rdata of `type`: embedded names of
// the listed types lowercased. Appended to `out`.
void append_canonical_rdata(std::string& out, std::uint16_t type, const std::uint8_t* rdata,
                            std::size_t size);

}  // namespace acmednsd::dns
