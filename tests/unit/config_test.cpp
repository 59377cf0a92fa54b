#include "catch_compat.hpp"

#include "config/config.hpp"
#include "config/config_database.hpp"

using namespace acmednsd;

namespace {

constexpr const char* kMinimal = "[general]\ndomain = \"auth.example.org\"\n";

Error error_of(const std::string& text) {
  auto c = parse_config(text, "test.toml");
  REQUIRE_FALSE(c.ok());
  return c.error();
}

}  // namespace

TEST_CASE("config.toml.example loads and documents its defaults") {
  auto c = load_config(std::string(ACMEDNSD_SOURCE_DIR) + "/config.toml.example");
  INFO((c.ok() ? "" : c.error().message));
  REQUIRE(c.ok());
  CHECK(c->general.domain == "auth.example.test");
  CHECK_FALSE(c->general.listen.empty());
  CHECK(c->general.listen[0].host == "127.0.0.1");
  CHECK(c->general.listen[0].port > 1024);  // the quick start needs no privileges
  CHECK(c->api.port > 1024);
  CHECK(c->api.tls == TlsMode::none);
}

TEST_CASE("an unmodified acme-dns config.cfg loads with the same meaning") {
  auto c = load_config(std::string(ACMEDNSD_SOURCE_DIR) + "/tests/data/acme-dns-config.cfg");
  INFO((c.ok() ? "" : c.error().message));
  REQUIRE(c.ok());
  CHECK(c->general.listen.size() == 1);
  CHECK(c->general.listen[0].host == "127.0.0.1");
  CHECK(c->general.listen[0].port == 53);
  CHECK(c->general.protocol.udp);
  CHECK(c->general.protocol.tcp);
  CHECK(c->general.domain == "auth.example.org");
  CHECK(c->general.nsname == "auth.example.org");
  CHECK(c->general.nsadmin == "admin.example.org");
  REQUIRE(c->general.records.size() == 2);
  CHECK(c->general.records[0] == "auth.example.org. A 198.51.100.1");
  CHECK(c->database.engine == "sqlite3");
  CHECK(c->database.connection == "/var/lib/acme-dns/acme-dns.db");
  CHECK(c->api.ip == "0.0.0.0");
  CHECK(c->api.port == 443);  // acme-dns writes the port as a string
  CHECK(c->api.tls == TlsMode::letsencryptstaging);
  CHECK(c->acme.directory.find("staging") != std::string::npos);
  CHECK(c->api.corsorigins == std::vector<std::string>{"*"});
  CHECK(c->api.header_name == "X-Forwarded-For");
  CHECK(c->log.loglevel == LogLevel::debug);
  CHECK(c->log.logformat == LogFormat::text);
  // Legacy keys are accepted with a warning.
  bool warned = false;
  for (const auto& w : c->warnings) warned = warned || w.find("api_domain") != std::string::npos;
  CHECK(warned);
}

TEST_CASE("listen takes a string or an array, IPv4 and IPv6") {
  auto c = parse_config(
      std::string(kMinimal) + "listen = [\"127.0.0.1:5353\", \"[::1]:5354\", \":53\"]\nprotocol = \"udp6\"\n",
      "t");
  REQUIRE(c.ok());
  REQUIRE(c->general.listen.size() == 3);
  CHECK(c->general.listen[1].host == "::1");
  CHECK(c->general.listen[1].port == 5354);
  CHECK(c->general.listen[2].host.empty());
  CHECK(c->general.protocol.udp);
  CHECK_FALSE(c->general.protocol.tcp);
  CHECK_FALSE(c->general.protocol.ipv4);
  CHECK(c->general.protocol.ipv6);
}

TEST_CASE("defaults of the extensions are compatible") {
  auto c = parse_config(kMinimal, "t");
  REQUIRE(c.ok());
  CHECK(c->general.txt_limit == 100);
  CHECK(c->general.txt_retention_seconds == 86400);
  CHECK(c->general.txt_ttl == 1);
  CHECK(c->general.negative_ttl <= 60);
  CHECK(c->general.nsname == "auth.example.org");
  CHECK(c->api.registration == RegistrationPolicy::open);
  CHECK(c->api.max_body_bytes == 65536);
}

