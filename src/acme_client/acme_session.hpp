// One conversation with an ACME server (RFC 8555 sections 6 and 7.1): the directory,
// the nonce pool, signed POSTs (jwk before the account exists, kid after) with the
// only retry the RFC allows (badNonce), problem documents turned into Errors whose code
// is the problem type and whose message is the CA's detail, and Retry-After.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "acme_client/https_transport.hpp"
#include "acme_client/openssl_handles.hpp"
#include "common/result.hpp"

namespace acmednsd::acme {

struct Directory {
  std::string new_nonce;
  std::string new_account;
  std::string new_order;
  std::string revoke_cert;
  std::string key_change;
  std::string renewal_info;  // RFC 9773 (ARI); empty when the CA does not offer it
  std::string terms_of_service;
  bool external_account_required = false;
  // meta.profiles (draft-ietf-acme-profiles): name -> description; empty when the CA
  // announces none.
  std::map<std::string, std::string> profiles;
  // meta.caaIdentities (RFC 8555 7.1.1): the CA's issuer domain names; dns-persist-01
  // falls back to the first when a challenge lists no issuer-domain-names.
  std::vector<std::string> caa_identities;
  // meta.accountHashPrefix (draft-ietf-acme-dns-persist-02): present when the CA wants
  // the hashed accounturi form; empty for draft-00/01 CAs (the plain account URL).
  std::string account_hash_prefix;
};

Result<Directory> parse_directory(const nlohmann::json& document);

struct AcmeReply {
  HttpResponse http;
  nlohmann::json json;  // null when the body is not JSON (certificates)
  std::string location;
  std::optional<std::chrono::seconds> retry_after;
};

// Seconds from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110 10.2.3).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_unix);

class AcmeSession {
 public:
  AcmeSession(HttpsClient& http, std::string directory_url, EVP_PKEY* account_key);

  Status load_directory();
  [[nodiscard]] const Directory& directory() const { return directory_; }
  [[nodiscard]] EVP_PKEY* account_key() const { return account_key_; }
  void set_account_url(std::string url) { account_url_ = std::move(url); }
  [[nodiscard]] const std::string& account_url() const { return account_url_; }

  // Signed POST; `payload` nullopt is POST-as-GET. `embed_jwk` for newAccount.
  Result<AcmeReply> post(const std::string& url, const std::optional<nlohmann::json>& payload,
                         bool embed_jwk = false);
  // Unauthenticated GET (directory, renewalInfo).
  Result<AcmeReply> get(const std::string& url);
  // Retry-After of the last reply that carried one (errors included), then cleared.
  std::optional<std::chrono::seconds> take_retry_after();

 private:
  Result<std::string> take_nonce();
  void keep_nonce(const HttpResponse& response);
  AcmeReply to_reply(HttpResponse response);

  HttpsClient& http_;
  std::string directory_url_;
  EVP_PKEY* account_key_;
  Directory directory_;
  std::string account_url_;
  std::vector<std::string> nonces_;
  std::optional<std::chrono::seconds> last_retry_after_;
};

}  // namespace acmednsd::acme
