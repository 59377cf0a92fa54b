// `acme-dnsd accounts persist USERNAME ...`: an account's dns-persist-01 records from the
// command line, the same store calls and checks as the API's /persist (docs/api.md).
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "store/store.hpp"

namespace acmednsd::app {

constexpr const char* kPersistUsage = R"(usage: acme-dnsd [-c FILE] accounts persist USERNAME COMMAND
  list                          the records as JSON, with the name to CNAME to
  set VALUE                     set (or replace) a record, e.g.
                                "letsencrypt.org; accounturi=https://.../acct/1; policy=wildcard"
  remove ISSUER ACCOUNTURI      remove the record of that issuer and account
)";

// args: ["persist", USERNAME, COMMAND, ...]
int persist_command(const Config& config, Store& store, const std::vector<std::string>& args) {
  const bool shape_ok = args.size() >= 3 &&
                        ((args[2] == "list" && args.size() == 3) || (args[2] == "set" && args.size() == 4) ||
                         (args[2] == "remove" && args.size() == 5));
  if (!shape_ok) {
    std::cerr << kPersistUsage;
    return kExitUsage;
  }
  const auto username = canonical_uuid(args[1]);
  if (!username) {
    std::cerr << "acme-dnsd: \"" << args[1] << "\" is not a username (a UUID)\n";
    return kExitUsage;
  }
  auto account = store.find_account(*username);
  if (!account || !*account) {
    std::cerr << "acme-dnsd: no account " << *username << "\n";
    return kExitFailure;
  }
  const std::string name = std::string(kPersistLabel) + "." + (*account)->subdomain;
  const std::string fqdn = name + "." + config.general.domain;
  if (args[2] == "list") {
    auto records = store.list_persist(name);
    if (!records) {
      std::cerr << "acme-dnsd: " << records.error().message << "\n";
      return kExitFailure;
    }
    nlohmann::ordered_json j;
    j["fulldomain"] = fqdn;
    j["records"] = nlohmann::json::array();
    for (const auto& r : *records) {
      j["records"].push_back({{"txt", r.value},
                              {"issuer", r.issuer},
                              {"accounturi", r.account_uri},
                              {"updated_at", r.updated_at}});
    }
    std::cout << j.dump() << "\n";
    return kExitOk;
  }
  if (args[2] == "set") {
    auto written = store.set_persist_sync(name, args[3]);
    if (!written) {
      std::cerr << "acme-dnsd: " << written.error().message << "; nothing was changed\n";
      return written.error().code == "persist_value" ? kExitUsage : kExitFailure;
    }
    std::cout << (*written ? "set " : "unchanged ") << fqdn << "\n";
    std::cerr << "Point each name at it: _validation-persist.<name>. CNAME " << fqdn << ".\n";
    return kExitOk;
  }
  auto removed = store.remove_persist_sync(name, args[3], args[4]);
  if (!removed) {
    std::cerr << "acme-dnsd: " << removed.error().message << "\n";
    return kExitFailure;
  }
  if (removed->empty()) {
    std::cerr << "acme-dnsd: no record for " << args[3] << " and " << args[4] << " at " << fqdn << "\n";
    return kExitFailure;
  }
  std::cout << "removed \"" << *removed << "\" from " << fqdn << "\n";
  return kExitOk;
}

}  // namespace acmednsd::app