TEST_CASE("the control plane yields to DNS: auto by default, SCHED_IDLE, or a nice increment") {
  auto c = parse_config(kMinimal, "t");
  REQUIRE(c.ok());
  CHECK(c->general.control_plane_scheduling == ControlPlanePolicy::automatic);
  CHECK(c->general.control_plane_nice == 5);
  c = parse_config(std::string(kMinimal) + "control_plane_scheduling = \"nice\"\ncontrol_plane_nice = 19\n",
                   "t");
  REQUIRE(c.ok());
  CHECK(c->general.control_plane_scheduling == ControlPlanePolicy::nice);
  CHECK(c->general.control_plane_nice == 19);
  c = parse_config(std::string(kMinimal) + "control_plane_scheduling = \"idle\"\n", "t");
  REQUIRE(c.ok());
  CHECK(c->general.control_plane_scheduling == ControlPlanePolicy::idle);
  c = parse_config(std::string(kMinimal) + "control_plane_scheduling = \"auto\"\n", "t");
  REQUIRE(c.ok());
  CHECK(c->general.control_plane_scheduling == ControlPlanePolicy::automatic);
  // An acme-dns config.cfg has neither key: the default applies.
  c = load_config(std::string(ACMEDNSD_SOURCE_DIR) + "/tests/data/acme-dns-config.cfg");
  REQUIRE(c.ok());
  CHECK(c->general.control_plane_scheduling == ControlPlanePolicy::automatic);
}

TEST_CASE("safe defaults: RRL on with loopback exempt, registration rate and cap") {
  auto c = parse_config(kMinimal, "t");
  REQUIRE(c.ok());
  CHECK(c->general.rrl_responses_per_second == 500);
  CHECK(c->general.rrl_slip == 2);
  CHECK(c->general.rrl_exempt == std::vector<std::string>{"127.0.0.0/8", "::1/128"});
  CHECK(c->api.registration_rate_per_minute == 300);
  CHECK(c->api.registration_rate_exempt == std::vector<std::string>{"127.0.0.0/8", "::1/128"});
  CHECK(c->api.registration_max_accounts == 100000);
  // The same defaults for an unmodified acme-dns config.cfg.
  c = load_config(std::string(ACMEDNSD_SOURCE_DIR) + "/tests/data/acme-dns-config.cfg");
  REQUIRE(c.ok());
  CHECK(c->general.rrl_responses_per_second == 500);
  CHECK(c->api.registration_max_accounts == 100000);
  // Each can be turned off or emptied.
  c = parse_config(
      std::string(kMinimal) +
          "rrl_responses_per_second = 0\nrrl_exempt = []\n[api]\nregistration_rate_per_minute = 0\n"
          "registration_rate_exempt = []\nregistration_max_accounts = 0\n",
      "t");
  REQUIRE(c.ok());
  CHECK(c->general.rrl_responses_per_second == 0);
  CHECK(c->general.rrl_exempt.empty());
  CHECK(c->api.registration_rate_per_minute == 0);
  CHECK(c->api.registration_rate_exempt.empty());
  CHECK(c->api.registration_max_accounts == 0);
  // A bad CIDR names the key.
  c = parse_config(std::string(kMinimal) + "rrl_exempt = [\"127.0.0.1\"]\n", "t");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("rrl_exempt") != std::string::npos);
}

TEST_CASE("durations accept seconds and units") {
  auto c = parse_config(std::string(kMinimal) + "txt_retention = \"2h\"\n", "t");
  REQUIRE(c.ok());
  CHECK(c->general.txt_retention_seconds == 7200);
}

