#include "dns/transfer.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "common/log.hpp"
#include "common/persist_value.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

// Soft size of one transfer message: big enough that a 100k-value zone is a few hundred
// messages, small enough that a slow secondary holds little of our memory.
constexpr std::size_t kMessageTarget = std::size_t{16} * 1024;
constexpr std::size_t kTsigRoom = 256;

constexpr std::uint8_t kFlagAa = 0x04;

// Writes the header of an answer to `q` (ID, opcode and RD kept; QR, AA set).
void write_header(WireWriter& w, std::span<const std::uint8_t> query, std::uint8_t rcode_value, bool aa) {
  w.u16(read_u16(query.data()));
  w.u8(static_cast<std::uint8_t>(0x80 | (query[2] & 0x79) | (aa ? kFlagAa : 0)));
  w.u8(rcode_value);
  w.u16(0);
  w.u16(0);
  w.u16(0);
  w.u16(0);
}

// Writes a relative text name ("a.b", "" = apex) followed by the origin: in full the
// first time in a message, as a pointer afterwards.
class NameWriter {
 public:
  explicit NameWriter(const std::vector<std::uint8_t>& origin) : origin_(origin) {}
  void reset() { origin_at_ = 0; }
  void write(WireWriter& w, std::string_view relative) {
    std::size_t start = 0;
    while (start < relative.size()) {
      auto dot = relative.find('.', start);
      if (dot == std::string_view::npos) dot = relative.size();
      w.u8(static_cast<std::uint8_t>(dot - start));
      w.bytes(relative.data() + start, dot - start);
      start = dot + 1;
    }
    if (origin_at_ != 0) {
      w.pointer(origin_at_);
      return;
    }
    const std::size_t at = w.size();
    w.bytes(origin_.data(), origin_.size());
    if (at < 0x4000 && !w.overflow()) origin_at_ = at;
  }

 private:
  const std::vector<std::uint8_t>& origin_;
  std::size_t origin_at_ = 0;
};

std::vector<std::uint8_t> soa_rdata(const ZoneData& zone, std::uint32_t serial) {
  auto rdata = zone.apex().rrsets.front().rdatas.front();
  const std::size_t at = soa_serial_offset(rdata);
  rdata[at] = static_cast<std::uint8_t>(serial >> 24);
  rdata[at + 1] = static_cast<std::uint8_t>(serial >> 16);
  rdata[at + 2] = static_cast<std::uint8_t>(serial >> 8);
  rdata[at + 3] = static_cast<std::uint8_t>(serial);
  return rdata;
}

void write_rr(WireWriter& w, NameWriter& names, std::string_view owner, std::uint16_t type, std::uint32_t ttl,
              const void* rdata, std::size_t rdata_size) {
  names.write(w, owner);
  w.u16(type);
  w.u16(kClassIn);
  w.u32(ttl);
  w.u16(static_cast<std::uint16_t>(rdata_size));
  w.bytes(rdata, rdata_size);
}

// Challenge values are one 43-byte string; dns-persist-01 records (up to 512 bytes) are
// split into 255-byte strings, as the responder does.
void write_txt(WireWriter& w, NameWriter& names, std::string_view owner, std::uint32_t ttl,
               std::string_view text) {
  std::array<std::uint8_t, 3 + kMaxPersistValueLength> rdata{};
  text = text.substr(0, kMaxPersistValueLength);
  std::size_t size = 0;
  std::size_t at = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, text.size() - at);
    rdata[size++] = static_cast<std::uint8_t>(n);
    std::memcpy(rdata.data() + size, text.data() + at, n);
    size += n;
    at += n;
  } while (at < text.size());
  write_rr(w, names, owner, rrtype::TXT, ttl, rdata.data(), size);
}

// Reads the serial of the SOA in the authority section of an IXFR request.
std::optional<std::uint32_t> ixfr_client_serial(std::span<const std::uint8_t> q, std::size_t question_end) {
  if (read_u16(q.data() + 6) != 0 || read_u16(q.data() + 8) != 1) return std::nullopt;
  std::size_t pos = question_end;
  const auto skip_name = [&q](std::size_t& at) { return read_name(q, at); };
  if (!skip_name(pos) || q.size() - pos < 10) return std::nullopt;
  if (read_u16(q.data() + pos) != rrtype::SOA) return std::nullopt;
  const std::size_t rdlength = read_u16(q.data() + pos + 8);
  pos += 10;
  if (q.size() - pos < rdlength) return std::nullopt;
  const std::size_t end = pos + rdlength;
  if (!skip_name(pos) || !skip_name(pos) || pos > end || end - pos != 20) return std::nullopt;
  return read_u32(q.data() + pos);
}

