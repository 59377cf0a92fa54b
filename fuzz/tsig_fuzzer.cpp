// libFuzzer target for the TSIG verification path and the zone-transfer gate in front
// of the responder: any bytes a client can send, signed or not, over UDP and TCP.
// Aborts if an answer is shorter than a header, lacks the query's ID, or a transfer
// stream does not end. The key is the one of the seed corpus (bytes 0x00..0x1f,
// "xfr-key", hmac-sha256) and the clock is the seeds' Time Signed, so mutated seeds
// reach the MAC check and, when it passes, the signed answers.
//   clang++ -fsanitize=fuzzer,address ... (built when ACMEDNSD_FUZZ=ON)
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "dns/transfer.hpp"
#include "dns/tsig.hpp"
#include "dns/wire.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace {

using namespace acmednsd;
using namespace acmednsd::dns;

constexpr std::int64_t kNow = 0x6b0c809d;  // the seeds' Time Signed

struct Served {
  Config config;
  std::shared_ptr<const ZoneData> zone;
  AnswerIndex index{RetentionPolicy{}};
  std::unique_ptr<TransferGate> gate;

  Served() {
    config.general.domain = "auth.example.test";
    config.general.nsname = "ns1.auth.example.test";
    config.general.nsadmin = "admin.auth.example.test";
    config.general.records = {"auth.example.test. A 198.51.100.1", "ns1 A 198.51.100.1"};
    auto built = ZoneData::build(config.general);
    if (!built) std::abort();
    zone = built.value();
    std::string secret;
    for (int i = 0; i < 32; ++i) secret.push_back(static_cast<char>(i));
    config.tsig_keys.push_back({"xfr-key", TsigAlgorithm::hmac_sha256, secret, 1});
    config.transfer.allow = {"127.0.0.0/8"};
    config.transfer.max_transfers = 1000000;
    for (int i = 0; i < 50; ++i) {
      std::string value = "v" + std::to_string(i);
      value.resize(kTxtValueLength, 'A');
      index.put_value("sub" + std::to_string(i % 7), value, kNow - i);
    }
    gate = std::make_unique<TransferGate>(config);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Served served;
  static std::vector<std::uint8_t> out(kMaxMessage);
  const std::span<const std::uint8_t> query(data, size);
  // The verifier alone, at the seeds' time and far from it.
  const tsig::Keyring keys(served.config.tsig_keys);
  for (const std::int64_t now : {kNow, kNow + 100000}) {
    const auto v = tsig::verify_request(query, keys, now);
    if (v.outcome != tsig::Outcome::unsigned_message && v.message_size > size) std::abort();
    (void)tsig::render_error(query, v, now, out);
  }
  if (!served.gate->wants(query)) return 0;
  const auto peer = *IpAddress::parse("127.0.0.1");
  for (Transport transport : {Transport::udp, Transport::tcp}) {
    auto outcome = served.gate->handle(query, peer, transport, served.zone, served.index, kNow, out);
    if (outcome.size != 0) {
      if (outcome.size < kHeaderSize || size < kHeaderSize) std::abort();
      if (out[0] != data[0] || out[1] != data[1]) std::abort();
    }
    if (outcome.stream) {
      int messages = 0;
      while (outcome.stream->next(out, kNow) != 0) {
        if (++messages > 10000) std::abort();  // a stream must end
      }
    }
  }
  return 0;
}
