#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

// At most this many compression pointers in one name; with the 255-byte limit on the
// expanded name, following them always ends.
constexpr int kMaxPointers = 64;

// RFC 6891 6.1.2: the OPT rdata is a sequence of {code, length, data} options that
// must fill it exactly.
bool valid_edns_options(const std::uint8_t* rdata, std::size_t size) {
  std::size_t pos = 0;
  while (pos < size) {
    if (size - pos < 4) return false;
    const std::size_t length = read_u16(rdata + pos + 2);
    pos += 4;
    if (length > size - pos) return false;
    pos += length;
  }
  return true;
}

// The question name must be written out in full: the only earlier bytes are the
// header, so a compression pointer there can only be garbage or a loop.
bool read_question_name(std::span<const std::uint8_t> msg, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < msg.size()) {
    const std::uint8_t len = msg[pos];
    if (len > kMaxLabel) return false;  // covers pointers and reserved label types
    pos += 1;
    if (pos - start + len > kMaxNameWire) return false;
    if (len == 0) return true;
    if (len > msg.size() - pos) return false;
    pos += len;
  }
  return false;
}

}  // namespace

bool read_name(std::span<const std::uint8_t> msg, std::size_t& pos,
               std::vector<std::uint8_t>* lowercase_out) {
  std::size_t at = pos;
  std::size_t wire = 0;
  int pointers = 0;
  bool jumped = false;
  if (lowercase_out != nullptr) lowercase_out->clear();
  while (at < msg.size()) {
    const std::uint8_t len = msg[at];
    if ((len & 0xC0) == 0xC0) {
      if (at + 2 > msg.size()) return false;
      const std::size_t target = (static_cast<std::size_t>(len & 0x3F) << 8) | msg[at + 1];
      if (target < kHeaderSize || target >= at || ++pointers > kMaxPointers) return false;
      if (!jumped) pos = at + 2;
      jumped = true;
      at = target;
      continue;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40/0x80: obsolete or reserved label types
    wire += 1u + len;
    if (wire > kMaxNameWire || len >= msg.size() - at) return false;
    if (lowercase_out != nullptr) {
      lowercase_out->push_back(len);
      for (std::size_t i = 1; i <= len; ++i) lowercase_out->push_back(ascii_lower(msg[at + i]));
    }
    at += 1u + len;
    if (len == 0) {
      if (!jumped) pos = at;
      return true;
    }
  }
  return false;
}

ParseOutcome parse_query(std::span<const std::uint8_t> query, ParsedQuery& out) {
  out = ParsedQuery{};
  if (query.size() < kHeaderSize) return ParseOutcome::drop;
  const std::uint8_t* h = query.data();
  if ((h[2] & 0x80) != 0) return ParseOutcome::drop;  // a response: answering would loop
  out.id = read_u16(h);
  out.opcode = static_cast<std::uint8_t>((h[2] >> 3) & 0x0F);
  out.rd = (h[2] & 0x01) != 0;
  out.cd = (h[3] & 0x10) != 0;
  out.qdcount = read_u16(h + 4);
  const std::uint16_t ancount = read_u16(h + 6);
  const std::uint16_t nscount = read_u16(h + 8);
  const std::uint16_t arcount = read_u16(h + 10);

  // Whatever else is wrong, an unknown opcode is reported as NOTIMP (RFC 1035 4.1.1),
  // echoing the question when it is readable.
  const ParseOutcome failure = out.opcode != 0 ? ParseOutcome::notimp : ParseOutcome::formerr;
  if (out.qdcount != 1) return failure;

  std::size_t pos = kHeaderSize;
  if (!read_question_name(query, pos) || query.size() - pos < 4) return failure;
  out.qname_size = pos - kHeaderSize;
  out.qtype = read_u16(query.data() + pos);
  out.qclass = read_u16(query.data() + pos + 2);
  pos += 4;
  out.question_ok = true;
  if (out.opcode != 0) return ParseOutcome::notimp;

  const std::uint32_t records = std::uint32_t{ancount} + nscount + arcount;
  for (std::uint32_t i = 0; i < records; ++i) {
    const std::size_t owner = pos;
    if (!read_name(query, pos) || query.size() - pos < 10) return ParseOutcome::formerr;
    const std::uint8_t* rr = query.data() + pos;
    const std::uint16_t type = read_u16(rr);
    const std::uint16_t rdlength = read_u16(rr + 8);
    pos += 10;
    if (rdlength > query.size() - pos) return ParseOutcome::formerr;
    if (type == rrtype::OPT) {
      const bool in_additional = i >= std::uint32_t{ancount} + nscount;
      // RFC 6891 6.1.1: one OPT, in the additional section, owned by the root.
      if (out.has_opt || !in_additional || pos - owner != 11 || query[owner] != 0 ||
          !valid_edns_options(query.data() + pos, rdlength)) {
        return ParseOutcome::formerr;
      }
      out.has_opt = true;
      out.udp_size = read_u16(rr + 2);
      out.edns_version = rr[5];
      out.dnssec_ok = (rr[6] & 0x80) != 0;
      out.compact_ok = (rr[6] & 0x40) != 0;
    }
    pos += rdlength;
  }
  // Bytes after the last record mean the counts and the content disagree.
  if (pos != query.size()) return ParseOutcome::formerr;
  return ParseOutcome::ok;
}

}  // namespace acmednsd::dns
