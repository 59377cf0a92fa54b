#include "dns/signer.hpp"

#include <algorithm>
#include <mutex>

namespace acmednsd::dns {
namespace {

void put16(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v));
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, static_cast<std::uint16_t>(v >> 16));
  put16(s, static_cast<std::uint16_t>(v));
}
void push16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x));
}
void push32(std::vector<std::uint8_t>& v, std::uint32_t x) {
  push16(v, static_cast<std::uint16_t>(x >> 16));
  push16(v, static_cast<std::uint16_t>(x));
}

// Lowercases the uncompressed name at `pos` in `out` (already copied); returns its end
// or npos when it is not a well-formed name inside the rdata.
std::size_t lower_name(std::string& out, std::size_t pos) {
  while (pos < out.size()) {
    const auto len = static_cast<std::uint8_t>(out[pos]);
    if (len == 0) return pos + 1;
    if (len > kMaxLabel || pos + 1 + len > out.size()) return std::string::npos;
    for (std::size_t i = pos + 1; i <= pos + len; ++i) {
      out[i] = static_cast<char>(ascii_lower(static_cast<std::uint8_t>(out[i])));
    }
    pos += 1u + len;
  }
  return std::string::npos;
}

}  // namespace

void append_canonical_rdata(std::string& out, std::uint16_t type, const std::uint8_t* rdata,
                            std::size_t size) {
  const std::size_t at = out.size();
  out.append(reinterpret_cast<const char*>(rdata), size);
  // RFC 4034 6.2 as narrowed by RFC 6840 5.1: the types whose rdata names are lowercased.
  switch (type) {
    case rrtype::NS:
    case rrtype::CNAME:
    case 12:  // PTR
    case 39:  // DNAME
      lower_name(out, at);
      break;
    case rrtype::SOA: {
      const std::size_t next = lower_name(out, at);
      if (next != std::string::npos) lower_name(out, next);
      break;
    }
    case rrtype::MX:
    case 18:  // AFSDB
    case 21:  // RT
    case 36:  // KX
      if (size > 2) lower_name(out, at + 2);
      break;
    case 33:  // SRV
      if (size > 6) lower_name(out, at + 6);
      break;
    default:
      break;
  }
}

Signer::Signer(std::vector<std::uint8_t> origin_wire, std::vector<TimedKey> keys, SignerOptions options)
    : origin_wire_(std::move(origin_wire)), keys_(std::move(keys)), options_(options) {}

std::uint64_t Signer::signatures_made() const {
  std::shared_lock lock(mutex_);
  return signatures_;
}

std::vector<std::vector<std::uint8_t>> Signer::dnskey_rdatas(std::int64_t now) const {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& k : keys_) {
    if (k.published(now)) out.push_back(k.key.dnskey_rdata());
  }
  return out;
}

// RFC 7344: CDS/CDNSKEY name the key(s) the parent's DS should point to: the ones that
// sign now or will (a retired key is only kept published until caches forget it).
std::vector<std::vector<std::uint8_t>> Signer::cds_rdatas(std::int64_t now) const {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& k : keys_) {
    if (k.published(now) && (!k.retire || now < *k.retire)) out.push_back(k.key.ds_rdata(origin_wire_));
  }
  return out;
}

std::vector<std::vector<std::uint8_t>> Signer::cdnskey_rdatas(std::int64_t now) const {
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& k : keys_) {
    if (k.published(now) && (!k.retire || now < *k.retire)) out.push_back(k.key.dnskey_rdata());
  }
  return out;
}

void Signer::write_nsec(WireWriter& w, std::size_t owner_offset, std::uint32_t ttl,
                        const std::uint16_t* types, std::size_t count) {
  // Owner name length (uncompressed in the message).
  const std::uint8_t* msg = w.data();
  std::size_t end = owner_offset;
  while (end < w.size() && msg[end] != 0) end += 1u + msg[end];
  const std::size_t owner_size = end + 1 - owner_offset;
  // Bitmap: windows of 256 types, each with only the octets up to its last set bit.
  std::uint8_t windows[2][34] = {};  // [window][0] = used length; types < 512 only
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint16_t t = types[i];
    if (t >= 512) continue;
    auto& win = windows[t >> 8];
    const std::uint8_t octet = static_cast<std::uint8_t>((t & 0xFF) >> 3);
    win[2 + octet] |= static_cast<std::uint8_t>(0x80 >> (t & 7));
    win[1] = std::max<std::uint8_t>(win[1], static_cast<std::uint8_t>(octet + 1));
  }
  std::size_t bitmap_size = 0;
  for (const auto& win : windows) bitmap_size += win[1] != 0 ? 2u + win[1] : 0;
  w.pointer(owner_offset);
  w.u16(rrtype::NSEC);
  w.u16(kClassIn);
  w.u32(ttl);
  w.u16(static_cast<std::uint16_t>(2 + owner_size + bitmap_size));
  // Next name "\000.<owner>" in lowercase: the immediate successor (RFC 9824 3.1).
  w.u8(1);
  w.u8(0);
  for (std::size_t i = 0; i < owner_size; ++i) w.u8(ascii_lower(w.data()[owner_offset + i]));
  for (int n = 0; n < 2; ++n) {
    if (windows[n][1] == 0) continue;
    w.u8(static_cast<std::uint8_t>(n));
    w.u8(windows[n][1]);
    w.bytes(&windows[n][2], windows[n][1]);
  }
}

