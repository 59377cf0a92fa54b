#include "dns/responder.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <vector>

#include "dns/signer.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

// Enough for any sane delegation chain; a CNAME loop in the static records stops here.
constexpr int kMaxCnameHops = 8;
constexpr std::uint8_t kFlagAa = 0x04;
constexpr std::uint8_t kFlagTc = 0x02;

enum class NameResult { answered, nodata, nxdomain, cname };

// A relative lowercase name in a stack buffer, so following a CNAME allocates nothing.
struct NameBuffer {
  char text[kMaxNameWire + 1];
  std::size_t size = 0;
  [[nodiscard]] std::string_view view() const { return {text, size}; }
};

struct TxtSink {
  WireWriter* writer;
  std::uint16_t owner;
  std::uint32_t ttl;
  std::uint16_t* ancount;
};

void write_txt_value(void* context, std::string_view value) {
  auto& sink = *static_cast<TxtSink*>(context);
  WireWriter& w = *sink.writer;
  // Challenge values are 43 bytes; longer ones are split into 255-byte strings.
  const std::size_t chunks = value.empty() ? 1 : (value.size() + 254) / 255;
  if (value.size() + chunks > 0xFFFF) return;
  w.pointer(sink.owner);
  w.u16(rrtype::TXT);
  w.u16(kClassIn);
  w.u32(sink.ttl);
  w.u16(static_cast<std::uint16_t>(value.size() + chunks));
  std::size_t at = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, value.size() - at);
    w.u8(static_cast<std::uint8_t>(n));
    w.bytes(value.data() + at, n);
    at += n;
  } while (at < value.size());
  ++*sink.ancount;
}

void ignore_value(void*, std::string_view) {}

void count_value(void* context, std::string_view) {
  ++*static_cast<std::size_t*>(context);
}

class Renderer {
 public:
  // `signer` is null for DO=0 queries and unsigned zones: then nothing below signs.
  Renderer(const ParsedQuery& q, const ZoneData& zone, const AnswerIndex& index, std::int64_t now,
           WireWriter& w, const Signer* signer)
      : q_(q), zone_(zone), index_(index), now_(now), w_(w), signer_(signer) {}

  // Answers the question name and any in-zone CNAME chain from it.
  void answer(std::string_view relative_name) {
    NameBuffer names[2];
    std::string_view current = relative_name;
    std::uint16_t owner = static_cast<std::uint16_t>(kHeaderSize);
    for (int hop = 0;; ++hop) {
      NameBuffer& next = names[hop % 2];
      std::uint16_t next_owner = 0;
      const NameResult result = answer_name(current, owner, next, next_owner);
      if (result == NameResult::cname && hop < kMaxCnameHops) {
        current = next.view();
        owner = next_owner;
        continue;
      }
      if (result == NameResult::nodata || result == NameResult::nxdomain) {
        rcode_ = result == NameResult::nxdomain ? rcode::nxdomain : rcode::noerror;
        write_negative_soa();
        if (signer_ != nullptr) write_denial(current, owner, result == NameResult::nxdomain);
      }
      write_wildcard_proofs();
      return;
    }
  }

  void answer_nxdomain() {
    rcode_ = rcode::nxdomain;
    write_negative_soa();
    if (signer_ != nullptr) write_denial({}, static_cast<std::uint16_t>(kHeaderSize), true);
  }

  std::uint8_t rcode_ = rcode::noerror;
  std::uint16_t ancount_ = 0;
  std::uint16_t nscount_ = 0;

 private:
  NameResult answer_name(std::string_view name, std::uint16_t owner, NameBuffer& next,
                         std::uint16_t& next_owner) {
    const ZoneNode* node = zone_.find(name);
    if (node != nullptr && !node->empty_nonterminal()) {
      return answer_node(*node, name, owner, true, next, next_owner);
    }
    const std::uint16_t before = ancount_;
    const NameKind kind = visit_index(name, owner);
    if (kind == NameKind::exists) return ancount_ != before ? NameResult::answered : NameResult::nodata;
    if (kind == NameKind::nonterminal || node != nullptr) return NameResult::nodata;
    if (zone_.has_wildcards()) {
      if (const ZoneNode* wildcard = find_wildcard(name)) {
        return answer_node(*wildcard, name, owner, false, next, next_owner);
      }
    }
    return NameResult::nxdomain;
  }

