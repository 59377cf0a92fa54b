// The CLI's commands. main.cpp parses the command line and calls one of these; each
// returns the process exit code (0 ok, 1 failure, 2 bad configuration or usage).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace acmednsd::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

int serve(const Config& config);
int check_config(const Config& config);
int import_acme_dns(const Config& config, const std::vector<std::string>& args);
int accounts(const Config& config, const std::vector<std::string>& args);
int cert(const Config& config, const std::vector<std::string>& args);
int doctor(const Config& config, const std::vector<std::string>& args);
int dnssec(const Config& config, const std::vector<std::string>& args);

// The /register response body, byte for byte as acme-dns writes it.
std::string registration_json(const std::string& username, const std::string& password,
                              const std::string& domain, const std::string& subdomain,
                              const std::vector<std::string>& allowfrom);

}  // namespace acmednsd::app
