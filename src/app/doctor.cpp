// `acme-dnsd doctor NAME...`: checks, from the outside, everything a CA needs to validate
// a DNS-01 challenge for NAME through this server, and says what to change when a check
// fails. It asks DNS the way a CA does (a recursive resolver) and also asks the servers
// the zone is delegated to, so "the CNAME is right but the delegation is not" and "the
// delegation is right but the CNAME is not" are told apart.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme_client/acme_service.hpp"
#include "app/app.hpp"
#include "app/doctor_dnssec.hpp"
#include "common/encoding.hpp"
#include "config/config_database.hpp"
#include "common/ldns_handles.hpp"
#include "store/store.hpp"

namespace acmednsd::app {
namespace {

constexpr const char* kHelp = R"(usage: acme-dnsd [-c FILE] doctor [OPTIONS] NAME...

Checks that a CA can validate DNS-01 challenges for each NAME through this server:
the zone's delegation (NS records reach a server answering like this one), the CNAME
_acme-challenge.NAME -> <subdomain>.<general.domain>, that the subdomain is an account
in the database, the TXT lookup through the resolver, and CAA records on NAME and its
parents. For [[certificate]] entries with challenge = "dns-account-01" or "auto", also
the account-labelled name _<label>._acme-challenge.NAME and its CNAME (once the ACME
account exists); for challenge = "dns-persist-01", _validation-persist.NAME and its CNAME. Says what to change when a check fails.

Options:
  --subdomain UUID      the account subdomain NAME should point to (prints the exact
                        CNAME record to create)
  --ca DOMAIN           the CA's CAA identifier (default letsencrypt.org)
  --resolver HOST:PORT  recursive resolver to ask (default: /etc/resolv.conf)
  --ns-port PORT        port the zone's name servers are asked on (default 53)
  -h, --help            this text

Exit status: 0 every check passed, 1 a check failed, 2 usage error.
)";

struct Options {
  std::vector<std::string> names;
  std::string subdomain;
  std::string ca = "letsencrypt.org";
  std::string resolver;  // empty: the system's
  std::uint16_t ns_port = 53;
};

std::string lower_fqdn(std::string_view name) {
  std::string out = to_lower_ascii(name);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out + ".";
}

std::string rdf_text(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) return {};
  std::string out(text);
  free(text);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory): ldns mallocs
  return out;
}

bool parse_port(const std::string& digits, std::uint16_t& port) {
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return r.ec == std::errc() && r.ptr == digits.data() + digits.size() && port != 0;
}

// A stub resolver aimed at one address and port, or the system's when host is empty.
std::optional<LdnsResolver> make_resolver(const std::string& host, std::uint16_t port) {
  ldns_resolver* raw = nullptr;
  if (host.empty()) {
    if (ldns_resolver_new_frm_file(&raw, nullptr) != LDNS_STATUS_OK || raw == nullptr) return std::nullopt;
    LdnsResolver system(raw);
    ldns_resolver_set_retry(system.get(), 2);
    ldns_resolver_set_timeout(system.get(), timeval{2, 0});
    return system;
  }
  LdnsResolver resolver(ldns_resolver_new());
  const bool ipv6 = host.find(':') != std::string::npos;
  const LdnsRdf address(ldns_rdf_new_frm_str(ipv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host.c_str()));
  // push_nameserver copies the address.
  if (!address || ldns_resolver_push_nameserver(resolver.get(), address.get()) != LDNS_STATUS_OK) {
    return std::nullopt;
  }
  ldns_resolver_set_port(resolver.get(), port);
  ldns_resolver_set_retry(resolver.get(), 2);
  ldns_resolver_set_timeout(resolver.get(), timeval{2, 0});
  return resolver;
}

