// dns-persist-01 (draft-ietf-acme-dns-persist): the TXT value at
// `_validation-persist.<name>` is an RFC 8659 issue-value,
//   <issuer-domain-name>; accounturi=<uri> [; policy=wildcard] [; persistUntil=<unix s>]
// Parsed strictly here, because both the API (which stores such values for an operator)
// and the ACME client (which writes its own) must refuse anything a CA would misread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace acmednsd {

struct PersistValue {
  std::string issuer;                                      // issuer-domain-name, lowercase, no trailing dot
  std::string account_uri;                                 // accounturi (mandatory)
  bool wildcard = false;                                   // policy=wildcard (case-insensitive)
  std::optional<std::int64_t> persist_until;               // unix seconds
  std::vector<std::pair<std::string, std::string>> extra;  // other tags, kept as written
};

// The longest value accepted: one TXT character-string is 255 octets, and a CA reads
// the strings of one record concatenated; 512 leaves room without inviting abuse.
inline constexpr std::size_t kMaxPersistValueLength = 512;

// Errors have code "persist_value" and say what is wrong and where. Refused: a missing or
// malformed issuer-domain-name, a tag or value outside the RFC 8659 grammar, an empty
// parameter (";;", a trailing ";"), a duplicate tag (tags compare case-insensitively), a
// missing or empty accounturi or one without a URI scheme, a policy other than
// "wildcard", a persistUntil that is not a non-negative decimal integer of int64 range,
// control or non-ASCII characters, and values over kMaxPersistValueLength.
Result<PersistValue> parse_persist_value(std::string_view text);

// The canonical text of `value` ("issuer; accounturi=...; policy=wildcard; persistUntil=N").
std::string format_persist_value(const PersistValue& value);

// Whether the record still authorizes issuance at `now` (draft: a persistUntil in the
// past means the record no longer counts).
bool persist_value_current(const PersistValue& value, std::int64_t now);

}  // namespace acmednsd
