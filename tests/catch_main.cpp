// Catch2 v2's main (bookworm). With Catch2 v3 (trixie) the tests link
// Catch2::Catch2WithMain instead and tests/CMakeLists.txt does not compile this file.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
