// Zone transfer out (AXFR, RFC 5936; IXFR, RFC 1995) and TSIG-signed queries
// (RFC 8945), in front of the responder. Private to src/dns/.
//
// The listeners ask TransferGate::wants() about every message when transfers are
// configured; only signed messages and AXFR/IXFR requests are taken, everything else
// goes to the responder untouched (the hot path pays one header check).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "config/config.hpp"
#include "dns/responder.hpp"
#include "dns/tsig.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"
#include "store/zone_journal.hpp"

namespace acmednsd::dns {

// One AXFR/IXFR answer, rendered message by message so a large zone goes out in
// pieces with the socket's back-pressure between them.
class TransferStream {
 public:
  virtual ~TransferStream() = default;
  // Renders the next message into `out` (64 KiB) and returns its size; 0 = finished.
  virtual std::size_t next(std::span<std::uint8_t> out, std::int64_t now_unix) = 0;
};

class TransferGate {
 public:
  TransferGate(const Config& config, const ZoneJournal* journal = nullptr);

  // Whether anything is configured (keys or allowed sources); if not, the listeners
  // never call the gate.
  [[nodiscard]] bool enabled() const { return enabled_; }

  // Cheap: whether the message is for the gate (a TSIG may be present and keys are
  // configured, or it asks AXFR/IXFR and someone may transfer).
  [[nodiscard]] bool wants(std::span<const std::uint8_t> query) const;

  struct Outcome {
    std::size_t size = 0;                    // a single answer rendered into `out` (0 = drop)
    std::unique_ptr<TransferStream> stream;  // or a transfer to stream (TCP only)
  };
  // Answers a message wants() took. `peer` is the client's address.
  Outcome handle(std::span<const std::uint8_t> query, const IpAddress& peer, Transport transport,
                 const std::shared_ptr<const ZoneData>& zone, const AnswerIndex& index, std::int64_t now_unix,
                 std::span<std::uint8_t> out);

  [[nodiscard]] std::uint32_t active_transfers() const { return active_->load(); }

 private:
  bool enabled_ = false;
  std::vector<Cidr> allow_;
  std::vector<std::string> require_tsig_;
  tsig::Keyring keys_;
  std::uint32_t max_transfers_ = 16;
  std::shared_ptr<std::atomic<std::uint32_t>> active_ = std::make_shared<std::atomic<std::uint32_t>>(0);
  const ZoneJournal* journal_ = nullptr;  // owned by the store
};

}  // namespace acmednsd::dns
