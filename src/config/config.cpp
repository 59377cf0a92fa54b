// TOML -> Config. Every key is read through a SectionReader that knows the key's type
// and range, so an error always names the file, line, section, key and value, and any
// key nobody read is reported as unknown (a typo must not silently mean "default").
#include "config/config.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "common/encoding.hpp"
#include "config/config_database.hpp"
#include "config/config_dnssec.hpp"
#include "config/config_transfer.hpp"
#include "config/config_values.hpp"

namespace acmednsd {
namespace {

namespace cv = config_values;
using config_detail::Errors;
using config_detail::line_of;
using config_detail::section;
using config_detail::SectionReader;

void read_general(SectionReader r, Config& c) {
  auto& g = c.general;
  std::vector<std::string> listen{"127.0.0.1:5353"};
  r.read("listen", listen, true);
  if (listen.empty()) r.fail_at(r.line(), "listen", "needs at least one address");
  for (const auto& l : listen) {
    if (auto e = cv::parse_endpoint(l)) {
      g.listen.push_back(*e);
    } else if (r.node("listen")->is_string()) {
      r.fail(*r.node("listen"), "listen", "is not host:port (IPv6 as [::1]:53)");
    } else {
      r.fail(*r.node("listen"), "listen", "has \"" + l + "\", which is not host:port (IPv6 as [::1]:53)");
    }
  }
  std::string protocol = "both";
  if (r.read("protocol", protocol)) {
    if (auto p = cv::parse_protocol(protocol)) {
      g.protocol = *p;
    } else {
      r.fail(*r.node("protocol"), "protocol",
             "is not one of both, both4, both6, udp, udp4, udp6, tcp, tcp4, tcp6");
    }
  }
  const auto name_key = [&r](std::string_view key, std::string& out, bool required) {
    std::string raw;
    if (!r.read(key, raw)) {
      if (required) r.fail_at(r.line(), key, "is required");
      return;
    }
    if (auto n = cv::normalize_domain(raw)) {
      out = *n;
    } else {
      r.fail(*r.node(key), key, "is not a domain name");
    }
  };
  name_key("domain", g.domain, true);
  name_key("nsname", g.nsname, false);
  std::string admin;
  if (r.read("nsadmin", admin)) {
    // acme-dns documents nsadmin as an e-mail address with '@' written as '.'; accept both.
    if (const auto at = admin.find('@'); at != std::string::npos) admin[at] = '.';
    if (auto n = cv::normalize_domain(admin)) {
      g.nsadmin = *n;
    } else {
      r.fail(*r.node("nsadmin"), "nsadmin", "is not a mailbox name like admin.example.org");
    }
  }
  if (g.nsname.empty()) g.nsname = g.domain;
  if (g.nsadmin.empty() && !g.domain.empty()) g.nsadmin = "hostmaster." + g.domain;
  r.read("records", g.records, false, &g.record_locations);
  r.read("debug", g.debug);
  r.read("txt_ttl", g.txt_ttl, 0, 86400);
  r.read("negative_ttl", g.negative_ttl, 0, 60);
  r.read("static_ttl", g.static_ttl, 0, 604800);
  r.read("soa_refresh", g.soa_refresh, 1, 2147483647);
  r.read("soa_retry", g.soa_retry, 1, 2147483647);
  r.read("soa_expire", g.soa_expire, 1, 2147483647);
  r.read("txt_limit", g.txt_limit, 2, 1000);
  r.read_duration("txt_retention", g.txt_retention_seconds, 0, 365LL * 86400);
  r.read("threads", g.threads, 0, 256);
  r.read_enum("control_plane_scheduling", g.control_plane_scheduling,
              {{"auto", ControlPlanePolicy::automatic},
               {"idle", ControlPlanePolicy::idle},
               {"nice", ControlPlanePolicy::nice}});
  r.read("control_plane_nice", g.control_plane_nice, 0, 19);
  r.read("tcp_max_connections", g.tcp_max_connections, 1, 1000000);
  r.read("tcp_idle_timeout_ms", g.tcp_idle_timeout_ms, 100, 3600000);
  r.read("edns_udp_size", g.edns_udp_size, 512, 4096);
  r.read("rrl_responses_per_second", g.rrl_responses_per_second, 0, 1000000);
  r.read("rrl_slip", g.rrl_slip, 0, 10);
  r.read("rrl_ipv4_prefix", g.rrl_ipv4_prefix, 8, 32);
  r.read("rrl_ipv6_prefix", g.rrl_ipv6_prefix, 16, 128);
  r.read_cidrs("rrl_exempt", g.rrl_exempt);
  r.reject_unknown();
}

void read_database(SectionReader r, Config& c) {
  auto& d = c.database;
  if (r.read("engine", d.engine)) {
    if (d.engine == "sqlite") d.engine = "sqlite3";
    if (d.engine == "postgresql") d.engine = "postgres";
    if (d.engine != "sqlite3" && d.engine != "postgres") {
      r.fail(*r.node("engine"), "engine", "is not one of sqlite3, sqlite, postgres");
    }
  }
  if (!r.read("connection", d.connection)) {
    // The SQLite default file is no PostgreSQL connection.
    if (d.engine == "postgres") r.fail_at(r.line(), "connection", "is required with engine = \"postgres\"");
    return r.reject_unknown();
  }
  if (d.engine == "postgres") {
    // Never echoes the value: it may hold the password.
    if (auto why = config_database::postgres_connection_error(d.connection); !why.empty()) {
      r.fail_at(line_of(*r.node("connection")), "connection", why);
    }
  } else if (d.connection.empty()) {
    r.fail(*r.node("connection"), "connection", "must name the SQLite database file");
  }
  r.reject_unknown();
}

void read_api(SectionReader r, Config& c) {
  auto& a = c.api;
  if (r.read("ip", a.ip) && !a.ip.empty() && !cv::is_ip_literal(a.ip) && a.ip != "localhost") {
    r.fail(*r.node("ip"), "ip", "is not an IP address");
  }
  if (a.ip == "localhost") a.ip = "127.0.0.1";
  r.read("port", a.port, 1, 65535);
  r.read("disable_registration", a.disable_registration);
  r.read_enum("tls", a.tls,
              {{"none", TlsMode::none},
               {"cert", TlsMode::cert},
               {"acme", TlsMode::acme},
               {"letsencrypt", TlsMode::letsencrypt},
               {"letsencryptstaging", TlsMode::letsencryptstaging}});
  r.read("tls_cert_privkey", a.tls_cert_privkey);
  r.read("tls_cert_fullchain", a.tls_cert_fullchain);
  if (a.tls == TlsMode::cert && (a.tls_cert_privkey.empty() || a.tls_cert_fullchain.empty())) {
    r.fail_at(r.line(), "tls", "= \"cert\" needs tls_cert_privkey and tls_cert_fullchain");
  }
  r.read("acme_cache_dir", a.acme_cache_dir);
  r.read("notification_email", a.notification_email);
  r.read("corsorigins", a.corsorigins);
  // acme-dns's CORS library treats an empty list as "any origin"; keep that meaning.
  if (a.corsorigins.empty()) a.corsorigins = {"*"};
  r.read("use_header", a.use_header);
  r.read("header_name", a.header_name);
  r.read("hsts_enabled", a.hsts);
  r.read("hsts_max_age", a.hsts_max_age, 0, 2147483647);
  r.read("hsts_include_subdomains", a.hsts_include_subdomains);
  r.read("hsts_preload", a.hsts_preload);
  r.legacy("api_domain", "the API certificate is for general.domain", c.warnings);
  r.legacy("autocert_port", "DNS-01 is used for the API certificate, no HTTP port is needed", c.warnings);
  r.read_cidrs("trusted_proxies", a.trusted_proxies);
  r.read_enum("registration", a.registration,
              {{"open", RegistrationPolicy::open},
               {"disabled", RegistrationPolicy::disabled},
               {"token", RegistrationPolicy::token}});
  if (a.disable_registration) a.registration = RegistrationPolicy::disabled;
  r.read("registration_tokens", a.registration_tokens);
  if (a.registration == RegistrationPolicy::token && a.registration_tokens.empty()) {
    r.fail_at(r.line(), "registration", "= \"token\" needs registration_tokens");
  }
  r.read_cidrs("registration_allowfrom", a.registration_allowfrom);
  r.read("registration_rate_per_minute", a.registration_rate_per_minute, 0, 1000000);
  r.read_cidrs("registration_rate_exempt", a.registration_rate_exempt);
  r.read("registration_max_accounts", a.registration_max_accounts, 0, 100000000);
  r.read("auth_failures_per_minute", a.auth_failures_per_minute, 0, 1000000);
  std::string metrics;
  if (r.read("metrics_listen", metrics) && !metrics.empty()) {
    if (auto e = cv::parse_endpoint(metrics)) {
      a.metrics_listen = *e;
    } else {
      r.fail(*r.node("metrics_listen"), "metrics_listen", "is not host:port");
    }
  }
  r.read("max_body_bytes", a.max_body_bytes, 256, 16 * 1024 * 1024);
  r.read("max_header_bytes", a.max_header_bytes, 1024, 1024 * 1024);
  r.read("max_connections", a.max_connections, 1, 1000000);
  r.read("read_timeout_ms", a.read_timeout_ms, 100, 3600000);
  r.read("write_timeout_ms", a.write_timeout_ms, 100, 3600000);
  r.read("idle_timeout_ms", a.idle_timeout_ms, 100, 3600000);
  if (a.use_header && a.trusted_proxies.empty()) {
    c.warnings.push_back("[api] use_header = true without trusted_proxies: any client can set " +
                         a.header_name + " and pass allowfrom checks; list your proxies in trusted_proxies");
  }
  r.reject_unknown();
}

void read_log(SectionReader r, Config& c) {
  auto& l = c.log;
  r.read_enum("loglevel", l.loglevel,
              {{"error", LogLevel::error},
               {"warning", LogLevel::warning},
               {"warn", LogLevel::warning},
               {"info", LogLevel::info},
               {"debug", LogLevel::debug}});
  if (r.read("logtype", l.logtype) && l.logtype != "stdout" && l.logtype != "file") {
    r.fail(*r.node("logtype"), "logtype", "is not one of stdout, file");
  }
  r.read("logfile", l.logfile);
  if (l.logtype == "file" && l.logfile.empty()) r.fail_at(r.line(), "logtype", "= \"file\" needs logfile");
  r.read_enum("logformat", l.logformat, {{"text", LogFormat::text}, {"json", LogFormat::json}});
  r.read("query_log", l.query_log);
  r.reject_unknown();
}

void read_acme(SectionReader r, Config& c) {
  auto& a = c.acme;
  r.read("directory", a.directory);
  r.read("email", a.email);
  r.read("agree_terms", a.agree_terms);
  r.read("eab_kid", a.eab_kid);
  r.read("eab_hmac_key", a.eab_hmac_key);
  if (a.eab_kid.empty() != a.eab_hmac_key.empty()) {
    r.fail_at(r.line(), "eab_kid", "and eab_hmac_key must be set together");
  }
  r.read("ca_bundle", a.ca_bundle);
  r.read("state_dir", a.state_dir);
  std::string kt;
  if (r.read("account_key_type", kt)) {
    if (kt != "ec256" && kt != "rsa2048")
      r.fail(*r.node("account_key_type"), "account_key_type", "is not one of ec256, rsa2048");
    a.account_key_type = kt;
  }
  if (r.read("resolver", a.resolver) && !a.resolver.empty() && !cv::parse_endpoint(a.resolver)) {
    r.fail(*r.node("resolver"), "resolver", "is not host:port");
  }
  r.read("check_cnames", a.check_cnames);
  r.read("renew_check_interval_seconds", a.renew_check_interval_seconds, 60, 86400 * 7);
  if (a.email.empty()) a.email = c.api.notification_email;
  r.reject_unknown();
}

// The ACME-protocol choices of one [[certificate]] (issue 18): kept apart so the list of
// plain keys above stays easy to merge.
void read_certificate_acme_options(SectionReader& r, CertificateConfig& cert) {
  if (r.read("profile", cert.profile)) {
    // A profile name is a token in the CA's directory; whether the CA offers it is
    // checked against meta.profiles before each order.
    const bool token = !cert.profile.empty() && cert.profile.size() <= 64 &&
                       cert.profile.find_first_not_of(
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                           "0123456789._-") == std::string::npos;
    if (!token) r.fail(*r.node("profile"), "profile", "is not a profile name (letters, digits, . _ -)");
  }
  if (r.read("challenge", cert.challenge)) {
    static const std::set<std::string> kChallenges = {"dns-01", "dns-account-01", "dns-persist-01", "auto"};
    if (!kChallenges.contains(cert.challenge)) {
      r.fail(*r.node("challenge"), "challenge", "is not one of dns-01, dns-account-01, dns-persist-01, auto");
    }
  }
}

void read_certificates(const toml::table& root, Config& c, Errors& errors) {
  const auto* n = root.get("certificate");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr) return errors.add(line_of(*n), "certificate", "must be written as [[certificate]] tables");
  std::set<std::string> names;
  for (const auto& el : *arr) {
    const auto* t = el.as_table();
    if (!t) {
      errors.add(line_of(el), "certificate", "must be a table");
      continue;
    }
    SectionReader r(t, "[certificate]", line_of(el), errors);
    CertificateConfig cert;
    cert.line = line_of(el);
    r.read("name", cert.name);
    std::vector<std::string> domains;
    if (r.read("domains", domains)) {
      for (const auto& d : domains) {
        const bool wildcard = d.rfind("*.", 0) == 0;
        auto norm = cv::normalize_domain(wildcard ? d.substr(2) : d);
        if (!norm) {
          r.fail(*r.node("domains"), "domains", "has \"" + d + "\", which is not a domain name");
        } else {
          cert.domains.push_back(wildcard ? "*." + *norm : *norm);
        }
      }
    }
    if (cert.domains.empty()) r.fail_at(cert.line, "domains", "needs at least one name");
    if (cert.name.empty() && !cert.domains.empty()) cert.name = cert.domains.front();
    if (!names.insert(cert.name).second) r.fail_at(cert.line, "name", "\"" + cert.name + "\" is used twice");
    if (r.read("challenge_subdomain", cert.challenge_subdomain)) {
      cert.challenge_subdomain = cv::normalize_domain(cert.challenge_subdomain).value_or("");
    }
    r.read("cert_path", cert.cert_path);
    r.read("key_path", cert.key_path);
    std::string kt;
    if (r.read("key_type", kt)) {
      static const std::set<std::string> kTypes = {"ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"};
      if (!kTypes.contains(kt))
        r.fail(*r.node("key_type"), "key_type", "is not one of ec256, ec384, rsa2048, rsa3072, rsa4096");
      cert.key_type = kt;
    }
    r.read("reuse_key", cert.reuse_key);
    r.read("preferred_chain", cert.preferred_chain);
    r.read("deploy_command", cert.deploy_command);
    read_certificate_acme_options(r, cert);
    r.reject_unknown();
    c.certificates.push_back(std::move(cert));
  }
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
  Errors errors{std::string(source_name)};
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    errors.add(static_cast<int>(e.source().begin.line), "syntax", std::string(e.description()));
    return make_error("config_syntax", errors.joined());
  }
  Config c;
  c.source_path = std::string(source_name);
  read_general(section(root, "general", errors), c);
  read_database(section(root, "database", errors), c);
  read_api(section(root, "api", errors), c);
  read_log(section(root, "logconfig", errors), c);
  read_acme(section(root, "acme", errors), c);
  read_certificates(root, c, errors);
  config_detail::read_tsig_keys(root, c, errors);  // before [transfer], which names the keys
  config_detail::read_transfer(section(root, "transfer", errors), c);
  std::vector<DnssecConfigError> dnssec_errors;
  read_dnssec_config(root, c.dnssec, dnssec_errors);
  for (const auto& e : dnssec_errors)
    errors.add(e.line, e.key.empty() ? "[dnssec]" : "[dnssec] " + e.key, e.text);
  if (c.api.tls == TlsMode::letsencrypt) {
    c.acme.directory = "https://acme-v02.api.letsencrypt.org/directory";
  } else if (c.api.tls == TlsMode::letsencryptstaging) {
    c.acme.directory = "https://acme-staging-v02.api.letsencrypt.org/directory";
  }
  static const std::set<std::string> kSections = {"general",     "database", "api",      "logconfig", "acme",
                                                  "certificate", "transfer", "tsig_key", "dnssec"};
  for (const auto& [k, v] : root) {
    if (!kSections.contains(std::string(k.str()))) {
      errors.add(static_cast<int>(k.source().begin.line), k.str(), "unknown section or key");
    }
  }
  if (!errors.empty()) return make_error("config_invalid", errors.joined());
  return c;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("config_unreadable", path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

std::string default_config_path() {
  std::ifstream etc("/etc/acme-dnsd/config.toml");
  return etc ? "/etc/acme-dnsd/config.toml" : "config.toml";
}

}  // namespace acmednsd
