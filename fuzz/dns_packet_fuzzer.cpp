// libFuzzer target for the DNS responder: any bytes a client can send, over UDP and
// TCP. Aborts if a response is larger than the client may receive, shorter than a
// header, or does not carry the query's ID: the properties the listeners rely on.
//   clang++ -fsanitize=fuzzer,address ... (built when ACMEDNSD_FUZZ=ON)
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "dns/responder.hpp"
#include "dns/wire.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace {

using namespace acmednsd;
using namespace acmednsd::dns;

struct Served {
  std::shared_ptr<const ZoneData> zone;
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
  for (Transport transport : {Transport::udp, Transport::tcp}) {
    const std::size_t n =
        respond({data, size}, ClientInfo{transport}, *served.zone, served.index, 1700000100, out);
    if (n == 0) continue;
    if (n < kHeaderSize || size < kHeaderSize) std::abort();
    if (transport == Transport::udp && n > served.zone->edns_udp_size) std::abort();
    if (out[0] != data[0] || out[1] != data[1]) std::abort();
  }
  return 0;
}
