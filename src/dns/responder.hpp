// The authoritative responder: a pure function from query bytes to response bytes.
// No sockets, no SQL, no allocation: the listeners call it per datagram / TCP frame,
// the unit tests call it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace acmednsd::dns {

enum class Transport { udp, tcp };

struct ClientInfo {
  Transport transport = Transport::udp;
};

// Renders the response to `query` into `out` (at least 512 bytes; 65535 lets TCP
// carry any answer) and returns its size, or 0 when the query must be dropped.
// `now_unix` decides which TXT values are live. Never throws: an unexpected failure
// becomes SERVFAIL.
std::size_t respond(std::span<const std::uint8_t> query, const ClientInfo& client,
                    const ZoneData& zone, const AnswerIndex& index, std::int64_t now_unix,
                    std::span<std::uint8_t> out) noexcept;

}  // namespace acmednsd::dns