Signer::Entry Signer::make_entry(const std::vector<std::uint8_t>& owner,
                                 const std::vector<std::string>& rdatas, std::uint16_t type,
                                 std::uint8_t labels, std::uint32_t ttl, std::int64_t now) const {
  Entry e;
  e.inception = now - options_.backdate;
  e.expiration = e.inception + options_.validity;
  std::vector<std::uint8_t> data;
  for (const auto& k : keys_) {
    if (type == rrtype::DNSKEY ? !k.published(now) : !k.active(now)) continue;
    // RRSIG rdata without the signature (RFC 4034 3.1), then the RRset in canonical form.
    std::vector<std::uint8_t> rrsig;
    push16(rrsig, type);
    rrsig.push_back(k.key.algorithm());
    rrsig.push_back(labels);
    push32(rrsig, ttl);
    push32(rrsig, static_cast<std::uint32_t>(e.expiration));  // serial arithmetic (RFC 4034 3.1.5)
    push32(rrsig, static_cast<std::uint32_t>(e.inception));
    push16(rrsig, k.key.key_tag());
    rrsig.insert(rrsig.end(), origin_wire_.begin(), origin_wire_.end());
    data = rrsig;
    for (const auto& rdata : rdatas) {
      data.insert(data.end(), owner.begin(), owner.end());
      push16(data, type);
      push16(data, kClassIn);
      push32(data, ttl);
      push16(data, static_cast<std::uint16_t>(rdata.size()));
      data.insert(data.end(), rdata.begin(), rdata.end());
    }
    const auto signature = k.key.sign(data.data(), data.size());
    if (signature.empty()) continue;  // never a broken RRSIG; the validator sees none
    rrsig.insert(rrsig.end(), signature.begin(), signature.end());
    push16(e.rrsigs, static_cast<std::uint16_t>(rrsig.size()));
    e.rrsigs.insert(e.rrsigs.end(), rrsig.begin(), rrsig.end());
  }
  return e;
}

bool Signer::write_cached(WireWriter& w, std::uint16_t owner_pointer, std::uint32_t ttl, const Entry& e,
                          std::uint16_t& count) const {
  std::size_t pos = 0;
  while (pos + 2 <= e.rrsigs.size()) {
    const std::size_t size = read_u16(e.rrsigs.data() + pos);
    w.pointer(owner_pointer);
    w.u16(rrtype::RRSIG);
    w.u16(kClassIn);
    w.u32(ttl);
    w.u16(static_cast<std::uint16_t>(size));
    w.bytes(e.rrsigs.data() + pos + 2, size);
    pos += 2 + size;
    ++count;
  }
  return !w.overflow();
}

void Signer::write_wildcard_nsec(WireWriter& w, std::size_t qname_offset, std::size_t skip_labels,
                                 const std::vector<std::uint8_t>& wildcard_owner, std::uint32_t ttl) {
  // The label directly below the closest encloser starts `skip_labels` labels in.
  std::size_t at = qname_offset;
  for (std::size_t i = 0; i < skip_labels && at < w.size() && w.data()[at] != 0; ++i) at += 1u + w.data()[at];
  std::size_t end = at;
  while (end < w.size() && w.data()[end] != 0) end += 1u + w.data()[end];
  const std::size_t tail_size = end + 1 - at;  // that label and the encloser
  const std::uint8_t first = w.data()[at];     // < 63: the caller checked
  w.u8(1);
  w.u8(0);
  w.bytes(wildcard_owner.data(), wildcard_owner.size());
  w.u16(rrtype::NSEC);
  w.u16(kClassIn);
  w.u32(ttl);
  w.u16(static_cast<std::uint16_t>(tail_size + 1 + 8));  // next name, then an 8-byte bitmap
  // Next: the encloser's child label on the way to the query name with a zero octet
  // appended: the first name after that child and its whole subtree (RFC 4471 3.1.2), so
  // neither the query name nor any name between it and the encloser exists.
  // "\000.<qname>" would not do: it would claim the query name has a child.
  w.u8(static_cast<std::uint8_t>(first + 1));
  for (std::size_t i = 1; i <= first; ++i) w.u8(ascii_lower(w.data()[at + i]));
  w.u8(0);
  for (std::size_t i = 1u + first; i < tail_size; ++i) w.u8(ascii_lower(w.data()[at + i]));
  // Window 0, 6 octets: RRSIG (46) and NSEC (47), the types of this (invented) owner.
  w.u8(0);
  w.u8(6);
  for (int i = 0; i < 5; ++i) w.u8(0);
  w.u8(0x03);
}

