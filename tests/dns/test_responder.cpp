// Golden cases for every row of DNS.md, run against the pure responder (no sockets)
// with a real AnswerIndex; responses are decoded with ldns, independently of our
// hand-written renderer.
#include "catch_compat.hpp"

#include <set>

#include "dns/wire.hpp"
#include "dns_test_support.hpp"

using namespace acmednsd;
using namespace acmednsd::dns;
using namespace acmednsd::dns::test;

namespace {

std::string sub_name(const char* sub) {
  return std::string(sub) + "." + kZone;
}

std::set<std::string> answer_texts(const Reply& r) {
  std::set<std::string> out;
  for (std::size_t i = 0; i < r.answers(); ++i) out.insert(rr_text(r.answer(i)));
  return out;
}

void require_negative(const Reply& r, ldns_pkt_rcode rcode, const Fixture& f) {
  REQUIRE_FALSE(r.dropped());
  CHECK(r.rcode() == rcode);
  CHECK(ldns_pkt_aa(r.pkt.get()));
  CHECK(r.answers() == 0);
  REQUIRE(r.authority() == 1);
  const ldns_rr* soa = r.auth(0);
  CHECK(ldns_rr_get_type(soa) == LDNS_RR_TYPE_SOA);
  CHECK(ldns_rr_ttl(soa) == 5);
  CHECK(ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)) == 5);  // MINIMUM = negative TTL
  CHECK(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) == f.index.serial());
  CHECK(rdf_text(ldns_rr_owner(soa)) == "auth.example.test.");
}

}  // namespace

TEST_CASE("registered name with a value answers its TXT RRset", "[dns][responder]") {
  Fixture f;
  const Reply r = f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT);
  REQUIRE_FALSE(r.dropped());
  CHECK(r.rcode() == LDNS_RCODE_NOERROR);
  CHECK(ldns_pkt_aa(r.pkt.get()));
  CHECK_FALSE(ldns_pkt_tc(r.pkt.get()));
  CHECK(ldns_pkt_id(r.pkt.get()) == 0x1234);
  CHECK(ldns_pkt_rd(r.pkt.get()));
  CHECK_FALSE(ldns_pkt_ra(r.pkt.get()));
  REQUIRE(r.answers() == 1);
  CHECK(r.authority() == 0);
  CHECK(rr_text(r.answer(0)) == sub_name(kSub) + ".\t1\tIN\tTXT\t\"" + value_of(1) + "\"");
}