struct Answer {
  LdnsPkt packet;  // null when no server answered
  std::string error;
  [[nodiscard]] ldns_pkt_rcode rcode() const { return ldns_pkt_get_rcode(packet.get()); }
  [[nodiscard]] std::string rcode_text() const {
    if (!packet) return error;
    const ldns_lookup_table* entry = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(rcode()));
    return entry != nullptr ? entry->name : "rcode " + std::to_string(rcode());
  }
  // Records of `type` in the answer section whose owner is `owner` (absolute, lowercase).
  [[nodiscard]] std::vector<std::vector<std::string>> records(const std::string& owner,
                                                              ldns_rr_type type) const {
    std::vector<std::vector<std::string>> out;
    if (!packet) return out;
    const LdnsRrList list(ldns_pkt_rr_list_by_type(packet.get(), type, LDNS_SECTION_ANSWER));
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list.get()); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(list.get(), i);
      if (lower_fqdn(rdf_text(ldns_rr_owner(rr))) != owner) continue;
      std::vector<std::string> fields;
      for (std::size_t f = 0; f < ldns_rr_rd_count(rr); ++f) fields.push_back(rdf_text(ldns_rr_rdf(rr, f)));
      out.push_back(std::move(fields));
    }
    return out;
  }
};

Answer ask(ldns_resolver* resolver, const std::string& name, ldns_rr_type type, bool recursion) {
  Answer a;
  const LdnsRdf owner(ldns_dname_new_frm_str(name.c_str()));
  if (!owner) {
    a.error = "not a domain name";
    return a;
  }
  ldns_resolver_set_recursive(resolver, recursion);
  ldns_pkt* packet = nullptr;
  const ldns_status status = ldns_resolver_query_status(&packet, resolver, owner.get(), type,
                                                        LDNS_RR_CLASS_IN, recursion ? LDNS_RD : 0);
  if (status != LDNS_STATUS_OK || packet == nullptr) {
    a.error = std::string("no answer (") + ldns_get_errorstr_by_id(status) + ")";
    return a;
  }
  a.packet.reset(packet);
  return a;
}

std::string unquote(std::string text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
  return text;
}

// Collects results; any failure makes the exit status 1.
struct Report {
  int failures = 0;
  void ok(const std::string& what) { std::cout << "OK    " << what << "\n"; }
  void note(const std::string& what) { std::cout << "NOTE  " << what << "\n"; }
  void fail(const std::string& what, const std::string& fix) {
    ++failures;
    std::cout << "FAIL  " << what << "\n";
    if (!fix.empty()) std::cout << "      fix: " << fix << "\n";
  }
};

class Doctor {
 public:
  Doctor(const Config& config, Options options, LdnsResolver resolver)
      : config_(config),
        options_(std::move(options)),
        resolver_(std::move(resolver)),
        zone_(lower_fqdn(config.general.domain)) {}

  int run() {
    load_subdomains();
    check_delegation();
    if (config_.dnssec.enabled) check_dnssec();
    for (const auto& name : options_.names) {
      check_name(lower_fqdn(name));
      check_dns_account(lower_fqdn(name));
      check_dns_persist(lower_fqdn(name));
    }
    std::cout << (report_.failures == 0 ? "all checks passed\n"
                                        : std::to_string(report_.failures) + " check(s) failed\n");
    return report_.failures == 0 ? kExitOk : kExitFailure;
  }

 private:
  void check_dnssec() {
    std::vector<ldns_resolver*> servers;
    for (auto& d : direct_) servers.push_back(d.get());
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    for (const auto& f : dnssec_findings(config_, resolver_.get(), servers, now)) {
      if (f.ok) {
        report_.ok(f.what);
      } else {
        report_.fail(f.what, f.fix);
      }
    }
  }

  // The accounts' subdomains, so a CNAME to a name nobody registered is caught. The
  // database is only opened when it exists: the doctor must never create one.
  void load_subdomains() {
    const std::string& path = config_.database.connection;
    if (config_.database.engine != "postgres" && !std::filesystem::exists(path)) {
      report_.note("database " + path + " not found here: subdomains are not checked against accounts");
      return;
    }
    StoreOptions options;
    options.engine = config_.database.engine;
    options.path = path;
    options.read_connections = 1;
    auto store = Store::open(options);
    if (!store) {
      report_.note("cannot open the database " + config_database::redacted(config_.database.engine, path) +
                   ": " + store.error().message);
      return;
    }
    auto accounts = (*store)->list_accounts();
    if (!accounts) {
      report_.note("cannot list accounts: " + accounts.error().message);
      return;
    }
    subdomains_.emplace();
    for (const auto& a : *accounts) subdomains_->push_back(a.subdomain);
  }

