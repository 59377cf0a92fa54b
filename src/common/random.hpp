// Secrets and identifiers from the OS CSPRNG (OpenSSL RAND_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace acmednsd {

std::vector<std::uint8_t> random_bytes(std::size_t count);  // aborts if the CSPRNG fails
std::string random_uuid_v4();                               // lowercase canonical form
// 40 characters of A-Za-z0-9-_ (240 bits), the acme-dns key format.
std::string random_api_key();
std::uint64_t random_u64();

}  // namespace acmednsd
