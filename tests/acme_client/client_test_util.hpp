// Shared by the client's unit tests: fixed times and a temporary folder.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace acmednsd::acme::testing {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kT0 = 1'760'000'000;  // an arbitrary "now" in 2025

// A folder under /tmp, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/acme-client-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace acmednsd::acme::testing
