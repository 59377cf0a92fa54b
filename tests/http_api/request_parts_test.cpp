// Table-driven tests of the small pure parts: body parsing with Go encoding/json
// semantics, the client-address rules, allowfrom, and the rate limiter.
#include "catch_compat.hpp"

#include "http_api/client_address.hpp"
#include "http_api/rate_limiter.hpp"
#include "http_api/request_body.hpp"

using namespace acmednsd;
using namespace acmednsd::http_api;

namespace {
IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}
}  // namespace

TEST_CASE("allowfrom bodies accepted by /register", "[body]") {
  struct Case {
    const char* body;
    std::vector<std::string> entries;
  };
  const std::vector<Case> cases = {
      {"", {}},
      {"{}", {}},
      {"null", {}},
      {"  {} \n", {}},
      {R"({"allowfrom": null})", {}},
      {R"({"allowfrom": []})", {}},
      {R"({"allowfrom": ["192.168.1.0/24", "fd00::/8"]})", {"192.168.1.0/24", "fd00::/8"}},
      {R"({"AllowFrom": ["10.0.0.1/8"]})", {"10.0.0.1/8"}},
      {R"({"ALLOWFROM": ["[::1]/128"], "unknown": 5})", {"[::1]/128"}},
      {R"({"allowfrom": ["1.2.3.4/32"], "subdomain": "x", "txt": 7})", {"1.2.3.4/32"}},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto parsed = parse_allowfrom_body(c.body);
    REQUIRE(std::holds_alternative<AllowfromBody>(parsed));
    CHECK(std::get<AllowfromBody>(parsed).entries == c.entries);
  }
}

TEST_CASE("allowfrom bodies rejected by /register", "[body]") {
  struct Case {
    const char* body;
    BodyError error;
  };
  const std::vector<Case> cases = {
      {"{", BodyError::malformed_json},
      {"[]", BodyError::malformed_json},
      {"\"x\"", BodyError::malformed_json},
      {"5", BodyError::malformed_json},
      {"{} {}", BodyError::malformed_json},
      {"allowfrom=1.2.3.4/32", BodyError::malformed_json},
      {R"({"allowfrom": "1.2.3.4/32"})", BodyError::malformed_json},
      {R"({"allowfrom": [1]})", BodyError::malformed_json},
      {R"({"allowfrom": ["1.2.3.4"]})", BodyError::invalid_cidr},
      {R"({"allowfrom": ["1.2.3.4/33"]})", BodyError::invalid_cidr},
      {R"({"allowfrom": ["1.2/24"]})", BodyError::invalid_cidr},
      {R"({"allowfrom": ["fd00::/129"]})", BodyError::invalid_cidr},
      {R"({"allowfrom": [null]})", BodyError::invalid_cidr},
      {R"({"allowfrom": ["10.0.0.0/8", "nope"]})", BodyError::invalid_cidr},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    auto parsed = parse_allowfrom_body(c.body);
    REQUIRE(std::holds_alternative<BodyError>(parsed));
    CHECK(std::get<BodyError>(parsed) == c.error);
  }
}

TEST_CASE("update bodies read like Go's json.Decoder", "[body]") {
  auto b = parse_update_body(R"({"subdomain": "abc", "txt": "v"})");
  CHECK(b.subdomain == "abc");
  CHECK(b.txt == "v");
  b = parse_update_body(R"({"SubDomain": "abc", "TXT": "v", "other": [1]})");
  CHECK(b.subdomain == "abc");
  CHECK(b.txt == "v");
  b = parse_update_body(R"({"subdomain": "exact", "SUBDOMAIN": "folded"})");
  CHECK(b.subdomain == "exact");
  // Only the first value is read; trailing bytes do not matter.
  b = parse_update_body(R"({"subdomain": "abc", "txt": "v"} trailing)");
  CHECK(b.subdomain == "abc");
  // Wrong types and garbage leave the fields empty.
  b = parse_update_body(R"({"subdomain": 5, "txt": "v"})");
  CHECK(b.subdomain.empty());
  CHECK(b.txt == "v");
  CHECK(parse_update_body("subdomain=abc&txt=v").subdomain.empty());
  CHECK(parse_update_body("").subdomain.empty());
  CHECK(parse_update_body("[1,2]").subdomain.empty());
}

TEST_CASE("httpreq bodies: default and RAW mode", "[body]") {
  CHECK(parse_httpreq_value(R"({"fqdn": "_acme-challenge.example.com.", "value": "abc"})") == "abc");
  // RFC 8555 section 8.4: base64url(SHA-256(keyAuth)); SHA-256("abc") is the FIPS 180-2 vector.
  CHECK(parse_httpreq_value(R"({"domain": "example.com", "token": "t", "keyAuth": "abc"})") ==
        "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
  CHECK(parse_httpreq_value(R"({"domain": "example.com", "keyAuth": 5})") == "");
  CHECK_FALSE(parse_httpreq_value("not json").has_value());
  CHECK_FALSE(parse_httpreq_value("[]").has_value());
}

TEST_CASE("shown allowfrom drops brackets, renders compact JSON", "[body]") {
  CHECK(shown_allowfrom({"[fd00::]/8", "10.0.0.1/8"}) == std::vector<std::string>{"fd00::/8", "10.0.0.1/8"});
  CHECK(json_string_array({}) == "[]");
  CHECK(json_string_array({"a", "b\"c"}) == R"(["a","b\"c"])");
}