  NameResult answer_node(const ZoneNode& node, std::string_view name, std::uint16_t owner, bool exact,
                         NameBuffer& next, std::uint16_t& next_owner) {
    const RrSet* cname = node.find(rrtype::CNAME);
    if (cname != nullptr && q_.qtype != rrtype::CNAME) {
      const auto& target = cname->rdatas.front();
      // Later records owned by the target point at it inside this CNAME's rdata.
      const std::size_t target_offset = w_.size() + 12;
      const std::size_t start = w_.size();
      write_rr(owner, rrtype::CNAME, cname->ttl, target.data(), target.size());
      sign_answer(start, exact ? nullptr : &node, name, owner);
      bool inside = false;
      const bool readable =
          relative_name_of(target.data(), target.size(), zone_.origin_wire(), zone_.origin_labels(),
                           next.text, sizeof next.text, next.size, inside);
      if (!inside || !readable || target_offset >= 0x4000) return NameResult::answered;
      next_owner = static_cast<std::uint16_t>(target_offset);
      return NameResult::cname;
    }
    const RrSet* set = q_.qtype == rrtype::ANY ? &node.rrsets.front() : node.find(q_.qtype);
    if (set != nullptr) {
      const std::size_t start = w_.size();
      write_rrset(owner, *set);
      sign_answer(start, exact ? nullptr : &node, name, owner);
      return NameResult::answered;
    }
    if (exact && q_.qtype == rrtype::TXT) {
      // A static owner may also be a registered name: its challenge values still count.
      const std::uint16_t before = ancount_;
      visit_index(name, owner);
      if (ancount_ != before) return NameResult::answered;
    }
    return NameResult::nodata;
  }

  NameKind visit_index(std::string_view name, std::uint16_t owner) {
    const bool wants_txt = q_.qtype == rrtype::TXT || q_.qtype == rrtype::ANY;
    TxtSink sink{&w_, owner, zone_.txt_ttl, &ancount_};
    const std::size_t start = w_.size();
    const NameKind kind = index_.visit(name, now_, wants_txt ? write_txt_value : ignore_value, &sink);
    if (w_.size() != start) sign_answer(start);
    return kind;
  }

  // Signs the RRset written since `start`. An answer synthesized from `wildcard` is
  // signed over the wildcard's owner (RFC 4035 5.3.2) and owes a proof that `name` (at
  // `owner` in the message) does not exist, written into the authority section later.
  void sign_answer(std::size_t start, const ZoneNode* wildcard = nullptr, std::string_view name = {},
                   std::uint16_t owner = 0) {
    if (signer_ == nullptr) return;
    std::size_t skip = 0;
    if (wildcard != nullptr && proof_count_ < kMaxProofs && wildcard_provable(wildcard->name, name, skip)) {
      const std::uint16_t sigs = signer_->sign_records(w_, start, w_.size(), now_, &wildcard_wire(*wildcard));
      ancount_ += sigs;
      if (sigs != 0) proofs_[proof_count_++] = WildcardProof{owner, skip, wildcard};
      return;
    }
    ancount_ += signer_->sign_records(w_, start, w_.size(), now_);
  }

  // The proof NSEC "\000.*.<encloser>" .. "<label>\000.<encloser>" (label: the name's
  // label directly below the encloser) sorts between the wildcard and the name only when
  // that label sorts after "*" (RFC 4034 6.1) and can grow by one octet: true for every
  // hostname label. Other names are signed as themselves, as an existing name would be
  // (valid too). `skip` gets the number of the name's labels above that label.
  static bool wildcard_provable(std::string_view wildcard, std::string_view name, std::size_t& skip) {
    const std::string_view encloser = wildcard.size() > 2 ? wildcard.substr(2) : std::string_view{};
    if (name.size() <= encloser.size() + (encloser.empty() ? 0 : 1)) return false;
    std::string_view prefix = encloser.empty() ? name : name.substr(0, name.size() - encloser.size() - 1);
    const auto dot = prefix.rfind('.');
    const std::string_view label = dot == std::string_view::npos ? prefix : prefix.substr(dot + 1);
    skip = static_cast<std::size_t>(std::count(prefix.begin(), prefix.end(), '.'));
    return !label.empty() && label.size() < kMaxLabel && label.compare("*") > 0;
  }

  // The wildcard's owner in lowercase wire form (signed path only: it allocates once
  // per thread).
  const std::vector<std::uint8_t>& wildcard_wire(const ZoneNode& wildcard) const {
    thread_local std::vector<std::uint8_t> wire;
    wire.clear();
    append_wire(wire, wildcard.name);
    wire.insert(wire.end(), zone_.origin_wire().begin(), zone_.origin_wire().end());
    return wire;
  }

