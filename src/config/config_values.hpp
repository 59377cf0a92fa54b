// Parsers for the value formats that appear in the configuration. Private to src/config/
// (and its tests); each returns nullopt or an error text instead of throwing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace acmednsd::config_values {

// "127.0.0.1:53", "[::1]:53", ":53" (all addresses), "localhost:53".
std::optional<Endpoint> parse_endpoint(std::string_view text);
// "both", "udp4", "tcp6", ... as acme-dns.
std::optional<DnsTransport> parse_protocol(std::string_view text);
// A domain name: lowercased, trailing dot removed, labels 1..63 of [a-z0-9-_], <= 253.
std::optional<std::string> normalize_domain(std::string_view text);
// "90", "90s", "15m", "24h", "7d" -> seconds.
std::optional<std::int64_t> parse_duration(std::string_view text);
bool is_ip_literal(std::string_view text);

}  // namespace acmednsd::config_values
