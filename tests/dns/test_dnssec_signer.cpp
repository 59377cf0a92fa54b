// The signer against the pure responder: signatures are made once per RRset content,
// DO=0 answers are byte-identical with and without signing, and a pre-publish key roll
// under an injected clock never leaves a resolver unable to validate. Verification is
// ldns's (ldns_verify_rrsig_keylist_time, ldns_key_rr2ds), not our own code.
#include "catch_compat.hpp"

#include <algorithm>

#include "config/config.hpp"
#include "dns/dnssec_setup.hpp"
#include "dns/signer.hpp"
#include "dns/wire.hpp"
#include "dns_test_support.hpp"  // includes ldns after the C++ headers (ldns defines bool)

using namespace acmednsd;
using namespace acmednsd::dns;
using namespace acmednsd::dns::test;

namespace {

SigningKey new_signing_key(std::uint8_t algorithm = kAlgEcdsaP256) {
  auto pem = generate_private_key_pem(algorithm);
  REQUIRE(pem.ok());
  auto key = SigningKey::from_pem(algorithm, kFlagsCsk, *pem);
  REQUIRE(key.ok());
  return *key;
}

std::shared_ptr<const Signer> make_signer(std::vector<TimedKey> keys) {
  SignerOptions options;
  return std::make_shared<Signer>(wire_name(kZone), std::move(keys), options);
}

// The fixture's index with the zone swapped for a signed build at `now`.
struct SignedFixture : Fixture {
  std::shared_ptr<const Signer> signer;
  SignedFixture(std::shared_ptr<const Signer> s, std::int64_t now) : signer(std::move(s)) {
    auto built = ZoneData::build(fixture_config(), signer, now);
    REQUIRE(built.ok());
    zone = built.value();
  }
  Reply ask_at(std::string_view name, std::uint16_t type, std::int64_t now, bool do_bit = true) const {
    auto q = make_query(name, type, QueryOptions{.edns = true});
    if (do_bit) q[q.size() - 4] = 0x80;  // the OPT TTL's flags: DO
    std::vector<std::uint8_t> out(65535);
    const std::size_t n = respond(q, ClientInfo{Transport::tcp}, *zone, index, now, out);
    Reply reply;
    out.resize(n);
    reply.bytes = std::move(out);
    ldns_pkt* raw = nullptr;
    REQUIRE(ldns_wire2pkt(&raw, reply.bytes.data(), reply.bytes.size()) == LDNS_STATUS_OK);
    reply.pkt.reset(raw);
    return reply;
  }
};

using RrList = std::unique_ptr<ldns_rr_list, FreeWith<ldns_rr_list_deep_free>>;

// RRs of `type` (and the RRSIGs covering it) from a section.
RrList pick(const ldns_rr_list* section, ldns_rr_type type, bool rrsig) {
  RrList out(ldns_rr_list_new());
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(section, i);
    const bool is_sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG;
    if (rrsig ? (is_sig && ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type)
              : ldns_rr_get_type(rr) == type) {
      ldns_rr_list_push_rr(out.get(), ldns_rr_clone(rr));
    }
  }
  return out;
}