  static void append_wire(std::vector<std::uint8_t>& out, std::string_view relative) {
    while (!relative.empty()) {
      const auto dot = relative.find('.');
      const std::string_view label = relative.substr(0, dot);
      out.push_back(static_cast<std::uint8_t>(label.size()));
      out.insert(out.end(), label.begin(), label.end());
      if (dot == std::string_view::npos) break;
      relative.remove_prefix(dot + 1);
    }
  }

  void write_wildcard_proofs() {
    for (int i = 0; i < proof_count_; ++i) {
      const std::size_t start = w_.size();
      Signer::write_wildcard_nsec(w_, proofs_[i].owner_offset, proofs_[i].skip_labels,
                                  wildcard_wire(*proofs_[i].wildcard), zone_.negative_ttl);
      ++nscount_;
      nscount_ += signer_->sign_records(w_, start, w_.size(), now_);
    }
  }

  // RFC 9824 compact denial after the negative SOA: its RRSIG, then one NSEC at the
  // denied name (owner at `owner` in the message) and that NSEC's RRSIG. A name that
  // does not exist "exists with no data" whose bitmap says NXNAME; the rcode is
  // NOERROR unless the client set the CO flag.
  void write_denial(std::string_view name, std::uint16_t owner, bool nxdomain) {
    nscount_ += signer_->sign_records(w_, last_record_start_, w_.size(), now_);  // the SOA just written
    std::uint16_t types[64];
    std::size_t count = 0;
    types[count++] = rrtype::RRSIG;
    types[count++] = rrtype::NSEC;
    if (nxdomain) {
      types[count++] = rrtype::NXNAME;
      if (!q_.compact_ok) rcode_ = rcode::noerror;
    } else {
      count = existing_types(name, types, count, 64);
    }
    const std::size_t nsec_start = w_.size();
    Signer::write_nsec(w_, owner, zone_.negative_ttl, types, count);
    ++nscount_;
    nscount_ += signer_->sign_records(w_, nsec_start, w_.size(), now_);
  }

  // The types present at an existing name (the bitmap of a NODATA proof).
  std::size_t existing_types(std::string_view name, std::uint16_t* types, std::size_t count,
                             std::size_t cap) const {
    const ZoneNode* node = zone_.find(name);
    std::size_t values = 0;
    const NameKind kind = index_.visit(name, now_, count_value, &values);
    if ((node == nullptr || node->empty_nonterminal()) && kind == NameKind::absent && zone_.has_wildcards()) {
      node = find_wildcard(name);  // the answer came from the wildcard: its types
    }
    if (node != nullptr) {
      for (const auto& set : node->rrsets) {
        if (count < cap) types[count++] = set.type;
      }
    }
    if (values != 0 && count < cap) types[count++] = rrtype::TXT;
    return count;
  }

  // RFC 4592: the wildcard "*.<closest encloser>" answers for names that do not exist.
  const ZoneNode* find_wildcard(std::string_view name) const {
    while (!name.empty()) {
      const auto dot = name.find('.');
      const std::string_view parent =
          dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
      if (exists(parent)) {
        NameBuffer candidate;
        candidate.text[0] = '*';
        candidate.size = 1;
        if (!parent.empty()) {
          candidate.text[candidate.size++] = '.';
          std::copy(parent.begin(), parent.end(), candidate.text + candidate.size);
          candidate.size += parent.size();
        }
        const ZoneNode* wildcard = zone_.find(candidate.view());
        return wildcard != nullptr && !wildcard->empty_nonterminal() ? wildcard : nullptr;
      }
      name = parent;
    }
    return nullptr;
  }

  bool exists(std::string_view name) const {
    if (name.empty() || zone_.find(name) != nullptr) return true;
    TxtSink unused{nullptr, 0, 0, nullptr};
    return index_.visit(name, now_, ignore_value, &unused) != NameKind::absent;
  }

  void write_rr(std::uint16_t owner, std::uint16_t type, std::uint32_t ttl, const std::uint8_t* rdata,
                std::size_t size) {
    w_.pointer(owner);
    w_.u16(type);
    w_.u16(kClassIn);
    w_.u32(ttl);
    w_.u16(static_cast<std::uint16_t>(size));
    w_.bytes(rdata, size);
    ++ancount_;
  }

  void write_rrset(std::uint16_t owner, const RrSet& set) {
    if (set.type == rrtype::SOA) {
      write_soa(owner);
      ++ancount_;
      return;
    }
    for (const auto& rdata : set.rdatas) write_rr(owner, set.type, set.ttl, rdata.data(), rdata.size());
  }

