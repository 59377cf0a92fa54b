// Reader of the [dnssec] section, kept out of config.cpp. Private to src/config/.
#pragma once

#include <string>
#include <toml++/toml.h>
#include <vector>

#include "config/dnssec_config.hpp"

namespace acmednsd {

// One problem found in [dnssec], located like every other config error.
struct DnssecConfigError {
  int line = 0;
  std::string key;
  std::string text;
};

// Reads [dnssec] from the parsed document; unknown keys and bad values are errors.
void read_dnssec_config(const toml::table& root, DnssecConfig& out, std::vector<DnssecConfigError>& errors);

}  // namespace acmednsd
