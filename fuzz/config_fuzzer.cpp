// libFuzzer target for the configuration loader: any bytes as a TOML file. It must
// return a Config or an Error naming a line, never crash or throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = acmednsd::parse_config(text, "fuzz.toml");
  if (!config.ok() && config.error().message.rfind("fuzz.toml:", 0) != 0) __builtin_trap();
  if (config.ok() && config->general.domain.empty()) __builtin_trap();  // domain is required
  return 0;
}
