// TSIG (RFC 8945): HMAC-SHA256/384/512 signatures on DNS messages, for zone transfers
// and NOTIFY. Private to src/dns/.
//
// Verification is written against hostile input: every length is checked before it
// is read, the MAC is compared with CRYPTO_memcmp, and key material never leaves this
// file except as the MAC it produces (nothing here logs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/transfer_config.hpp"

namespace acmednsd::dns::tsig {

inline constexpr std::uint16_t kTypeTsig = 250;
inline constexpr std::uint16_t kClassAny = 255;
inline constexpr std::uint16_t kFudge = 300;  // seconds: ours, and the widest we accept
inline constexpr std::uint8_t kRcodeNotAuth = 9;

namespace error {
inline constexpr std::uint16_t none = 0;
inline constexpr std::uint16_t badsig = 16;
inline constexpr std::uint16_t badkey = 17;
inline constexpr std::uint16_t badtime = 18;
}  // namespace error

struct Key {
  std::string name;                     // lowercase text, no trailing dot
  std::vector<std::uint8_t> name_wire;  // lowercase wire form
  TsigAlgorithm algorithm = TsigAlgorithm::hmac_sha256;
  std::string secret;  // raw bytes
};

class Keyring {
 public:
  Keyring() = default;
  explicit Keyring(const std::vector<TsigKeyConfig>& keys);
  // By lowercase wire name.
  [[nodiscard]] const Key* find_wire(std::span<const std::uint8_t> name_wire) const;
  [[nodiscard]] const Key* find(std::string_view name) const;
  [[nodiscard]] bool empty() const { return keys_.empty(); }

 private:
  std::vector<Key> keys_;
};

// Lowercase wire form of a dotted name ("xfr-key" -> "\7xfr-key\0"); empty if invalid.
std::vector<std::uint8_t> name_to_wire(std::string_view dotted);
// The algorithm's name in wire form ("\13hmac-sha256\0") and MAC length.
std::span<const std::uint8_t> algorithm_wire(TsigAlgorithm algorithm);
std::size_t mac_length(TsigAlgorithm algorithm);

enum class Outcome {
  unsigned_message,  // no TSIG record
  ok,
  formerr,  // a TSIG that is not last, not alone, or unreadable: FORMERR, unsigned
  badkey,
  badsig,
  badtime,
};

// What verification learned about the request, enough to answer it.
struct Verified {
  Outcome outcome = Outcome::unsigned_message;
  const Key* key = nullptr;             // set for ok and badtime
  std::size_t message_size = 0;         // the request without its TSIG record
  std::vector<std::uint8_t> mac;        // the request's MAC (the response digest starts with it)
  std::vector<std::uint8_t> key_wire;   // as found in the request, lowercased
  std::vector<std::uint8_t> algorithm;  // wire, lowercased
  std::uint64_t time_signed = 0;
  std::uint16_t fudge = 0;
  std::uint16_t original_id = 0;
};

// Finds and checks the TSIG record of a request (the last additional record).
Verified verify_request(std::span<const std::uint8_t> message, const Keyring& keys, std::int64_t now_unix);

// The request without its TSIG (ARCOUNT decremented, original ID restored), to be
// answered as an ordinary query.
std::vector<std::uint8_t> strip(std::span<const std::uint8_t> message, const Verified& v);

// Signs responses to one verified request: the first with the request MAC and all
// TSIG variables, each later one of a multi-message answer (AXFR/IXFR) with the
// previous MAC and the timers only (RFC 8945 5.3.1). Every message is signed.
class ResponseSigner {
 public:
  ResponseSigner(const Key& key, std::vector<std::uint8_t> request_mac, std::uint16_t original_id)
      : key_(&key), prior_mac_(std::move(request_mac)), original_id_(original_id) {}
  // Appends the TSIG record to buffer[0, size) (capacity buffer.size()), patches
  // ARCOUNT and returns the new size, or 0 when it does not fit.
  std::size_t sign(std::span<std::uint8_t> buffer, std::size_t size, std::int64_t now_unix,
                   std::uint16_t error = error::none, std::span<const std::uint8_t> other = {});
  // The same with an explicit Time Signed (BADTIME answers echo the request's).
  std::size_t sign_at(std::span<std::uint8_t> buffer, std::size_t size, std::uint64_t time_signed,
                      std::uint16_t error, std::span<const std::uint8_t> other);

 private:
  const Key* key_;
  std::vector<std::uint8_t> prior_mac_;
  std::uint16_t original_id_;
  bool first_ = true;
};

// Signs a request we send (NOTIFY) and remembers its MAC for checking the answer.
std::size_t sign_request(std::span<std::uint8_t> buffer, std::size_t size, const Key& key,
                         std::int64_t now_unix, std::vector<std::uint8_t>& mac_out);

// Checks the TSIG of a response to a request we signed with `request_mac`.
bool verify_response(std::span<const std::uint8_t> message, const Key& key,
                     std::span<const std::uint8_t> request_mac, std::int64_t now_unix);

// The answer to a request whose TSIG failed (RFC 8945 5.2): FORMERR unsigned;
// BADKEY/BADSIG as NOTAUTH with an unsigned TSIG carrying the error; BADTIME as
// NOTAUTH signed, with our time in Other Data. Returns 0 if nothing can be answered.
std::size_t render_error(std::span<const std::uint8_t> request, const Verified& v, std::int64_t now_unix,
                         std::span<std::uint8_t> out);

}  // namespace acmednsd::dns::tsig
