// Known-answer tests of the pure protocol pieces: RFC 7638 thumbprints, the DNS-01 TXT
// value, EAB and HMAC, JWS signatures that verify, the CSR, and the small parsers.
#include <openssl/ecdsa.h>
#include <openssl/x509v3.h>

#include "catch_compat.hpp"

#include "acme_client/acme_problem.hpp"
#include "acme_client/acme_resources.hpp"
#include "acme_client/acme_session.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/dns01_challenge.hpp"
#include "acme_client/https_transport.hpp"
#include "acme_client/jws.hpp"
#include "acme_client/x509_tools.hpp"
#include "common/encoding.hpp"

using namespace acmednsd;
using namespace acmednsd::acme;

namespace {

std::string decode_text(const std::string& b64url) {
  auto bytes = base64url_decode(b64url);
  REQUIRE(bytes);
  return {bytes->begin(), bytes->end()};
}

// Verifies a JWS object the way a CA does (r||s back to DER for ECDSA).
bool verify_jws(EVP_PKEY* key, const nlohmann::json& jws) {
  const std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
  auto signature = base64url_decode(jws["signature"].get<std::string>());
  if (!signature) return false;
  std::vector<std::uint8_t> der = *signature;
  const EVP_MD* digest = EVP_sha256();
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    const std::size_t half = signature->size() / 2;
    if (EVP_PKEY_get_bits(key) > 256) digest = EVP_sha384();
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(signature->data(), static_cast<int>(half), nullptr),
                   BN_bin2bn(signature->data() + half, static_cast<int>(half), nullptr));
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    der.assign(out, out + length);
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
  }
  EvpMdCtxPtr context(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(context.get(), nullptr, digest, nullptr, key) == 1 &&
         EVP_DigestVerify(context.get(), der.data(), der.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

TEST_CASE("RFC 7638 section 3.1: the example RSA key's thumbprint") {
  const nlohmann::json jwk{
      {"kty", "RSA"},
      {"e", "AQAB"},
      {"n",
       "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
       "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
       "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
       "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"}};
  CHECK(jwk_thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST_CASE("EC thumbprint hashes crv, kty, x, y in lexicographic order") {
  const nlohmann::json jwk{{"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                           {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                           {"kty", "EC"},
                           {"crv", "P-256"}};
  CHECK(jwk_thumbprint(jwk) == "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
}

TEST_CASE("key authorization and DNS-01 TXT value (RFC 8555 8.1, 8.4)") {
  const std::string ka = key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
                                           "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  CHECK(ka == "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  const std::string txt = dns01_txt_value(ka);
  CHECK(txt == "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");
  CHECK(txt.size() == 43);  // what acme-dns and our store accept
}

TEST_CASE("HMAC-SHA256 RFC 4231 test case 2") {
  const std::string key = "Jefe";
  const auto mac = hmac_sha256(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()),
      "what do ya want for nothing?");
  CHECK(hex_encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("External Account Binding: HS256 over the account JWK") {
  const nlohmann::json jwk{{"crv", "P-256"},
                           {"kty", "EC"},
                           {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                           {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  const std::string hmac_key =
      "zWNDZM6eQGHWpSRTPal5eIUYFTu7wXwG4tVUAu4BBUZnSK-Twx2ivEjRB1VdP6m4dk2g2bwj9s9mc6dXLu8PZw";
  auto eab = external_account_binding(jwk, "kid-1", hmac_key, "https://ca.test/new-account");
  REQUIRE(eab);
  CHECK((*eab)["protected"] ==
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS50ZXN0L25ldy1hY2NvdW50In0");
  CHECK(nlohmann::json::parse(decode_text((*eab)["payload"])) == jwk);
  CHECK((*eab)["signature"] == "jj20laiRKRwvLN1n5GVESxL4PqEhiZIN0n2Vz37yG9w");
  SECTION("padded keys are accepted, garbage is not") {
    auto padded = external_account_binding(jwk, "kid-1", hmac_key + "==", "https://ca.test/new-account");
    REQUIRE(padded);
    CHECK((*padded)["signature"] == (*eab)["signature"]);
    CHECK_FALSE(external_account_binding(jwk, "kid-1", "not base64!", "u"));
  }
}

TEST_CASE("JWS: ES256, ES384 and RS256 signatures verify; header carries jwk or kid") {
  for (const char* type : {"ec256", "ec384", "rsa2048"}) {
    auto key = generate_private_key(type);
    REQUIRE(key);
    auto jwk = public_jwk(key->get());
    REQUIRE(jwk);
    auto with_jwk = sign_jws(key->get(), {"nonce-1", "https://ca.test/new-account", ""},
                             nlohmann::json{{"termsOfServiceAgreed", true}});
    REQUIRE(with_jwk);
    CHECK(verify_jws(key->get(), *with_jwk));
    const auto header = nlohmann::json::parse(decode_text((*with_jwk)["protected"]));
    CHECK(header["alg"] == (std::string(type) == "ec256"   ? "ES256"
                            : std::string(type) == "ec384" ? "ES384"
                                                           : "RS256"));
    CHECK(header["jwk"] == *jwk);
    CHECK(header["nonce"] == "nonce-1");
    CHECK_FALSE(header.contains("kid"));

    auto post_as_get =
        sign_jws(key->get(), {"nonce-2", "https://ca.test/order/1", "https://ca.test/acct/7"}, std::nullopt);
    REQUIRE(post_as_get);
    CHECK((*post_as_get)["payload"] == "");
    CHECK(verify_jws(key->get(), *post_as_get));
    const auto kid_header = nlohmann::json::parse(decode_text((*post_as_get)["protected"]));
    CHECK(kid_header["kid"] == "https://ca.test/acct/7");
    CHECK_FALSE(kid_header.contains("jwk"));
  }
}

TEST_CASE("keys survive a PEM round trip with the same thumbprint") {
  auto key = generate_private_key("ec256");
  REQUIRE(key);
  auto again = private_key_from_pem(private_key_to_pem(key->get()));
  REQUIRE(again);
  CHECK(jwk_thumbprint(*public_jwk(key->get())) == jwk_thumbprint(*public_jwk(again->get())));
  CHECK_FALSE(generate_private_key("dsa1024"));
  CHECK_FALSE(private_key_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
}

TEST_CASE("CSR names every domain in subjectAltName and is self-signed") {
  for (const char* type : {"ec256", "ec384", "rsa3072"}) {
    auto key = generate_private_key(type);
    REQUIRE(key);
    auto der = make_csr(key->get(), {"example.test", "*.example.test", "b.example.test"});
    REQUIRE(der);
    const unsigned char* cursor = der->data();
    X509ReqPtr request(d2i_X509_REQ(nullptr, &cursor, static_cast<long>(der->size())));
    REQUIRE(request);
    CHECK(X509_REQ_verify(request.get(), key->get()) == 1);
    STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request.get());
    REQUIRE(extensions != nullptr);
    GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(extensions, NID_subject_alt_name, nullptr, nullptr)));
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
    REQUIRE(names);
    REQUIRE(sk_GENERAL_NAME_num(names.get()) == 3);
    const GENERAL_NAME* second = sk_GENERAL_NAME_value(names.get(), 1);
    CHECK(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(second->d.dNSName))) ==
          "*.example.test");
  }
}

TEST_CASE("challenge record names: inside the zone, the apex, CNAME-delegated") {
  CHECK(*challenge_record_name("www.auth.example.test", "auth.example.test", "") == "_acme-challenge.www");
  CHECK(*challenge_record_name("WWW.Auth.Example.Test.", "auth.example.test", "") == "_acme-challenge.www");
  CHECK(*challenge_record_name("auth.example.test", "auth.example.test", "") == "_acme-challenge");
  CHECK(*challenge_record_name("*.auth.example.test", "auth.example.test", "") == "_acme-challenge");
  CHECK(*challenge_record_name("*.a.b.auth.example.test", "auth.example.test", "") == "_acme-challenge.a.b");
  const std::string sub = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf";
  CHECK(*challenge_record_name("example.test", "auth.example.test", sub) == sub);
  CHECK(*challenge_record_name("*.example.test", "auth.example.test", sub) == sub);
  // A name that merely ends with the zone's text is not inside it.
  CHECK(*challenge_record_name("evilauth.example.test", "auth.example.test", sub) == sub);
  auto outside = challenge_record_name("example.org", "auth.example.test", "");
  REQUIRE_FALSE(outside);
  CHECK(outside.error().message.find("challenge_subdomain") != std::string::npos);
}

TEST_CASE("small parsers: URLs, Link headers, Retry-After, RFC 3339, directory, problems") {
  auto url = parse_https_url("https://127.0.0.1:14000/dir");
  REQUIRE(url);
  CHECK(url->host == "127.0.0.1");
  CHECK(url->port == "14000");
  CHECK(url->target == "/dir");
  CHECK(parse_https_url("https://[::1]:8443/x")->host == "::1");
  CHECK(parse_https_url("https://ca.test")->port == "443");
  CHECK_FALSE(parse_https_url("http://ca.test/"));
  CHECK_FALSE(parse_https_url("https://ca.test:x/"));

  HttpResponse response;
  response.headers = {
      {"link", "<https://ca.test/cert/1/1>;rel=\"alternate\", <https://ca.test/dir>;rel=\"index\""},
      {"link", "<https://ca.test/cert/1/2>; rel=\"alternate\""}};
  CHECK(link_targets(response, "alternate") ==
        std::vector<std::string>{"https://ca.test/cert/1/1", "https://ca.test/cert/1/2"});
  CHECK(link_targets(response, "index") == std::vector<std::string>{"https://ca.test/dir"});

  CHECK(parse_retry_after("120", 0) == std::chrono::seconds(120));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 30) == std::chrono::seconds(30));
  CHECK_FALSE(parse_retry_after("soon", 0));
  CHECK(parse_rfc3339("2015-10-21T07:28:00Z") == 1445412480);
  CHECK(parse_rfc3339("2015-10-21T07:28:00.123Z") == 1445412480);
  CHECK(parse_rfc3339("2015-10-21T09:28:00+02:00") == 1445412480);
  CHECK_FALSE(parse_rfc3339("2015-10-21"));

  auto directory = parse_directory(nlohmann::json{{"newNonce", "https://ca/nonce"},
                                                  {"newAccount", "https://ca/acct"},
                                                  {"newOrder", "https://ca/order"},
                                                  {"renewalInfo", "https://ca/ari"},
                                                  {"meta", {{"externalAccountRequired", true}}}});
  REQUIRE(directory);
  CHECK(directory->renewal_info == "https://ca/ari");
  CHECK(directory->external_account_required);
  CHECK_FALSE(parse_directory(nlohmann::json{{"newNonce", "x"}}));

  const auto document = nlohmann::json::parse(R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier",
    "detail":"Error creating new order", "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier",
    "detail":"blocked by policy","identifier":{"type":"dns","value":"bad.example"}}]})");
  CHECK(problem::describe(document) ==
        "rejectedIdentifier: Error creating new order; bad.example: blocked by policy");
  // Documents come from the network: wrong member types must not throw.
  const auto odd = nlohmann::json::parse(R"({"type":5,"detail":null,"subproblems":[1,{"identifier":7}]})");
  CHECK(problem::describe(odd) == "about:blank: (no detail); ");
}
