// acme-dnsd: command-line parsing and dispatch. Nothing else lives here.
#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "app/app.hpp"
#include "common/log.hpp"

#ifndef ACMEDNSD_VERSION
#define ACMEDNSD_VERSION "0.1.0"
#endif

namespace {

constexpr const char* kUsage = R"(usage: acme-dnsd [-c FILE] [--check-config] [COMMAND [ARGS...]]

An authoritative DNS server for ACME DNS-01 challenges, compatible with acme-dns.

Options:
  -c, --config FILE   configuration (TOML, or an unmodified acme-dns config.cfg);
                      default /etc/acme-dnsd/config.toml, else ./config.toml
  --check-config      validate the configuration and exit (0 valid, 2 invalid)
  --version           print the version and exit
  -h, --help          this text; `acme-dnsd COMMAND --help` for a command

Commands:
  serve                         run the DNS and HTTP servers (the default)
  import-acme-dns PATH          copy accounts and values from an acme-dns SQLite file
  accounts list                 list accounts
  accounts show USERNAME        one account with its TXT values
  accounts add [--allowfrom CIDR]... [--cname-for NAME]
                                create an account; prints the /register JSON
  accounts remove USERNAME      delete an account and its values
  cert issue|list|renew [NAME]  certificates of the embedded ACME client
  doctor NAME...                check DNS delegation, CNAME and CAA for NAME
  dnssec ds|keys|roll           DS lines for the parent, the keys, a key roll
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace acmednsd;
  // SQLite frees and re-allocates on every write; with glibc's default trim threshold
  // that became one madvise() per /update (41% of server CPU under load). Keep the heap.
  mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt(M_TOP_PAD, 16 * 1024 * 1024);
  std::string config_path;
  bool check_only = false;
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (!rest.empty()) {
      rest.push_back(arg);  // everything after the command belongs to it
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc) {
        std::cerr << "acme-dnsd: " << arg << " needs a file name\n" << kUsage;
        return app::kExitUsage;
      }
      config_path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      config_path = arg.substr(std::strlen("--config="));
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--version") {
      std::cout << "acme-dnsd " << ACMEDNSD_VERSION << "\n";
      return app::kExitOk;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return app::kExitOk;
    } else if (arg.starts_with("-")) {
      std::cerr << "acme-dnsd: unknown option " << arg << "\n" << kUsage;
      return app::kExitUsage;
    } else {
      rest.push_back(arg);
    }
  }
  const std::string command = rest.empty() ? "serve" : rest.front();
  const std::vector<std::string> args =
      rest.empty() ? std::vector<std::string>{} : std::vector<std::string>(rest.begin() + 1, rest.end());
  static const std::vector<std::string> kCommands = {"serve", "import-acme-dns", "accounts",
                                                     "cert",  "doctor",          "dnssec"};
  if (std::find(kCommands.begin(), kCommands.end(), command) == kCommands.end()) {
    std::cerr << "acme-dnsd: unknown command \"" << command << "\"\n" << kUsage;
    return app::kExitUsage;
  }
  if (command == "serve" && !args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: acme-dnsd [-c FILE] serve\n\nRuns the DNS and HTTP servers until SIGTERM or SIGINT; "
                 "SIGHUP reopens the\nlog file and reloads TLS certificates.\n";
    return app::kExitOk;
  }

  if (config_path.empty()) config_path = default_config_path();
  auto config = load_config(config_path);
  if (!config) {
    std::cerr << "acme-dnsd: invalid configuration:\n" << config.error().message << "\n";
    return app::kExitUsage;
  }
  if (check_only) return app::check_config(*config);
  if (command == "import-acme-dns") return app::import_acme_dns(*config, args);
  if (command == "accounts") return app::accounts(*config, args);
  if (command == "cert") return app::cert(*config, args);
  if (command == "doctor") return app::doctor(*config, args);
  if (command == "dnssec") return app::dnssec(*config, args);
  return app::serve(*config);
}
