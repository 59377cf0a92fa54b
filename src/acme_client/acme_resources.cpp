#include "acme_client/acme_resources.hpp"

#include <cstring>
#include <ctime>

#include "acme_client/acme_problem.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/jws.hpp"
#include "acme_client/x509_tools.hpp"
#include "common/encoding.hpp"

namespace acmednsd::acme {
namespace {

std::string text(const nlohmann::json& object, const char* name) {
  if (!object.is_object()) return {};
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<Order> parse_order(const AcmeReply& reply, std::string url) {
  if (!reply.json.is_object()) return make_error("protocol", "order is not a JSON object");
  Order order;
  order.url = std::move(url);
  order.status = text(reply.json, "status");
  order.finalize = text(reply.json, "finalize");
  order.certificate = text(reply.json, "certificate");
  if (const auto it = reply.json.find("error"); it != reply.json.end()) order.error = *it;
  if (const auto it = reply.json.find("authorizations"); it != reply.json.end() && it->is_array()) {
    for (const auto& entry : *it) {
      if (entry.is_string()) order.authorizations.push_back(entry.get<std::string>());
    }
  }
  if (order.status.empty() || order.finalize.empty()) {
    return make_error("protocol", "order lacks status or finalize URL");
  }
  return order;
}

}  // namespace

Result<std::string> find_or_create_account(AcmeSession& session, const AccountRequest& request) {
  const std::string& url = session.directory().new_account;
  auto existing = session.post(url, nlohmann::json{{"onlyReturnExisting", true}}, true);
  if (existing) {
    if (existing->location.empty()) return make_error("protocol", "newAccount returned no Location");
    return existing->location;
  }
  if (existing.error().code != problem::kAccountDoesNotExist) return existing.error();

  if (!request.agree_terms) {
    const std::string& terms = session.directory().terms_of_service;
    return make_error("config", "the CA requires agreeing to its terms of service" +
                                    (terms.empty() ? std::string() : " (" + terms + ")") +
                                    ": set [acme] agree_terms = true");
  }
  nlohmann::json payload{{"termsOfServiceAgreed", true}};
  if (!request.email.empty()) payload["contact"] = nlohmann::json::array({"mailto:" + request.email});
  if (!request.eab_kid.empty()) {
    auto jwk = public_jwk(session.account_key());
    if (!jwk) return jwk.error();
    auto binding = external_account_binding(*jwk, request.eab_kid, request.eab_hmac_key, url);
    if (!binding) return binding.error();
    payload["externalAccountBinding"] = std::move(*binding);
  } else if (session.directory().external_account_required) {
    return make_error(std::string(problem::kExternalAccountRequired),
                      "the CA requires External Account Binding: set [acme] eab_kid and eab_hmac_key");
  }
  auto created = session.post(url, payload, true);
  if (!created) return created.error();
  if (created->location.empty()) return make_error("protocol", "newAccount returned no Location");
  return created->location;
}

Result<Order> new_order(AcmeSession& session, const std::vector<std::string>& domains,
                        const std::string& replaces, const std::string& profile) {
  nlohmann::json identifiers = nlohmann::json::array();
  for (const auto& domain : domains) identifiers.push_back({{"type", "dns"}, {"value", domain}});
  nlohmann::json payload{{"identifiers", identifiers}};
  if (!replaces.empty()) payload["replaces"] = replaces;
  if (!profile.empty()) payload["profile"] = profile;
  auto reply = session.post(session.directory().new_order, payload);
  if (!reply) return reply.error();
  if (reply->location.empty()) return make_error("protocol", "newOrder returned no Location");
  return parse_order(*reply, reply->location);
}

Result<Order> fetch_order(AcmeSession& session, const std::string& url) {
  auto reply = session.post(url, std::nullopt);
  if (!reply) return reply.error();
  return parse_order(*reply, url);
}

Result<Authorization> fetch_authorization(AcmeSession& session, const std::string& url) {
  auto reply = session.post(url, std::nullopt);
  if (!reply) return reply.error();
  const auto& json = reply->json;
  if (!json.is_object()) return make_error("protocol", "authorization is not a JSON object");
  Authorization authorization;
  authorization.url = url;
  authorization.status = text(json, "status");
  if (const auto it = json.find("identifier"); it != json.end()) authorization.domain = text(*it, "value");
  if (const auto it = json.find("wildcard"); it != json.end() && it->is_boolean()) {
    authorization.wildcard = it->get<bool>();
  }
  if (const auto it = json.find("challenges"); it != json.end() && it->is_array()) {
    for (const auto& entry : *it) {
      Challenge challenge{text(entry, "type"),
                          text(entry, "url"),
                          text(entry, "token"),
                          text(entry, "status"),
                          nullptr,
                          {},
                          text(entry, "accounturi")};
      if (entry.is_object() && entry.contains("error")) challenge.error = entry["error"];
      if (const auto names = entry.find("issuer-domain-names"); names != entry.end() && names->is_array()) {
        for (const auto& name : *names) {
          if (name.is_string()) challenge.issuer_domain_names.push_back(name.get<std::string>());
        }
      }
      authorization.challenges.push_back(std::move(challenge));
    }
  }
  if (authorization.domain.empty() || authorization.status.empty()) {
    return make_error("protocol", "authorization lacks identifier or status");
  }
  return authorization;
}

Status respond_to_challenge(AcmeSession& session, const Challenge& challenge) {
  auto reply = session.post(challenge.url, nlohmann::json::object());
  if (!reply) return reply.error();
  return ok_status();
}

Result<Order> finalize_order(AcmeSession& session, const Order& order,
                             const std::vector<std::uint8_t>& csr_der) {
  auto reply = session.post(order.finalize, nlohmann::json{{"csr", base64url_encode(csr_der)}});
  if (!reply) return reply.error();
  return parse_order(*reply, order.url);
}

Result<std::string> download_certificate(AcmeSession& session, const std::string& url,
                                         const std::string& preferred_issuer) {
  auto reply = session.post(url, std::nullopt);
  if (!reply) return reply.error();
  std::string chain = std::move(reply->http.body);
  if (preferred_issuer.empty()) return chain;

  const auto top_issuer_is_preferred = [&](const std::string& pem) {
    auto info = inspect_certificate_chain(pem);
    return info && !info->issuer_common_names.empty() && info->issuer_common_names.back() == preferred_issuer;
  };
  if (top_issuer_is_preferred(chain)) return chain;
  for (const auto& alternate : link_targets(reply->http, "alternate")) {
    auto other = session.post(alternate, std::nullopt);
    if (other && top_issuer_is_preferred(other->http.body)) return std::move(other->http.body);
  }
  return chain;  // RFC-style fallback: no chain matches, keep the default one
}

Result<RenewalWindow> parse_renewal_info(const nlohmann::json& json) {
  const auto window = json.is_object() ? json.find("suggestedWindow") : json.end();
  if (!json.is_object() || window == json.end() || !window->is_object()) {
    return make_error("protocol", "renewalInfo lacks suggestedWindow");
  }
  const auto start = parse_rfc3339(text(*window, "start"));
  const auto end = parse_rfc3339(text(*window, "end"));
  // RFC 9773 4.2: a window whose end is not after its start is invalid.
  if (!start || !end || *end <= *start) return make_error("protocol", "renewalInfo window is malformed");
  return RenewalWindow{*start, *end, text(json, "explanationURL")};
}

Result<RenewalWindow> fetch_renewal_info(AcmeSession& session, const std::string& cert_id) {
  std::string base = session.directory().renewal_info;
  if (base.empty()) return make_error("protocol", "the CA offers no renewalInfo");
  if (!base.ends_with('/')) base += '/';
  auto reply = session.get(base + cert_id);
  if (!reply) return reply.error();
  if (reply->json.is_null()) return make_error("protocol", "renewalInfo is not JSON");
  return parse_renewal_info(reply->json);
}

Status check_profile(const Directory& directory, const std::string& profile, const std::string& where) {
  if (profile.empty()) return ok_status();
  if (directory.profiles.contains(profile)) return ok_status();
  std::string offered;
  for (const auto& [name, description] : directory.profiles) offered += (offered.empty() ? "" : ", ") + name;
  return make_error("config",
                    where + ": profile = \"" + profile + "\" is not offered by the CA; " +
                        (offered.empty() ? "its directory lists no profiles (meta.profiles): remove "
                                           "the key to use the CA's default"
                                         : "it offers: " + offered));
}

std::optional<std::int64_t> parse_rfc3339(std::string_view value) {
  std::tm parts{};
  const std::string copy(value);
  const char* rest = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  if (rest == nullptr) return std::nullopt;
  std::int64_t seconds = timegm(&parts);
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  if (*rest == 'Z' || *rest == 'z') return rest[1] == '\0' ? std::optional(seconds) : std::nullopt;
  if ((*rest == '+' || *rest == '-') && std::strlen(rest) == 6 && rest[3] == ':') {
    const int hours = (rest[1] - '0') * 10 + (rest[2] - '0');
    const int minutes = (rest[4] - '0') * 10 + (rest[5] - '0');
    const std::int64_t offset = hours * 3600 + minutes * 60;
    return *rest == '+' ? seconds - offset : seconds + offset;
  }
  return std::nullopt;
}

}  // namespace acmednsd::acme
