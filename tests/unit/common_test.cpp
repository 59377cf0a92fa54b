#include "catch_compat.hpp"

#include "common/cidr.hpp"
#include "common/encoding.hpp"
#include "common/random.hpp"
#include "store/store.hpp"

using namespace acmednsd;

TEST_CASE("CIDRs need an explicit prefix, as acme-dns (Go net.ParseCIDR)") {
  CHECK(Cidr::parse("192.168.1.0/24"));
  CHECK(Cidr::parse("fd00::/8"));
  CHECK(Cidr::parse("[fd00::]/8"));
  CHECK(Cidr::parse("10.0.0.1/32"));
  CHECK_FALSE(Cidr::parse("10.0.0.1"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("1.2/24"));
  CHECK_FALSE(Cidr::parse("::/129"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/+8"));
  CHECK_FALSE(Cidr::parse("garbage"));
}

TEST_CASE("CIDR matching, IPv4 networks also match IPv4-mapped peers") {
  const auto net = *Cidr::parse("192.168.1.0/24");
  CHECK(net.contains(*IpAddress::parse("192.168.1.77")));
  CHECK_FALSE(net.contains(*IpAddress::parse("192.168.2.1")));
  CHECK(net.contains(*IpAddress::parse("::ffff:192.168.1.9")));
  CHECK_FALSE(net.contains(*IpAddress::parse("fd00::1")));
  const auto v6 = *Cidr::parse("fd00::/8");
  CHECK(v6.contains(*IpAddress::parse("fd12::1")));
  CHECK_FALSE(v6.contains(*IpAddress::parse("192.168.1.1")));
  const auto host_bits = *Cidr::parse("10.1.2.3/8");  // stored as written, matched as a network
  CHECK(host_bits.contains(*IpAddress::parse("10.200.0.1")));
}

TEST_CASE("base64url round trip and known answer") {
  CHECK(base64url_encode(std::string_view("\xfb\xff", 2)) == "-_8");
  const std::string digest(32, '\0');
  CHECK(base64url_encode(digest).size() == 43);
  auto back = base64url_decode("-_8");
  REQUIRE(back);
  CHECK(back->size() == 2);
  CHECK_FALSE(base64url_decode("a+b"));
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(*base64_decode("dXNlcjpwYXNz") == "user:pass");
}

TEST_CASE("generated credentials have the acme-dns formats") {
  for (int i = 0; i < 50; ++i) {
    const auto key = random_api_key();
    CHECK(is_valid_api_key(key));
    const auto uuid = random_uuid_v4();
    CHECK(canonical_uuid(uuid) == uuid);
    CHECK(uuid[14] == '4');
  }
}

TEST_CASE("UUIDs are accepted in the forms acme-dns accepts, canonicalised") {
  const std::string c = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf";
  CHECK(canonical_uuid("D420C923-BBD7-4056-AB64-C3CA54C9B3CF") == c);
  CHECK(canonical_uuid("{d420c923-bbd7-4056-ab64-c3ca54c9b3cf}") == c);
  CHECK(canonical_uuid("urn:uuid:d420c923-bbd7-4056-ab64-c3ca54c9b3cf") == c);
  CHECK(canonical_uuid("d420c923bbd74056ab64c3ca54c9b3cf") == c);
  CHECK_FALSE(canonical_uuid("d420c923-bbd7-4056-ab64-c3ca54c9b3c"));
  CHECK_FALSE(canonical_uuid("g420c923-bbd7-4056-ab64-c3ca54c9b3cf"));
  CHECK_FALSE(canonical_uuid("d420c923xbbd7-4056-ab64-c3ca54c9b3cf"));
}

TEST_CASE("TXT values and keys are validated exactly") {
  CHECK(is_valid_txt_value(std::string(43, 'a')));
  CHECK_FALSE(is_valid_txt_value(std::string(42, 'a')));
  CHECK_FALSE(is_valid_txt_value(std::string(44, 'a')));
  CHECK_FALSE(is_valid_txt_value(std::string(42, 'a') + "="));
  CHECK(is_valid_api_key(std::string(40, '-')));
  CHECK_FALSE(is_valid_api_key(std::string(39, 'a')));
  CHECK(is_valid_owner_name("_acme-challenge.www"));
  CHECK_FALSE(is_valid_owner_name("UPPER"));
  CHECK_FALSE(is_valid_owner_name("a..b"));
  CHECK_FALSE(is_valid_owner_name(""));
}
