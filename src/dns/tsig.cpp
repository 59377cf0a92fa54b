#include "dns/tsig.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>

#include "dns/wire.hpp"

namespace acmednsd::dns::tsig {
namespace {

constexpr std::array<std::uint8_t, 13> kSha256Wire = {11,  'h', 'm', 'a', 'c', '-', 's',
                                                      'h', 'a', '2', '5', '6', 0};
constexpr std::array<std::uint8_t, 13> kSha384Wire = {11,  'h', 'm', 'a', 'c', '-', 's',
                                                      'h', 'a', '3', '8', '4', 0};
constexpr std::array<std::uint8_t, 13> kSha512Wire = {11,  'h', 'm', 'a', 'c', '-', 's',
                                                      'h', 'a', '5', '1', '2', 0};

const char* digest_name(TsigAlgorithm a) {
  switch (a) {
    case TsigAlgorithm::hmac_sha384:
      return "SHA384";
    case TsigAlgorithm::hmac_sha512:
      return "SHA512";
    case TsigAlgorithm::hmac_sha256:
      break;
  }
  return "SHA256";
}

// One HMAC computation, fed piece by piece (the digest covers several separate parts).
class Hmac {
 public:
  Hmac(const Key& key) {
    static EVP_MAC* const kHmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    ctx_.reset(kHmac ? EVP_MAC_CTX_new(kHmac) : nullptr);
    if (!ctx_) return;
    std::array<OSSL_PARAM, 2> params = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(key.algorithm)),
                                         0),
        OSSL_PARAM_construct_end()};
    ok_ = EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.secret.data()),
                       key.secret.size(), params.data()) == 1;
  }
  void update(const void* data, std::size_t size) {
    if (ok_ && size != 0)
      ok_ = EVP_MAC_update(ctx_.get(), static_cast<const unsigned char*>(data), size) == 1;
  }
  void update(std::span<const std::uint8_t> s) { update(s.data(), s.size()); }
  void u16(std::uint16_t v) {
    const std::array<std::uint8_t, 2> b = {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    update(b.data(), b.size());
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void u48(std::uint64_t v) {
    u16(static_cast<std::uint16_t>(v >> 32));
    u32(static_cast<std::uint32_t>(v));
  }
  std::vector<std::uint8_t> finish() {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    std::size_t size = 0;
    if (!ok_ || EVP_MAC_final(ctx_.get(), out.data(), &size, out.size()) != 1) return {};
    out.resize(size);
    return out;
  }

 private:
  struct Free {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
  };
  std::unique_ptr<EVP_MAC_CTX, Free> ctx_;
  bool ok_ = false;
};

// The parsed TSIG record at the end of a message.
struct Record {
  std::size_t start = 0;  // offset of its owner name = size of the message without it
  std::vector<std::uint8_t> owner;
  std::vector<std::uint8_t> algorithm;
  std::uint64_t time_signed = 0;
  std::uint16_t fudge = 0;
  std::span<const std::uint8_t> mac;
  std::uint16_t original_id = 0;
  std::uint16_t error = 0;
  std::span<const std::uint8_t> other;
};

enum class Found { none, record, malformed };

Found find_record(std::span<const std::uint8_t> msg, Record& r) {
  if (msg.size() < kHeaderSize) return Found::malformed;
  const std::uint32_t qd = read_u16(msg.data() + 4);
  const std::uint32_t rrs =
      std::uint32_t{read_u16(msg.data() + 6)} + read_u16(msg.data() + 8) + read_u16(msg.data() + 10);
  if (read_u16(msg.data() + 10) == 0) return Found::none;
  std::size_t pos = kHeaderSize;
  for (std::uint32_t i = 0; i < qd; ++i) {
    if (!read_name(msg, pos, nullptr) || msg.size() - pos < 4) return Found::malformed;
    pos += 4;
  }
  for (std::uint32_t i = 0; i < rrs; ++i) {
    const std::size_t start = pos;
    const bool last = i + 1 == rrs;
    if (!read_name(msg, pos, last ? &r.owner : nullptr) || msg.size() - pos < 10) return Found::malformed;
    const std::uint16_t type = read_u16(msg.data() + pos);
    const std::size_t rdlength = read_u16(msg.data() + pos + 8);
    if (rdlength > msg.size() - pos - 10) return Found::malformed;
    if (type == kTypeTsig && !last) return Found::malformed;  // RFC 8945 5.1: last, and only one
    if (!last) {
      pos += 10 + rdlength;
      continue;
    }
    if (type != kTypeTsig) return Found::none;
    if (read_u16(msg.data() + pos + 2) != kClassAny) return Found::malformed;
    pos += 10;
    const std::size_t end = pos + rdlength;
    if (end != msg.size()) return Found::malformed;
    const auto rdata = msg.first(end);
    r.start = start;
    if (!read_name(rdata, pos, &r.algorithm) || end - pos < 10) return Found::malformed;
    r.time_signed = (std::uint64_t{read_u16(msg.data() + pos)} << 32) | read_u32(msg.data() + pos + 2);
    r.fudge = read_u16(msg.data() + pos + 6);
    const std::size_t mac_size = read_u16(msg.data() + pos + 8);
    pos += 10;
    if (end - pos < mac_size + 6) return Found::malformed;
    r.mac = msg.subspan(pos, mac_size);
    pos += mac_size;
    r.original_id = read_u16(msg.data() + pos);
    r.error = read_u16(msg.data() + pos + 2);
    const std::size_t other_size = read_u16(msg.data() + pos + 4);
    pos += 6;
    if (end - pos != other_size) return Found::malformed;
    r.other = msg.subspan(pos, other_size);
    return Found::record;
  }
  return Found::malformed;  // ARCOUNT promised records that are not there
}

// The message as it was before the TSIG was added: original ID, ARCOUNT - 1.
void digest_message(Hmac& h, std::span<const std::uint8_t> msg, std::size_t size, std::uint16_t original_id,
                    bool tsig_counted) {
  std::array<std::uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), msg.data(), kHeaderSize);
  header[0] = static_cast<std::uint8_t>(original_id >> 8);
  header[1] = static_cast<std::uint8_t>(original_id);
  if (tsig_counted) {
    const std::uint16_t ar = read_u16(header.data() + 10) - 1;
    header[10] = static_cast<std::uint8_t>(ar >> 8);
    header[11] = static_cast<std::uint8_t>(ar);
  }
  h.update(header.data(), header.size());
  h.update(msg.data() + kHeaderSize, size - kHeaderSize);
}