// An AXFR answer (also an IXFR answered with the whole zone, RFC 1995 4): the SOA, the
// static records, every live TXT value, the SOA again. The content is copied once, under
// the index's batch lock, so it is exactly the content of its serial.
class ZoneStream final : public TransferStream {
 public:
  ZoneStream(std::span<const std::uint8_t> query, std::size_t question_end,
             std::shared_ptr<const ZoneData> zone, const AnswerIndex& index,
             std::optional<tsig::ResponseSigner> signer, std::shared_ptr<std::atomic<std::uint32_t>> active,
             const ZoneJournal* journal, std::optional<std::uint32_t> ixfr_from)
      : query_(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(question_end)),
        zone_(std::move(zone)),
        signer_(std::move(signer)),
        active_(std::move(active)) {
    {
      std::lock_guard lock(index.batch_mutex());
      serial_ = index.serial();
      if (journal && ixfr_from) diffs_ = journal->diffs_since(*ixfr_from, serial_);
      if (!diffs_) {
        // Time 0: nothing is hidden by age. What a transfer carries changes only with a
        // commit (a prune removes expired values and raises the serial), so every copy
        // of one serial is the same and the journal's diffs apply to it.
        // Packed as [name length][name][value length: 2 bytes][value], 82 bytes for an
        // account's value and no allocation per value: 100k values cost ~8 MB while they
        // stream. Values are 43 bytes, or up to 512 for dns-persist-01 records.
        values_.reserve(index.value_count() * (4 + 36 + kTxtValueLength));
        index.for_each_live(
            0,
            [](void* ctx, std::string_view name, std::string_view value) {
              auto* self = static_cast<ZoneStream*>(ctx);
              if (name.size() > 255 || value.size() > kMaxPersistValueLength) return;
              self->values_.push_back(static_cast<char>(name.size()));
              self->values_.insert(self->values_.end(), name.begin(), name.end());
              self->values_.push_back(static_cast<char>(value.size() >> 8));
              self->values_.push_back(static_cast<char>(value.size() & 0xFF));
              self->values_.insert(self->values_.end(), value.begin(), value.end());
              ++self->value_count_;
            },
            this);
      }
    }
    for (const auto& node : zone_->nodes()) {
      for (const auto& set : node.rrsets) {
        if (set.type == rrtype::SOA) continue;
        // DNSSEC (DNSSEC.md) signs online and only for DO=1 queries: the keys stay with
        // this server and secondaries get the unsigned zone (docs/dnssec.md says why).
        if (set.type == 48 || set.type == 59 || set.type == 60) continue;  // DNSKEY, CDS, CDNSKEY
        for (const auto& rdata : set.rdatas) statics_.push_back({&node.name, &set, &rdata});
      }
    }
    soa_ = soa_rdata(*zone_, serial_);
  }
  ~ZoneStream() override { active_->fetch_sub(1); }
  ZoneStream(const ZoneStream&) = delete;
  ZoneStream& operator=(const ZoneStream&) = delete;

  [[nodiscard]] std::uint32_t serial() const { return serial_; }
  [[nodiscard]] std::size_t value_count() const { return value_count_; }
  [[nodiscard]] bool incremental() const { return diffs_.has_value(); }

