// Readers of [[tsig_key]] and [transfer], kept out of config.cpp. Private to src/config/.
#pragma once

#include <toml++/toml.h>

#include "config/config.hpp"
#include "config/section_reader.hpp"

namespace acmednsd::config_detail {

// Reads every [[tsig_key]]; call before read_transfer(), which names the keys.
void read_tsig_keys(const toml::table& root, Config& c, Errors& errors);
void read_transfer(SectionReader r, Config& c);

}  // namespace acmednsd::config_detail