std::uint16_t Signer::sign_records(WireWriter& w, std::size_t start, std::size_t end, std::int64_t now,
                                   const std::vector<std::uint8_t>* wildcard_owner) const {
  if (start >= end || end > w.size() || w.overflow() || start >= 0x4000) return 0;
  thread_local std::string key;
  thread_local std::vector<std::string> rdatas;
  thread_local std::vector<std::uint8_t> owner;
  const std::span<const std::uint8_t> msg(w.data(), w.size());
  const std::uint8_t* p = w.data();
  // The owner: a compression pointer (answers), or written in full (a wildcard NSEC).
  std::uint16_t owner_pointer = 0;
  std::size_t fields = start;
  if ((p[start] & 0xC0) == 0xC0) {
    owner_pointer = static_cast<std::uint16_t>(read_u16(p + start) & 0x3FFF);
    std::size_t name_at = owner_pointer;
    if (!read_name(msg, name_at, &owner)) return 0;
    fields = start + 2;
  } else {
    owner_pointer = static_cast<std::uint16_t>(start);
    if (!read_name(msg, fields, &owner)) return 0;
  }
  if (wildcard_owner != nullptr) owner = *wildcard_owner;
  std::uint8_t labels = 0;
  for (std::size_t i = 0; owner[i] != 0; i += 1u + owner[i]) ++labels;
  if (owner.size() > 1 && owner[0] == 1 && owner[1] == '*') --labels;  // RFC 4034 3.1.3
  const std::uint16_t type = read_u16(p + fields);
  const std::uint32_t ttl = read_u32(p + fields + 4);
  std::size_t count = 0;
  for (std::size_t pos = start; pos < end;) {
    if (!read_name(msg, pos) || pos + 10 > end) return 0;
    const std::size_t size = read_u16(p + pos + 8);
    if (count == rdatas.size()) rdatas.emplace_back();
    rdatas[count].clear();
    append_canonical_rdata(rdatas[count], type, p + pos + 10, size);
    ++count;
    pos += 10 + size;
  }
  std::sort(rdatas.begin(), rdatas.begin() + static_cast<std::ptrdiff_t>(count));
  // Duplicates collapse in canonical form (RFC 4034 6.3).
  count = static_cast<std::size_t>(
      std::unique(rdatas.begin(), rdatas.begin() + static_cast<std::ptrdiff_t>(count)) - rdatas.begin());
  key.clear();
  for (const auto& k : keys_) {
    if (type == rrtype::DNSKEY ? k.published(now) : k.active(now)) put16(key, k.key.key_tag());
  }
  put16(key, type);
  put32(key, ttl);
  key.append(reinterpret_cast<const char*>(owner.data()), owner.size());
  for (std::size_t i = 0; i < count; ++i) {
    put16(key, static_cast<std::uint16_t>(rdatas[i].size()));
    key += rdatas[i];
  }
  std::uint16_t written = 0;
  {
    std::shared_lock lock(mutex_);
    const auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expiration - now > options_.refresh && it->second.inception <= now) {
      write_cached(w, owner_pointer, ttl, it->second, written);
      return w.overflow() ? 0 : written;
    }
  }
  const std::vector<std::string> sorted(rdatas.begin(), rdatas.begin() + static_cast<std::ptrdiff_t>(count));
  Entry entry = make_entry(owner, sorted, type, labels, ttl, now);
  write_cached(w, owner_pointer, ttl, entry, written);
  {
    std::unique_lock lock(mutex_);
    // Bounded: a flood of random names must not grow memory without end. Dropping all
    // costs one signature per RRset asked again, which the next queries rebuild.
    if (cache_.size() >= options_.cache_limit) cache_.clear();
    signatures_ += entry.rrsigs.empty() ? 0 : 1;
    cache_.insert_or_assign(key, std::move(entry));
  }
  return w.overflow() ? 0 : written;
}

}  // namespace acmednsd::dns