  // The SOA with the serial of this moment (it changes with every write to the index).
  void write_soa(std::uint16_t owner) {
    last_record_start_ = w_.size();
    const RrSet& soa = zone_.apex().rrsets.front();
    const auto& rdata = soa.rdatas.front();
    const std::size_t serial_at = soa_serial_offset(rdata);
    w_.pointer(owner);
    w_.u16(rrtype::SOA);
    w_.u16(kClassIn);
    w_.u32(soa.ttl);
    w_.u16(static_cast<std::uint16_t>(rdata.size()));
    w_.bytes(rdata.data(), serial_at);
    w_.u32(index_.serial());
    w_.bytes(rdata.data() + serial_at + 4, rdata.size() - serial_at - 4);
  }

  // RFC 2308: negative answers carry the zone SOA in the authority section; its owner
  // is the zone suffix of the question name.
  void write_negative_soa() {
    const std::size_t apex_offset = kHeaderSize + q_.qname_size - zone_.origin_wire().size();
    write_soa(static_cast<std::uint16_t>(apex_offset));
    ++nscount_;
  }

  const ParsedQuery& q_;
  const ZoneData& zone_;
  const AnswerIndex& index_;
  std::int64_t now_;
  WireWriter& w_;
  const Signer* signer_;
  std::size_t last_record_start_ = 0;
  // Wildcard answers in this response (one per name of a CNAME chain at most).
  // Trivial members: an unsigned answer pays nothing for them.
  struct WildcardProof {
    std::uint16_t owner_offset;
    std::size_t skip_labels;
    const ZoneNode* wildcard;
  };
  static constexpr int kMaxProofs = kMaxCnameHops + 1;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-member-init): only read below proof_count_
  WildcardProof proofs_[kMaxProofs];
  int proof_count_ = 0;
};

void write_header(WireWriter& w, const ParsedQuery& q) {
  w.u16(q.id);
  w.u8(static_cast<std::uint8_t>(0x80 | (q.opcode << 3) | (q.rd ? 0x01 : 0)));
  w.u8(q.cd ? 0x10 : 0);
  w.u16(0);  // counts are patched once known
  w.u16(0);
  w.u16(0);
  w.u16(0);
}

// Sets flags and counts, then appends the OPT record (room for it was kept free).
std::size_t finish(WireWriter& w, const ParsedQuery& q, const ZoneData& zone, std::size_t limit,
                   std::uint16_t rcode_value, bool authoritative, bool truncated, std::uint16_t qdcount,
                   std::uint16_t ancount, std::uint16_t nscount, bool compact = false) {
  std::uint8_t* h = w.data();
  if (authoritative) h[2] |= kFlagAa;
  if (truncated) h[2] |= kFlagTc;
  h[3] = static_cast<std::uint8_t>((h[3] & 0xF0) | (rcode_value & 0x0F));
  w.patch_u16(4, qdcount);
  w.patch_u16(6, ancount);
  w.patch_u16(8, nscount);
  if (q.has_opt) {
    w.set_limit(limit);
    w.u8(0);  // root owner
    w.u16(rrtype::OPT);
    w.u16(static_cast<std::uint16_t>(zone.edns_udp_size));
    w.u8(static_cast<std::uint8_t>(rcode_value >> 4));  // extended rcode, upper 8 bits
    w.u8(0);                                            // EDNS version we speak
    // RFC 3225: DO is copied; RFC 9824: so is CO when we answered in compact form.
    w.u8(static_cast<std::uint8_t>((q.dnssec_ok ? 0x80 : 0) | (compact ? 0x40 : 0)));
    w.u8(0);
    w.u16(0);
    w.patch_u16(10, 1);
  }
  return w.overflow() ? 0 : w.size();
}

