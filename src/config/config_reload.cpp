#include "config/config_reload.hpp"

#include <functional>

namespace acmednsd {
namespace {

enum class Apply { live, restart };

// One configuration key: its name in messages, whether SIGHUP applies it, how to
// compare it and how to copy it from the loaded config into the running one.
struct KeyRule {
  const char* name;
  Apply apply;
  std::function<bool(const Config&, const Config&)> same;
  std::function<void(Config&, const Config&)> copy;
};

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
  return a.host == b.host && a.port == b.port;
}

// Element-wise comparison of two lists with `same`.
template <typename T, typename Same>
bool same_each(const std::vector<T>& a, const std::vector<T>& b, Same same) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

bool same_transport(const DnsTransport& a, const DnsTransport& b) {
  return a.udp == b.udp && a.tcp == b.tcp && a.ipv4 == b.ipv4 && a.ipv6 == b.ipv6;
}

bool same_metrics_listen(const std::optional<Endpoint>& a, const std::optional<Endpoint>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || same_endpoint(*a, *b);
}

// Certificates compare by content; `line` moves when lines above are edited.
bool same_certificate(const CertificateConfig& a, const CertificateConfig& b) {
  return a.name == b.name && a.domains == b.domains && a.challenge_subdomain == b.challenge_subdomain &&
         a.cert_path == b.cert_path && a.key_path == b.key_path && a.key_type == b.key_type &&
         a.reuse_key == b.reuse_key && a.preferred_chain == b.preferred_chain &&
         a.deploy_command == b.deploy_command && a.profile == b.profile && a.challenge == b.challenge;
}

bool same_acme(const AcmeConfig& a, const AcmeConfig& b) {
  return a.directory == b.directory && a.email == b.email && a.agree_terms == b.agree_terms &&
         a.eab_kid == b.eab_kid && a.eab_hmac_key == b.eab_hmac_key && a.ca_bundle == b.ca_bundle &&
         a.state_dir == b.state_dir && a.account_key_type == b.account_key_type && a.resolver == b.resolver &&
         a.check_cnames == b.check_cnames && a.renew_check_interval_seconds == b.renew_check_interval_seconds;
}

bool same_transfer(const TransferConfig& a, const TransferConfig& b) {
  return a.allow == b.allow && a.require_tsig == b.require_tsig &&
         same_each(a.notify, b.notify,
                   [](const NotifyTarget& x, const NotifyTarget& y) {
                     return x.host == y.host && x.port == y.port;
                   }) &&
         a.notify_tsig == b.notify_tsig && a.ixfr_journal == b.ixfr_journal &&
         a.max_transfers == b.max_transfers;
}

bool same_tsig_key(const TsigKeyConfig& a, const TsigKeyConfig& b) {
  return a.name == b.name && a.algorithm == b.algorithm && a.secret == b.secret;
}

// A key compared with == and copied by assignment.
#define ACMEDNSD_KEY(label, apply, member)                                               \
  KeyRule {                                                                              \
    label, apply, [](const Config& a, const Config& b) { return a.member == b.member; }, \
        [](Config& to, const Config& from) { to.member = from.member; }                  \
  }

const std::vector<KeyRule>& key_rules() {
  static const std::vector<KeyRule> rules = {
      // [general]: the zone's data is rebuilt and swapped in; sockets and the store stay.
      {"[general] listen", Apply::restart,
       [](const Config& a, const Config& b) {
         return same_each(a.general.listen, b.general.listen, same_endpoint);
       },
       nullptr},
      {"[general] protocol", Apply::restart,
       [](const Config& a, const Config& b) {
         return same_transport(a.general.protocol, b.general.protocol);
       },
       nullptr},
      ACMEDNSD_KEY("[general] domain", Apply::restart, general.domain),
      ACMEDNSD_KEY("[general] nsname", Apply::live, general.nsname),
      ACMEDNSD_KEY("[general] nsadmin", Apply::live, general.nsadmin),
      {"[general] records", Apply::live,
       [](const Config& a, const Config& b) { return a.general.records == b.general.records; },
       [](Config& to, const Config& from) {
         to.general.records = from.general.records;
         to.general.record_locations = from.general.record_locations;  // for later messages
       }},
      ACMEDNSD_KEY("[general] debug", Apply::live, general.debug),
      ACMEDNSD_KEY("[general] txt_ttl", Apply::live, general.txt_ttl),
      ACMEDNSD_KEY("[general] negative_ttl", Apply::live, general.negative_ttl),
      ACMEDNSD_KEY("[general] static_ttl", Apply::live, general.static_ttl),
      ACMEDNSD_KEY("[general] soa_refresh", Apply::live, general.soa_refresh),
      ACMEDNSD_KEY("[general] soa_retry", Apply::live, general.soa_retry),
      ACMEDNSD_KEY("[general] soa_expire", Apply::live, general.soa_expire),
      ACMEDNSD_KEY("[general] txt_limit", Apply::restart, general.txt_limit),
      ACMEDNSD_KEY("[general] txt_retention", Apply::restart, general.txt_retention_seconds),
      ACMEDNSD_KEY("[general] threads", Apply::restart, general.threads),
      // Applied by each control-plane thread as it starts.
      ACMEDNSD_KEY("[general] control_plane_scheduling", Apply::restart, general.control_plane_scheduling),
      ACMEDNSD_KEY("[general] control_plane_nice", Apply::restart, general.control_plane_nice),
      ACMEDNSD_KEY("[general] tcp_max_connections", Apply::restart, general.tcp_max_connections),
      ACMEDNSD_KEY("[general] tcp_idle_timeout_ms", Apply::restart, general.tcp_idle_timeout_ms),
      // Response buffers are sized from it when the UDP workers start.
      ACMEDNSD_KEY("[general] edns_udp_size", Apply::restart, general.edns_udp_size),
      ACMEDNSD_KEY("[general] rrl_responses_per_second", Apply::restart, general.rrl_responses_per_second),
      ACMEDNSD_KEY("[general] rrl_slip", Apply::restart, general.rrl_slip),
      ACMEDNSD_KEY("[general] rrl_ipv4_prefix", Apply::restart, general.rrl_ipv4_prefix),
      ACMEDNSD_KEY("[general] rrl_ipv6_prefix", Apply::restart, general.rrl_ipv6_prefix),
      ACMEDNSD_KEY("[general] rrl_exempt", Apply::restart, general.rrl_exempt),
      // [database]
      ACMEDNSD_KEY("[database] engine", Apply::restart, database.engine),
      ACMEDNSD_KEY("[database] connection", Apply::restart, database.connection),
      // [api]: who may do what is policy, applied to the next request; sockets, TLS mode
      // and transport limits are fixed when the listener starts.
      ACMEDNSD_KEY("[api] ip", Apply::restart, api.ip),
      ACMEDNSD_KEY("[api] port", Apply::restart, api.port),
      ACMEDNSD_KEY("[api] tls", Apply::restart, api.tls),
      ACMEDNSD_KEY("[api] tls_cert_privkey", Apply::restart, api.tls_cert_privkey),
      ACMEDNSD_KEY("[api] tls_cert_fullchain", Apply::restart, api.tls_cert_fullchain),
      ACMEDNSD_KEY("[api] acme_cache_dir", Apply::restart, api.acme_cache_dir),
      ACMEDNSD_KEY("[api] notification_email", Apply::restart, api.notification_email),
      ACMEDNSD_KEY("[api] disable_registration", Apply::live, api.disable_registration),
      ACMEDNSD_KEY("[api] corsorigins", Apply::live, api.corsorigins),
      ACMEDNSD_KEY("[api] use_header", Apply::live, api.use_header),
      ACMEDNSD_KEY("[api] header_name", Apply::live, api.header_name),
      ACMEDNSD_KEY("[api] trusted_proxies", Apply::live, api.trusted_proxies),
      ACMEDNSD_KEY("[api] registration", Apply::live, api.registration),
      ACMEDNSD_KEY("[api] registration_tokens", Apply::live, api.registration_tokens),
      ACMEDNSD_KEY("[api] registration_allowfrom", Apply::live, api.registration_allowfrom),
      ACMEDNSD_KEY("[api] registration_rate_per_minute", Apply::restart, api.registration_rate_per_minute),
      ACMEDNSD_KEY("[api] registration_rate_exempt", Apply::live, api.registration_rate_exempt),
      ACMEDNSD_KEY("[api] registration_max_accounts", Apply::live, api.registration_max_accounts),
      ACMEDNSD_KEY("[api] auth_failures_per_minute", Apply::restart, api.auth_failures_per_minute),
      {"[api] metrics_listen", Apply::restart,
       [](const Config& a, const Config& b) {
         return same_metrics_listen(a.api.metrics_listen, b.api.metrics_listen);
       },
       nullptr},
      ACMEDNSD_KEY("[api] hsts_enabled", Apply::live, api.hsts),
      ACMEDNSD_KEY("[api] hsts_max_age", Apply::live, api.hsts_max_age),
      ACMEDNSD_KEY("[api] hsts_include_subdomains", Apply::live, api.hsts_include_subdomains),
      ACMEDNSD_KEY("[api] hsts_preload", Apply::live, api.hsts_preload),
      ACMEDNSD_KEY("[api] max_body_bytes", Apply::restart, api.max_body_bytes),
      ACMEDNSD_KEY("[api] max_header_bytes", Apply::restart, api.max_header_bytes),
      ACMEDNSD_KEY("[api] max_connections", Apply::restart, api.max_connections),
      ACMEDNSD_KEY("[api] read_timeout_ms", Apply::restart, api.read_timeout_ms),
      ACMEDNSD_KEY("[api] write_timeout_ms", Apply::restart, api.write_timeout_ms),
      ACMEDNSD_KEY("[api] idle_timeout_ms", Apply::restart, api.idle_timeout_ms),
      // [logconfig]: the level and the query log are read per line; the sink is not.
      ACMEDNSD_KEY("[logconfig] loglevel", Apply::live, log.loglevel),
      ACMEDNSD_KEY("[logconfig] query_log", Apply::live, log.query_log),
      ACMEDNSD_KEY("[logconfig] logtype", Apply::restart, log.logtype),
      ACMEDNSD_KEY("[logconfig] logfile", Apply::restart, log.logfile),
      ACMEDNSD_KEY("[logconfig] logformat", Apply::restart, log.logformat),
      // The ACME client keeps its account and schedule for the life of the process.
      {"[acme]", Apply::restart, [](const Config& a, const Config& b) { return same_acme(a.acme, b.acme); },
       nullptr},
      {"[[certificate]]", Apply::restart,
       [](const Config& a, const Config& b) {
         return same_each(a.certificates, b.certificates, same_certificate);
       },
       nullptr},
      // Zone transfer: the listeners and the NOTIFY sender read it once, at start.
      {"[transfer]", Apply::restart,
       [](const Config& a, const Config& b) { return same_transfer(a.transfer, b.transfer); }, nullptr},
      {"[tsig_key]", Apply::restart,
       [](const Config& a, const Config& b) { return same_each(a.tsig_keys, b.tsig_keys, same_tsig_key); },
       nullptr},
      // DNSSEC: the signer is built at start (keys are re-read live, the settings not).
      {"[dnssec]", Apply::restart,
       [](const Config& a, const Config& b) {
         return a.dnssec.enabled == b.dnssec.enabled && a.dnssec.algorithm == b.dnssec.algorithm &&
                a.dnssec.signature_validity == b.dnssec.signature_validity &&
                a.dnssec.refresh == b.dnssec.refresh && a.dnssec.key_roll == b.dnssec.key_roll;
       },
       nullptr},
  };
  return rules;
}

#undef ACMEDNSD_KEY

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& loaded) {
  ReloadPlan plan;
  for (const auto& rule : key_rules()) {
    if (rule.same(running, loaded)) continue;
    (rule.apply == Apply::live ? plan.applied : plan.needs_restart).emplace_back(rule.name);
  }
  return plan;
}

std::vector<std::string> reload_rule_names() {
  std::vector<std::string> names;
  for (const auto& rule : key_rules()) names.emplace_back(rule.name);
  return names;
}

Config merge_live_keys(const Config& running, const Config& loaded) {
  Config merged = running;
  for (const auto& rule : key_rules()) {
    if (rule.apply == Apply::live) rule.copy(merged, loaded);
  }
  merged.warnings = loaded.warnings;
  return merged;
}

}  // namespace acmednsd
