// API key hashing. New keys carry 240 random bits, so one salted SHA-256 is as strong as
// any slow hash and keeps /update fast (acme-dns spends ~50 ms of bcrypt per request).
// bcrypt hashes imported from acme-dns are still verified (libcrypt) and then upgraded.
#pragma once

#include <string>
#include <string_view>

namespace acmednsd::key_hash {

std::string hash_new(std::string_view key);  // "s256$<salt hex>$<digest hex>"

struct Verification {
  bool match = false;
  bool needs_upgrade = false;  // a bcrypt hash that should be replaced by hash_new()
};

// Constant-time in the key; unknown formats never match.
Verification verify(std::string_view key, std::string_view stored);

// The same work as verify() against a real hash, for unknown users (no timing oracle).
void verify_dummy(std::string_view key);

}  // namespace acmednsd::key_hash