void digest_variables(Hmac& h, std::span<const std::uint8_t> key_wire,
                      std::span<const std::uint8_t> algorithm, std::uint64_t time_signed, std::uint16_t fudge,
                      std::uint16_t error, std::span<const std::uint8_t> other) {
  h.update(key_wire);
  h.u16(kClassAny);
  h.u32(0);  // TTL
  h.update(algorithm);
  h.u48(time_signed);
  h.u16(fudge);
  h.u16(error);
  h.u16(static_cast<std::uint16_t>(other.size()));
  h.update(other);
}

// Appends a TSIG record; 0 when it does not fit.
std::size_t append_record(std::span<std::uint8_t> buffer, std::size_t size,
                          std::span<const std::uint8_t> key_wire, std::span<const std::uint8_t> algorithm,
                          std::uint64_t time_signed, std::uint16_t fudge, std::span<const std::uint8_t> mac,
                          std::uint16_t original_id, std::uint16_t error,
                          std::span<const std::uint8_t> other) {
  if (size < kHeaderSize || size > buffer.size()) return 0;
  const std::size_t rdlength = algorithm.size() + 10 + mac.size() + 6 + other.size();
  const std::size_t total = key_wire.size() + 10 + rdlength;
  if (total > buffer.size() - size || rdlength > 0xFFFF) return 0;
  WireWriter out(buffer.data() + size, buffer.size() - size);
  out.bytes(key_wire.data(), key_wire.size());
  out.u16(kTypeTsig);
  out.u16(kClassAny);
  out.u32(0);
  out.u16(static_cast<std::uint16_t>(rdlength));
  out.bytes(algorithm.data(), algorithm.size());
  out.u16(static_cast<std::uint16_t>(time_signed >> 32));
  out.u32(static_cast<std::uint32_t>(time_signed));
  out.u16(fudge);
  out.u16(static_cast<std::uint16_t>(mac.size()));
  out.bytes(mac.data(), mac.size());
  out.u16(original_id);
  out.u16(error);
  out.u16(static_cast<std::uint16_t>(other.size()));
  out.bytes(other.data(), other.size());
  if (out.overflow()) return 0;
  const std::uint16_t ar = read_u16(buffer.data() + 10) + 1;
  buffer[10] = static_cast<std::uint8_t>(ar >> 8);
  buffer[11] = static_cast<std::uint8_t>(ar);
  return size + out.size();
}

std::uint64_t now48(std::int64_t now_unix) {
  return static_cast<std::uint64_t>(now_unix) & 0xFFFFFFFFFFFFULL;
}

}  // namespace

std::vector<std::uint8_t> name_to_wire(std::string_view dotted) {
  std::vector<std::uint8_t> out;
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  std::size_t start = 0;
  while (start < dotted.size()) {
    auto dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    const std::size_t len = dot - start;
    if (len == 0 || len > kMaxLabel) return {};
    out.push_back(static_cast<std::uint8_t>(len));
    for (std::size_t i = start; i < dot; ++i)
      out.push_back(ascii_lower(static_cast<std::uint8_t>(dotted[i])));
    start = dot + 1;
  }
  out.push_back(0);
  if (out.size() > kMaxNameWire) return {};
  return out;
}