// True when some RRSIG over `rrset` verifies at `when` with one of `keys`.
bool verifies(const ldns_rr_list* rrset, const ldns_rr_list* sigs, const ldns_rr_list* keys,
              std::int64_t when) {
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(sigs); ++i) {
    // good_keys receives pointers into `keys`: freed shallowly.
    std::unique_ptr<ldns_rr_list, FreeWith<ldns_rr_list_free>> good(ldns_rr_list_new());
    RrList set(ldns_rr_list_clone(rrset));
    if (ldns_verify_rrsig_keylist_time(set.get(), ldns_rr_list_rr(sigs, i), keys, static_cast<time_t>(when),
                                       good.get()) == LDNS_STATUS_OK) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("dnssec: an RRset is signed once per content, not per query") {
  const std::int64_t now = kNow;
  SignedFixture f(make_signer({TimedKey{new_signing_key(), now - 10, now - 10, {}, {}}}), now);
  const std::string name = std::string(kSub) + "." + kZone;
  auto first = f.ask_at(name, rrtype::TXT, now);
  CHECK(first.answers() == 2);  // TXT + RRSIG
  const auto made = f.signer->signatures_made();
  CHECK(made == 1);
  for (int i = 0; i < 50; ++i) f.ask_at(name, rrtype::TXT, now + i);
  CHECK(f.signer->signatures_made() == made);  // the hot path only copied the cached RRSIG
  f.index.put_value(kSub, value_of(7), now);
  auto changed = f.ask_at(name, rrtype::TXT, now + 1);
  CHECK(changed.answers() == 3);
  CHECK(f.signer->signatures_made() == made + 1);  // new content, one new signature
  // Close to expiry (less than `refresh` left) the RRset is signed afresh.
  f.ask_at(name, rrtype::TXT, now + 8 * 86400);
  CHECK(f.signer->signatures_made() == made + 2);
}

TEST_CASE("dnssec: DO=0 answers are byte-identical with and without signing") {
  const Fixture plain;
  SignedFixture f(make_signer({TimedKey{new_signing_key(), kNow - 10, kNow - 10, {}, {}}}), kNow);
  const std::vector<std::string> names = {kZone,
                                          std::string(kSub) + "." + kZone,
                                          std::string(kEmptySub) + "." + kZone,
                                          std::string(kBigSub) + "." + kZone,
                                          std::string("x.") + kSub + "." + kZone,
                                          std::string("nothing.") + kZone,
                                          std::string("a.wild.") + kZone,
                                          std::string("ent.") + kZone,
                                          std::string("_acme-challenge.www.") + kZone,
                                          std::string("alias.") + kZone,
                                          "outside.example.org"};
  int compared = 0;
  for (const auto& name : names) {
    for (const std::uint16_t type : {rrtype::TXT, rrtype::A, rrtype::SOA, rrtype::NS, rrtype::MX, rrtype::ANY,
                                     rrtype::RRSIG, rrtype::NSEC, rrtype::NXNAME}) {
      for (const bool edns : {false, true}) {
        for (const auto transport : {Transport::udp, Transport::tcp}) {
          const auto q = make_query(name, type, QueryOptions{.edns = edns});
          std::vector<std::uint8_t> a(65535);
          std::vector<std::uint8_t> b(65535);
          a.resize(respond(q, ClientInfo{transport}, *plain.zone, plain.index, kNow, a));
          b.resize(respond(q, ClientInfo{transport}, *f.zone, f.index, kNow, b));
          INFO(name << " type " << type << " edns " << edns);
          // NXNAME is FORMERR on a signed zone (RFC 9824 3.5); everything else is equal.
          if (type == rrtype::NXNAME && name != "outside.example.org") {
            CHECK((b[3] & 0x0F) == rcode::formerr);
            continue;
          }
          CHECK(a == b);
          ++compared;
        }
      }
    }
  }
  CHECK(compared == 11 * 8 * 4 + 4);  // + NXNAME outside the zone: REFUSED either way
}

TEST_CASE("dnssec: signatures verify with ldns, for ECDSA P-256 and Ed25519") {
  for (const std::uint8_t algorithm : {kAlgEcdsaP256, kAlgEd25519}) {
    SignedFixture f(make_signer({TimedKey{new_signing_key(algorithm), kNow - 10, kNow - 10, {}, {}}}), kNow);
    const auto keys_reply = f.ask_at(kZone, rrtype::DNSKEY, kNow);
    auto keys = pick(ldns_pkt_answer(keys_reply.pkt.get()), LDNS_RR_TYPE_DNSKEY, false);
    REQUIRE(ldns_rr_list_rr_count(keys.get()) == 1);
    struct Case {
      std::string name;
      std::uint16_t type;
      ldns_rr_type signed_type;
      bool in_answer;
    };
    const std::vector<Case> cases = {
        {std::string(kSub) + "." + kZone, rrtype::TXT, LDNS_RR_TYPE_TXT, true},
        {std::string(kBigSub) + "." + kZone, rrtype::TXT, LDNS_RR_TYPE_TXT, true},
        {kZone, rrtype::MX, LDNS_RR_TYPE_MX, true},  // names in rdata: canonical lowercase
        {kZone, rrtype::NS, LDNS_RR_TYPE_NS, true},  // mixed-case NS target
        {kZone, rrtype::DNSKEY, LDNS_RR_TYPE_DNSKEY, true},
        {"a.wild.auth.example.test", rrtype::A, LDNS_RR_TYPE_A, true},
        {"nothing.auth.example.test", rrtype::A, LDNS_RR_TYPE_NSEC, false},
        {"nothing.auth.example.test", rrtype::A, LDNS_RR_TYPE_SOA, false},
        {std::string(kEmptySub) + "." + kZone, rrtype::TXT, LDNS_RR_TYPE_NSEC, false},
    };
    for (const auto& c : cases) {
      INFO(c.name << " " << c.type << " alg " << int{algorithm});
      const auto r = f.ask_at(c.name, c.type, kNow);
      const ldns_rr_list* section =
          c.in_answer ? ldns_pkt_answer(r.pkt.get()) : ldns_pkt_authority(r.pkt.get());
      auto set = pick(section, c.signed_type, false);
      auto sigs = pick(section, c.signed_type, true);
      REQUIRE(ldns_rr_list_rr_count(set.get()) > 0);
      REQUIRE(ldns_rr_list_rr_count(sigs.get()) == 1);
      CHECK(verifies(set.get(), sigs.get(), keys.get(), kNow));
      // A signature is not valid forever: past its expiration ldns refuses it.
      CHECK_FALSE(verifies(set.get(), sigs.get(), keys.get(), kNow + 15 * 86400));
    }
  }
}

TEST_CASE("dnssec: a pre-publish roll under an injected clock never breaks validation") {
  Config config;
  config.general.domain = kZone;
  config.general.static_ttl = 3600;
  config.general.txt_ttl = 1;
  config.general.negative_ttl = 5;
  const std::int64_t t_roll = kNow;
  const RollPlan plan = plan_roll(config, t_roll);
  CHECK(plan.activate - plan.publish >= 3600);  // at least the DNSKEY TTL
  const SigningKey old_key = new_signing_key();
  const SigningKey new_key = new_signing_key();
  const std::vector<TimedKey> keys = {
      TimedKey{old_key, kNow - 100 * 86400, kNow - 100 * 86400, plan.activate, plan.old_remove},
      TimedKey{new_key, plan.publish, plan.activate, {}, {}}};
  auto signer = make_signer(keys);
  // The parent: its DS names the old key until the operator replaces it one day into
  // the DS-wait window (within kDsWait); resolvers may cache a DS for a day.
  const std::int64_t ds_ttl = 86400;
  const std::int64_t ds_switch = plan.activate + 86400 - ds_ttl / 2;
  REQUIRE(ds_switch + ds_ttl <= plan.old_remove);
  const auto ds_of = [](const SignedFixture& f) {
    const auto r = f.ask_at(kZone, rrtype::DNSKEY, kNow);
    return pick(ldns_pkt_answer(r.pkt.get()), LDNS_RR_TYPE_DNSKEY, false);
  };
  // One zone per instant the test looks at.
  const auto zone_at = [&](std::int64_t t) { return SignedFixture(signer, t); };
  const std::string name = std::string(kSub) + "." + kZone;
  int checked = 0;
  for (std::int64_t t = t_roll - 7200; t <= plan.old_remove + 2 * 86400; t += 1800) {
    INFO("t = roll + " << (t - t_roll) << " s");
    const SignedFixture now_zone = zone_at(t);
    const auto txt = now_zone.ask_at(name, rrtype::TXT, t);
    auto txt_set = pick(ldns_pkt_answer(txt.pkt.get()), LDNS_RR_TYPE_TXT, false);
    auto txt_sigs = pick(ldns_pkt_answer(txt.pkt.get()), LDNS_RR_TYPE_TXT, true);
    const auto dnskey = now_zone.ask_at(kZone, rrtype::DNSKEY, t);
    auto key_set = pick(ldns_pkt_answer(dnskey.pkt.get()), LDNS_RR_TYPE_DNSKEY, false);
    auto key_sigs = pick(ldns_pkt_answer(dnskey.pkt.get()), LDNS_RR_TYPE_DNSKEY, true);
    // A resolver may hold the DNSKEY RRset fetched up to its TTL ago: today's data
    // must validate with that set too.
    for (const std::int64_t age : {std::int64_t{0}, std::int64_t{1800}, std::int64_t{3600}}) {
      const SignedFixture then = zone_at(t - age);
      auto cached_keys = ds_of(then);
      CHECK(verifies(txt_set.get(), txt_sigs.get(), cached_keys.get(), t));
    }
    // The DNSKEY RRset must be signed by a key the parent's DS (as cached) names.
    for (const std::int64_t age : {std::int64_t{0}, ds_ttl}) {
      const SigningKey& parent_key = (t - age) < ds_switch ? old_key : new_key;
      RrList anchors(ldns_rr_list_new());
      for (std::size_t i = 0; i < ldns_rr_list_rr_count(key_set.get()); ++i) {
        ldns_rr* k = ldns_rr_list_rr(key_set.get(), i);
        if (ldns_calc_keytag(k) != parent_key.key_tag()) continue;
        ldns_rr_list_push_rr(anchors.get(), ldns_rr_clone(k));
      }
      CHECK(ldns_rr_list_rr_count(anchors.get()) == 1);
      CHECK(verifies(key_set.get(), key_sigs.get(), anchors.get(), t));
    }
    ++checked;
  }
  CHECK(checked > 100);
  // The DS `dnssec ds` prints is the one ldns computes from the published DNSKEY.
  for (const auto* key : {&old_key, &new_key}) {
    const auto ours = key->ds_rdata(wire_name(kZone));
    ldns_rr* dnskey = nullptr;
    const auto r = zone_at(plan.publish + 1).ask_at(kZone, rrtype::DNSKEY, plan.publish + 1);
    auto set = pick(ldns_pkt_answer(r.pkt.get()), LDNS_RR_TYPE_DNSKEY, false);
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(set.get()); ++i) {
      if (ldns_calc_keytag(ldns_rr_list_rr(set.get(), i)) == key->key_tag())
        dnskey = ldns_rr_list_rr(set.get(), i);
    }
    REQUIRE(dnskey != nullptr);
    std::unique_ptr<ldns_rr, FreeWith<ldns_rr_free>> ds(ldns_key_rr2ds(dnskey, LDNS_SHA256));
    REQUIRE(ds != nullptr);
    const ldns_rdf* digest = ldns_rr_rdf(ds.get(), 3);
    REQUIRE(ours.size() == 4 + ldns_rdf_size(digest));
    CHECK(std::equal(ours.begin() + 4, ours.end(), ldns_rdf_data(digest)));
    CHECK(ldns_rdf2native_int16(ldns_rr_rdf(ds.get(), 0)) == key->key_tag());
  }
  // At the end the old key is gone from the DNSKEY RRset and the CDS names the new one.
  const SignedFixture end_zone = zone_at(plan.old_remove + 1);
  const auto end_keys = end_zone.ask_at(kZone, rrtype::DNSKEY, plan.old_remove + 1);
  CHECK(end_keys.answers() == 2);  // one DNSKEY + its RRSIG
  const auto cds = end_zone.ask_at(kZone, rrtype::CDS, plan.old_remove + 1);
  REQUIRE(cds.answers() == 2);
  CHECK(rr_text(cds.answer(0)).find(std::to_string(new_key.key_tag())) != std::string::npos);
}

TEST_CASE("dnssec: a scheduled roll is due once the signing key is key_roll old, never twice") {
  Config config;
  config.general.domain = kZone;
  config.dnssec.key_roll = 90 * 86400;
  DnssecKeyRecord first;
  first.publish = first.activate = kNow;
  CHECK_FALSE(roll_due(config, {first}, kNow + 89 * 86400));
  CHECK(roll_due(config, {first}, kNow + 90 * 86400));
  // A roll in progress: the newest key does not sign yet.
  const RollPlan plan = plan_roll(config, kNow + 90 * 86400);
  DnssecKeyRecord old = first;
  old.retire = plan.activate;
  old.remove = plan.old_remove;
  DnssecKeyRecord next;
  next.publish = plan.publish;
  next.activate = plan.activate;
  CHECK_FALSE(roll_due(config, {old, next}, plan.publish + 60));
  CHECK_FALSE(roll_due(config, {old, next}, plan.activate + 86400));
  CHECK(roll_due(config, {old, next}, plan.activate + 90 * 86400));
  // Manual rolls only: never due.
  config.dnssec.key_roll = 0;
  CHECK_FALSE(roll_due(config, {first}, kNow + 1000 * 86400));
}