TEST_CASE("client address without use_header is the TCP peer", "[client]") {
  ApiConfig api;
  const ClientAddressResolver r(api);
  const std::string spoof = "10.9.9.9";
  const auto c = r.resolve(ip("127.0.0.1"), &spoof);
  CHECK(c.primary.to_string() == "127.0.0.1");
  REQUIRE(c.candidates.size() == 1);
  CHECK_FALSE(c.from_header);
}

TEST_CASE("use_header without trusted proxies keeps acme-dns behaviour", "[client]") {
  ApiConfig api;
  api.use_header = true;
  const ClientAddressResolver r(api);
  const std::string header = "203.0.113.7, garbage, 198.51.100.1";
  const auto c = r.resolve(ip("127.0.0.1"), &header);
  CHECK(c.primary.to_string() == "203.0.113.7");
  REQUIRE(c.candidates.size() == 2);
  // Any listed address may satisfy allowfrom, as in acme-dns (spoofable: startup warning).
  CHECK(allowfrom_permits({"198.51.100.0/24"}, false, c));
  CHECK_FALSE(allowfrom_permits({"127.0.0.0/8"}, false, c));
  // No header: nothing to match, so only an open allowfrom passes.
  const auto none = r.resolve(ip("127.0.0.1"), nullptr);
  CHECK(none.candidates.empty());
  CHECK(allowfrom_permits({}, false, none));
  CHECK_FALSE(allowfrom_permits({"127.0.0.0/8"}, false, none));
}

TEST_CASE("use_header with trusted proxies takes the right-most untrusted hop", "[client]") {
  ApiConfig api;
  api.use_header = true;
  api.trusted_proxies = {"127.0.0.0/8", "10.0.0.0/8"};
  const ClientAddressResolver r(api);
  const std::string header = "1.1.1.1, 203.0.113.7, 10.0.0.2";
  auto c = r.resolve(ip("127.0.0.1"), &header);
  CHECK(c.primary.to_string() == "203.0.113.7");
  CHECK(allowfrom_permits({"203.0.113.0/24"}, false, c));
  CHECK_FALSE(allowfrom_permits({"1.1.1.1/32"}, false, c));  // spoofed left part ignored
  // An untrusted peer's header is ignored entirely.
  c = r.resolve(ip("192.0.2.50"), &header);
  CHECK(c.primary.to_string() == "192.0.2.50");
  CHECK_FALSE(c.from_header);
  // An IPv4-mapped peer is still a trusted IPv4 proxy.
  c = r.resolve(ip("::ffff:127.0.0.1"), &header);
  CHECK(c.primary.to_string() == "203.0.113.7");
}

TEST_CASE("allowfrom: IPv4, IPv6, IPv4-mapped, invalid accounts", "[client]") {
  ApiConfig api;
  const ClientAddressResolver r(api);
  const auto mapped = r.resolve(ip("::ffff:192.168.1.20"), nullptr);
  CHECK(mapped.primary.to_string() == "192.168.1.20");
  CHECK(allowfrom_permits({"192.168.1.0/24"}, false, mapped));
  CHECK_FALSE(allowfrom_permits({"192.168.2.0/24"}, false, mapped));
  const auto v6 = r.resolve(ip("fd00::5"), nullptr);
  CHECK(allowfrom_permits({"192.168.1.0/24", "fd00::/8"}, false, v6));
  CHECK_FALSE(allowfrom_permits({"fe80::/10"}, false, v6));
  CHECK(allowfrom_permits({}, false, v6));
  CHECK_FALSE(allowfrom_permits({}, true, v6));  // unreadable allowfrom never means "all"
}

TEST_CASE("rate limiter refills per minute and bounds its memory", "[ratelimit]") {
  using namespace std::chrono_literals;
  RateLimiter limiter(3, 4);
  const auto t0 = RateLimiter::Clock::now();
  const auto a = ip("192.0.2.1");
  CHECK(limiter.take(a, t0));
  CHECK(limiter.take(a, t0));
  CHECK_FALSE(limiter.exhausted(a, t0));
  CHECK(limiter.take(a, t0));
  CHECK(limiter.exhausted(a, t0));
  CHECK_FALSE(limiter.take(a, t0));
  CHECK(limiter.retry_after_seconds(a, t0) == 20);
  CHECK_FALSE(limiter.exhausted(a, t0 + 20s));  // one token back after 60/3 s
  CHECK(limiter.take(ip("192.0.2.2"), t0));     // sources are independent
  for (int i = 0; i < 100; ++i) {
    IpAddress other = ip("198.51.100.0");
    other.bytes[3] = static_cast<std::uint8_t>(i);
    limiter.take(other, t0);
  }
  RateLimiter off(0);
  for (int i = 0; i < 10; ++i) CHECK(off.take(a, t0));
}
