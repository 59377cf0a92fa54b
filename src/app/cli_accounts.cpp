// `acme-dnsd accounts ...` and `acme-dnsd import-acme-dns PATH`: operator commands that
// work on the store directly. A running server notices their commits within a second.
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/app.hpp"
#include "common/cidr.hpp"
#include "common/encoding.hpp"
#include "config/config_database.hpp"
#include "store/store.hpp"

namespace acmednsd::app {

Result<std::unique_ptr<Store>> open_store(const Config& config);  // serve.cpp
int persist_command(const Config& config, Store& store,
                    const std::vector<std::string>& args);  // cli_persist.cpp

namespace {

constexpr const char* kAccountsUsage = R"(usage: acme-dnsd [-c FILE] accounts COMMAND
  list                          one line per account: username subdomain fulldomain allowfrom
  show USERNAME                 the account and its TXT values as JSON
  add [--allowfrom CIDR]... [--cname-for NAME]
                                create an account; prints the /register JSON, and with
                                --cname-for the CNAME record to create for NAME
  remove USERNAME               delete the account and its TXT values
  persist USERNAME list|set VALUE|remove ISSUER ACCOUNTURI
                                the account's dns-persist-01 records (as /persist)
)";

constexpr const char* kImportUsage = R"(usage: acme-dnsd [-c FILE] import-acme-dns PATH
Copies the accounts and TXT values of an acme-dns SQLite database (opened read-only)
into this server's database. Existing acme-dns credentials keep working: their bcrypt
hashes are verified and replaced by the fast hash on first use.
)";

std::string json_list(const std::vector<std::string>& list) {
  std::string out = "[";
  for (std::size_t i = 0; i < list.size(); ++i) out += (i ? ",\"" : "\"") + json_escape(list[i]) + '"';
  return out + ']';
}

std::unique_ptr<Store> open_or_report(const Config& config) {
  auto store = open_store(config);
  if (!store) {
    std::cerr << "acme-dnsd: cannot open the database "
              << config_database::redacted(config.database.engine, config.database.connection) << ": "
              << store.error().message << "\n";
    return nullptr;
  }
  return std::move(store.value());
}

int list(Store& store, const Config& config) {
  auto accounts = store.list_accounts();
  if (!accounts) {
    std::cerr << "acme-dnsd: " << accounts.error().message << "\n";
    return kExitFailure;
  }
  for (const auto& a : *accounts) {
    std::cout << a.username << ' ' << a.subdomain << ' ' << a.subdomain << '.' << config.general.domain << ' '
              << (a.allowfrom_invalid ? std::string("INVALID(denied)") : json_list(a.allowfrom)) << "\n";
  }
  return kExitOk;
}

int show(Store& store, const Config& config, const std::string& user) {
  const auto username = canonical_uuid(user);
  if (!username) {
    std::cerr << "acme-dnsd: \"" << user << "\" is not a username (a UUID)\n";
    return kExitUsage;
  }
  auto account = store.find_account(*username);
  if (!account || !*account) {
    std::cerr << "acme-dnsd: no account " << *username << "\n";
    return kExitFailure;
  }
  const auto& a = **account;
  nlohmann::ordered_json j;
  j["username"] = a.username;
  j["subdomain"] = a.subdomain;
  j["fulldomain"] = a.subdomain + "." + config.general.domain;
  j["allowfrom"] = a.allowfrom;
  j["allowfrom_invalid"] = a.allowfrom_invalid;
  j["txt"] = nlohmann::json::array();
  if (auto values = store.list_txt(a.subdomain)) {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (const auto& v : *values)
      j["txt"].push_back({{"value", v.value}, {"age_seconds", now - v.updated_at}});
  }
  std::cout << j.dump() << "\n";
  return kExitOk;
}

