// The one Catch2 include of every test file. Debian bookworm ships Catch2 v2 (a single
// header, its own main in tests/catch_main.cpp); trixie ships v3 (split headers, a
// compiled library with Catch2::Catch2WithMain, string matchers renamed).
// tests/CMakeLists.txt finds the version and defines ACMEDNSD_CATCH2_V3 for v3.
// Tests spell things the v3 way; for v2 the few v3 names they use are mapped here, so
// this block goes away with bookworm.
#pragma once

#ifdef ACMEDNSD_CATCH2_V3
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>
#else
#include <catch2/catch.hpp>

#include <string>

namespace Catch::Matchers {
// v3's name for v2's Contains (catch_matchers_string.hpp).
inline StdString::ContainsMatcher ContainsSubstring(const std::string& str,
                                                    CaseSensitive::Choice cs = CaseSensitive::Yes) {
  return Contains(str, cs);
}
}  // namespace Catch::Matchers
#endif
