// Malformed and unusual messages: dropped, FORMERR or NOTIMP as DNS.md says, and
// never a crash or a response larger than the client can take.
#include "catch_compat.hpp"

#include <random>

#include "dns/wire.hpp"
#include "dns_test_support.hpp"

using namespace acmednsd;
using namespace acmednsd::dns;
using namespace acmednsd::dns::test;

namespace {

std::vector<std::uint8_t> good_query(bool edns = false) {
  QueryOptions o;
  o.edns = edns;
  return make_query(std::string(kSub) + ".auth.example.test", LDNS_RR_TYPE_TXT, o);
}

std::vector<std::uint8_t> header_only(std::uint16_t qdcount) {
  std::vector<std::uint8_t> q = {0xAB, 0xCD, 0x01, 0x00};
  put16(q, qdcount);
  put16(q, 0);
  put16(q, 0);
  put16(q, 0);
  return q;
}

}  // namespace

TEST_CASE("messages that are dropped", "[dns][malformed]") {
  Fixture f;
  CHECK(f.ask(std::vector<std::uint8_t>{}).dropped());
  auto q = good_query();
  CHECK(f.ask(std::vector<std::uint8_t>(q.begin(), q.begin() + 11)).dropped());  // short header
  auto response = q;
  response[2] |= 0x80;  // QR=1: answering responses invites loops
  CHECK(f.ask(response).dropped());
}

TEST_CASE("messages answered with FORMERR", "[dns][malformed]") {
  Fixture f;
  struct Case {
    const char* what;
    std::vector<std::uint8_t> bytes;
    bool echoes_question;
  };
  std::vector<Case> cases;
  const auto q = good_query();
  cases.push_back({"header only, no question", header_only(1), false});
  cases.push_back({"QDCOUNT 0", header_only(0), false});
  cases.push_back({"one byte short", std::vector<std::uint8_t>(q.begin(), q.end() - 1), false});
  {
    auto two = q;
    two[5] = 2;
    two.insert(two.end(), q.begin() + 12, q.end());  // two questions
    cases.push_back({"two questions", two, false});
  }
  {
    auto garbage = q;
    garbage.push_back(0x42);
    cases.push_back({"trailing garbage", garbage, true});
  }
  {
    auto label = q;
    label[12] = 0x40;  // reserved label type
    cases.push_back({"label type 0x40", label, false});
    label[12] = 60;  // longer than the message
    cases.push_back({"label past the end", label, false});
  }
  {
    auto loop = header_only(1);
    loop.insert(loop.end(), {0xC0, 0x0C, 0x00, 0x10, 0x00, 0x01});  // points at itself
    cases.push_back({"compression loop in the question", loop, false});
  }
  {
    auto loop = good_query();
    loop[11] = 1;  // ARCOUNT 1: a record whose owner is a pointer loop and no body
    loop.insert(loop.end(), {0xC0, 0x0C});
    cases.push_back({"additional record cut after its name", loop, true});
  }
  {
    std::vector<std::uint8_t> long_name = header_only(1);
    for (int i = 0; i < 5; ++i) {
      long_name.push_back(63);
      long_name.insert(long_name.end(), 63, 'a');
    }
    long_name.push_back(0);
    put16(long_name, 16);
    put16(long_name, 1);
    cases.push_back({"name longer than 255 bytes", long_name, false});
  }
  {
    auto two_opt = good_query(true);
    two_opt[11] = 2;
    two_opt.insert(two_opt.end(), two_opt.end() - 11, two_opt.end());
    cases.push_back({"two OPT records", two_opt, true});
  }
  {
    auto bad_rdlen = good_query(true);
    bad_rdlen.back() = 9;  // OPT RDLENGTH beyond the end
    cases.push_back({"OPT rdlength past the end", bad_rdlen, true});
  }
  // An additional A record whose owner is a compression pointer; rdata 127.0.0.1.
  auto with_additional = [&](std::uint8_t hi, std::uint8_t lo) {
    auto m = q;
    m[11] = 1;
    m.insert(m.end(), {hi, lo, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x04, 127, 0, 0, 1});
    return m;
  };
  const auto self = static_cast<std::uint8_t>(q.size());  // where the pointer itself lands
  cases.push_back({"record owner pointing at itself", with_additional(0xC0, self), true});
  cases.push_back({"record owner pointing past the end", with_additional(0xC0, 0xFF), true});
  cases.push_back({"record owner pointing into the header", with_additional(0xC0, 0x02), true});
  {
    auto opt = good_query(true);
    // OPT rdata holding one option whose length (16) runs past the rdata (8 bytes).
    opt[opt.size() - 2] = 0;
    opt[opt.size() - 1] = 8;
    opt.insert(opt.end(), {0x00, 0x0A, 0x00, 0x10, 1, 2, 3, 4});
    cases.push_back({"EDNS option longer than the OPT rdata", opt, true});
  }
  for (const auto& c : cases) {
    INFO(c.what);
    const Reply r = f.ask(c.bytes);
    REQUIRE_FALSE(r.dropped());
    CHECK(r.rcode() == LDNS_RCODE_FORMERR);
    CHECK(ldns_pkt_id(r.pkt.get()) == read_u16(c.bytes.data()));
    CHECK(ldns_pkt_qr(r.pkt.get()));
    CHECK(r.answers() == 0);
    CHECK(ldns_pkt_qdcount(r.pkt.get()) == (c.echoes_question ? 1 : 0));
  }
}

