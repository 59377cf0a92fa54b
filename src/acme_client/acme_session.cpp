#include "acme_client/acme_session.hpp"

#include <ctime>

#include "acme_client/acme_problem.hpp"
#include "acme_client/jws.hpp"
#include "common/log.hpp"

namespace acmednsd::acme {
namespace {

constexpr int kBadNonceAttempts = 5;
constexpr std::size_t kMaxPooledNonces = 16;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string string_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<Directory> parse_directory(const nlohmann::json& document) {
  if (!document.is_object()) return make_error("directory", "ACME directory is not a JSON object");
  Directory out;
  out.new_nonce = string_member(document, "newNonce");
  out.new_account = string_member(document, "newAccount");
  out.new_order = string_member(document, "newOrder");
  out.revoke_cert = string_member(document, "revokeCert");
  out.key_change = string_member(document, "keyChange");
  out.renewal_info = string_member(document, "renewalInfo");
  if (const auto meta = document.find("meta"); meta != document.end() && meta->is_object()) {
    out.terms_of_service = string_member(*meta, "termsOfService");
    const auto eab = meta->find("externalAccountRequired");
    out.external_account_required = eab != meta->end() && eab->is_boolean() && eab->get<bool>();
    if (const auto profiles = meta->find("profiles"); profiles != meta->end() && profiles->is_object()) {
      for (const auto& [name, description] : profiles->items()) {
        out.profiles[name] = description.is_string() ? description.get<std::string>() : std::string();
      }
    }
    if (const auto caa = meta->find("caaIdentities"); caa != meta->end() && caa->is_array()) {
      for (const auto& name : *caa) {
        if (name.is_string()) out.caa_identities.push_back(name.get<std::string>());
      }
    }
    out.account_hash_prefix = string_member(*meta, "accountHashPrefix");
  }
  if (out.new_nonce.empty() || out.new_account.empty() || out.new_order.empty()) {
    return make_error("directory", "ACME directory lacks newNonce, newAccount or newOrder");
  }
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, std::int64_t now_unix) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return std::chrono::seconds(86400 * 7);
    return std::chrono::seconds(std::stoll(std::string(value)));
  }
  std::tm parts{};
  const std::string text(value);
  if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &parts) == nullptr) return std::nullopt;
  const std::int64_t when = timegm(&parts);
  return std::chrono::seconds(when > now_unix ? when - now_unix : 0);
}

AcmeSession::AcmeSession(HttpsClient& http, std::string directory_url, EVP_PKEY* account_key)
    : http_(http), directory_url_(std::move(directory_url)), account_key_(account_key) {}

Status AcmeSession::load_directory() {
  auto reply = get(directory_url_);
  if (!reply) return reply.error();
  auto parsed = parse_directory(reply->json);
  if (!parsed) {
    return make_error("directory", parsed.error().message + " (" + directory_url_ + ")");
  }
  directory_ = std::move(*parsed);
  return ok_status();
}

AcmeReply AcmeSession::to_reply(HttpResponse response) {
  AcmeReply reply;
  reply.location = response.header("location");
  reply.retry_after = parse_retry_after(response.header("retry-after"), unix_now());
  if (reply.retry_after) last_retry_after_ = reply.retry_after;
  const std::string type = response.header("content-type");
  if (type.find("json") != std::string::npos) {
    reply.json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (reply.json.is_discarded()) reply.json = nullptr;
  }
  reply.http = std::move(response);
  return reply;
}

Result<AcmeReply> AcmeSession::get(const std::string& url) {
  auto response = http_.request("GET", url);
  if (!response) return response.error();
  keep_nonce(*response);
  AcmeReply reply = to_reply(std::move(*response));
  if (reply.http.status >= 400) {
    if (reply.json.is_object())
      return make_error(problem::string_member(reply.json, "type", "http"), problem::describe(reply.json));
    return make_error("http", "GET " + url + ": HTTP " + std::to_string(reply.http.status));
  }
  return reply;
}

std::optional<std::chrono::seconds> AcmeSession::take_retry_after() {
  auto out = last_retry_after_;
  last_retry_after_.reset();
  return out;
}

void AcmeSession::keep_nonce(const HttpResponse& response) {
  std::string nonce = response.header("replay-nonce");
  if (!nonce.empty() && nonces_.size() < kMaxPooledNonces) nonces_.push_back(std::move(nonce));
}

Result<std::string> AcmeSession::take_nonce() {
  if (nonces_.empty()) {
    if (directory_.new_nonce.empty()) {
      if (auto loaded = load_directory(); !loaded) return loaded.error();
    }
    auto response = http_.request("HEAD", directory_.new_nonce);
    if (!response) return response.error();
    keep_nonce(*response);
    if (nonces_.empty()) {
      return make_error("protocol",
                        "newNonce returned no Replay-Nonce (HTTP " + std::to_string(response->status) + ")");
    }
  }
  std::string nonce = std::move(nonces_.back());
  nonces_.pop_back();
  return nonce;
}

Result<AcmeReply> AcmeSession::post(const std::string& url, const std::optional<nlohmann::json>& payload,
                                    bool embed_jwk) {
  if (!embed_jwk && account_url_.empty()) {
    return make_error("protocol", "no ACME account for a kid-signed request");
  }
  for (int attempt = 1;; ++attempt) {
    auto nonce = take_nonce();
    if (!nonce) return nonce.error();
    JwsHeader header{std::move(*nonce), url, embed_jwk ? std::string() : account_url_};
    auto body = sign_jws(account_key_, header, payload);
    if (!body) return body.error();
    auto response = http_.request("POST", url, body->dump(), "application/jose+json");
    if (!response) return response.error();
    keep_nonce(*response);
    AcmeReply reply = to_reply(std::move(*response));
    if (reply.http.status < 400) return reply;
    if (!reply.json.is_object()) {
      return make_error("http", "POST " + url + ": HTTP " + std::to_string(reply.http.status));
    }
    const std::string type = problem::string_member(reply.json, "type", "http");
    // RFC 8555 6.5: a badNonce rejection is the one error a client retries on its own.
    if (type == problem::kBadNonce && attempt < kBadNonceAttempts) {
      log::debug("ACME badNonce; retrying with a fresh nonce",
                 {{"url", url}, {"attempt", std::to_string(attempt)}});
      continue;
    }
    return make_error(type, problem::describe(reply.json));
  }
}

}  // namespace acmednsd::acme