std::size_t respond_unchecked(std::span<const std::uint8_t> query, const ClientInfo& client,
                              const ZoneData& zone, const AnswerIndex& index, std::int64_t now,
                              std::span<std::uint8_t> out) {
  ParsedQuery q;
  ParseOutcome outcome = parse_query(query, q);
  if (client.cut && outcome == ParseOutcome::ok) outcome = ParseOutcome::formerr;
  if (outcome == ParseOutcome::drop || out.size() < kClassicUdpSize) return 0;

  std::size_t limit = std::min(out.size(), kMaxMessage);
  if (client.transport == Transport::udp) {
    const std::size_t client_size =
        q.has_opt ? std::clamp<std::size_t>(q.udp_size, kClassicUdpSize, zone.edns_udp_size)
                  : kClassicUdpSize;
    limit = std::min(limit, client_size);
  }
  WireWriter w(out.data(), limit - (q.has_opt ? kOptRecordSize : 0));
  write_header(w, q);
  std::uint16_t qdcount = 0;
  if (q.question_ok) {
    w.bytes(query.data() + kHeaderSize, q.qname_size + 4);  // echoed as received (0x20)
    qdcount = 1;
  }
  const std::size_t question_end = w.size();

  if (outcome == ParseOutcome::formerr || outcome == ParseOutcome::notimp) {
    const std::uint8_t code = outcome == ParseOutcome::formerr ? rcode::formerr : rcode::notimp;
    return finish(w, q, zone, limit, code, false, false, qdcount, 0, 0);
  }
  if (q.has_opt && q.edns_version != 0) {
    return finish(w, q, zone, limit, rcode::badvers, false, false, qdcount, 0, 0);
  }

  NameBuffer name;
  bool inside = false;
  const bool readable =
      relative_name_of(query.data() + kHeaderSize, q.qname_size, zone.origin_wire(), zone.origin_labels(),
                       name.text, sizeof name.text, name.size, inside);
  if (!inside || q.qclass != kClassIn || q.qtype == rrtype::AXFR || q.qtype == rrtype::IXFR) {
    return finish(w, q, zone, limit, rcode::refused, false, false, qdcount, 0, 0);
  }

  const Signer* signer = q.dnssec_ok ? zone.signer.get() : nullptr;
  // RFC 9824 3.5: NXNAME is a meta-type, never asked for.
  if (zone.signer != nullptr && q.qtype == rrtype::NXNAME) {
    return finish(w, q, zone, limit, rcode::formerr, false, false, qdcount, 0, 0);
  }
  const bool compact = signer != nullptr && q.compact_ok;
  Renderer renderer(q, zone, index, now, w, signer);
  if (readable) {
    renderer.answer(name.view());
  } else {
    // A label with '.' or control bytes cannot name anything we serve.
    renderer.answer_nxdomain();
  }
  if (w.overflow()) {
    // RFC 2181 9: rather than a partial RRset, an empty answer with TC=1; the client
    // retries over TCP, where the limit is 64 KiB.
    w.truncate_to(question_end);
    return finish(w, q, zone, limit, renderer.rcode_, true, true, qdcount, 0, 0, compact);
  }
  return finish(w, q, zone, limit, renderer.rcode_, true, false, qdcount, renderer.ancount_,
                renderer.nscount_, compact);
}

std::size_t render_servfail(std::span<const std::uint8_t> query, std::span<std::uint8_t> out) {
  if (query.size() < kHeaderSize || out.size() < kHeaderSize) return 0;
  std::fill(out.begin(), out.begin() + kHeaderSize, std::uint8_t{0});
  out[0] = query[0];
  out[1] = query[1];
  out[2] = static_cast<std::uint8_t>(0x80 | (query[2] & 0x79));  // keep opcode and RD
  out[3] = rcode::servfail;
  return kHeaderSize;
}

}  // namespace

std::optional<ResponseSummary> summarize_response(std::span<const std::uint8_t> response) {
  if (response.size() < kHeaderSize) return std::nullopt;
  ResponseSummary summary;
  summary.rcode = response[3] & 0x0F;
  summary.truncated = (response[2] & kFlagTc) != 0;
  if (read_u16(response.data() + 4) != 1) return summary;
  std::size_t pos = kHeaderSize;
  while (pos < response.size() && response[pos] != 0 && response[pos] <= kMaxLabel) {
    const std::size_t len = response[pos];
    if (pos + 1 + len > response.size()) return std::nullopt;
    for (std::size_t i = pos + 1; i <= pos + len; ++i) {
      const std::uint8_t c = response[i];
      if (c > 0x20 && c < 0x7F && c != '.' && c != '\\') {
        summary.name += static_cast<char>(c);
      } else {
        char escaped[5];
        std::snprintf(escaped, sizeof escaped, "\\%03u", static_cast<unsigned>(c));
        summary.name += escaped;
      }
    }
    summary.name += '.';
    pos += 1 + len;
  }
  if (summary.name.empty()) summary.name.push_back('.');  // not = ".": GCC 12 -Wrestrict false positive
  if (pos + 3 < response.size()) summary.type = read_u16(response.data() + pos + 1);
  return summary;
}

std::size_t respond(std::span<const std::uint8_t> query, const ClientInfo& client, const ZoneData& zone,
                    const AnswerIndex& index, std::int64_t now_unix, std::span<std::uint8_t> out) noexcept {
  try {
    return respond_unchecked(query, client, zone, index, now_unix, out);
  } catch (...) {
    // Nothing on this path is expected to throw (no allocation); if a lock or the
    // index ever does, the client still gets an answer instead of a timeout.
    return render_servfail(query, out);
  }
}

}  // namespace acmednsd::dns