int add(Store& store, const Config& config, const std::vector<std::string>& args) {
  std::vector<std::string> allowfrom;
  std::string cname_for;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if ((args[i] == "--allowfrom" || args[i] == "--cname-for") && i + 1 < args.size()) {
      (args[i] == "--allowfrom" ? allowfrom.emplace_back() : cname_for) = args[i + 1];
      ++i;
    } else {
      std::cerr << "acme-dnsd: unexpected argument \"" << args[i] << "\"\n" << kAccountsUsage;
      return kExitUsage;
    }
  }
  for (const auto& c : allowfrom) {
    if (!Cidr::parse(c)) {
      std::cerr << "acme-dnsd: --allowfrom \"" << c << "\" is not a CIDR (e.g. 192.0.2.0/24)\n";
      return kExitUsage;
    }
  }
  auto creds = store.create_account_sync(allowfrom);
  if (!creds) {
    std::cerr << "acme-dnsd: " << creds.error().message << "\n";
    return kExitFailure;
  }
  std::cout << registration_json(creds->username, creds->password, config.general.domain, creds->subdomain,
                                 creds->allowfrom)
            << "\n";
  if (!cname_for.empty()) {
    while (!cname_for.empty() && cname_for.back() == '.') cname_for.pop_back();
    std::cerr << "Create this record in the zone of " << cname_for << ":\n";
    std::cout << "_acme-challenge." << cname_for << ". CNAME " << creds->subdomain << '.'
              << config.general.domain << ".\n";
  }
  return kExitOk;
}

int remove(Store& store, const std::string& user) {
  const auto username = canonical_uuid(user);
  if (!username) {
    std::cerr << "acme-dnsd: \"" << user << "\" is not a username (a UUID)\n";
    return kExitUsage;
  }
  auto removed = store.delete_account_sync(*username);
  if (!removed) {
    std::cerr << "acme-dnsd: " << removed.error().message << "\n";
    return kExitFailure;
  }
  if (!*removed) {
    std::cerr << "acme-dnsd: no account " << *username << "\n";
    return kExitFailure;
  }
  std::cout << "removed " << *username << "\n";
  return kExitOk;
}

}  // namespace

std::string registration_json(const std::string& username, const std::string& password,
                              const std::string& domain, const std::string& subdomain,
                              const std::vector<std::string>& allowfrom) {
  return "{\"username\":\"" + username + "\",\"password\":\"" + password + "\",\"fulldomain\":\"" +
         subdomain + "." + domain + "\",\"subdomain\":\"" + subdomain +
         "\",\"allowfrom\":" + json_list(allowfrom) + "}";
}

int accounts(const Config& config, const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << kAccountsUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string& sub = args[0];
  const bool needs_user = sub == "show" || sub == "remove";
  if ((needs_user && args.size() != 2) || (sub == "list" && args.size() != 1) ||
      (!needs_user && sub != "list" && sub != "add" && sub != "persist")) {
    std::cerr << kAccountsUsage;
    return kExitUsage;
  }
  auto store = open_or_report(config);
  if (!store) return kExitFailure;
  if (sub == "list") return list(*store, config);
  if (sub == "show") return show(*store, config, args[1]);
  if (sub == "add") return add(*store, config, args);
  if (sub == "persist") return persist_command(config, *store, args);
  return remove(*store, args[1]);
}

int import_acme_dns(const Config& config, const std::vector<std::string>& args) {
  if (args.size() != 1 || args[0] == "--help" || args[0] == "-h") {
    const bool help = args.size() == 1;
    (help ? std::cout : std::cerr) << kImportUsage;
    return help ? kExitOk : kExitUsage;
  }
  auto store = open_or_report(config);
  if (!store) return kExitFailure;
  auto report = store->import_acme_dns(args[0]);
  if (!report) {
    std::cerr << "acme-dnsd: import failed, nothing was changed: " << report.error().message << "\n";
    return kExitFailure;
  }
  std::cout << "imported " << report->accounts << " accounts and " << report->values << " TXT values from "
            << args[0] << " (" << report->skipped_empty_values << " empty TXT rows skipped)\n";
  for (const auto& f : report->flagged) std::cout << "flagged: " << f << "\n";
  for (const auto& p : report->problems) std::cout << "skipped: " << p << "\n";
  return kExitOk;
}

}  // namespace acmednsd::app