  std::size_t next(std::span<std::uint8_t> out, std::int64_t now) override {
    if (done_) return 0;
    WireWriter w(out.data(), std::min(out.size(), kMaxMessage) - kTsigRoom);
    write_header(w, query_, rcode::noerror, true);
    std::uint16_t qd = 0;
    if (first_) {
      w.bytes(query_.data() + kHeaderSize, query_.size() - kHeaderSize);
      qd = 1;
    }
    NameWriter names(zone_->origin_wire());
    std::uint16_t an = 0;
    const std::uint32_t soa_ttl = zone_->apex().rrsets.front().ttl;
    const std::uint32_t txt_ttl = zone_->txt_ttl;
    // One record per step; stop at the target size (the last record may cross it).
    while (w.size() < kMessageTarget) {
      const std::size_t before = w.size();
      if (step_ == 0) {
        write_rr(w, names, "", rrtype::SOA, soa_ttl, soa_.data(), soa_.size());
      } else if (diffs_) {
        if (!write_diff_step(w, names, soa_ttl, txt_ttl)) break;
      } else if (step_ <= statics_.size()) {
        const auto& s = statics_[step_ - 1];
        write_rr(w, names, *s.owner, s.set->type, s.set->ttl, s.rdata->data(), s.rdata->size());
      } else if (step_ <= statics_.size() + value_count_) {
        const auto size = static_cast<std::uint8_t>(values_[cursor_]);
        const std::string_view name(values_.data() + cursor_ + 1, size);
        const std::size_t value_size =
            (std::size_t{static_cast<std::uint8_t>(values_[cursor_ + 1 + size])} << 8) |
            static_cast<std::uint8_t>(values_[cursor_ + 2 + size]);
        const std::string_view text(values_.data() + cursor_ + 3 + size, value_size);
        write_txt(w, names, name, txt_ttl, text);
        if (!w.overflow()) cursor_ += 3 + size + value_size;
      } else {
        write_rr(w, names, "", rrtype::SOA, soa_ttl, soa_.data(), soa_.size());
        done_ = true;
      }
      if (w.overflow()) {
        w.truncate_to(before);
        if (an == 0) return 0;  // one record larger than a message: cannot happen with our data
        done_ = false;
        break;
      }
      ++an;
      ++step_;
      if (done_) break;
    }
    w.patch_u16(4, qd);
    w.patch_u16(6, an);
    first_ = false;
    std::size_t size = w.size();
    if (signer_) size = signer_->sign(out, size, now);
    return size;
  }

 private:
  struct Static {
    const std::string* owner;
    const RrSet* set;
    const std::vector<std::uint8_t>* rdata;
  };

  // IXFR body (RFC 1995 4): per change, the old SOA, the removed values, the new SOA,
  // the added values; then the final SOA. False when the diffs are all written.
  bool write_diff_step(WireWriter& w, NameWriter& names, std::uint32_t soa_ttl, std::uint32_t txt_ttl) {
    const auto& list = *diffs_;
    if (diff_ >= list.size()) {
      write_rr(w, names, "", rrtype::SOA, soa_ttl, soa_.data(), soa_.size());
      done_ = true;
      return true;
    }
    const auto& d = list[diff_];
    // Layout of one diff: [old SOA][removed...][new SOA][added...]
    const std::size_t removed = d.removed.size();
    const std::size_t added = d.added.size();
    if (in_diff_ == 0) {
      const auto old_soa = soa_rdata(*zone_, d.from_serial);
      write_rr(w, names, "", rrtype::SOA, soa_ttl, old_soa.data(), old_soa.size());
    } else if (in_diff_ <= removed) {
      const auto& c = d.removed[in_diff_ - 1];
      write_txt(w, names, c.name, txt_ttl, c.value);
    } else if (in_diff_ == removed + 1) {
      const auto new_soa = soa_rdata(*zone_, d.to_serial);
      write_rr(w, names, "", rrtype::SOA, soa_ttl, new_soa.data(), new_soa.size());
    } else {
      const auto& c = d.added[in_diff_ - removed - 2];
      write_txt(w, names, c.name, txt_ttl, c.value);
    }
    if (!w.overflow()) {
      if (++in_diff_ == removed + added + 2) {
        in_diff_ = 0;
        ++diff_;
      }
    }
    return true;
  }

  std::vector<std::uint8_t> query_;  // header and question of the request
  std::shared_ptr<const ZoneData> zone_;
  std::optional<tsig::ResponseSigner> signer_;
  std::shared_ptr<std::atomic<std::uint32_t>> active_;
  std::uint32_t serial_ = 0;
  std::vector<std::uint8_t> soa_;
  std::vector<Static> statics_;
  std::vector<char> values_;  // packed, see the constructor
  std::size_t value_count_ = 0;
  std::size_t cursor_ = 0;  // next value in values_
  std::optional<std::vector<ZoneJournal::Diff>> diffs_;
  std::size_t diff_ = 0;
  std::size_t in_diff_ = 0;
  std::size_t step_ = 0;
  bool first_ = true;
  bool done_ = false;
};