TEST_CASE("negative answers: NODATA vs NXDOMAIN with the SOA", "[dns][responder]") {
  Fixture f;
  struct Case {
    std::string name;
    std::uint16_t type;
    ldns_pkt_rcode rcode;
  };
  const std::vector<Case> cases = {
      {sub_name(kSub), LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR},  // other type
      {sub_name(kSub), LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR},
      {sub_name(kEmptySub), LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR},  // registered, no value
      {"x." + sub_name(kSub), LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN},
      {"unknown.auth.example.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NXDOMAIN},
      {"ent.auth.example.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR},  // RFC 8020
      {"wild.auth.example.test", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR},
      {"ns1.auth.example.test", LDNS_RR_TYPE_TXT, LDNS_RCODE_NOERROR},
      {"auth.example.test", LDNS_RR_TYPE_SRV, LDNS_RCODE_NOERROR},
      {"a.b.deep.ent.auth.example.test", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN},
  };
  for (const auto& c : cases) {
    INFO(c.name << " type " << c.type);
    require_negative(f.ask(c.name, c.type), c.rcode, f);
  }
}

TEST_CASE("apex records come from nsname, nsadmin and the static records", "[dns][responder]") {
  Fixture f;
  const Reply soa = f.ask(kZone, LDNS_RR_TYPE_SOA);
  REQUIRE(soa.answers() == 1);
  CHECK(rr_text(soa.answer(0)) ==
        "auth.example.test.\t5\tIN\tSOA\tns1.auth.example.test. "
        "admin.auth.example.test. " +
            std::to_string(f.index.serial()) + " 28800 7200 604800 5");

  const Reply ns = f.ask(kZone, LDNS_RR_TYPE_NS);
  CHECK(answer_texts(ns) == std::set<std::string>{"auth.example.test.\t3600\tIN\tNS\tns1.auth.example.test.",
                                                  "auth.example.test.\t3600\tIN\tNS\tns2.Other.test."});

  struct Case {
    std::uint16_t type;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {LDNS_RR_TYPE_A, "auth.example.test.\t3600\tIN\tA\t198.51.100.1"},
      {LDNS_RR_TYPE_AAAA, "auth.example.test.\t3600\tIN\tAAAA\t2001:db8::1"},
      {LDNS_RR_TYPE_TXT, "auth.example.test.\t3600\tIN\tTXT\t\"Hello World\""},  // case kept
      {LDNS_RR_TYPE_CAA, "auth.example.test.\t3600\tIN\tCAA\t0 issue \"LetsEncrypt.org\""},
      {LDNS_RR_TYPE_MX, "auth.example.test.\t300\tIN\tMX\t10 Mail.Example.test."},
  };
  for (const auto& c : cases) {
    INFO("type " << c.type);
    const Reply r = f.ask(kZone, c.type);
    CHECK(r.rcode() == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(r.pkt.get()));
    REQUIRE(r.answers() == 1);
    CHECK(rr_text(r.answer(0)) == c.expected);
  }
}

TEST_CASE("SOA serial follows the answer index", "[dns][responder]") {
  Fixture f;
  const auto before = ldns_rdf2native_int32(ldns_rr_rdf(f.ask(kZone, LDNS_RR_TYPE_SOA).answer(0), 2));
  // What the store's writer does on every committed change.
  f.index.put_value(kSub, value_of(2), kNow);
  f.index.set_serial_at_least(AnswerIndex::next_serial(f.index.serial(), kNow));
  const Reply after = f.ask(kZone, LDNS_RR_TYPE_SOA);
  CHECK(ldns_rdf2native_int32(ldns_rr_rdf(after.answer(0), 2)) == f.index.serial());
  CHECK(f.index.serial() != before);
  // The new value is answered by the very next query.
  CHECK(f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT).answers() == 2);
}

TEST_CASE("names outside the zone are REFUSED without AA", "[dns][responder]") {
  Fixture f;
  for (const char* name :
       {"example.com", "example.test", "test", "xauth.example.test", "auth.example.test.evil", ""}) {
    INFO(name);
    const Reply r = f.ask(name, LDNS_RR_TYPE_TXT);
    REQUIRE_FALSE(r.dropped());
    CHECK(r.rcode() == LDNS_RCODE_REFUSED);
    CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
    CHECK(r.answers() == 0);
    CHECK(ldns_pkt_qdcount(r.pkt.get()) == 1);
  }
  QueryOptions chaos;
  chaos.qclass = LDNS_RR_CLASS_CH;
  CHECK(f.ask(kZone, LDNS_RR_TYPE_TXT, chaos).rcode() == LDNS_RCODE_REFUSED);
}

TEST_CASE("static wildcards, empty non-terminals and CNAMEs", "[dns][responder]") {
  Fixture f;
  const Reply wild = f.ask("Foo.Wild.auth.example.test", LDNS_RR_TYPE_A);
  REQUIRE(wild.answers() == 1);
  CHECK(rr_text(wild.answer(0)) == "Foo.Wild.auth.example.test.\t3600\tIN\tA\t192.0.2.9");
  CHECK(f.ask("a.b.wild.auth.example.test", LDNS_RR_TYPE_A).answers() == 1);
  require_negative(f.ask("x.wild.auth.example.test", LDNS_RR_TYPE_TXT), LDNS_RCODE_NOERROR, f);

  // The delegation CNAME of a customer is followed into the challenge name.
  const Reply chain = f.ask("_acme-challenge.www.auth.example.test", LDNS_RR_TYPE_TXT);
  CHECK(chain.rcode() == LDNS_RCODE_NOERROR);
  REQUIRE(chain.answers() == 2);
  CHECK(ldns_rr_get_type(chain.answer(0)) == LDNS_RR_TYPE_CNAME);
  CHECK(rr_text(chain.answer(1)) == sub_name(kSub) + ".\t1\tIN\tTXT\t\"" + value_of(1) + "\"");

  CHECK(f.ask("_acme-challenge.www.auth.example.test", LDNS_RR_TYPE_CNAME).answers() == 1);
  const Reply alias = f.ask("alias.auth.example.test", LDNS_RR_TYPE_A);
  CHECK(answer_texts(alias) ==
        std::set<std::string>{"alias.auth.example.test.\t3600\tIN\tCNAME\tdeep.ent.auth.example.test.",
                              "deep.ent.auth.example.test.\t3600\tIN\tA\t192.0.2.5"});
  const Reply out = f.ask("out.auth.example.test", LDNS_RR_TYPE_TXT);
  CHECK(out.rcode() == LDNS_RCODE_NOERROR);
  CHECK(out.answers() == 1);  // target outside: the resolver follows it
  const Reply loop = f.ask("loop1.auth.example.test", LDNS_RR_TYPE_A);
  CHECK(loop.rcode() == LDNS_RCODE_NOERROR);
  CHECK(loop.answers() >= 2);
  CHECK(loop.answers() <= 10);
  // CNAME to a registered name without values: NODATA after the CNAME.
  GeneralConfig g = fixture_config();
  g.records.push_back(std::string("empty CNAME ") + kEmptySub);
  Fixture f2(g);
  const Reply nodata = f2.ask("empty.auth.example.test", LDNS_RR_TYPE_TXT);
  CHECK(nodata.rcode() == LDNS_RCODE_NOERROR);
  CHECK(nodata.answers() == 1);
  CHECK(nodata.authority() == 1);
}

TEST_CASE("0x20: the question is echoed as sent and owners follow its spelling", "[dns][responder]") {
  Fixture f;
  std::string mixed = sub_name(kSub);
  for (std::size_t i = 0; i < mixed.size(); i += 2) mixed[i] = static_cast<char>(std::toupper(mixed[i]));
  const auto query = make_query(mixed, LDNS_RR_TYPE_TXT);
  const Reply r = f.ask(query);
  REQUIRE(r.answers() == 1);
  CHECK(std::equal(query.begin() + 12, query.end(), r.bytes.begin() + 12));
  CHECK(rdf_text(ldns_rr_owner(r.answer(0))) == mixed + ".");
  const Reply neg = f.ask("NoSuch.AUTH.Example.TEST", LDNS_RR_TYPE_TXT);
  CHECK(rdf_text(ldns_rr_owner(neg.auth(0))) == "AUTH.Example.TEST.");
}

TEST_CASE("EDNS(0): OPT echoed with our size, BADVERS for version 1", "[dns][responder]") {
  Fixture f;
  const Reply plain = f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT);
  CHECK(ldns_pkt_arcount(plain.pkt.get()) == 0);

  QueryOptions edns;
  edns.edns = true;
  edns.udp_size = 4096;
  const Reply r = f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT, edns);
  CHECK(ldns_pkt_edns(r.pkt.get()));
  CHECK(ldns_pkt_edns_udp_size(r.pkt.get()) == 1232);
  CHECK(ldns_pkt_edns_version(r.pkt.get()) == 0);
  CHECK(r.answers() == 1);

  edns.edns_version = 1;
  const Reply bad = f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT, edns);
  REQUIRE_FALSE(bad.dropped());
  CHECK(ldns_pkt_edns(bad.pkt.get()));
  CHECK(ldns_pkt_edns_extended_rcode(bad.pkt.get()) == 1);  // 16 >> 4
  CHECK((bad.bytes[3] & 0x0F) == 0);                        // BADVERS = 16: low bits 0
  CHECK(bad.answers() == 0);
}

