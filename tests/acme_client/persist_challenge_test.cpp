// dns-persist-01 on the client side: where the record lives, the accounturi form the
// directory asks for, the issuer, and whether a stored record will do (persistUntil).
#include "catch_compat.hpp"
#include <string>
#include <vector>

#include "acme_client/persist_challenge.hpp"
#include "common/encoding.hpp"

using namespace acmednsd;
using namespace acmednsd::acme;

TEST_CASE("dns-persist-01 record names: inside the zone, delegated by CNAME") {
  const std::string zone = "auth.example.org";
  const std::string sub = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf";
  CHECK(*persist_record_name("auth.example.org", zone, sub) == "_validation-persist");
  CHECK(*persist_record_name("*.auth.example.org", zone, sub) == "_validation-persist");
  CHECK(*persist_record_name("WWW.Auth.Example.Org.", zone, sub) == "_validation-persist.www");
  CHECK(*persist_record_name("www.example.com", zone, sub) == "_validation-persist." + sub);
  CHECK(*persist_record_name("*.example.com", zone, sub) == "_validation-persist." + sub);
  CHECK(persist_cname_target("Auth.Example.Org.", sub) ==
        "_validation-persist." + sub + ".auth.example.org.");
  CHECK_FALSE(persist_record_name("www.example.com", zone, ""));  // delegated needs challenge_subdomain
}

TEST_CASE("dns-persist-01 accounturi follows what the CA announces") {
  const std::string url = "https://ca.test/acme/acct/42";
  const std::string jwk = R"({"crv":"P-256","kty":"EC","x":"abc","y":"def"})";
  // draft-00/01 (Pebble 2.10): the account URL itself, for every domain.
  CHECK(persist_account_uri(url, "", "", "www.example.org", jwk) == url);
  // draft-02: accountHashPrefix in the directory: the hashed form, per domain (PR #67's
  // SHA-256(domain || 0x00 || key || account URL)); "*." and case do not matter.
  const std::string prefix = "https://ca.test/acct-hash/";
  const std::string hashed = persist_account_uri(url, prefix, "", "www.example.org", jwk);
  CHECK(hashed ==
        prefix + "sha-256/" + base64url_encode(sha256(std::string("www.example.org") + '\0' + jwk + url)));
  CHECK(hashed.size() == prefix.size() + 8 + 43);
  CHECK(persist_account_uri(url, prefix, "", "*.WWW.example.org.", jwk) == hashed);
  CHECK(persist_account_uri(url, prefix, "", "mail.example.org", jwk) != hashed);
  CHECK(persist_account_uri(url, prefix, "", "www.example.org", R"({"e":"AQAB","kty":"RSA","n":"x"})") !=
        hashed);
  // A challenge that names the accounturi wins over both.
  CHECK(persist_account_uri(url, prefix, "urn:ca:acct:7", "www.example.org", jwk) == "urn:ca:acct:7");
}

TEST_CASE("dns-persist-01 issuer: the challenge's issuer-domain-names, else caaIdentities") {
  Challenge c;
  c.issuer_domain_names = {"Pebble.LetsEncrypt.org.", "other.test"};
  CHECK(*persist_issuer(c, {"ignored.test"}) == "pebble.letsencrypt.org");
  c.issuer_domain_names.clear();
  CHECK(*persist_issuer(c, {"LetsEncrypt.org"}) == "letsencrypt.org");
  auto none = persist_issuer(c, {});
  REQUIRE_FALSE(none);
  CHECK(none.error().message.find("caaIdentities") != std::string::npos);
}

TEST_CASE("dns-persist-01 stored records: reuse, replace for a wildcard, persistUntil respected") {
  PersistValue wanted;
  wanted.issuer = "ca.test";
  wanted.account_uri = "https://ca.test/acct/1";
  const std::int64_t now = 1'800'000'000;
  const std::string base = "ca.test; accounturi=https://ca.test/acct/1";
  CHECK(match_persist_records({}, wanted, now) == PersistMatch::absent);
  CHECK(match_persist_records({base}, wanted, now) == PersistMatch::present);
  CHECK(match_persist_records({"CA.TEST ;accounturi=https://ca.test/acct/1"}, wanted, now) ==
        PersistMatch::present);
  // Other CAs' and other accounts' records, and unreadable ones, do not count.
  CHECK(match_persist_records({"other.test; accounturi=https://ca.test/acct/1",
                               "ca.test; accounturi=https://ca.test/acct/2", "garbage", std::string(43, 'x')},
                              wanted, now) == PersistMatch::absent);
  // persistUntil: far enough ahead is fine; passed, or within the margin, is the owner's "stop".
  CHECK(match_persist_records({base + "; persistUntil=" + std::to_string(now + kPersistUntilMargin + 1)},
                              wanted, now) == PersistMatch::present);
  CHECK(match_persist_records({base + "; persistUntil=" + std::to_string(now + kPersistUntilMargin)}, wanted,
                              now) == PersistMatch::present);  // inclusive, as the CA reads it
  CHECK(match_persist_records({base + "; persistUntil=" + std::to_string(now + 60)}, wanted, now) ==
        PersistMatch::expired);
  CHECK(match_persist_records({base + "; persistUntil=" + std::to_string(now - 1)}, wanted, now) ==
        PersistMatch::expired);
  // A current record beside an expired one of another CA still counts.
  CHECK(match_persist_records({"other.test; accounturi=https://ca.test/acct/1; persistUntil=1", base}, wanted,
                              now) == PersistMatch::present);
  // A wildcard name needs policy=wildcard: a record without it is replaced.
  wanted.wildcard = true;
  CHECK(match_persist_records({base}, wanted, now) == PersistMatch::absent);
  CHECK(match_persist_records({base + "; policy=Wildcard"}, wanted, now) == PersistMatch::present);
  CHECK(match_persist_records({base + "; policy=wildcard; persistUntil=5"}, wanted, now) ==
        PersistMatch::expired);
  // The canonical text the client writes parses back to what it wanted.
  auto again = parse_persist_value(format_persist_value(wanted));
  REQUIRE(again);
  CHECK(again->issuer == wanted.issuer);
  CHECK(again->account_uri == wanted.account_uri);
  CHECK(again->wildcard);
}
