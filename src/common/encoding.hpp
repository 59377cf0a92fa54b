// Byte <-> text encodings used across planes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace acmednsd {

// RFC 4648 section 5, without padding (the form ACME and JOSE use).
std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode(std::string_view bytes);
std::optional<std::vector<std::uint8_t>> base64url_decode(std::string_view text);
std::string base64_encode(std::string_view bytes);  // standard alphabet, padded
std::optional<std::string> base64_decode(std::string_view text);

std::string hex_encode(std::span<const std::uint8_t> bytes);

// SHA-256 of `data` as raw bytes.
std::vector<std::uint8_t> sha256(std::string_view data);

// Compares without an early exit, so timing does not reveal the first difference.
bool constant_time_equal(std::string_view a, std::string_view b);

// A..Z a..z 0..9 - _ : the alphabet of acme-dns keys and challenge values.
bool is_base64url_char(char c);

std::string to_lower_ascii(std::string_view text);
bool iequals_ascii(std::string_view a, std::string_view b);

// JSON string escaping for hand-built single-line bodies and log lines.
std::string json_escape(std::string_view text);

}  // namespace acmednsd
