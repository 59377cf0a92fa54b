// DNS wire format on the hot path: a bounds-checked reader for the header, the one
// question and the OPT record of a query, and a writer into a caller-provided buffer.
//
// Why not ldns here: ldns_wire2pkt/ldns_pkt2wire allocate a packet object, one rdf per
// field and a growing buffer for every message. At ~100k queries/s on two cores the
// allocator becomes the bottleneck, so the per-query path parses only what it needs
// and renders straight into a fixed buffer (no allocation, no lock). ldns is still used
// where speed does not matter: parsing the static records at start-up and decoding
// responses in tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace acmednsd::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameWire = 255;
inline constexpr std::size_t kMaxLabel = 63;
inline constexpr std::size_t kMaxMessage = 65535;
inline constexpr std::size_t kClassicUdpSize = 512;
inline constexpr std::size_t kOptRecordSize = 11;  // root owner + type/class/ttl/rdlen

namespace rrtype {
inline constexpr std::uint16_t A = 1;
inline constexpr std::uint16_t NS = 2;
inline constexpr std::uint16_t CNAME = 5;
inline constexpr std::uint16_t SOA = 6;
inline constexpr std::uint16_t MX = 15;
inline constexpr std::uint16_t TXT = 16;
inline constexpr std::uint16_t AAAA = 28;
inline constexpr std::uint16_t OPT = 41;
inline constexpr std::uint16_t IXFR = 251;
inline constexpr std::uint16_t AXFR = 252;
inline constexpr std::uint16_t ANY = 255;
}  // namespace rrtype

inline constexpr std::uint16_t kClassIn = 1;

namespace rcode {
inline constexpr std::uint8_t noerror = 0;
inline constexpr std::uint8_t formerr = 1;
inline constexpr std::uint8_t servfail = 2;
inline constexpr std::uint8_t nxdomain = 3;
inline constexpr std::uint8_t notimp = 4;
inline constexpr std::uint8_t refused = 5;
inline constexpr std::uint16_t badvers = 16;  // extended: upper bits live in the OPT TTL
}  // namespace rcode

inline std::uint16_t read_u16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t read_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline std::uint8_t ascii_lower(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

// What the responder needs from a query. Offsets point into the query buffer.
struct ParsedQuery {
  std::uint16_t id = 0;
  std::uint8_t opcode = 0;
  bool rd = false;
  bool cd = false;
  std::uint16_t qdcount = 0;

  bool question_ok = false;    // qname/qtype/qclass were read
  std::size_t qname_size = 0;  // wire length of the qname including the root label
  std::uint16_t qtype = 0;
  std::uint16_t qclass = 0;

  bool has_opt = false;
  std::uint16_t udp_size = 0;  // as advertised (not yet clamped)
  std::uint8_t edns_version = 0;
  bool dnssec_ok = false;
  bool compact_ok = false;  // RFC 9824 CO flag: NXDOMAIN instead of NOERROR in compact denial
};

enum class ParseOutcome {
  ok,
  drop,     // shorter than a header, or a response (QR=1): never answered
  formerr,  // readable header, unreadable or unacceptable rest
  notimp,   // opcode other than QUERY
};

// Checks the (possibly compressed) name at `pos` and moves `pos` past it as written;
// with `lowercase_out`, also gives the name in lowercase wire form. Pointers must point
// backwards into the message past the header (at most 64 of them) and the expanded name
// fits 255 bytes, so a loop or a pointer past the end is refused (RFC 1035 4.1.4).
bool read_name(std::span<const std::uint8_t> msg, std::size_t& pos,
               std::vector<std::uint8_t>* lowercase_out = nullptr);

// Reads header, question and additional records; never reads past `query`.
ParseOutcome parse_query(std::span<const std::uint8_t> query, ParsedQuery& out);

// Appends bytes to a fixed buffer. Running out of room sets overflow() instead of
// writing, so a renderer can finish its logic and then fall back (TC=1).
class WireWriter {
 public:
  WireWriter(std::uint8_t* buffer, std::size_t limit) : buffer_(buffer), limit_(limit) {}

  void u8(std::uint8_t v) {
    if (reserve(1)) buffer_[size_++] = v;
  }
  void u16(std::uint16_t v) {
    if (reserve(2)) {
      buffer_[size_++] = static_cast<std::uint8_t>(v >> 8);
      buffer_[size_++] = static_cast<std::uint8_t>(v);
    }
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void bytes(const void* data, std::size_t n) {
    if (n != 0 && reserve(n)) {
      std::memcpy(buffer_ + size_, data, n);
      size_ += n;
    }
  }
  // A compression pointer (RFC 1035 4.1.4) to an earlier name at `offset` (< 0x4000).
  void pointer(std::size_t offset) { u16(static_cast<std::uint16_t>(0xC000 | offset)); }
  void patch_u16(std::size_t at, std::uint16_t v) {
    if (at + 2 <= size_) {
      buffer_[at] = static_cast<std::uint8_t>(v >> 8);
      buffer_[at + 1] = static_cast<std::uint8_t>(v);
    }
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool overflow() const { return overflow_; }
  [[nodiscard]] std::uint8_t* data() { return buffer_; }
  void truncate_to(std::size_t size) {
    if (size <= size_) size_ = size;
    overflow_ = false;
  }
  void set_limit(std::size_t limit) { limit_ = limit; }

 private:
  bool reserve(std::size_t n) {
    if (overflow_ || size_ > limit_ || n > limit_ - size_) {
      overflow_ = true;
      return false;
    }
    return true;
  }

  std::uint8_t* buffer_;
  std::size_t limit_;
  std::size_t size_ = 0;
  bool overflow_ = false;
};

}  // namespace acmednsd::dns
