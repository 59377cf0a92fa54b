// Helpers for store tests: a temporary folder removed at the end of the test.
#pragma once

#include <filesystem>
#include <string>

#include "common/random.hpp"

namespace acmednsd::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / ("acmednsd-test-" + random_uuid_v4())) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string txt(int i) {
  std::string s = "value" + std::to_string(i) + "_";
  s.resize(43, 'x');
  return s;
}

}  // namespace acmednsd::testing