// Refusals and TSIG failures come from anyone on the Internet: at most one log line per
// kind every 10 s, so a flood cannot fill the disk, and an operator still sees why a
// secondary is turned away.
bool log_now(std::atomic<std::int64_t>& last, std::int64_t now) {
  std::int64_t seen = last.load(std::memory_order_relaxed);
  return now - seen >= 10 && last.compare_exchange_strong(seen, now, std::memory_order_relaxed);
}
std::atomic<std::int64_t> g_refusal_logged{0};
std::atomic<std::int64_t> g_tsig_logged{0};
std::atomic<std::int64_t> g_busy_logged{0};

const char* tsig_outcome_text(tsig::Outcome o) {
  switch (o) {
    case tsig::Outcome::badkey:
      return "BADKEY (unknown key or algorithm)";
    case tsig::Outcome::badsig:
      return "BADSIG (wrong secret)";
    case tsig::Outcome::badtime:
      return "BADTIME (clocks differ by more than 300 s)";
    default:
      return "FORMERR (malformed TSIG)";
  }
}

}  // namespace

TransferGate::TransferGate(const Config& config, const ZoneJournal* journal)
    : keys_(config.tsig_keys), max_transfers_(config.transfer.max_transfers), journal_(journal) {
  for (const auto& c : config.transfer.allow) {
    if (auto cidr = Cidr::parse(c)) allow_.push_back(*cidr);
  }
  require_tsig_ = config.transfer.require_tsig;
  enabled_ = !allow_.empty() || !keys_.empty();
}

bool TransferGate::wants(std::span<const std::uint8_t> query) const {
  if (!enabled_ || query.size() < kHeaderSize || (query[2] & 0x80) != 0) return false;
  if (!keys_.empty() && read_u16(query.data() + 10) != 0) return true;  // may carry a TSIG
  if (allow_.empty() || read_u16(query.data() + 4) != 1) return false;
  std::size_t pos = kHeaderSize;
  while (pos < query.size() && query[pos] != 0 && query[pos] <= kMaxLabel) pos += 1u + query[pos];
  if (pos + 3 > query.size()) return false;
  const std::uint16_t qtype = read_u16(query.data() + pos + 1);
  return qtype == rrtype::AXFR || qtype == rrtype::IXFR;
}