  // Finds the zone's NS through the resolver and asks each of them, non-recursively,
  // for the zone's SOA: a CA's resolver reaches this server only through them.
  void check_delegation() {
    const Answer ns = ask(resolver_.get(), zone_, LDNS_RR_TYPE_NS, true);
    const auto names = ns.records(zone_, LDNS_RR_TYPE_NS);
    const std::string glue_fix = "in the parent zone create \"" + zone_ + " NS " +
                                 lower_fqdn(config_.general.nsname) + "\" and the glue \"" +
                                 lower_fqdn(config_.general.nsname) + " A <this server's public address>\"";
    if (names.empty()) {
      report_.fail("the resolver finds no NS records for " + zone_ + " (" + ns.rcode_text() + ")", glue_fix);
      return;
    }
    std::size_t reachable = 0;
    for (const auto& fields : names) {
      const std::string host = lower_fqdn(fields.at(0));
      std::vector<std::string> addresses;
      for (const ldns_rr_type type : {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA}) {
        for (const auto& r : ask(resolver_.get(), host, type, true).records(host, type))
          addresses.push_back(r.at(0));
      }
      if (addresses.empty()) {
        report_.fail("NS " + host + " of " + zone_ + " has no A/AAAA address",
                     "create \"" + host + " A <address>\"");
        continue;
      }
      for (const auto& address : addresses) {
        auto direct = make_resolver(address, options_.ns_port);
        if (!direct) continue;
        const Answer soa = ask(direct->get(), zone_, LDNS_RR_TYPE_SOA, false);
        std::string where = "NS " + host;
        where += " (" + address + " port " + std::to_string(options_.ns_port) + ")";
        if (!soa.packet) {
          report_.fail(where + " does not answer: " + soa.error,
                       "point the NS address at this server and open port " +
                           std::to_string(options_.ns_port) + " UDP and TCP");
        } else if (soa.rcode() != LDNS_RCODE_NOERROR || !ldns_pkt_aa(soa.packet.get()) ||
                   soa.records(zone_, LDNS_RR_TYPE_SOA).empty()) {
          report_.fail(where + " is not authoritative for " + zone_ + " (" + soa.rcode_text() + ")",
                       "that address is not this server: " + glue_fix);
        } else if (lower_fqdn(soa.records(zone_, LDNS_RR_TYPE_SOA).front().at(0)) !=
                   lower_fqdn(config_.general.nsname.empty() ? config_.general.domain
                                                             : config_.general.nsname)) {
          report_.fail(
              where + " answers for " + zone_ + " with another SOA (not this server's configuration)",
              glue_fix);
        } else {
          ++reachable;
          serials_.push_back({where, address, soa.records(zone_, LDNS_RR_TYPE_SOA).front().at(2)});
          direct_.push_back(std::move(*direct));
          report_.ok(where + " answers authoritatively for " + zone_);
        }
      }
    }
    if (reachable == 0) report_.note("no name server of " + zone_ + " reaches this server");
    check_serials();
  }

  // With secondaries (docs/secondaries.md), every NS must serve the primary's serial: one
  // that lags answers old or missing challenge values. A change may be in flight, so a
  // difference is asked again once after two seconds.
  void check_serials() {
    if (serials_.empty() || config_.general.listen.empty()) return;
    const auto& listen = config_.general.listen.front();
    const std::string host = listen.host.empty() || listen.host == "0.0.0.0" ? "127.0.0.1"
                             : listen.host == "::"                           ? "::1"
                                                                             : listen.host;
    auto primary = make_resolver(host, listen.port);
    if (!primary) return;
    const auto primary_serial = [&] {
      const Answer soa = ask(primary->get(), zone_, LDNS_RR_TYPE_SOA, false);
      const auto records = soa.records(zone_, LDNS_RR_TYPE_SOA);
      return records.empty() ? std::string() : records.front().at(2);
    };
    std::string want = primary_serial();
    if (want.empty()) {
      report_.note("this server (" + host + " port " + std::to_string(listen.port) +
                   ") does not answer its SOA: serials are not compared");
      return;
    }
    for (auto& s : serials_) {
      if (s.serial != want) {
        std::this_thread::sleep_for(std::chrono::seconds(2));
        want = primary_serial();
        if (auto again = make_resolver(s.address, options_.ns_port)) {
          const auto records =
              ask(again->get(), zone_, LDNS_RR_TYPE_SOA, false).records(zone_, LDNS_RR_TYPE_SOA);
          if (!records.empty()) s.serial = records.front().at(2);
        }
      }
      if (s.serial == want) {
        report_.ok(s.where + " serves serial " + want + ", the same as this server");
      } else {
        report_.fail(
            s.where + " serves serial " + s.serial + ", this server " + want,
            "a secondary behind the primary: check [transfer] allow, notify and the TSIG key on both "
            "sides and the secondary's log (docs/secondaries.md)");
      }
    }
  }