TEST_CASE("well-formed compression and EDNS options are accepted", "[dns][malformed]") {
  Fixture f;
  auto q = good_query();
  q[11] = 1;  // an additional record owned by the question name, through a pointer
  q.insert(q.end(), {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x04, 127, 0, 0, 1});
  CHECK(f.ask(q).rcode() == LDNS_RCODE_NOERROR);
  auto opt = good_query(true);
  opt[opt.size() - 1] = 12;  // one 8-byte cookie option: exactly fills the rdata
  opt.insert(opt.end(), {0x00, 0x0A, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(f.ask(opt).rcode() == LDNS_RCODE_NOERROR);
}

TEST_CASE("a datagram cut by the receive buffer gets FORMERR, not an answer", "[dns][malformed]") {
  Fixture f;
  const auto q = good_query();
  std::vector<std::uint8_t> out(1232);
  const std::size_t n = respond(q, ClientInfo{Transport::udp, true}, *f.zone, f.index, kNow, out);
  REQUIRE(n >= 12);
  CHECK((out[3] & 0x0F) == LDNS_RCODE_FORMERR);
  CHECK(read_u16(out.data() + 6) == 0);  // no answers
}

TEST_CASE("opcodes other than QUERY get NOTIMP", "[dns][malformed]") {
  Fixture f;
  for (std::uint8_t opcode : {1, 2, 4, 5, 15}) {
    INFO("opcode " << int(opcode));
    auto q = good_query();
    q[2] = static_cast<std::uint8_t>((q[2] & 0x87) | (opcode << 3));
    const Reply r = f.ask(q);
    REQUIRE_FALSE(r.dropped());
    CHECK(r.rcode() == LDNS_RCODE_NOTIMPL);
    // Read from the wire: ldns's opcode enum has no value for unassigned opcodes (UB).
    CHECK(((r.bytes[2] >> 3) & 0x0F) == opcode);
    CHECK_FALSE(ldns_pkt_aa(r.pkt.get()));
  }
}

TEST_CASE("random corruption never crashes nor overflows the client's size", "[dns][malformed]") {
  Fixture f;
  std::mt19937 rng(20261124);  // fixed seed: failures reproduce
  const std::vector<std::vector<std::uint8_t>> seeds = {
      good_query(), good_query(true), make_query("auth.example.test", LDNS_RR_TYPE_SOA),
      make_query(std::string(kBigSub) + ".auth.example.test", LDNS_RR_TYPE_TXT),
      make_query("_acme-challenge.www.auth.example.test", LDNS_RR_TYPE_ANY)};
  std::size_t answered = 0;
  for (int i = 0; i < 20000; ++i) {
    auto q = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0:
          q[rng() % q.size()] = static_cast<std::uint8_t>(rng());
          break;
        case 1:
          if (q.size() > 1) q.resize(rng() % q.size());
          break;
        default:
          q.push_back(static_cast<std::uint8_t>(rng()));
          break;
      }
      if (q.empty()) q.push_back(0);
    }
    std::vector<std::uint8_t> out(65535);
    const std::size_t n = respond(q, ClientInfo{Transport::udp}, *f.zone, f.index, kNow, out);
    if (n == 0) continue;
    ++answered;
    REQUIRE(n >= 12);
    REQUIRE(n <= 1232);
    ldns_pkt* raw = nullptr;
    REQUIRE(ldns_wire2pkt(&raw, out.data(), n) == LDNS_STATUS_OK);
    LdnsPkt pkt(raw);
    REQUIRE(ldns_pkt_id(pkt.get()) == read_u16(q.data()));
  }
  CHECK(answered > 10000);
}
