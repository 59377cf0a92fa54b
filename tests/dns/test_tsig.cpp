// TSIG (RFC 8945): known-answer vectors captured from kdig (Knot's dig), and
// signatures checked both ways against ldns's independent implementation.
#include "catch_compat.hpp"

#include <ctime>
#include <string>
#include <vector>

#include "common/encoding.hpp"
#include "dns/tsig.hpp"
#include "dns/wire.hpp"

// After the C++ headers: ldns's C headers define things <optional> does not expect.
#include <ldns/ldns.h>

using namespace acmednsd;
using namespace acmednsd::dns;

namespace {

// Secret bytes 0x00..0x1f, base64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".
const char* const kSecretB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// `kdig -y ALG:xfr-key:SECRET @127.0.0.1 -p PORT auth.example.test SOA`, the UDP
// datagram as received (kdig 3.2.6). Time Signed 0x6b0c809d.. = 2026-11-29 UTC.
struct Vector {
  TsigAlgorithm algorithm;
  const char* hex;
};
const Vector kKdigQueries[] = {
    {TsigAlgorithm::hmac_sha256,
     "aa2b012000010000000000010461757468076578616d706c6504746573740000060001077866722d6b65790000fa00ff0000000"
     "0003d"
     "0b686d61632d7368613235360000006b0c809d012c00203c1f67a0d8ca6c108c424e3f064a898e4d80ac9ca52882f5feb883d31"
     "79654"
     "3aaa2b00000000"},
    {TsigAlgorithm::hmac_sha384,
     "4b7e012000010000000000010461757468076578616d706c6504746573740000060001077866722d6b65790000fa00ff0000000"
     "0004d"
     "0b686d61632d7368613338340000006b0c809f012c0030b27128aacb7cf0dc21f015d705b4e275f7f4d75be42e9c176b01e5d15"
     "9b9d7"
     "fa8cef91228f53b987a740dbe392c628f54b7e00000000"},
    {TsigAlgorithm::hmac_sha512,
     "df46012000010000000000010461757468076578616d706c6504746573740000060001077866722d6b65790000fa00ff0000000"
     "0005d"
     "0b686d61632d7368613531320000006b0c80a0012c0040439cc8ace4c0b7a30b5178541a2efd956205218e268970f5e6c0f90e2"
     "38de3"
     "2adb928355af9e18c1bba1cde73b1fe0dbb92fdf94c78683d36e4db836d6526c37df4600000000"},
};

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string secret_bytes() {
  return *base64_decode(kSecretB64);
}

tsig::Keyring ring(TsigAlgorithm a, std::string secret = secret_bytes(), std::string name = "xfr-key") {
  return tsig::Keyring({TsigKeyConfig{std::move(name), a, std::move(secret), 1}});
}

std::uint64_t time_signed_of(const std::vector<std::uint8_t>& msg, TsigAlgorithm a) {
  // owner(9) type class ttl rdlen(10) algorithm(13): then the 48-bit time.
  const std::size_t mac = tsig::mac_length(a);
  const std::size_t at = msg.size() - (6 + 2 + 2 + mac + 6);
  std::uint64_t t = 0;
  for (std::size_t i = 0; i < 6; ++i) t = (t << 8) | msg[at + i];
  return t;
}

// A response to `query`: the question echoed, one TXT answer.
std::vector<std::uint8_t> response_to(const std::vector<std::uint8_t>& query, std::size_t question_end,
                                      int serial) {
  std::vector<std::uint8_t> r(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(question_end));
  r[2] = 0x84;
  r[3] = 0;
  r[6] = 0;
  r[7] = 1;
  r[10] = 0;
  r[11] = 0;
  const std::uint8_t txt[] = {0xc0, 0x0c, 0, 16, 0, 1,   0,   0,
                              0,    1,    0, 4,  3, 'a', 'b', static_cast<std::uint8_t>('0' + serial)};
  r.insert(r.end(), std::begin(txt), std::end(txt));
  return r;
}

std::size_t question_end_of(const std::vector<std::uint8_t>& q) {
  std::size_t pos = kHeaderSize;
  while (q[pos] != 0) pos += 1u + q[pos];
  return pos + 5;
}

}  // namespace