TransferGate::Outcome TransferGate::handle(std::span<const std::uint8_t> query, const IpAddress& peer,
                                           Transport transport,
                                           const std::shared_ptr<const ZoneData>& zone_ptr,
                                           const AnswerIndex& index, std::int64_t now,
                                           std::span<std::uint8_t> out) {
  const ZoneData& zone = *zone_ptr;
  Outcome result;
  const tsig::Verified v = tsig::verify_request(query, keys_, now);
  if (v.outcome != tsig::Outcome::unsigned_message && v.outcome != tsig::Outcome::ok) {
    if (log_now(g_tsig_logged, now)) {
      log::warning("TSIG check failed (further ones for 10 s are not logged)",
                   {{"client", peer.to_string()}, {"error", tsig_outcome_text(v.outcome)}});
    }
    result.size = tsig::render_error(query, v, now, out);
    return result;
  }
  const bool is_signed = v.outcome == tsig::Outcome::ok;
  std::vector<std::uint8_t> stripped;
  if (is_signed) stripped = tsig::strip(query, v);
  const std::span<const std::uint8_t> q = is_signed ? std::span<const std::uint8_t>(stripped) : query;
  const auto sign = [&](std::size_t size) -> std::size_t {
    if (!is_signed || size == 0) return size;
    tsig::ResponseSigner signer(*v.key, v.mac, v.original_id);
    const std::size_t signed_size = signer.sign(out, size, now);
    return signed_size != 0 ? signed_size : size;  // no room: unsigned beats no answer
  };

  ParsedQuery pq;
  const ParseOutcome parsed = parse_query(q, pq);
  const bool transfer = parsed == ParseOutcome::ok && (pq.qtype == rrtype::AXFR || pq.qtype == rrtype::IXFR);
  if (!transfer) {
    // An ordinary query (a secondary's SOA check is signed): the responder answers it.
    const ClientInfo client{transport};
    std::span<std::uint8_t> room = out;
    if (is_signed && transport == Transport::udp && parsed == ParseOutcome::ok) {
      // Leave room for the TSIG inside what the client takes (its EDNS size), so the
      // signed answer is not cut; an answer that would not fit then gets TC=1.
      const std::size_t client_size =
          pq.has_opt ? std::clamp<std::size_t>(pq.udp_size, kClassicUdpSize, zone.edns_udp_size)
                     : kClassicUdpSize;
      const std::size_t tsig_size =
          v.key->name_wire.size() + 10 + 13 + 16 + tsig::mac_length(v.key->algorithm);
      const std::size_t limit = std::min(out.size(), client_size);
      room = out.first(std::max(kClassicUdpSize, limit > tsig_size ? limit - tsig_size : 0));
    }
    result.size = sign(respond(q, client, zone, index, now, room));
    return result;
  }

  const std::size_t question_end = kHeaderSize + pq.qname_size + 4;
  const auto simple = [&](std::uint8_t code, bool with_soa) {
    WireWriter w(out.data(), std::min(out.size(), kMaxMessage) - kTsigRoom);
    write_header(w, q, code, with_soa);
    w.bytes(q.data() + kHeaderSize, question_end - kHeaderSize);
    w.patch_u16(4, 1);
    if (with_soa) {
      NameWriter names(zone.origin_wire());
      const auto soa = soa_rdata(zone, index.serial());
      write_rr(w, names, "", rrtype::SOA, zone.apex().rrsets.front().ttl, soa.data(), soa.size());
      w.patch_u16(6, 1);
    }
    return sign(w.overflow() ? 0 : w.size());
  };

  // Only the zone itself can be transferred; the question must name its apex.
  const std::span<const std::uint8_t> qname = q.subspan(kHeaderSize, pq.qname_size);
  const auto& origin = zone.origin_wire();
  const bool apex = qname.size() == origin.size() &&
                    std::equal(qname.begin(), qname.end(), origin.begin(),
                               [](std::uint8_t a, std::uint8_t b) { return ascii_lower(a) == b; });
  const bool key_ok = require_tsig_.empty() ||
                      (is_signed && std::find(require_tsig_.begin(), require_tsig_.end(), v.key->name) !=
                                        require_tsig_.end());
  if (!apex || pq.qclass != kClassIn || !any_contains(allow_, peer.unmapped()) || !key_ok) {
    if (log_now(g_refusal_logged, now)) {
      log::info("zone transfer refused (further ones for 10 s are not logged)",
                {{"client", peer.to_string()}, {"signed", is_signed ? v.key->name : std::string("no")}});
    }
    result.size = simple(rcode::refused, false);
    return result;
  }
  std::optional<std::uint32_t> client_serial;
  if (pq.qtype == rrtype::IXFR) {
    client_serial = ixfr_client_serial(q, question_end);
    if (!client_serial) {
      result.size = simple(rcode::formerr, false);
      return result;
    }
    // Up to date (or claims to be ahead): our SOA alone (RFC 1995 2, 4). Over UDP this
    // is also the answer when it is not: "use TCP" (RFC 1995 2).
    if (transport == Transport::udp || !AnswerIndex::serial_after(index.serial(), *client_serial)) {
      result.size = simple(rcode::noerror, true);
      return result;
    }
  } else if (transport == Transport::udp) {
    result.size = simple(rcode::refused, false);  // RFC 5936 4.2: AXFR is TCP only
    return result;
  }
  if (active_->fetch_add(1) >= max_transfers_) {
    active_->fetch_sub(1);
    if (log_now(g_busy_logged, now)) {
      log::warning("zone transfer refused: too many at once (further ones for 10 s are not logged)",
                   {{"client", peer.to_string()}, {"max_transfers", std::to_string(max_transfers_)}});
    }
    result.size = simple(rcode::refused, false);
    return result;
  }
  std::optional<tsig::ResponseSigner> signer;
  if (is_signed) signer.emplace(*v.key, v.mac, v.original_id);
  // The stream keeps the zone data alive even if SIGHUP replaces it meanwhile.
  auto stream = std::make_unique<ZoneStream>(q, question_end, zone_ptr, index, std::move(signer), active_,
                                             journal_, client_serial);
  log::info(pq.qtype == rrtype::IXFR ? "IXFR out" : "AXFR out",
            {{"client", peer.to_string()},
             {"serial", std::to_string(stream->serial())},
             {"style", stream->incremental() ? "incremental" : "full"},
             {"values", std::to_string(stream->value_count())}});
  result.stream = std::move(stream);
  return result;
}

}  // namespace acmednsd::dns
