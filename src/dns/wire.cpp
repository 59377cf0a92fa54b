#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

// Skips a name that may end in a compression pointer. Pointers are not followed (the
// responder never needs the names of non-question records), so a pointer loop cannot
// make this spin. Returns false when the name runs off the end or is malformed.
bool skip_name(std::span<const std::uint8_t> msg, std::size_t& pos) {
  std::size_t wire = 0;
  while (pos < msg.size()) {
    const std::uint8_t len = msg[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 2 > msg.size()) return false;
      pos += 2;
      return true;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40/0x80: obsolete or reserved label types
    pos += 1;
    wire += 1u + len;
    if (wire > kMaxNameWire) return false;
    if (len == 0) return true;
    if (len > msg.size() - pos) return false;
    pos += len;
  }
  return false;
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
    if (!skip_name(query, pos) || query.size() - pos < 10) return ParseOutcome::formerr;
    const std::uint8_t* rr = query.data() + pos;
    const std::uint16_t type = read_u16(rr);
    const std::uint16_t rdlength = read_u16(rr + 8);
    pos += 10;
    if (rdlength > query.size() - pos) return ParseOutcome::formerr;
    if (type == rrtype::OPT) {
      const bool in_additional = i >= std::uint32_t{ancount} + nscount;
      // RFC 6891 6.1.1: one OPT, in the additional section, owned by the root.
      if (out.has_opt || !in_additional || pos - owner != 11 || query[owner] != 0) {
        return ParseOutcome::formerr;
      }
      out.has_opt = true;
      out.udp_size = read_u16(rr + 2);
      out.edns_version = rr[5];
      out.dnssec_ok = (rr[6] & 0x80) != 0;
    }
    pos += rdlength;
  }
  // Bytes after the last record mean the counts and the content disagree.
  if (pos != query.size()) return ParseOutcome::formerr;
  return ParseOutcome::ok;
}

}  // namespace acmednsd::dns