  void check_name(const std::string& name) {
    const std::string owner = "_acme-challenge." + name;
    std::cout << "-- " << owner << "\n";
    check_caa(name);
    const Answer cname = ask(resolver_.get(), owner, LDNS_RR_TYPE_CNAME, true);
    const auto targets = cname.records(owner, LDNS_RR_TYPE_CNAME);
    if (targets.empty()) {
      if (!cname.packet) {
        report_.fail("the resolver does not answer for " + owner + ": " + cname.error, "check --resolver");
        return;
      }
      if (only_dns_account(name.substr(0, name.size() - 1))) {
        report_.note("no CNAME at " + owner + ": not needed, every [[certificate]] naming " +
                     name.substr(0, name.size() - 1) +
                     " validates it by dns-account-01 or dns-persist-01 (checked below)");
        return;
      }
      const std::string record =
          options_.subdomain.empty()
              ? "register an account (POST /register or `acme-dnsd accounts add --cname-for " +
                    name.substr(0, name.size() - 1) + "`) and create \"" + owner + " CNAME <subdomain>." +
                    zone_ + "\""
              : "create \"" + owner + " CNAME " + to_lower_ascii(options_.subdomain) + "." + zone_ + "\"";
      report_.fail("no CNAME at " + owner + " (" + cname.rcode_text() + ")", record);
      return;
    }
    const std::string target = lower_fqdn(targets.front().at(0));
    if (!target.ends_with("." + zone_) || target == zone_) {
      report_.fail(owner + " is a CNAME to " + target + ", outside this server's zone " + zone_,
                   "replace it with \"" + owner + " CNAME " +
                       (options_.subdomain.empty() ? "<subdomain>" : to_lower_ascii(options_.subdomain)) +
                       "." + zone_ + "\"");
      return;
    }
    const std::string label = target.substr(0, target.size() - zone_.size() - 1);
    if (!options_.subdomain.empty() && label != to_lower_ascii(options_.subdomain)) {
      report_.fail(
          owner + " is a CNAME to " + target + ", not to the given subdomain",
          "replace it with \"" + owner + " CNAME " + to_lower_ascii(options_.subdomain) + "." + zone_ + "\"");
    } else if (subdomains_ &&
               std::find(subdomains_->begin(), subdomains_->end(), label) == subdomains_->end()) {
      report_.fail(
          owner + " is a CNAME to " + target + ", but no account has the subdomain " + label,
          "point it at the fulldomain of an existing account (`acme-dnsd accounts list`) or register one");
    } else {
      report_.ok(owner + " CNAME " + target);
    }
    check_txt(owner, target);
  }

  // Whether NAME appears in [[certificate]] entries and all of them validate it by
  // dns-account-01, so the classic _acme-challenge CNAME is not needed.
  [[nodiscard]] bool only_dns_account(const std::string& bare) const {
    bool named = false;
    for (const auto& certificate : config_.certificates) {
      for (const auto& domain : certificate.domains) {
        const std::string base = to_lower_ascii(domain.starts_with("*.") ? domain.substr(2) : domain);
        if (base != bare) continue;
        if (certificate.challenge != "dns-account-01" && certificate.challenge != "dns-persist-01")
          return false;
        named = true;
      }
    }
    return named;
  }