TEST_CASE("100 TXT values: TC over UDP, the full RRset over TCP", "[dns][responder]") {
  Fixture f;
  const std::string big = sub_name(kBigSub);
  const Reply classic = f.ask(big, LDNS_RR_TYPE_TXT);
  CHECK(ldns_pkt_tc(classic.pkt.get()));
  CHECK(classic.answers() == 0);
  CHECK(classic.bytes.size() <= 512);
  CHECK(ldns_pkt_aa(classic.pkt.get()));

  QueryOptions edns;
  edns.edns = true;
  edns.udp_size = 65000;  // clamped to our 1232
  const Reply with_edns = f.ask(big, LDNS_RR_TYPE_TXT, edns);
  CHECK(ldns_pkt_tc(with_edns.pkt.get()));
  CHECK(with_edns.bytes.size() <= 1232);
  CHECK(ldns_pkt_edns(with_edns.pkt.get()));

  const Reply tcp = f.ask(make_query(big, LDNS_RR_TYPE_TXT), Transport::tcp);
  CHECK_FALSE(ldns_pkt_tc(tcp.pkt.get()));
  REQUIRE(tcp.answers() == 100);
  std::set<std::string> values;
  for (std::size_t i = 0; i < tcp.answers(); ++i) values.insert(rdf_text(ldns_rr_rdf(tcp.answer(i), 0)));
  CHECK(values.size() == 100);
  CHECK(values.count("\"" + value_of(42) + "\"") == 1);

  // A tiny advertised size still gets the classic 512.
  edns.udp_size = 100;
  CHECK(f.ask(sub_name(kSub), LDNS_RR_TYPE_TXT, edns).answers() == 1);
}

