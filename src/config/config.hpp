// The one immutable, validated configuration of acme-dnsd.
//
// A superset of acme-dns's config.cfg: its sections and keys keep their meaning,
// new behaviour lives in new keys with compatible defaults. Every key is documented
// in config.toml.example, which a test loads so the two cannot drift.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/threads.hpp"
#include "config/dnssec_config.hpp"
#include "config/transfer_config.hpp"

namespace acmednsd {

// One "host:port" endpoint. host is empty for "all addresses" (":53"), IPv6
// literals are stored without brackets.
struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

struct DnsTransport {
  bool udp = true;
  bool tcp = true;
  bool ipv4 = true;  // acme-dns "udp4"/"tcp4"/"both4" restrict the address family
  bool ipv6 = true;
};

struct GeneralConfig {
  std::vector<Endpoint> listen;               // "listen": a string or an array of strings
  DnsTransport protocol;                      // "protocol": both|both4|both6|udp|udp4|udp6|tcp|tcp4|tcp6
  std::string domain;                         // the zone, lowercase, no trailing dot
  std::string nsname;                         // lowercase, no trailing dot
  std::string nsadmin;                        // SOA RNAME, "admin.example.org" (no '@')
  std::vector<std::string> records;           // static records in presentation format
  std::vector<std::string> record_locations;  // "file:line" of each record, for messages
  bool debug = false;

  // Extensions (compatible defaults).
  std::uint32_t txt_ttl = 1;        // TTL of the challenge TXT RRsets
  std::uint32_t negative_ttl = 5;   // SOA TTL / minimum in negative answers (<= 60)
  std::uint32_t static_ttl = 3600;  // default TTL of static records without one
  std::uint32_t soa_refresh = 28800;
  std::uint32_t soa_retry = 7200;
  std::uint32_t soa_expire = 604800;
  std::uint32_t txt_limit = 100;                     // values kept per account
  std::int64_t txt_retention_seconds = 24LL * 3600;  // older values expire (2 newest always kept)
  unsigned threads = 0;                              // 0 = number of cores
  // How the API/store/ACME threads yield the CPU to DNS: SCHED_IDLE, a nice increment,
  // or (auto) SCHED_IDLE only in a CPU cgroup of acme-dnsd's own (common/cpu_cgroup.hpp).
  ControlPlanePolicy control_plane_scheduling = ControlPlanePolicy::automatic;
  // The increment with the nice policy. 5, not more: beside busy processes a thread at
  // nice 10 gets a tenth of a nice-0 one, and a bcrypt first use took a second.
  int control_plane_nice = 5;
  std::uint32_t tcp_max_connections = 1024;
  std::uint32_t tcp_idle_timeout_ms = 10000;
  std::uint32_t edns_udp_size = 1232;
  // Response-rate limiting of UDP answers per source prefix (0 = off). On by default at
  // a rate no CA's validation traffic reaches (docs/configuration.md says why 500).
  std::uint32_t rrl_responses_per_second = 500;
  std::uint32_t rrl_slip = 2;
  std::uint32_t rrl_ipv4_prefix = 24;
  std::uint32_t rrl_ipv6_prefix = 56;
  // Sources never limited (BIND's exempt-clients): no spoofed packet from the internet
  // carries a loopback source, and local monitoring must not be throttled.
  std::vector<std::string> rrl_exempt = {"127.0.0.0/8", "::1/128"};
};

struct DatabaseConfig {
  std::string engine = "sqlite3";
  std::string connection = "data/acme-dnsd.db";
};

enum class TlsMode { none, cert, acme, letsencrypt, letsencryptstaging };

enum class RegistrationPolicy { open, disabled, token };

struct ApiConfig {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 8053;
  bool disable_registration = false;
  TlsMode tls = TlsMode::none;
  std::string tls_cert_privkey;
  std::string tls_cert_fullchain;
  std::string acme_cache_dir = "api-certs";
  std::string notification_email;
  std::vector<std::string> corsorigins;
  bool use_header = false;
  std::string header_name = "X-Forwarded-For";