TEST_CASE("tsig: kdig-signed queries verify, for every algorithm", "[tsig]") {
  for (const auto& v : kKdigQueries) {
    const auto msg = from_hex(v.hex);
    const auto keys = ring(v.algorithm);
    const auto signed_at = static_cast<std::int64_t>(time_signed_of(msg, v.algorithm));
    CAPTURE(static_cast<int>(v.algorithm));
    const auto ok = tsig::verify_request(msg, keys, signed_at);
    REQUIRE(ok.outcome == tsig::Outcome::ok);
    CHECK(ok.key != nullptr);
    CHECK(ok.message_size == question_end_of(msg));
    CHECK(ok.mac.size() == tsig::mac_length(v.algorithm));
    // The fudge window is 300 s either way.
    CHECK(tsig::verify_request(msg, keys, signed_at + 300).outcome == tsig::Outcome::ok);
    CHECK(tsig::verify_request(msg, keys, signed_at + 301).outcome == tsig::Outcome::badtime);
    CHECK(tsig::verify_request(msg, keys, signed_at - 301).outcome == tsig::Outcome::badtime);
    // Another secret: BADSIG. Another name or algorithm: BADKEY.
    std::string other = secret_bytes();
    other[0] = 'x';
    CHECK(tsig::verify_request(msg, ring(v.algorithm, other), signed_at).outcome == tsig::Outcome::badsig);
    CHECK(tsig::verify_request(msg, ring(v.algorithm, secret_bytes(), "other-key"), signed_at).outcome ==
          tsig::Outcome::badkey);
    const auto wrong_alg =
        v.algorithm == TsigAlgorithm::hmac_sha256 ? TsigAlgorithm::hmac_sha512 : TsigAlgorithm::hmac_sha256;
    CHECK(tsig::verify_request(msg, ring(wrong_alg), signed_at).outcome == tsig::Outcome::badkey);
    // Any changed byte of the signed part: BADSIG (the counts: FORMERR or no TSIG seen).
    for (std::size_t i = 2; i < ok.message_size; ++i) {
      auto changed = msg;
      changed[i] ^= 0x01;
      const auto outcome = tsig::verify_request(changed, keys, signed_at).outcome;
      CAPTURE(i);
      if (i >= 4 && i < kHeaderSize) {
        CHECK(outcome != tsig::Outcome::ok);
      } else {
        CHECK((outcome == tsig::Outcome::badsig || outcome == tsig::Outcome::formerr));  // a length byte
      }
    }
    // Key names compare case-insensitively (the owner name is lowercased first).
    auto upper = msg;
    upper[ok.message_size + 1] = 'X';
    CHECK(tsig::verify_request(upper, keys, signed_at).outcome == tsig::Outcome::ok);
  }
}

TEST_CASE("tsig: malformed records are FORMERR, not a crash", "[tsig]") {
  const auto msg = from_hex(kKdigQueries[0].hex);
  const auto keys = ring(TsigAlgorithm::hmac_sha256);
  const auto now = static_cast<std::int64_t>(time_signed_of(msg, TsigAlgorithm::hmac_sha256));
  for (std::size_t cut = kHeaderSize; cut < msg.size(); ++cut) {
    std::vector<std::uint8_t> shorter(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(cut));
    const auto outcome = tsig::verify_request(shorter, keys, now).outcome;
    CAPTURE(cut);
    CHECK(outcome != tsig::Outcome::ok);
  }
  // Trailing garbage after the TSIG.
  auto longer = msg;
  longer.push_back(0);
  CHECK(tsig::verify_request(longer, keys, now).outcome == tsig::Outcome::formerr);
  // A TSIG that is not the last record: FORMERR.
  auto twice = msg;
  twice[11] = 2;
  twice.insert(twice.end(), msg.begin() + 34, msg.end());
  CHECK(tsig::verify_request(twice, keys, now).outcome == tsig::Outcome::formerr);
  // A MAC shorter than half the hash: FORMERR.
  const auto v = tsig::verify_request(msg, keys, now);
  auto small =
      std::vector<std::uint8_t>(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(v.message_size));
  const std::uint8_t owner_and_rr[] = {7, 'x', 'f', 'r', '-', 'k', 'e', 'y', 0, 0, 250, 0, 255, 0, 0, 0, 0};
  small.insert(small.end(), std::begin(owner_and_rr), std::end(owner_and_rr));
  const auto alg = tsig::algorithm_wire(TsigAlgorithm::hmac_sha256);
  std::vector<std::uint8_t> rdata(alg.begin(), alg.end());
  const std::uint8_t rest[] = {0, 0, 0, 0, 0, 1, 1, 44, 0, 4, 1, 2, 3, 4, 0xaa, 0x2b, 0, 0, 0, 0};
  rdata.insert(rdata.end(), std::begin(rest), std::end(rest));
  small.push_back(0);
  small.push_back(static_cast<std::uint8_t>(rdata.size()));
  small.insert(small.end(), rdata.begin(), rdata.end());
  CHECK(tsig::verify_request(small, keys, 1).outcome == tsig::Outcome::formerr);
  // No TSIG at all: unsigned.
  CHECK(tsig::verify_request(std::vector<std::uint8_t>(msg.begin(), msg.begin() + 34), keys, now).outcome ==
        tsig::Outcome::formerr);  // ARCOUNT 1 but no record
}

