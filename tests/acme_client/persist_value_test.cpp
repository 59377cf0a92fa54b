// dns-persist-01 record values (draft-ietf-acme-dns-persist over the RFC 8659
// issue-value grammar): what is accepted, what is refused and why, persistUntil.
#include "catch_compat.hpp"
#include <string>

#include "common/persist_value.hpp"

using namespace acmednsd;

TEST_CASE("persist values: the forms a CA reads") {
  auto plain =
      parse_persist_value("letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1");
  REQUIRE(plain);
  CHECK(plain->issuer == "letsencrypt.org");
  CHECK(plain->account_uri == "https://acme-v02.api.letsencrypt.org/acme/acct/1");
  CHECK_FALSE(plain->wildcard);
  CHECK_FALSE(plain->persist_until);

  // WSP around every part, tags in any case, an unknown tag kept, issuer lowercased.
  auto full = parse_persist_value(
      " \tPebble.LetsEncrypt.org ;AccountURI = https://127.0.0.1:14000/my-account/1 ; Policy=WILDCARD;"
      "persistUntil=1767225600; x-note=abc\t");
  REQUIRE(full);
  CHECK(full->issuer == "pebble.letsencrypt.org");
  CHECK(full->account_uri == "https://127.0.0.1:14000/my-account/1");
  CHECK(full->wildcard);
  CHECK(full->persist_until == 1767225600);
  REQUIRE(full->extra.size() == 1);
  CHECK(full->extra[0] == std::pair<std::string, std::string>{"x-note", "abc"});
  CHECK(format_persist_value(*full) ==
        "pebble.letsencrypt.org; accounturi=https://127.0.0.1:14000/my-account/1; policy=wildcard; "
        "persistUntil=1767225600; x-note=abc");
  // The canonical form parses back to the same value.
  auto again = parse_persist_value(format_persist_value(*full));
  REQUIRE(again);
  CHECK(format_persist_value(*again) == format_persist_value(*full));
  // A draft-02 style hashed account identifier is still a URI.
  CHECK(parse_persist_value("ca.test; accounturi=urn:acme:account:sha256:abc123"));
}

TEST_CASE("persist values: hostile and malformed input is refused with the reason") {
  const std::string account = "; accounturi=https://ca.test/acct/1";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no issuer-domain-name"},
      {"  ; accounturi=https://ca.test/acct/1", "no issuer-domain-name"},
      {"ca.test", "no accounturi"},
      {"ca.test; policy=wildcard", "no accounturi"},
      {"ca_test" + account, "not a domain name"},
      {"-ca.test" + account, "not a domain name"},
      {"ca..test" + account, "not a domain name"},
      {"ca.test." + account, "not a domain name"},
      {"ca test" + account, "not a domain name"},
      {std::string(64, 'a') + ".test" + account, "not a domain name"},
      {"ca.test;" + account.substr(1) + ";", "empty parameter"},
      {"ca.test;;" + account.substr(1), "empty parameter"},
      {"ca.test" + account + "; policy", "is not tag=value"},
      {"ca.test" + account + "; =x", "is not a tag"},
      {"ca.test" + account + "; bad_tag=x", "is not a tag"},
      {"ca.test" + account + "; note=a b", "contains a space"},
      {"ca.test" + account + "; accountURI=https://other.test/2", "appears twice"},
      {"ca.test; accounturi=", "is not a URI"},
      {"ca.test; accounturi=12345", "is not a URI"},
      {"ca.test; accounturi=/acct/1", "is not a URI"},
      {"ca.test" + account + "; policy=strict", "is not \"wildcard\""},
      {"ca.test" + account + "; persistUntil=tomorrow", "not unix seconds"},
      {"ca.test" + account + "; persistUntil=-1", "not unix seconds"},
      {"ca.test" + account + "; persistUntil=99999999999999999999", "not unix seconds"},
      {"ca.test" + account + "; persistUntil=", "not unix seconds"},
      {"ca.test" + account + "\n", "control or non-ASCII"},
      {"ca.test" + account + "\x01", "control or non-ASCII"},
      {"ca.test" + account + "\xc3\xa9", "control or non-ASCII"},
      {"ca.test" + account + "; note=" + std::string(600, 'x'), "longer than 512"},
  };
  for (const auto& [text, reason] : cases) {
    INFO(text);
    auto parsed = parse_persist_value(text);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == "persist_value");
    CHECK(parsed.error().message.find(reason) != std::string::npos);
  }
}

TEST_CASE("persist values: persistUntil bounds the record's life, inclusive") {
  auto bounded = parse_persist_value("ca.test; accounturi=https://ca.test/acct/1; persistUntil=1000");
  REQUIRE(bounded);
  CHECK(persist_value_current(*bounded, 999));
  CHECK(persist_value_current(*bounded, 1000));
  CHECK_FALSE(persist_value_current(*bounded, 1001));
  auto forever = parse_persist_value("ca.test; accounturi=https://ca.test/acct/1");
  REQUIRE(forever);
  CHECK(persist_value_current(*forever, 4'000'000'000));
}