std::span<const std::uint8_t> algorithm_wire(TsigAlgorithm algorithm) {
  switch (algorithm) {
    case TsigAlgorithm::hmac_sha384:
      return kSha384Wire;
    case TsigAlgorithm::hmac_sha512:
      return kSha512Wire;
    case TsigAlgorithm::hmac_sha256:
      break;
  }
  return kSha256Wire;
}

std::size_t mac_length(TsigAlgorithm algorithm) {
  switch (algorithm) {
    case TsigAlgorithm::hmac_sha384:
      return 48;
    case TsigAlgorithm::hmac_sha512:
      return 64;
    case TsigAlgorithm::hmac_sha256:
      break;
  }
  return 32;
}

Keyring::Keyring(const std::vector<TsigKeyConfig>& keys) {
  for (const auto& k : keys) {
    keys_.push_back(Key{k.name, name_to_wire(k.name), k.algorithm, k.secret});
  }
}

const Key* Keyring::find_wire(std::span<const std::uint8_t> name_wire) const {
  for (const auto& k : keys_) {
    if (k.name_wire.size() == name_wire.size() &&
        std::equal(k.name_wire.begin(), k.name_wire.end(), name_wire.begin()))
      return &k;
  }
  return nullptr;
}

const Key* Keyring::find(std::string_view name) const {
  for (const auto& k : keys_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Verified verify_request(std::span<const std::uint8_t> message, const Keyring& keys, std::int64_t now_unix) {
  Verified v;
  v.message_size = message.size();
  Record r;
  const Found found = find_record(message, r);
  if (found == Found::none) return v;
  if (found == Found::malformed) {
    v.outcome = Outcome::formerr;
    return v;
  }
  v.message_size = r.start;
  v.key_wire = r.owner;
  v.algorithm = r.algorithm;
  v.time_signed = r.time_signed;
  v.fudge = r.fudge;
  v.original_id = r.original_id;
  v.mac.assign(r.mac.begin(), r.mac.end());
  const Key* key = keys.find_wire(r.owner);
  if (key == nullptr || !std::ranges::equal(algorithm_wire(key->algorithm), r.algorithm)) {
    v.outcome = Outcome::badkey;
    return v;
  }
  // RFC 8945 5.2.2.1: a MAC longer than the hash, or shorter than half of it or than
  // 10 bytes, is FORMERR; a shorter (truncated) one is compared on its length.
  const std::size_t full = mac_length(key->algorithm);
  if (r.mac.size() > full || r.mac.size() < std::max<std::size_t>(10, full / 2)) {
    v.outcome = Outcome::formerr;
    return v;
  }
  Hmac h(*key);
  digest_message(h, message, r.start, r.original_id, true);
  digest_variables(h, r.owner, r.algorithm, r.time_signed, r.fudge, r.error, r.other);
  const auto expected = h.finish();
  if (expected.size() != full || CRYPTO_memcmp(expected.data(), r.mac.data(), r.mac.size()) != 0) {
    v.outcome = Outcome::badsig;
    v.mac.clear();  // an unverified MAC must not seed the response digest
    return v;
  }
  v.key = key;
  const std::int64_t window = std::min<std::int64_t>(r.fudge, kFudge);
  const auto now = static_cast<std::int64_t>(now48(now_unix));
  const auto signed_at = static_cast<std::int64_t>(r.time_signed);
  v.outcome = (now - signed_at > window || signed_at - now > window) ? Outcome::badtime : Outcome::ok;
  return v;
}

std::vector<std::uint8_t> strip(std::span<const std::uint8_t> message, const Verified& v) {
  std::vector<std::uint8_t> out(message.begin(),
                                message.begin() + static_cast<std::ptrdiff_t>(v.message_size));
  if (v.outcome != Outcome::unsigned_message && out.size() >= kHeaderSize) {
    const std::uint16_t ar = read_u16(out.data() + 10) - 1;
    out[10] = static_cast<std::uint8_t>(ar >> 8);
    out[11] = static_cast<std::uint8_t>(ar);
  }
  return out;
}

std::size_t ResponseSigner::sign(std::span<std::uint8_t> buffer, std::size_t size, std::int64_t now_unix,
                                 std::uint16_t error, std::span<const std::uint8_t> other) {
  return sign_at(buffer, size, now48(now_unix), error, other);
}

std::size_t ResponseSigner::sign_at(std::span<std::uint8_t> buffer, std::size_t size,
                                    std::uint64_t time_signed, std::uint16_t error,
                                    std::span<const std::uint8_t> other) {
  if (size < kHeaderSize || size > buffer.size()) return 0;
  const auto algorithm = algorithm_wire(key_->algorithm);
  Hmac h(*key_);
  if (!prior_mac_.empty()) {
    h.u16(static_cast<std::uint16_t>(prior_mac_.size()));
    h.update(prior_mac_);
  }
  digest_message(h, buffer, size, original_id_, false);
  if (first_) {
    digest_variables(h, key_->name_wire, algorithm, time_signed, kFudge, error, other);
  } else {
    h.u48(time_signed);  // RFC 8945 5.3.1: later messages cover the timers only
    h.u16(kFudge);
  }
  auto mac = h.finish();
  if (mac.empty()) return 0;
  const std::size_t signed_size = append_record(buffer, size, key_->name_wire, algorithm, time_signed, kFudge,
                                                mac, original_id_, error, other);
  if (signed_size == 0) return 0;
  prior_mac_ = std::move(mac);
  first_ = false;
  return signed_size;
}

std::size_t sign_request(std::span<std::uint8_t> buffer, std::size_t size, const Key& key,
                         std::int64_t now_unix, std::vector<std::uint8_t>& mac_out) {
  if (size < kHeaderSize || size > buffer.size()) return 0;
  const auto algorithm = algorithm_wire(key.algorithm);
  const std::uint16_t id = read_u16(buffer.data());
  Hmac h(key);
  digest_message(h, buffer, size, id, false);
  digest_variables(h, key.name_wire, algorithm, now48(now_unix), kFudge, error::none, {});
  mac_out = h.finish();
  if (mac_out.empty()) return 0;
  return append_record(buffer, size, key.name_wire, algorithm, now48(now_unix), kFudge, mac_out, id,
                       error::none, {});
}

bool verify_response(std::span<const std::uint8_t> message, const Key& key,
                     std::span<const std::uint8_t> request_mac, std::int64_t now_unix) {
  Record r;
  if (find_record(message, r) != Found::record) return false;
  if (!std::ranges::equal(r.owner, key.name_wire) ||
      !std::ranges::equal(r.algorithm, algorithm_wire(key.algorithm)))
    return false;
  if (r.mac.size() != mac_length(key.algorithm)) return false;
  Hmac h(key);
  h.u16(static_cast<std::uint16_t>(request_mac.size()));
  h.update(request_mac);
  digest_message(h, message, r.start, r.original_id, true);
  digest_variables(h, r.owner, r.algorithm, r.time_signed, r.fudge, r.error, r.other);
  const auto expected = h.finish();
  if (expected.size() != r.mac.size() || CRYPTO_memcmp(expected.data(), r.mac.data(), r.mac.size()) != 0)
    return false;
  const auto now = static_cast<std::int64_t>(now48(now_unix));
  const auto signed_at = static_cast<std::int64_t>(r.time_signed);
  const std::int64_t window = std::min<std::int64_t>(r.fudge, kFudge);
  return r.error == error::none && now - signed_at <= window && signed_at - now <= window;
}

std::size_t render_error(std::span<const std::uint8_t> request, const Verified& v, std::int64_t now_unix,
                         std::span<std::uint8_t> out) {
  if (request.size() < kHeaderSize || out.size() < kClassicUdpSize) return 0;
  if ((request[2] & 0x80) != 0) return 0;  // never answer a response
  // Header and, when readable, the question.
  std::size_t size = kHeaderSize;
  std::memcpy(out.data(), request.data(), kHeaderSize);
  std::size_t pos = kHeaderSize;
  const bool question =
      read_u16(request.data() + 4) == 1 && read_name(request, pos, nullptr) && request.size() - pos >= 4;
  if (question) {
    std::memcpy(out.data() + kHeaderSize, request.data() + kHeaderSize, pos + 4 - kHeaderSize);
    size = pos + 4;
  }
  out[2] = static_cast<std::uint8_t>(0x80 | (request[2] & 0x79));  // QR, opcode, RD
  out[4] = 0;
  out[5] = question ? 1 : 0;
  std::memset(out.data() + 6, 0, 6);
  if (v.outcome == Outcome::formerr || v.key_wire.empty()) {
    out[3] = rcode::formerr;
    return size;
  }
  out[3] = kRcodeNotAuth;
  if (v.outcome == Outcome::badtime && v.key != nullptr) {
    std::array<std::uint8_t, 6> our_time{};
    const std::uint64_t now = now48(now_unix);
    for (int i = 0; i < 6; ++i)
      our_time[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(now >> (40 - 8 * i));
    ResponseSigner signer(*v.key, v.mac, v.original_id);
    return signer.sign_at(out, size, v.time_signed, error::badtime, our_time);
  }
  const std::uint16_t code = v.outcome == Outcome::badkey ? error::badkey : error::badsig;
  return append_record(out, size, v.key_wire, v.algorithm, v.time_signed, v.fudge, {}, v.original_id, code,
                       {});
}

}  // namespace acmednsd::dns::tsig
