// Response-rate limiting: per-prefix budget per second, slip, and the truncated form.
#include <arpa/inet.h>
#include <netinet/in.h>

#include "catch_compat.hpp"
#include <cstring>

#include "dns/rate_limiter.hpp"
#include "dns/wire.hpp"
#include "dns_test_support.hpp"

using namespace acmednsd;
using namespace acmednsd::dns;
using namespace acmednsd::dns::test;
using Verdict = ResponseRateLimiter::Verdict;

namespace {

sockaddr_storage address(const char* text) {
  sockaddr_storage s{};
  if (std::strchr(text, ':') != nullptr) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&s);
    a6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, text, &a6->sin6_addr) == 1);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&s);
    a4->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, text, &a4->sin_addr) == 1);
  }
  return s;
}

Verdict check(ResponseRateLimiter& l, const char* text, std::int64_t now) {
  const auto s = address(text);
  return l.check(reinterpret_cast<const sockaddr*>(&s), now);
}

}  // namespace

TEST_CASE("RRL: budget per prefix and second, then slip/drop", "[dns][rrl]") {
  ResponseRateLimiter l(5, 2, 24, 56);
  for (int i = 0; i < 5; ++i) CHECK(check(l, "192.0.2.1", 100) == Verdict::send);
  CHECK(check(l, "192.0.2.200", 100) == Verdict::drop);  // same /24, over budget
  CHECK(check(l, "192.0.2.1", 100) == Verdict::slip);    // every 2nd limited one slips
  CHECK(check(l, "192.0.2.1", 100) == Verdict::drop);
  CHECK(check(l, "198.51.100.1", 100) == Verdict::send);      // another prefix is unaffected
  CHECK(check(l, "192.0.2.1", 101) == Verdict::send);         // a new second, a new budget
  CHECK(check(l, "::ffff:192.0.2.9", 101) == Verdict::send);  // mapped = same IPv4 prefix

  ResponseRateLimiter v6(1, 0, 24, 56);
  CHECK(check(v6, "2001:db8:0:1::1", 7) == Verdict::send);
  CHECK(check(v6, "2001:db8:0:ff::2", 7) == Verdict::drop);  // same /56; slip 0 never slips
  CHECK(check(v6, "2001:db8:1::1", 7) == Verdict::send);
}

TEST_CASE("RRL: exempt networks are never limited, everyone else still is", "[dns][rrl]") {
  ResponseRateLimiter l(2, 2, 24, 56, {*Cidr::parse("127.0.0.0/8"), *Cidr::parse("::1/128")});
  for (int i = 0; i < 1000; ++i) REQUIRE(check(l, "127.0.0.1", 5) == Verdict::send);
  for (int i = 0; i < 1000; ++i) REQUIRE(check(l, "127.9.8.7", 5) == Verdict::send);
  for (int i = 0; i < 1000; ++i) REQUIRE(check(l, "::1", 5) == Verdict::send);
  for (int i = 0; i < 100; ++i)
    REQUIRE(check(l, "::ffff:127.0.0.2", 5) == Verdict::send);  // v4-mapped loopback
  CHECK(check(l, "192.0.2.1", 5) == Verdict::send);
  CHECK(check(l, "192.0.2.1", 5) == Verdict::send);
  CHECK(check(l, "192.0.2.1", 5) != Verdict::send);  // the third in the second is limited
  // ::1/128 exempts ::1 only (a new second: ::1's answers shared this /56's budget).
  CHECK(check(l, "::2", 6) == Verdict::send);
  CHECK(check(l, "::2", 6) == Verdict::send);
  CHECK(check(l, "::2", 6) != Verdict::send);
}

TEST_CASE("RRL slip answer is the question with TC=1", "[dns][rrl]") {
  Fixture f;
  std::vector<std::uint8_t> out(65535);
  const auto query = make_query(std::string(kSub) + ".auth.example.test", 16);
  std::size_t n = respond(query, ClientInfo{}, *f.zone, f.index, kNow, out);
  REQUIRE(n > query.size());
  n = truncate_to_question(out.data(), n);
  REQUIRE(n == query.size());
  out.resize(n);
  ldns_pkt* raw = nullptr;
  REQUIRE(ldns_wire2pkt(&raw, out.data(), n) == LDNS_STATUS_OK);
  LdnsPkt pkt(raw);
  CHECK(ldns_pkt_tc(pkt.get()));
  CHECK(ldns_pkt_ancount(pkt.get()) == 0);
  CHECK(ldns_pkt_qdcount(pkt.get()) == 1);
}