  // dns-account-01 (draft-ietf-acme-dns-account-label): the [[certificate]] entries that
  // validate NAME under their ACME account's label, and the CNAME each needs.
  void check_dns_account(const std::string& name) {
    for (const auto& record : acme::dns_account_records(config_, name.substr(0, name.size() - 1))) {
      std::cout << "-- " << record.owner << " (dns-account-01 of certificate " << record.certificate
                << ", account label _" << record.label << ")\n";
      if (record.target.empty()) {
        report_.ok(record.owner + " is inside " + zone_ + ": this server answers it, no CNAME needed");
        continue;
      }
      const std::string fix = "create \"" + record.owner + " CNAME " + record.target + "\"";
      const Answer cname = ask(resolver_.get(), record.owner, LDNS_RR_TYPE_CNAME, true);
      const auto targets = cname.records(record.owner, LDNS_RR_TYPE_CNAME);
      if (targets.empty()) {
        report_.fail("no CNAME at " + record.owner + " (" + cname.rcode_text() + ")", fix);
      } else if (lower_fqdn(targets.front().at(0)) != record.target) {
        report_.fail(
            record.owner + " is a CNAME to " + lower_fqdn(targets.front().at(0)) + ", not " + record.target,
            fix);
      } else {
        report_.ok(record.owner + " CNAME " + record.target);
      }
    }
  }

  // dns-persist-01: the _validation-persist CNAME of each delegated name (the record
  // itself is written by the first order), then the TXT lookup a CA makes.
  void check_dns_persist(const std::string& name) {
    for (const auto& record : acme::dns_persist_records(config_, name.substr(0, name.size() - 1))) {
      std::cout << "-- " << record.owner << " (dns-persist-01 of certificate " << record.certificate << ")\n";
      const std::string held = record.store_name + "." + zone_;
      if (record.target.empty()) {
        report_.ok(record.owner + " is inside " + zone_ + ": this server answers it, no CNAME needed");
      } else {
        const std::string fix = "create \"" + record.owner + " CNAME " + record.target + "\"";
        const Answer cname = ask(resolver_.get(), record.owner, LDNS_RR_TYPE_CNAME, true);
        const auto targets = cname.records(record.owner, LDNS_RR_TYPE_CNAME);
        if (targets.empty()) {
          report_.fail("no CNAME at " + record.owner + " (" + cname.rcode_text() + ")", fix);
          continue;
        }
        if (lower_fqdn(targets.front().at(0)) != record.target) {
          report_.fail(
              record.owner + " is a CNAME to " + lower_fqdn(targets.front().at(0)) + ", not " + record.target,
              fix);
          continue;
        }
        report_.ok(record.owner + " CNAME " + record.target);
      }
      check_txt(record.owner, held);
    }
  }

  // The TXT lookup a CA makes (following the CNAME), then the same name asked of each
  // name server the delegation reaches.
  void check_txt(const std::string& owner, const std::string& target) {
    const Answer txt = ask(resolver_.get(), owner, LDNS_RR_TYPE_TXT, true);
    if (!txt.packet || (txt.rcode() != LDNS_RCODE_NOERROR && txt.rcode() != LDNS_RCODE_NXDOMAIN)) {
      report_.fail("TXT lookup of " + owner + " through the resolver fails (" + txt.rcode_text() + ")",
                   "the resolver cannot reach this server: fix the delegation above");
      return;
    }
    report_.ok("TXT lookup of " + owner + " through the resolver: " + txt.rcode_text() + ", " +
               std::to_string(txt.records(target, LDNS_RR_TYPE_TXT).size()) + " value(s)");
    for (auto& direct : direct_) {
      const Answer here = ask(direct.get(), target, LDNS_RR_TYPE_TXT, false);
      if (here.packet && (here.rcode() == LDNS_RCODE_NOERROR || here.rcode() == LDNS_RCODE_NXDOMAIN)) {
        report_.ok("TXT " + target + " at the zone's name server: " + here.rcode_text() + ", " +
                   std::to_string(here.records(target, LDNS_RR_TYPE_TXT).size()) + " value(s)");
      } else {
        report_.fail("TXT " + target + " at the zone's name server: " + here.rcode_text(), "");
      }
    }
  }