TEST_CASE("tsig: responses and multi-message streams verify with ldns", "[tsig]") {
  // ldns 1.8.3 (Debian bookworm) does not know hmac-sha384; the kdig vectors cover it.
  for (const auto algorithm : {TsigAlgorithm::hmac_sha256, TsigAlgorithm::hmac_sha512}) {
    const auto keys = ring(algorithm);
    const auto* key = keys.find("xfr-key");
    REQUIRE(key != nullptr);
    const std::int64_t now = std::time(nullptr);
    // Our signed query first: it must verify with ours and with ldns.
    auto query = from_hex(kKdigQueries[0].hex);
    query.resize(question_end_of(query));
    query[11] = 0;
    std::vector<std::uint8_t> buffer(query);
    buffer.resize(1024);
    std::vector<std::uint8_t> request_mac;
    const std::size_t qsize = tsig::sign_request(buffer, query.size(), *key, now, request_mac);
    REQUIRE(qsize > query.size());
    buffer.resize(qsize);
    const auto verified = tsig::verify_request(buffer, keys, now);
    REQUIRE(verified.outcome == tsig::Outcome::ok);
    CHECK(verified.mac == request_mac);
    ldns_pkt* qpkt = nullptr;
    REQUIRE(ldns_wire2pkt(&qpkt, buffer.data(), buffer.size()) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_tsig_verify(qpkt, buffer.data(), buffer.size(), "xfr-key.", kSecretB64, nullptr));
    ldns_pkt_free(qpkt);

    // Three messages of one answer, each signed (RFC 8945 5.3.1).
    std::vector<std::uint8_t> mac_rdf = {static_cast<std::uint8_t>(request_mac.size() >> 8),
                                         static_cast<std::uint8_t>(request_mac.size())};
    mac_rdf.insert(mac_rdf.end(), request_mac.begin(), request_mac.end());
    tsig::ResponseSigner signer(*key, request_mac, verified.original_id);
    for (int i = 0; i < 3; ++i) {
      auto response = response_to(query, query.size(), i);
      const std::size_t unsigned_size = response.size();
      response.resize(2048);
      const std::size_t size = signer.sign(response, unsigned_size, now);
      REQUIRE(size > unsigned_size);
      response.resize(size);
      ldns_pkt* pkt = nullptr;
      REQUIRE(ldns_wire2pkt(&pkt, response.data(), response.size()) == LDNS_STATUS_OK);
      ldns_rdf* mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, mac_rdf.size(), mac_rdf.data());
      CAPTURE(i, static_cast<int>(algorithm));
      CHECK(ldns_pkt_tsig_verify_next(pkt, response.data(), response.size(), "xfr-key.", kSecretB64, mac,
                                      i > 0 ? 1 : 0));
      // The next message's digest starts with this message's MAC.
      const ldns_rr* rr = ldns_pkt_tsig(pkt);
      REQUIRE(rr != nullptr);
      const ldns_rdf* this_mac = ldns_rr_rdf(rr, 3);
      mac_rdf.assign(ldns_rdf_data(this_mac), ldns_rdf_data(this_mac) + ldns_rdf_size(this_mac));
      ldns_rdf_deep_free(mac);
      ldns_pkt_free(pkt);
    }
  }
}

TEST_CASE("tsig: a query signed by ldns verifies; our NOTIFY answer check", "[tsig]") {
  const auto keys = ring(TsigAlgorithm::hmac_sha256);
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_pkt_query_new_frm_str(&pkt, "auth.example.test.", LDNS_RR_TYPE_SOA, LDNS_RR_CLASS_IN, 0) ==
          LDNS_STATUS_OK);
  ldns_pkt_set_id(pkt, 0x1234);
  REQUIRE(ldns_pkt_tsig_sign(pkt, "xfr-key.", kSecretB64, 300, "hmac-sha256.", nullptr) == LDNS_STATUS_OK);
  std::uint8_t* wire = nullptr;
  std::size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, pkt, &size) == LDNS_STATUS_OK);
  std::vector<std::uint8_t> msg(wire, wire + size);
  free(wire);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  ldns_pkt_free(pkt);
  const std::int64_t now = std::time(nullptr);
  const auto v = tsig::verify_request(msg, keys, now);
  REQUIRE(v.outcome == tsig::Outcome::ok);
  // Our signed answer to it passes our own response check, and only with this MAC.
  auto stripped = tsig::strip(msg, v);
  CHECK(stripped[11] == 0);
  auto response = stripped;
  response[2] |= 0x80;
  const std::size_t unsigned_size = response.size();
  response.resize(1024);
  tsig::ResponseSigner signer(*v.key, v.mac, v.original_id);
  response.resize(signer.sign(response, unsigned_size, now));
  CHECK(tsig::verify_response(response, *v.key, v.mac, now));
  auto other_mac = v.mac;
  other_mac[0] ^= 1;
  CHECK_FALSE(tsig::verify_response(response, *v.key, other_mac, now));
  CHECK_FALSE(tsig::verify_response(response, *v.key, v.mac, now + 1000));
}

