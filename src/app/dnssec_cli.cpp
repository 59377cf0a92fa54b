// `acme-dnsd dnssec ds|keys|roll` (DNSSEC.md). The private keys are never printed.
#include <ctime>
#include <iostream>

#include "app/app.hpp"
#include "common/encoding.hpp"
#include "dns/dnssec_setup.hpp"
#include "store/store.hpp"

namespace acmednsd::app {

Result<std::unique_ptr<Store>> open_store(const Config& config);  // serve.cpp

namespace {

constexpr const char* kDnssecUsage = R"(usage: acme-dnsd [-c FILE] dnssec ds|keys|roll

  ds     DS (SHA-256) and DNSKEY lines for the parent zone (creates the first key
         when there is none yet, as `serve` does)
  keys   the zone's keys: tag, algorithm, state and their RFC 7583 times
  roll   start a pre-publish key roll; a running server follows it within a minute
)";

std::string when(std::int64_t t) {
  char text[32];
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string state_of(const dns::TimedKey& k, std::int64_t now) {
  if (!k.published(now)) return now < k.publish ? "scheduled" : "removed";
  if (k.active(now)) return k.retire ? "active (retiring)" : "active";
  if (now < k.activate) return "published";
  return "retired";
}

}  // namespace

int dnssec(const Config& config, const std::vector<std::string>& args) {
  if (args.size() != 1 || (args[0] != "ds" && args[0] != "keys" && args[0] != "roll")) {
    std::cerr << kDnssecUsage;
    return args.size() == 1 && (args[0] == "--help" || args[0] == "-h") ? kExitOk : kExitUsage;
  }
  // Opening the store creates and migrates the database, the keys' home.
  auto store = open_store(config);
  if (!store) {
    std::cerr << "acme-dnsd: cannot open the database: " << store.error().message << "\n";
    return kExitFailure;
  }
  const std::int64_t now = std::time(nullptr);
  if (args[0] == "roll") {
    auto rows = load_dnssec_keys(config.database.engine, config.database.connection, config.general.domain);
    if (!rows) {
      std::cerr << "acme-dnsd: " << rows.error().message << "\n";
      return kExitFailure;
    }
    if (rows->empty()) {
      std::cerr << "acme-dnsd: no DNSSEC key yet for " << config.general.domain
                << " (start the server with [dnssec] enabled, or run `dnssec ds`)\n";
      return kExitFailure;
    }
    if (!rows->back().retire && now < rows->back().activate) {
      std::cerr << "acme-dnsd: a roll is already in progress (the newest key signs from "
                << when(rows->back().activate) << ")\n";
      return kExitFailure;
    }
    const auto plan = dns::plan_roll(config, now);
    if (auto s = dns::start_roll(config, now, rows->back().id); !s) {
      std::cerr << "acme-dnsd: " << s.error().message << "\n";
      return kExitFailure;
    }
    std::cout << "roll started: new key published now, signs from " << when(plan.activate)
              << "; the old key is withdrawn at " << when(plan.old_remove) << ".\n"
              << "Replace the DS at the parent with the new one (`acme-dnsd dnssec ds` after "
              << when(plan.activate) << ", or let the parent follow CDS) before then.\n";
    return kExitOk;
  }
  auto signer = dns::load_signer(config, now, args[0] == "ds");
  if (!signer) {
    std::cerr << "acme-dnsd: " << signer.error().message << "\n";
    return kExitFailure;
  }
  const std::string owner = config.general.domain + ".";
  const std::string ttl = std::to_string(config.general.static_ttl);
  if (args[0] == "ds") {
    for (const auto& k : (*signer)->keys()) {
      if (!k.published(now) || (k.retire && now >= *k.retire)) continue;
      const auto ds = k.key.ds_rdata((*signer)->origin_wire());
      const auto& dnskey = k.key.dnskey_rdata();
      std::cout << owner << " " << ttl << " IN DS " << k.key.key_tag() << " " << int{k.key.algorithm()}
                << " 2 " << hex_encode(std::span(ds).subspan(4)) << "\n";
      std::cout << owner << " " << ttl << " IN DNSKEY " << k.key.flags() << " 3 " << int{k.key.algorithm()}
                << " "
                << base64_encode(
                       std::string_view(reinterpret_cast<const char*>(dnskey.data()) + 4, dnskey.size() - 4))
                << "\n";
    }
    return kExitOk;
  }
  std::cout << "tag    algorithm        state              publish               activate              "
               "retire                remove\n";
  for (const auto& k : (*signer)->keys()) {
    std::string line = std::to_string(k.key.key_tag());
    line.resize(7, ' ');
    std::string alg = dnssec_algorithm_name(k.key.algorithm());
    alg.resize(17, ' ');
    std::string state = state_of(k, now);
    state.resize(19, ' ');
    std::cout << line << alg << state << when(k.publish) << "  " << when(k.activate) << "  "
              << (k.retire ? when(*k.retire) : std::string("-                   ")) << "  "
              << (k.remove ? when(*k.remove) : std::string("-")) << "\n";
  }
  return kExitOk;
}

}  // namespace acmednsd::app