TEST_CASE("each error names the file, line, key and value") {
  SECTION("unknown key") {
    auto e = error_of(std::string(kMinimal) + "listn = \"127.0.0.1:53\"\n");
    CHECK(e.message == "test.toml:3: [general] listn: unknown key");
  }
  SECTION("unknown section") {
    auto e = error_of(std::string(kMinimal) + "[apii]\nport = 1\n");
    CHECK(e.message.find("test.toml:3: apii: unknown section") == 0);
  }
  SECTION("wrong type") {
    auto e = error_of(std::string(kMinimal) + "debug = \"yes\"\n");
    CHECK(e.message == "test.toml:3: [general] debug: \"yes\" is not true or false");
  }
  SECTION("out of range") {
    auto e = error_of(std::string(kMinimal) + "[api]\nport = 70000\n");
    CHECK(e.message == "test.toml:4: [api] port: 70000 is out of range 1..65535");
  }
  SECTION("port string that is not a number") {
    auto e = error_of(std::string(kMinimal) + "[api]\nport = \"https\"\n");
    CHECK(e.message == "test.toml:4: [api] port: \"https\" is not a whole number");
  }
  SECTION("bad address") {
    auto e = error_of(std::string(kMinimal) + "listen = \"::1:53\"\n");
    CHECK(e.message.find("test.toml:3: [general] listen:") == 0);
    CHECK(e.message.find("::1:53") != std::string::npos);
  }
  SECTION("bad CIDR") {
    auto e = error_of(std::string(kMinimal) + "[api]\ntrusted_proxies = [\"10.0.0.1\"]\n");
    CHECK(e.message.find("test.toml:4: [api] trusted_proxies:") == 0);
    CHECK(e.message.find("10.0.0.1") != std::string::npos);
  }
  SECTION("missing domain") {
    auto e = error_of("[general]\nlisten = \"127.0.0.1:53\"\n");
    CHECK(e.message == "test.toml:1: [general] domain: is required");
  }
  SECTION("negative TTL over 60 s") {
    auto e = error_of(std::string(kMinimal) + "negative_ttl = 3600\n");
    CHECK(e.message.find("[general] negative_ttl: 3600 is out of range 0..60") != std::string::npos);
  }
  SECTION("enum value") {
    auto e = error_of(std::string(kMinimal) + "[api]\ntls = \"yes\"\n");
    CHECK(e.message.find("test.toml:4: [api] tls: \"yes\" is not one of: none, cert") == 0);
  }
  SECTION("unknown database engine") {
    auto e = error_of(std::string(kMinimal) + "[database]\nengine = \"mysql\"\n");
    CHECK(e.message.find(
              "test.toml:4: [database] engine: \"mysql\" is not one of sqlite3, sqlite, postgres") == 0);
  }
  SECTION("postgres without a connection string") {
    auto e = error_of(std::string(kMinimal) + "[database]\nengine = \"postgres\"\n");
    CHECK(e.message.find("[database] connection: is required with engine = \"postgres\"") !=
          std::string::npos);
  }
  SECTION("a bad postgres connection string names the line and key, never the password") {
    auto e = error_of(std::string(kMinimal) +
                      "[database]\nengine = \"postgres\"\nconnection = \"host=db password=s3cret bogus\"\n");
    CHECK(e.message.find("test.toml:5: [database] connection: is not a PostgreSQL connection string") == 0);
    CHECK(e.message.find("s3cret") == std::string::npos);
    auto url = error_of(
        std::string(kMinimal) +
        "[database]\nengine = \"postgres\"\nconnection = \"postgres://u:s3cret@db/x?sslmod=require\"\n");
    CHECK(url.message.find("test.toml:5: [database] connection: is not a PostgreSQL connection string") == 0);
    CHECK(url.message.find("s3cret") == std::string::npos);
  }
  SECTION("TOML syntax") {
    auto e = error_of("[general\n");
    CHECK(e.code == "config_syntax");
    CHECK(e.message.find("test.toml:1: syntax:") == 0);
  }
  SECTION("cert mode without files") {
    auto e = error_of(std::string(kMinimal) + "[api]\ntls = \"cert\"\n");
    CHECK(e.message.find("tls_cert_privkey") != std::string::npos);
  }
  SECTION("several errors are all reported") {
    auto e = error_of(std::string(kMinimal) + "debug = 1\ntxt_ttl = -1\n");
    CHECK(e.message.find("debug") != std::string::npos);
    CHECK(e.message.find("txt_ttl") != std::string::npos);
  }
}

TEST_CASE("[[certificate]] entries are validated") {
  auto ok = parse_config(std::string(kMinimal) +
                             "[[certificate]]\ndomains = [\"example.test\", \"*.Example.test\"]\n"
                             "challenge_subdomain = \"d420c923-bbd7-4056-ab64-c3ca54c9b3cf\"\n"
                             "cert_path = \"c.pem\"\nkey_path = \"k.pem\"\n",
                         "t");
  REQUIRE(ok.ok());
  REQUIRE(ok->certificates.size() == 1);
  CHECK(ok->certificates[0].domains[1] == "*.example.test");
  CHECK(ok->certificates[0].name == "example.test");
  auto bad = parse_config(std::string(kMinimal) + "[[certificate]]\ndomains = []\n", "t");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("domains") != std::string::npos);
}

