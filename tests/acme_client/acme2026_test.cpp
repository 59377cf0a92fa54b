// Issue 18, the pure parts: the dns-account-01 label against the draft's example, the
// renewalInfo document (RFC 9773) and its Retry-After, the ARI window arithmetic, and
// profiles (draft-ietf-acme-profiles) checked against the directory.
#include "catch_compat.hpp"
#include <set>

#include "acme_client/acme_resources.hpp"
#include "acme_client/acme_session.hpp"
#include "acme_client/dns01_challenge.hpp"
#include "acme_client/renewal_schedule.hpp"
#include "config/config.hpp"

using namespace acmednsd;
using namespace acmednsd::acme;
using nlohmann::json;

namespace {

constexpr std::int64_t kT0 = 1'760'000'000;

json window(const char* start, const char* end) {
  return json{{"suggestedWindow", {{"start", start}, {"end", end}}}};
}

}  // namespace

TEST_CASE("dns-account-01 label: the draft's example account") {
  // draft-ietf-acme-dns-account-label, section 3.1 example.
  CHECK(dns_account_label("https://example.com/acme/acct/ExampleAccount") == "ujmmovf2vn55tgye");
  CHECK(dns_account_owner("https://example.com/acme/acct/ExampleAccount") ==
        "_ujmmovf2vn55tgye._acme-challenge");
  // 16 characters of the lowercase RFC 4648 alphabet, whatever the URL.
  for (const char* url :
       {"", "https://127.0.0.1:14000/my-account/1", "https://acme-v02.api.letsencrypt.org/acme/acct/1"}) {
    const std::string label = dns_account_label(url);
    CHECK(label.size() == 16);
    CHECK(label.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567") == std::string::npos);
  }
  CHECK(dns_account_label("https://127.0.0.1:14000/my-account/1") !=
        dns_account_label("https://127.0.0.1:14000/my-account/2"));
}

TEST_CASE("dns-account-01 store names: inside the zone, delegated by CNAME") {
  const std::string owner = dns_account_owner("https://example.com/acme/acct/ExampleAccount");
  CHECK(*challenge_record_name("auth.example.test", "auth.example.test", "", owner) ==
        "_ujmmovf2vn55tgye._acme-challenge");
  CHECK(*challenge_record_name("*.WWW.auth.example.test", "auth.example.test", "", owner) ==
        "_ujmmovf2vn55tgye._acme-challenge.www");
  // Delegated: the CNAME target, the same account subdomain as for dns-01.
  CHECK(*challenge_record_name("shop.example.test", "auth.example.test", "abc-sub", owner) == "abc-sub");
  CHECK_FALSE(challenge_record_name("shop.example.test", "auth.example.test", "", owner));
  // dns-01 is unchanged.
  CHECK(*challenge_record_name("www.auth.example.test", "auth.example.test", "") == "_acme-challenge.www");
}

TEST_CASE("renewalInfo: a well-formed window") {
  auto parsed = parse_renewal_info(window("2025-10-09T08:00:00Z", "2025-10-10T08:00:00.5Z"));
  REQUIRE(parsed);
  CHECK(parsed->end - parsed->start == 86400);
  auto with_url = window("2025-10-09T08:00:00+02:00", "2025-10-09T09:00:00+02:00");
  with_url["explanationURL"] = "https://ca.test/why";
  parsed = parse_renewal_info(with_url);
  REQUIRE(parsed);
  CHECK(parsed->start == *parse_rfc3339("2025-10-09T06:00:00Z"));
  CHECK(parsed->explanation_url == "https://ca.test/why");
}

TEST_CASE("renewalInfo: malformed documents are refused, never half-used") {
  const std::vector<json> bad = {
      json(nullptr),
      json::array(),
      json("suggestedWindow"),
      json::object(),
      json{{"suggestedWindow", "tomorrow"}},
      json{{"suggestedWindow", json::object()}},
      json{{"suggestedWindow", {{"start", "2025-10-09T08:00:00Z"}}}},
      json{{"suggestedWindow", {{"start", 1760000000}, {"end", 1760086400}}}},
      window("2025-10-09 08:00:00", "2025-10-10T08:00:00Z"),
      window("2025-10-09T08:00:00Z", "2025-10-10T08:00:00"),  // no zone
      window("2025-10-09T08:00:00Z", "2025-10-10T08:00:00Zjunk"),
      window("2025-10-10T08:00:00Z", "2025-10-09T08:00:00Z"),  // end before start
      window("2025-10-10T08:00:00Z", "2025-10-10T08:00:00Z"),  // empty window
  };
  for (const auto& document : bad) {
    INFO(document.dump());
    auto parsed = parse_renewal_info(document);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == "protocol");
  }
}

TEST_CASE("renewalInfo: Retry-After decides the next poll, within bounds") {
  using std::chrono::seconds;
  CHECK(renewal_info_refetch_delay(seconds(21600), true) == seconds(21600));  // Pebble's 6 h
  CHECK(renewal_info_refetch_delay(seconds(3600), false) == seconds(3600));   // honoured on errors too
  CHECK(renewal_info_refetch_delay(seconds(0), true) == seconds(60));         // never a tight loop
  CHECK(renewal_info_refetch_delay(seconds(30 * 86400), true) == seconds(86400));
  CHECK(renewal_info_refetch_delay(std::nullopt, true) == seconds(6 * 3600));
  CHECK(renewal_info_refetch_delay(std::nullopt, false) == seconds(15 * 60));
  // The header itself: delta-seconds or an HTTP-date; anything else is ignored.
  CHECK(parse_retry_after("120", kT0) == seconds(120));
  CHECK(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40) == seconds(60));
  CHECK(parse_retry_after("soon", kT0) == std::nullopt);
  CHECK(parse_retry_after("", kT0) == std::nullopt);
}

