// The authoritative responder: a pure function from query bytes to response bytes.
// No sockets, no SQL, no allocation: the listeners call it per datagram / TCP frame,
// the unit tests call it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace acmednsd::dns {

enum class Transport { udp, tcp };

struct ClientInfo {
  Transport transport = Transport::udp;
  // The datagram was longer than the receive buffer and only its start is here: the
  // answer is FORMERR (the header and question are still readable), never a guess.
  bool cut = false;
};

// Renders the response to `query` into `out` (at least 512 bytes; 65535 lets TCP
// carry any answer) and returns its size, or 0 when the query must be dropped.
// `now_unix` decides which TXT values are live. Never throws: an unexpected failure
// becomes SERVFAIL.
std::size_t respond(std::span<const std::uint8_t> query, const ClientInfo& client, const ZoneData& zone,
                    const AnswerIndex& index, std::int64_t now_unix, std::span<std::uint8_t> out) noexcept;

// For the query log ([logconfig] query_log), not the hot path: it allocates.
struct ResponseSummary {
  std::string name;  // as asked (0x20 kept), dotted, non-printable bytes as \DDD
  std::uint16_t type = 0;
  std::uint8_t rcode = 0;
  bool truncated = false;
};
std::optional<ResponseSummary> summarize_response(std::span<const std::uint8_t> response);

}  // namespace acmednsd::dns