TEST_CASE("use_header without trusted_proxies warns that the header can be spoofed") {
  auto c = parse_config(std::string(kMinimal) + "[api]\nuse_header = true\n", "t");
  REQUIRE(c.ok());
  REQUIRE(c->warnings.size() == 1);
  CHECK(c->warnings[0].find("trusted_proxies") != std::string::npos);
}

TEST_CASE("engine = postgres takes acme-dns's connection strings: URL and key=value") {
  for (const std::string conn :
       {"postgres://acmedns:secret@db.example.com:5432/acmedns?sslmode=verify-full&sslrootcert=/etc/ca.pem",
        "postgresql://acmedns@127.0.0.1/acmedns",
        "host=db.example.com dbname=acmedns user=acmedns password=secret"}) {
    auto c = parse_config(
        std::string(kMinimal) + "[database]\nengine = \"postgres\"\nconnection = \"" + conn + "\"\n",
        "test.toml");
    INFO(conn);
    REQUIRE(c.ok());
    CHECK(c->database.engine == "postgres");
    CHECK(c->database.connection == conn);
    CHECK(config_database::redacted("postgres", conn).find("secret") == std::string::npos);
  }
  CHECK(config_database::redacted("postgres", "postgres://u:pw@h/db") == "postgres://u:***@h/db");
  CHECK(config_database::redacted("postgres", "host=h password='a b' user=u") ==
        "host=h password=*** user=u");
  CHECK(config_database::redacted("sqlite3", "data/x.db") == "data/x.db");
}

TEST_CASE("[dnssec]: defaults, values and errors that name file, line and key") {
  auto plain = parse_config(kMinimal, "c.toml");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->dnssec.enabled);
  CHECK(plain->dnssec.algorithm == 13);
  CHECK(plain->dnssec.signature_validity == 14 * 86400);
  CHECK(plain->dnssec.refresh == 7 * 86400);
  CHECK(plain->dnssec.key_roll == 0);
  auto set =
      parse_config(std::string(kMinimal) +
                       "[dnssec]\nenabled = true\nalgorithm = \"ed25519\"\nsignature_validity = \"30d\"\n"
                       "refresh = \"10d\"\nkey_roll = \"90d\"\n",
                   "c.toml");
  REQUIRE(set.ok());
  CHECK(set->dnssec.enabled);
  CHECK(set->dnssec.algorithm == 15);
  CHECK(set->dnssec.signature_validity == 30 * 86400);
  CHECK(set->dnssec.refresh == 10 * 86400);
  CHECK(set->dnssec.key_roll == 90 * 86400);
  const auto error_of = [](const std::string& section) {
    auto c = parse_config(std::string(kMinimal) + section, "c.toml");
    REQUIRE_FALSE(c.ok());
    return c.error().message;
  };
  CHECK(error_of("[dnssec]\nalgorithm = \"rsasha1\"\n").find("c.toml:4: [dnssec] algorithm") !=
        std::string::npos);
  CHECK(error_of("[dnssec]\nenabled = \"yes\"\n").find("c.toml:4: [dnssec] enabled") != std::string::npos);
  CHECK(error_of("[dnssec]\nrefresh = \"20d\"\n").find("[dnssec] refresh: must be shorter") !=
        std::string::npos);
  CHECK(error_of("[dnssec]\nsignature_validity = \"1h\"\n").find("out of range") != std::string::npos);
  CHECK(error_of("[dnssec]\nkey_roll = \"soon\"\n").find("[dnssec] key_roll") != std::string::npos);
  CHECK(error_of("[dnssec]\nenable = true\n").find("c.toml:4: [dnssec] enable: unknown key") !=
        std::string::npos);
  auto not_table = parse_config("dnssec = 1\n[general]\ndomain = \"auth.example.org\"\n", "c.toml");
  REQUIRE_FALSE(not_table.ok());
  CHECK(not_table.error().message.find("c.toml:1: [dnssec]: ") != std::string::npos);
}
