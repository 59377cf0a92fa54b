// /persist: an account's dns-persist-01 records (draft-ietf-acme-dns-persist), an API.md
// Part 2 extension authenticated like /update. The records live at
// "_validation-persist.<subdomain>", where the operator CNAMEs
// "_validation-persist.<their name>"; unlike /update values they never expire and do
// not count against txt_limit. Every value goes through the strict issue-value parser
// (common/persist_value.hpp): what it refuses is a 400 and changes nothing.
#include <nlohmann/json.hpp>

#include "common/encoding.hpp"
#include "common/persist_value.hpp"
#include "http_api/api_service.hpp"
#include "http_api/handler_support.hpp"

namespace acmednsd::http_api {
namespace {

ApiResponse persist_error(unsigned status, std::string_view code, std::string_view detail) {
  return json_response(
      status, "{\"error\": \"" + std::string(code) + "\", \"detail\": \"" + json_escape(detail) + "\"}");
}

// Go encoding/json semantics, as for /update: an exact key wins, else the first key
// that matches case-insensitively.
const nlohmann::json* member(const nlohmann::json& object, std::string_view key) {
  if (auto it = object.find(std::string(key)); it != object.end()) return &*it;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (iequals_ascii(it.key(), key)) return &*it;
  }
  return nullptr;
}

struct PersistBody {
  std::string subdomain;
  std::string text;  // the issue-value to store (POST)
  std::string issuer;
  std::string account_uri;
};

// POST: either "value" (the whole issue-value, as a CA documents it) or the fields
// "issuer", "accounturi", optional "policy" and "persistUntil" (unix seconds). The
// fields are composed and parsed back, and must come out unchanged: an accounturi with
// a ";" in it would otherwise smuggle in a policy the caller did not ask for.
std::variant<PersistBody, ApiResponse> parse_persist_body(std::string_view body, bool for_delete) {
  const auto bad = [](std::string_view detail) { return persist_error(400, "bad_persist_value", detail); };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const std::exception&) {
    return json_error(400, "malformed_json_payload");
  }
  if (!j.is_object()) return json_error(400, "malformed_json_payload");
  PersistBody out;
  const auto text_of = [&](std::string_view key, std::string& into) -> bool {
    const auto* v = member(j, key);
    if (v == nullptr) return true;
    if (!v->is_string()) return false;
    into = v->get<std::string>();
    return true;
  };
  if (!text_of("subdomain", out.subdomain)) return json_error(400, "malformed_json_payload");
  std::string value;
  std::string policy;
  if (!text_of("value", value) || !text_of("issuer", out.issuer) || !text_of("accounturi", out.account_uri) ||
      !text_of("policy", policy)) {
    return bad("value, issuer, accounturi and policy must be strings");
  }
  const auto* until = member(j, "persistUntil");
  if (until != nullptr && !until->is_null() && !until->is_number_unsigned()) {
    return bad("persistUntil must be a non-negative integer (unix seconds)");
  }
  if (for_delete) {
    if (out.issuer.empty() || out.account_uri.empty()) return bad("issuer and accounturi are required");
    return out;
  }
  if (!value.empty()) {
    if (!out.issuer.empty() || !out.account_uri.empty() || !policy.empty() || (until && !until->is_null())) {
      return bad("give either value or issuer/accounturi/policy/persistUntil, not both");
    }
    auto parsed = parse_persist_value(value);
    if (!parsed) return bad(parsed.error().message);
    out.text = value;
    return out;
  }
  if (out.issuer.empty() || out.account_uri.empty()) return bad("issuer and accounturi are required");
  std::string text = out.issuer + "; accounturi=" + out.account_uri;
  if (!policy.empty()) text += "; policy=" + policy;
  std::optional<std::uint64_t> until_value;
  if (until != nullptr && !until->is_null()) {
    until_value = until->get<std::uint64_t>();
    text += "; persistUntil=" + std::to_string(*until_value);
  }
  auto parsed = parse_persist_value(text);
  if (!parsed) return bad(parsed.error().message);
  const bool same = parsed->issuer == to_lower_ascii(out.issuer) && parsed->account_uri == out.account_uri &&
                    parsed->wildcard == !policy.empty() && parsed->extra.empty() &&
                    (!until_value || (parsed->persist_until &&
                                      static_cast<std::uint64_t>(*parsed->persist_until) == *until_value));
  if (!same) return bad("a field holds a ';' or '=' that would change the record's meaning");
  out.text = text;
  return out;
}

}  // namespace

void ApiService::on_persist(const ApiRequest& request, const ClientAddress& client, const Respond& respond) {
  auto decision = authenticate_api_headers(request, client, Route::persist);
  if (auto* response = std::get_if<ApiResponse>(&decision)) return respond(std::move(*response));
  const AccountRecord account = std::move(std::get<AccountRecord>(decision));
  const std::string name = std::string(kPersistLabel) + "." + account.subdomain;
  const std::string fqdn = fulldomain(name);

  if (request.method == "GET") {
    auto records = store_.list_persist(name);
    if (!records) return respond(db_error(records.error(), "list_persist"));
    std::string list = "[";
    for (const auto& r : *records) {
      if (list.size() > 1) list += ',';
      list += "{\"txt\":\"" + json_escape(r.value) + "\",\"issuer\":\"" + json_escape(r.issuer) +
              "\",\"accounturi\":\"" + json_escape(r.account_uri) +
              "\",\"updated_at\":" + std::to_string(r.updated_at) + "}";
    }
    list += ']';
    return respond(
        json_response(200, "{\"fulldomain\":\"" + json_escape(fqdn) + "\",\"records\":" + list + "}"));
  }

  auto parsed = parse_persist_body(request.body, request.method == "DELETE");
  if (auto* response = std::get_if<ApiResponse>(&parsed)) return respond(std::move(*response));
  auto& body = std::get<PersistBody>(parsed);
  if (body.subdomain != account.subdomain) {  // as /update: the body names the account's subdomain
    metrics_.count_auth_failure(AuthFailure::subdomain);
    auth_failures_.take(client.primary);
    return respond(forbidden());
  }

  if (request.method == "DELETE") {
    store_.remove_persist(name, body.issuer, body.account_uri,
                          guarded(respond, [respond](Result<std::string> r) {
                            if (!r) return respond(db_error(r.error(), "remove_persist"));
                            if (r->empty()) return respond(json_error(404, "not_found"));
                            respond(json_response(200, "{\"txt\": \"" + json_escape(*r) + "\"}"));
                          }));
    return;
  }
  store_.set_persist(
      name, body.text, guarded(respond, [respond, fqdn, text = body.text](Result<bool> r) {
        if (!r) {
          if (r.error().code == "persist_value") {
            return respond(persist_error(400, "bad_persist_value", r.error().message));
          }
          if (r.error().code == "persist_limit") {
            return respond(persist_error(400, "too_many_persist_records", r.error().message));
          }
          return respond(db_error(r.error(), "set_persist"));
        }
        auto canonical = parse_persist_value(text);
        respond(json_response(200, "{\"fulldomain\": \"" + json_escape(fqdn) + "\", \"txt\": \"" +
                                       json_escape(canonical ? format_persist_value(*canonical) : text) +
                                       "\", \"written\": " + (*r ? "true" : "false") + "}"));
      }));
}

}  // namespace acmednsd::http_api
