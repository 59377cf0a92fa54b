// Static zone data from [general]: what check_zone_config accepts and how it words
// what it rejects.
#include "catch_compat.hpp"

#include "dns/dns_server.hpp"
#include "dns_test_support.hpp"

using namespace acmednsd;
using namespace acmednsd::dns;
using namespace acmednsd::dns::test;

TEST_CASE("the fixture zone and acme-dns's example records are accepted", "[dns][zone]") {
  Config config;
  config.general = fixture_config();
  CHECK(check_zone_config(config).ok());
  config.general.records = {"auth.example.org. A 198.51.100.1", "auth.example.org. NS auth.example.org."};
  config.general.domain = "auth.example.org";
  config.general.nsname = "auth.example.org";
  config.general.nsadmin = "admin.example.org";
  CHECK(check_zone_config(config).ok());
}

TEST_CASE("bad static records are rejected with a message naming them", "[dns][zone]") {
  struct Case {
    std::string record;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"www.example.com. A 192.0.2.1", "outside the zone"}, {"auth.example.test. A 300.1.1.1", "records[0]"},
      {"auth.example.test. BOGUS 1", "records[0]"},         {"auth.example.test. SOA a. b. 1 2 3 4 5", "SOA"},
      {"auth.example.test. CNAME elsewhere.test.", "apex"}, {"a*.auth.example.test. A 192.0.2.1", "'*'"},
  };
  for (const auto& c : cases) {
    INFO(c.record);
    Config config;
    config.general = fixture_config();
    config.general.records = {c.record};
    const Status status = check_zone_config(config);
    REQUIRE_FALSE(status.ok());
    CHECK_THAT(status.error().message, Catch::Matchers::ContainsSubstring(c.expected));
    CHECK_THAT(status.error().message, Catch::Matchers::ContainsSubstring(c.record));
  }
  Config config;
  config.general = fixture_config();
  config.general.records = {"x.auth.example.test. CNAME a.test.", "x.auth.example.test. A 192.0.2.1"};
  const Status mixed = check_zone_config(config);
  REQUIRE_FALSE(mixed.ok());
  CHECK_THAT(mixed.error().message, Catch::Matchers::ContainsSubstring("CNAME"));
  CHECK_THAT(mixed.error().message, Catch::Matchers::ContainsSubstring("records[1]"));
}

TEST_CASE("empty domain or nsname is rejected", "[dns][zone]") {
  Config config;
  config.general = fixture_config();
  config.general.nsname.clear();
  REQUIRE_FALSE(check_zone_config(config).ok());
  CHECK_THAT(check_zone_config(config).error().message, Catch::Matchers::ContainsSubstring("nsname"));
}