  // RFC 8659: the CAA set that applies is the first non-empty one found climbing from
  // NAME towards the root. It forbids the CA when it has "issue" tags and none names it.
  void check_caa(const std::string& name) {
    for (std::string at = name; at != "." && !at.empty(); at = at.substr(at.find('.') + 1)) {
      const Answer caa = ask(resolver_.get(), at, LDNS_RR_TYPE_CAA, true);
      const auto records = caa.records(at, LDNS_RR_TYPE_CAA);
      if (records.empty()) continue;
      std::vector<std::string> issuers;
      bool allowed = false;
      for (const auto& r : records) {
        if (r.size() < 3 || to_lower_ascii(r[1]) != "issue") continue;
        std::string value = unquote(r[2]);
        value = value.substr(0, value.find(';'));
        while (!value.empty() && value.back() == ' ') value.pop_back();
        issuers.push_back(value.empty() ? "nobody" : value);
        if (to_lower_ascii(value) == to_lower_ascii(options_.ca)) allowed = true;
      }
      if (issuers.empty() || allowed) {
        report_.ok("CAA at " + at + " allows " + options_.ca);
      } else {
        std::string list;
        for (const auto& i : issuers) {
          if (!list.empty()) list += ", ";
          list += i;
        }
        std::string what = "CAA at " + at + " forbids " + options_.ca;
        what += " (issue: " + list + ")";
        report_.fail(what, "add \"" + at + " CAA 0 issue \\\"" + options_.ca + "\\\"\"");
      }
      return;
    }
    report_.ok("no CAA record on " + name + " or its parents: any CA may issue");
  }

  const Config& config_;
  Options options_;
  LdnsResolver resolver_;
  std::string zone_;
  std::vector<LdnsResolver> direct_;  // name servers of the zone that answer like this one
  std::optional<std::vector<std::string>> subdomains_;
  struct NsSerial {
    std::string where;
    std::string address;
    std::string serial;
  };
  std::vector<NsSerial> serials_;  // each reachable name server's SOA serial
  Report report_;
};

}  // namespace

int doctor(const Config& config, const std::vector<std::string>& args) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool has_value = i + 1 < args.size();
    if (arg == "-h" || arg == "--help") {
      std::cout << kHelp;
      return kExitOk;
    }
    if (arg == "--subdomain" || arg == "--ca" || arg == "--resolver" || arg == "--ns-port") {
      if (!has_value) {
        std::cerr << "acme-dnsd doctor: " << arg << " needs a value\n" << kHelp;
        return kExitUsage;
      }
      const std::string& value = args[++i];
      if (arg == "--subdomain") options.subdomain = value;
      if (arg == "--ca") options.ca = value;
      if (arg == "--resolver") options.resolver = value;
      if (arg == "--ns-port" && !parse_port(value, options.ns_port)) {
        std::cerr << "acme-dnsd doctor: --ns-port " << value << " is not a port\n";
        return kExitUsage;
      }
    } else if (arg.starts_with("-")) {
      std::cerr << "acme-dnsd doctor: unknown option " << arg << "\n" << kHelp;
      return kExitUsage;
    } else {
      options.names.push_back(arg);
    }
  }
  if (options.names.empty()) {
    std::cerr << "acme-dnsd doctor: give at least one NAME (e.g. www.example.org)\n" << kHelp;
    return kExitUsage;
  }
  std::string host;
  std::uint16_t port = 53;
  if (!options.resolver.empty()) {
    const auto colon = options.resolver.rfind(':');
    const bool bracketed = options.resolver.starts_with('[');
    if (colon == std::string::npos || (!bracketed && options.resolver.find(':') != colon) ||
        !parse_port(options.resolver.substr(colon + 1), port)) {
      std::cerr << "acme-dnsd doctor: --resolver " << options.resolver
                << " is not HOST:PORT (IPv6 as [::1]:53)\n";
      return kExitUsage;
    }
    host = options.resolver.substr(0, colon);
    if (bracketed && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  }
  auto resolver = make_resolver(host, port);
  if (!resolver) {
    std::cerr << "acme-dnsd doctor: cannot use the resolver "
              << (host.empty() ? std::string("from /etc/resolv.conf") : options.resolver) << "\n";
    return kExitFailure;
  }
  return Doctor(config, std::move(options), std::move(*resolver)).run();
}

}  // namespace acmednsd::app