TEST_CASE("RFC 8482 ANY and zone transfers", "[dns][responder]") {
  Fixture f;
  const Reply any_sub = f.ask(sub_name(kSub), LDNS_RR_TYPE_ANY);
  CHECK(any_sub.rcode() == LDNS_RCODE_NOERROR);
  REQUIRE(any_sub.answers() == 1);
  CHECK(ldns_rr_get_type(any_sub.answer(0)) == LDNS_RR_TYPE_TXT);
  const Reply any_apex = f.ask(kZone, LDNS_RR_TYPE_ANY);
  REQUIRE(any_apex.answers() == 1);  // one RRset, not the whole apex
  CHECK(ldns_rr_get_type(any_apex.answer(0)) == LDNS_RR_TYPE_SOA);
  require_negative(f.ask(sub_name(kEmptySub), LDNS_RR_TYPE_ANY), LDNS_RCODE_NOERROR, f);
  require_negative(f.ask("nothing.auth.example.test", LDNS_RR_TYPE_ANY), LDNS_RCODE_NXDOMAIN, f);
  for (std::uint16_t type : {LDNS_RR_TYPE_AXFR, LDNS_RR_TYPE_IXFR}) {
    const Reply r = f.ask(kZone, type, {}, Transport::tcp);
    CHECK(r.rcode() == LDNS_RCODE_REFUSED);
    CHECK(r.answers() == 0);
  }
}

TEST_CASE("query log summary reads the echoed question and rcode", "[dns][responder]") {
  Fixture f;
  const Reply r = f.ask("NoSuch.Auth.example.test", LDNS_RR_TYPE_AAAA);
  const auto summary = summarize_response(r.bytes);
  REQUIRE(summary.has_value());
  CHECK(summary->name == "NoSuch.Auth.example.test.");
  CHECK(summary->type == LDNS_RR_TYPE_AAAA);
  CHECK(summary->rcode == LDNS_RCODE_NXDOMAIN);
  CHECK_FALSE(summarize_response(std::vector<std::uint8_t>(5)).has_value());
}
