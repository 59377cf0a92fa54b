#include "store/key_hash.hpp"

#include <crypt.h>

#include <memory>

#include "common/encoding.hpp"
#include "common/random.hpp"

namespace acmednsd::key_hash {
namespace {

constexpr std::string_view kPrefix = "s256$";

std::string digest_hex(std::string_view salt_hex, std::string_view key) {
  std::string input(salt_hex);
  input += '$';
  input += key;
  return hex_encode(sha256(input));
}

bool is_bcrypt(std::string_view stored) {
  return stored.size() == 60 &&
         (stored.starts_with("$2a$") || stored.starts_with("$2b$") || stored.starts_with("$2y$"));
}

}  // namespace

std::string hash_new(std::string_view key) {
  const std::string salt = hex_encode(random_bytes(16));
  return std::string(kPrefix) + salt + '$' + digest_hex(salt, key);
}

Verification verify(std::string_view key, std::string_view stored) {
  if (stored.starts_with(kPrefix)) {
    const auto rest = stored.substr(kPrefix.size());
    const auto dollar = rest.find('$');
    if (dollar == std::string_view::npos) return {};
    const bool match = constant_time_equal(digest_hex(rest.substr(0, dollar), key), rest.substr(dollar + 1));
    return {match, false};
  }
  if (is_bcrypt(stored)) {
    // crypt_data is ~32 KiB: keep it off the (coroutine) stack.
    auto data = std::make_unique<crypt_data>();
    const std::string k(key);
    const std::string s(stored);
    const char* out = crypt_r(k.c_str(), s.c_str(), data.get());
    if (out == nullptr || out[0] == '*') return {};
    const bool match = constant_time_equal(out, stored);
    return {match, match};
  }
  return {};
}

void verify_dummy(std::string_view key) {
  static const std::string dummy = hash_new("acme-dnsd-dummy-key-for-unknown-users-00");
  (void)verify(key, dummy);
}

}  // namespace acmednsd::key_hash