TEST_CASE("tsig: error answers as RFC 8945 5.2 says", "[tsig]") {
  const auto msg = from_hex(kKdigQueries[0].hex);
  const auto now = static_cast<std::int64_t>(time_signed_of(msg, TsigAlgorithm::hmac_sha256));
  std::vector<std::uint8_t> out(1024);
  // The TSIG RDATA ends with MAC size, MAC, original ID, error, other length, other data.
  const auto tsig_error = [&](std::size_t size) { return read_u16(out.data() + size - 4); };
  SECTION("BADKEY: NOTAUTH, unsigned TSIG with the error") {
    const auto v = tsig::verify_request(msg, ring(TsigAlgorithm::hmac_sha256, secret_bytes(), "nope"), now);
    REQUIRE(v.outcome == tsig::Outcome::badkey);
    const std::size_t size = tsig::render_error(msg, v, now, out);
    REQUIRE(size > 0);
    CHECK((out[3] & 0x0F) == tsig::kRcodeNotAuth);
    CHECK((out[2] & 0x80) != 0);
    CHECK(read_u16(out.data() + 10) == 1);
    CHECK(tsig_error(size) == tsig::error::badkey);
    CHECK(read_u16(out.data() + size - 8) == 0);  // MAC size 0: unsigned
  }
  SECTION("BADSIG") {
    std::string other = secret_bytes();
    other[3] ^= 1;
    const auto v = tsig::verify_request(msg, ring(TsigAlgorithm::hmac_sha256, other), now);
    REQUIRE(v.outcome == tsig::Outcome::badsig);
    const std::size_t size = tsig::render_error(msg, v, now, out);
    CHECK((out[3] & 0x0F) == tsig::kRcodeNotAuth);
    CHECK(tsig_error(size) == tsig::error::badsig);
  }
  SECTION("BADTIME: signed, our time in Other Data") {
    const auto keys = ring(TsigAlgorithm::hmac_sha256);
    const auto v = tsig::verify_request(msg, keys, now + 1000);
    REQUIRE(v.outcome == tsig::Outcome::badtime);
    const std::size_t size = tsig::render_error(msg, v, now + 1000, out);
    REQUIRE(size > 0);
    out.resize(size);
    CHECK((out[3] & 0x0F) == tsig::kRcodeNotAuth);
    CHECK(read_u16(out.data() + size - 8) == 6);  // other length
    CHECK(read_u16(out.data() + size - 10) == tsig::error::badtime);
    std::uint64_t ours = 0;
    for (std::size_t i = size - 6; i < size; ++i) ours = (ours << 8) | out[i];
    CHECK(ours == static_cast<std::uint64_t>(now + 1000));
    // The client can check it with its request MAC.
    ldns_pkt* pkt = nullptr;
    REQUIRE(ldns_wire2pkt(&pkt, out.data(), out.size()) == LDNS_STATUS_OK);
    std::vector<std::uint8_t> mac_rdf = {0, static_cast<std::uint8_t>(v.mac.size())};
    mac_rdf.insert(mac_rdf.end(), v.mac.begin(), v.mac.end());
    ldns_rdf* mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, mac_rdf.size(), mac_rdf.data());
    CHECK(ldns_pkt_tsig_verify(pkt, out.data(), out.size(), "xfr-key.", kSecretB64, mac));
    ldns_rdf_deep_free(mac);
    ldns_pkt_free(pkt);
  }
  SECTION("FORMERR: unsigned, no TSIG") {
    auto bad = msg;
    bad.push_back(0);
    const auto v = tsig::verify_request(bad, ring(TsigAlgorithm::hmac_sha256), now);
    const std::size_t size = tsig::render_error(bad, v, now, out);
    CHECK((out[3] & 0x0F) == rcode::formerr);
    CHECK(read_u16(out.data() + 10) == 0);
    CHECK(size == question_end_of(msg));
  }
}
