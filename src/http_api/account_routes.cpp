// Part 2 routes of API.md that act on one account: /account, /account/rotate-key and
// the lego httpreq front end (/present, /cleanup).
#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http_api/api_service.hpp"
#include "http_api/handler_support.hpp"
#include "http_api/request_body.hpp"

namespace acmednsd::http_api {
namespace {

ApiResponse basic_challenge() {
  ApiResponse r = forbidden();
  r.set_header("WWW-Authenticate", "Basic realm=\"acme-dnsd\"");
  return r;
}

// "Basic base64(user:key)" -> (user, key); nullopt when it is not that shape.
std::optional<std::pair<std::string, std::string>> basic_credentials(const std::string* header) {
  constexpr std::string_view kBasic = "Basic ";
  if (header == nullptr || header->size() <= kBasic.size() ||
      !iequals_ascii(std::string_view(*header).substr(0, kBasic.size()), kBasic)) {
    return std::nullopt;
  }
  std::string_view encoded = std::string_view(*header).substr(kBasic.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  auto decoded = base64_decode(encoded);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

}  // namespace

void ApiService::on_account(const ApiRequest& request, const ClientAddress& client, const Respond& respond) {
  auto decision = authenticate_api_headers(request, client, Route::account);
  if (auto* response = std::get_if<ApiResponse>(&decision)) return respond(std::move(*response));
  AccountRecord account = std::move(std::get<AccountRecord>(decision));

  if (request.method == "DELETE") {
    store_.delete_account(account.username,
                          guarded(respond, [respond, username = account.username](Result<bool> r) {
                            if (!r) return respond(db_error(r.error(), "delete_account"));
                            log::info("account deleted", {{"username", username}});
                            ApiResponse gone;
                            gone.status = 204;
                            respond(std::move(gone));
                          }));
    return;
  }

  auto values = store_.list_txt(account.subdomain);
  if (!values) return respond(db_error(values.error(), "list_txt"));
  if (request.method == "GET") return respond(json_response(200, account_body(account, *values)));

  // PATCH: replace allowfrom, with /register's validation and errors.
  auto parsed = parse_allowfrom_body(request.body);
  if (auto* error = std::get_if<BodyError>(&parsed)) {
    return respond(json_error(
        400, *error == BodyError::malformed_json ? "malformed_json_payload" : "invalid_allowfrom_cidr"));
  }
  auto& body = std::get<AllowfromBody>(parsed);
  if (!body.present) return respond(json_error(400, "malformed_json_payload"));
  account.allowfrom = body.entries;
  account.allowfrom_invalid = false;
  store_.set_allowfrom(
      account.username, std::move(body.entries),
      guarded(respond, [self = shared_from_this(), respond, account, values = std::move(*values)](Status r) {
        if (!r) return respond(db_error(r.error(), "set_allowfrom"));
        respond(json_response(200, self->account_body(account, values)));
      }));
}

void ApiService::on_rotate_key(const ApiRequest& request, const ClientAddress& client,
                               const Respond& respond) {
  auto decision = authenticate_api_headers(request, client, Route::account_rotate_key);
  if (auto* response = std::get_if<ApiResponse>(&decision)) return respond(std::move(*response));
  const auto& account = std::get<AccountRecord>(decision);
  store_.rotate_key(account.username,
                    guarded(respond, [self = shared_from_this(), respond](Result<acmednsd::Credentials> r) {
                      if (!r) return respond(db_error(r.error(), "rotate_key"));
                      log::info("account key rotated", {{"username", r->username}});
                      respond(json_response(200, self->credentials_body(*r)));
                    }));
}

void ApiService::on_httpreq(const ApiRequest& request, const ClientAddress& client, bool remove,
                            const Respond& respond) {
  if (auto limited = auth_rate_limited(client)) return respond(std::move(*limited));
  const auto credentials = basic_credentials(request.header("Authorization"));
  if (!credentials) {
    // Same accounting as a bad username, without a store lookup.
    metrics_.count_auth_failure(AuthFailure::bad_user);
    auth_failures_.take(client.primary);
    return respond(basic_challenge());
  }
  auto decision = authenticate({&credentials->first, &credentials->second}, client,
                               remove ? Route::cleanup : Route::present);
  if (auto* response = std::get_if<ApiResponse>(&decision)) {
    if (response->status == 401) return respond(basic_challenge());
    return respond(std::move(*response));
  }
  const auto& account = std::get<AccountRecord>(decision);
  const auto value = parse_httpreq_value(request.body);
  if (!value) return respond(json_error(400, "malformed_json_payload"));
  if (!is_valid_txt_value(*value)) return respond(json_error(400, "bad_txt"));
  write_value(account.subdomain, *value, remove, respond);
}

}  // namespace acmednsd::http_api
