// libFuzzer target for the DNS responder: any bytes a client can send, over UDP and
// TCP, to an unsigned and to a DNSSEC-signed zone (the signing path: RRSIGs, compact
// denial). Aborts if a response is larger than the client may receive, shorter than a
// header, or does not carry the query's ID: the properties the listeners rely on; and
// if a query without DO gets a different answer from the signed zone (DNSSEC.md).
//   clang++ -fsanitize=fuzzer,address ... (built when ACMEDNSD_FUZZ=ON)
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dns/dnssec_key.hpp"
#include "dns/responder.hpp"
#include "dns/signer.hpp"
#include "dns/wire.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace {

using namespace acmednsd;
using namespace acmednsd::dns;

struct Served {
  std::shared_ptr<const ZoneData> zone;
  std::shared_ptr<const ZoneData> signed_zone;
  AnswerIndex index{RetentionPolicy{}};

  Served() {
    GeneralConfig g;
    g.domain = "auth.example.test";
    g.nsname = "ns1.auth.example.test";
    g.nsadmin = "admin.auth.example.test";
    g.records = {"auth.example.test. A 198.51.100.1",
                 "ns1 A 198.51.100.1",
                 "*.wild A 192.0.2.9",
                 "www CNAME sub",
                 "loop1 CNAME loop2",
                 "loop2 CNAME loop1"};
    auto built = ZoneData::build(g);
    if (!built) std::abort();
    zone = built.value();
    // A fixed key would do as well; a fresh one per run costs a millisecond.
    auto pem = generate_private_key_pem(kAlgEcdsaP256);
    if (!pem) std::abort();
    auto key = SigningKey::from_pem(kAlgEcdsaP256, kFlagsCsk, *pem);
    if (!key) std::abort();
    auto signer = std::make_shared<Signer>(
        zone->origin_wire(), std::vector<TimedKey>{TimedKey{*key, 1600000000, 1600000000, {}, {}}},
        SignerOptions{});
    auto signed_built = ZoneData::build(g, signer, 1700000100);
    if (!signed_built) std::abort();
    signed_zone = signed_built.value();
    index.add_name("sub");
    for (int i = 0; i < 100; ++i) {
      std::string value = "v" + std::to_string(i);
      value.resize(kTxtValueLength, 'A');
      index.put_value("sub", value, 1700000000 + i);
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Served served;
  static std::vector<std::uint8_t> out(kMaxMessage);
  static std::vector<std::uint8_t> signed_out(kMaxMessage);
  ParsedQuery parsed;
  const bool plain_query = parse_query({data, size}, parsed) == ParseOutcome::ok && !parsed.dnssec_ok &&
                           parsed.qtype != rrtype::DNSKEY && parsed.qtype != rrtype::CDS &&
                           parsed.qtype != rrtype::CDNSKEY && parsed.qtype != rrtype::NXNAME &&
                           parsed.qtype != rrtype::ANY;  // ANY at the apex may pick another RRset
  for (Transport transport : {Transport::udp, Transport::tcp}) {
    const std::size_t n =
        respond({data, size}, ClientInfo{transport}, *served.zone, served.index, 1700000100, out);
    const std::size_t m = respond({data, size}, ClientInfo{transport}, *served.signed_zone, served.index,
                                  1700000100, signed_out);
    if (plain_query && (n != m || !std::equal(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n),
                                              signed_out.begin()))) {
      std::abort();
    }
    for (const auto& [length, bytes] : {std::pair{n, &out}, std::pair{m, &signed_out}}) {
      if (length == 0) continue;
      if (length < kHeaderSize || size < kHeaderSize) std::abort();
      if (transport == Transport::udp && length > served.zone->edns_udp_size) std::abort();
      if ((*bytes)[0] != data[0] || (*bytes)[1] != data[1]) std::abort();
    }
  }
  return 0;
}