  // Extensions.
  std::vector<std::string> trusted_proxies;  // CIDRs; empty = acme-dns behaviour
  RegistrationPolicy registration = RegistrationPolicy::open;
  std::vector<std::string> registration_tokens;
  std::vector<std::string> registration_allowfrom;  // CIDRs allowed to register
  // Per source address (IPv6: per /64), 0 = unlimited. The bucket holds a minute's
  // worth, so a bulk registration of 100 names at once passes.
  std::uint32_t registration_rate_per_minute = 300;
  std::vector<std::string> registration_rate_exempt = {"127.0.0.0/8", "::1/128"};
  // /register answers 503 once this many accounts exist (0 = unlimited); the CLI's
  // `accounts add` and imports are the operator's own and are not capped.
  std::uint32_t registration_max_accounts = 100000;
  std::uint32_t auth_failures_per_minute = 0;  // per source address, 0 = unlimited
  std::optional<Endpoint> metrics_listen;      // unset = served on the API listener
  bool hsts = false;                           // acme-dns key: hsts_enabled
  std::uint32_t hsts_max_age = 31536000;
  bool hsts_include_subdomains = false;
  bool hsts_preload = false;
  std::uint32_t max_body_bytes = 64 * 1024;
  std::uint32_t max_header_bytes = 8 * 1024;
  std::uint32_t max_connections = 1024;
  std::uint32_t read_timeout_ms = 10000;
  std::uint32_t write_timeout_ms = 10000;
  std::uint32_t idle_timeout_ms = 60000;
};

enum class LogLevel { error = 0, warning = 1, info = 2, debug = 3 };
enum class LogFormat { text, json };

struct LogConfig {
  LogLevel loglevel = LogLevel::info;
  std::string logtype = "stdout";  // stdout | file
  std::string logfile;
  LogFormat logformat = LogFormat::text;
  bool query_log = false;
};

// [acme]: the embedded ACME client (RFC 8555).
struct AcmeConfig {
  // Directory URL. tls = "letsencrypt"/"letsencryptstaging" imply Let's Encrypt's.
  std::string directory = "https://acme-v02.api.letsencrypt.org/directory";
  std::string email;                       // account contact; [api] notification_email if unset
  bool agree_terms = false;                // must be true to create an account
  std::string eab_kid;                     // External Account Binding (RFC 8555 section 7.3.4)
  std::string eab_hmac_key;                // base64url
  std::string ca_bundle;                   // PEM trusted for the directory's TLS (private CA, Pebble)
  std::string state_dir = "data/acme";     // account key, certificates, renewal state (0700)
  std::string account_key_type = "ec256";  // ec256 | rsa2048
  std::string resolver;                    // "host:port" used to check CNAME delegation; empty = system
  bool check_cnames = true;
  std::uint32_t renew_check_interval_seconds = 3600;
};

// [[certificate]]: a certificate the embedded client obtains and renews.
struct CertificateConfig {
  std::string name;                  // identifier used by the CLI and state files
  std::vector<std::string> domains;  // may contain wildcards
  // The account subdomain (a UUID label) that the domains' _acme-challenge CNAMEs
  // point to; empty when every domain lies inside general.domain.
  std::string challenge_subdomain;
  std::string cert_path;           // PEM full chain, written atomically 0600
  std::string key_path;            // PEM private key, 0600
  std::string key_type = "ec256";  // ec256 | ec384 | rsa2048 | rsa3072 | rsa4096
  bool reuse_key = false;
  std::string preferred_chain;  // issuer common name of the preferred chain
  std::string deploy_command;   // run (sh -c) after each issuance
  // The CA's certificate profile (draft-ietf-acme-profiles), checked against the
  // directory's meta.profiles before ordering; empty: the CA's default.
  std::string profile;
  // How names are validated: dns-01, dns-account-01 (draft-ietf-acme-dns-account-label),
  // or auto (dns-account-01 where the CA offers it, else dns-01).
  std::string challenge = "dns-01";
  int line = 0;  // where it was defined, for messages
};

struct Config {
  std::string source_path;
  GeneralConfig general;
  DatabaseConfig database;
  ApiConfig api;
  LogConfig log;
  AcmeConfig acme;
  std::vector<CertificateConfig> certificates;
  // Zone transfer (transfer_config.hpp).
  TransferConfig transfer;
  std::vector<TsigKeyConfig> tsig_keys;
  DnssecConfig dnssec;  // [dnssec], read by config_dnssec.cpp
  // Non-fatal remarks found while loading (legacy keys, spoofable header...).
  std::vector<std::string> warnings;
};

// Parses and validates a TOML document. Errors name the file, line, key and value:
//   "config.toml:12: [general] listen: \"x\" is not host:port".
Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);

// Reads `path` and parses it.
Result<Config> load_config(const std::string& path);

// Default search: /etc/acme-dnsd/config.toml, then ./config.toml.
std::string default_config_path();

}  // namespace acmednsd