TEST_CASE("ARI window arithmetic: uniform over the window's first nine tenths, clamped to now") {
  // A short-lived certificate (Pebble's window is [notBefore, notAfter] below 2 days).
  const std::int64_t start = kT0;
  const std::int64_t end = kT0 + 100;
  std::set<std::int64_t> points;
  for (int i = 0; i < 90; ++i) {
    const std::int64_t at = renewal_time_in_window(start, end, (i + 0.5) / 90.0, start);
    CHECK(at >= start);
    CHECK(at < end - 10);  // the last tenth is left for the order to finish
    points.insert(at);
  }
  CHECK(points.size() == 90);  // every second of that part can be drawn
  // Part of the window has passed: points before now become now, the rest stay.
  CHECK(renewal_time_in_window(start, end, 0.25, start + 30) == start + 30);
  CHECK(renewal_time_in_window(start, end, 0.5, start + 30) == start + 45);
  // RFC 9773 4.2: a window wholly in the past means renew now.
  CHECK(renewal_time_in_window(start, end, 0.9, end + 1000) == end + 1000);
  // Out-of-range draws are clamped, not extrapolated.
  CHECK(renewal_time_in_window(start, end, -1.0, start) == start);
  CHECK(renewal_time_in_window(start, end, 7.0, start) == start + 90);
  // A Let's Encrypt-like two-day window.
  CHECK(renewal_time_in_window(kT0, kT0 + 2 * 86400, 0.5, kT0) == kT0 + 77760);
}

TEST_CASE("profiles: read from meta.profiles and checked before ordering") {
  const json base = {{"newNonce", "https://ca.test/nonce"},
                     {"newAccount", "https://ca.test/acct"},
                     {"newOrder", "https://ca.test/order"}};
  const std::string where = "config.toml:12: [[certificate]] www";

  SECTION("a directory without profiles") {
    auto directory = parse_directory(base);
    REQUIRE(directory);
    CHECK(directory->profiles.empty());
    CHECK(check_profile(*directory, "", where));  // no profile asked: nothing to check
    auto refused = check_profile(*directory, "shortlived", where);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find(where + ": profile = \"shortlived\"") == 0);
    CHECK(refused.error().message.find("lists no profiles") != std::string::npos);
  }
  SECTION("meta.profiles of the wrong type is no profile at all") {
    json document = base;
    document["meta"] = {{"profiles", json::array({"classic"})}};
    auto directory = parse_directory(document);
    REQUIRE(directory);
    CHECK(directory->profiles.empty());
  }
  SECTION("the offered profiles are named in the error") {
    json document = base;
    document["meta"] = {{"profiles", {{"classic", "90 days"}, {"shortlived", "6 days"}, {"odd", 5}}}};
    auto directory = parse_directory(document);
    REQUIRE(directory);
    CHECK(directory->profiles.size() == 3);
    CHECK(directory->profiles.at("shortlived") == "6 days");
    CHECK(check_profile(*directory, "shortlived", where));
    auto refused = check_profile(*directory, "tlsserver", where);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == "config");
    CHECK(refused.error().message.find("it offers: classic, odd, shortlived") != std::string::npos);
  }
}

TEST_CASE("[[certificate]] profile and challenge keys") {
  const std::string head =
      "[general]\ndomain = \"auth.example.test\"\n[[certificate]]\nname = \"www\"\n"
      "domains = [\"www.auth.example.test\"]\n";
  auto defaults = parse_config(head, "c.toml");
  REQUIRE(defaults);
  CHECK(defaults->certificates.at(0).profile.empty());
  CHECK(defaults->certificates.at(0).challenge == "dns-01");

  auto chosen = parse_config(head + "profile = \"shortlived\"\nchallenge = \"dns-account-01\"\n", "c.toml");
  REQUIRE(chosen);
  CHECK(chosen->certificates.at(0).profile == "shortlived");
  CHECK(chosen->certificates.at(0).challenge == "dns-account-01");
  CHECK(parse_config(head + "challenge = \"auto\"\n", "c.toml"));

  const auto refused = [&](const std::string& line, const std::string& wanted) {
    auto parsed = parse_config(head + line + "\n", "c.toml");
    REQUIRE_FALSE(parsed);
    INFO(parsed.error().message);
    CHECK(parsed.error().message.find(wanted) != std::string::npos);
  };
  refused("challenge = \"http-01\"",
          "c.toml:6: [[certificate]] challenge: \"http-01\" is not one of dns-01, dns-account-01, "
          "dns-persist-01, auto");
  auto persist = parse_config(head + "challenge = \"dns-persist-01\"\n", "c.toml");
  REQUIRE(persist);
  CHECK(persist->certificates.at(0).challenge == "dns-persist-01");
  refused("challenge = 1", "challenge: 1 is not a string");
  refused("profile = \"\"", "profile: \"\" is not a profile name");
  refused("profile = \"a/b\"", "c.toml:6: [[certificate]] profile: \"a/b\" is not a profile name");
}
