#include "http_api/api_service.hpp"

#include <array>
#include <atomic>
#include <ctime>
#include <exception>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http_api/handler_support.hpp"
#include "http_api/request_body.hpp"

namespace acmednsd::http_api {
namespace {

struct RouteSpec {
  std::string_view path;
  Route route;
  std::string_view allow;  // the Allow header of a 405, acme-dns (httprouter 1.3) style
};

constexpr std::array<RouteSpec, 10> kRoutes = {{
    {"/register", Route::register_account, "POST"},
    {"/update", Route::update, "POST, DELETE"},
    {"/health", Route::health, "GET"},
    {"/ready", Route::ready, "GET"},
    {"/metrics", Route::metrics, "GET"},
    {"/account", Route::account, "GET, PATCH, DELETE"},
    {"/account/rotate-key", Route::account_rotate_key, "POST"},
    {"/present", Route::present, "POST"},
    {"/cleanup", Route::cleanup, "POST"},
    {"/persist", Route::persist, "GET, POST, DELETE"},
}};

constexpr std::string_view kAllMethods = "GET, POST, PATCH, DELETE";
constexpr std::string_view kCorsHeaders = "X-Api-User, X-Api-Key, Content-Type, Authorization";

bool allow_list_has(std::string_view allow, std::string_view method) {
  while (!allow.empty()) {
    const auto comma = allow.find(',');
    std::string_view item = allow.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    allow.remove_prefix(comma + 1);
  }
  return false;
}

// Go's net/http answers for unknown paths and wrong methods (acme-dns uses them).
ApiResponse go_text_error(unsigned status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = std::move(body);
  return r;
}

// acme-dns's validSubdomain: a lowercase DNS label.
bool valid_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

}  // namespace

std::shared_ptr<ApiService> ApiService::create(const Config& config, Store& store, bool tls_active) {
  return std::make_shared<ApiService>(config, store, tls_active);
}

ApiPolicy::ApiPolicy(const ApiConfig& config)
    : api(config),
      registration_open(!config.disable_registration && config.registration != RegistrationPolicy::disabled),
      resolver(config) {
  for (const auto& text : config.registration_allowfrom) {
    if (auto cidr = Cidr::parse(text)) registration_networks.push_back(*cidr);
  }
  for (const auto& text : config.registration_rate_exempt) {
    if (auto cidr = Cidr::parse(text)) registration_rate_exempt.push_back(*cidr);
  }
}

ApiService::ApiService(const Config& config, Store& store, bool tls_active)
    : domain_(config.general.domain),
      tls_active_(tls_active),
      metrics_on_api_(!config.api.metrics_listen.has_value()),
      store_(store),
      policy_(std::make_shared<const ApiPolicy>(config.api)),
      auth_failures_(config.api.auth_failures_per_minute),
      registrations_(config.api.registration_rate_per_minute) {}

void ApiService::reload(const Config& config) {
  auto next = std::make_shared<const ApiPolicy>(config.api);
  std::lock_guard lock(policy_mutex_);
  policy_ = std::move(next);
}

std::shared_ptr<const ApiPolicy> ApiService::policy() const {
  std::lock_guard lock(policy_mutex_);
  return policy_;
}

void ApiService::add_metrics_source(std::function<std::string()> source) {
  extra_metrics_.push_back(std::move(source));
}

Respond ApiService::finisher(const ApiRequest& request, Route route, const ClientAddress& client,
                             std::shared_ptr<const ApiPolicy> policy, Clock::time_point start,
                             Respond respond) {
  struct Pending {
    std::atomic<bool> answered{false};
    std::shared_ptr<ApiService> service;
    std::shared_ptr<const ApiPolicy> policy;
    Route route;
    Clock::time_point start;
    std::string method, path, client;
    std::optional<std::string> origin;
    Respond respond;
  };
  auto pending = std::make_shared<Pending>();
  pending->service = shared_from_this();
  pending->policy = std::move(policy);
  pending->route = route;
  pending->start = start;
  pending->method = request.method;
  pending->path = std::string(request.path());
  pending->client = client.primary.to_string();
  if (const std::string* origin = request.header("Origin")) pending->origin = *origin;
  pending->respond = std::move(respond);
  return [pending](ApiResponse response) {
    if (pending->answered.exchange(true)) return;  // a second answer is a bug; keep the first
    auto& self = *pending->service;
    self.decorate(response, pending->origin ? &*pending->origin : nullptr, *pending->policy);
    const double seconds = std::chrono::duration<double>(Clock::now() - pending->start).count();
    self.metrics_.observe(pending->route, response.status, seconds);
    if (log::enabled(LogLevel::info)) {
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000.0);
      log::info("http", {{"client", pending->client},
                         {"method", pending->method},
                         {"path", pending->path},
                         {"status", std::to_string(response.status)},
                         {"ms", ms}});
    }
    pending->respond(std::move(response));
  };
}

void ApiService::handle(ApiRequest request, Respond respond) {
  const auto start = Clock::now();
  Route route = Route::other;
  const std::string_view path = request.path();
  for (const auto& spec : kRoutes) {
    if (spec.path == path) route = spec.route;
  }
  auto policy = this->policy();
  if ((route == Route::register_account && !policy->registration_open) ||
      (route == Route::metrics && !metrics_on_api_)) {
    route = Route::other;  // the route does not exist in this configuration
  }
  const ClientAddress client = policy->resolver.resolve(
      request.peer, policy->api.use_header ? request.header(policy->api.header_name) : nullptr);
  const ApiPolicy& current = *policy;
  const Respond finish = finisher(request, route, client, std::move(policy), start, std::move(respond));
  try {
    dispatch(request, route, client, current, finish);
  } catch (const std::exception& e) {
    log::error("http handler failed", {{"path", std::string(path)}, {"error", e.what()}});
    finish(json_error(500, "internal_error"));
  }
}

void ApiService::handle_metrics_listener(ApiRequest request, Respond respond) {
  const auto start = Clock::now();
  const std::string_view path = request.path();
  const Route route = path == "/metrics" ? Route::metrics : path == "/health" ? Route::health : Route::other;
  auto policy = this->policy();
  const ClientAddress client = policy->resolver.resolve(request.peer, nullptr);
  const Respond finish = finisher(request, route, client, std::move(policy), start, std::move(respond));
  try {
    if (route == Route::other) return finish(go_text_error(404, "404 page not found\n"));
    if (request.method != "GET") {
      ApiResponse r = go_text_error(405, "Method Not Allowed\n");
      r.set_header("Allow", "GET");
      return finish(std::move(r));
    }
    finish(route == Route::metrics ? metrics_response() : ApiResponse{});
  } catch (const std::exception& e) {
    log::error("metrics handler failed", {{"error", e.what()}});
    finish(json_error(500, "internal_error"));
  }
}

void ApiService::dispatch(const ApiRequest& request, Route route, const ClientAddress& client,
                          const ApiPolicy& policy, const Respond& respond) {
  if (auto preflight = cors_preflight(request, route, policy)) return respond(std::move(*preflight));
  if (route == Route::other) return respond(go_text_error(404, "404 page not found\n"));
  std::string_view allow;
  for (const auto& spec : kRoutes) {
    if (spec.route == route) allow = spec.allow;
  }
  if (request.method == "OPTIONS") {
    ApiResponse r;
    r.set_header("Allow", std::string(allow));
    return respond(std::move(r));
  }
  if (!allow_list_has(allow, request.method)) {
    ApiResponse r = go_text_error(405, "Method Not Allowed\n");
    r.set_header("Allow", std::string(allow));
    return respond(std::move(r));
  }
  switch (route) {
    case Route::register_account:
      return on_register(request, client, policy, respond);
    case Route::update:
      return on_update(request, client, request.method == "DELETE", respond);
    case Route::health:
      return respond(ApiResponse{});
    case Route::ready:
      return respond(ready_response());
    case Route::metrics:
      return respond(metrics_response());
    case Route::account:
      return on_account(request, client, respond);
    case Route::account_rotate_key:
      return on_rotate_key(request, client, respond);
    case Route::present:
      return on_httpreq(request, client, false, respond);
    case Route::cleanup:
      return on_httpreq(request, client, true, respond);
    case Route::persist:
      return on_persist(request, client, respond);
    case Route::other:
      break;
  }
  respond(go_text_error(404, "404 page not found\n"));
}

// ---- CORS and security headers ----

namespace {

// The Access-Control-Allow-Origin value for `origin`, or nullopt when not allowed.
std::optional<std::string> allowed_origin(const std::vector<std::string>& origins,
                                          const std::string& origin) {
  for (const auto& allowed : origins) {
    if (allowed == "*") return std::string("*");
    if (iequals_ascii(allowed, origin)) return origin;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiResponse> ApiService::cors_preflight(const ApiRequest& request, Route route,
                                                      const ApiPolicy& policy) {
  const ApiConfig& api = policy.api;
  if (request.method != "OPTIONS" || api.corsorigins.empty()) return std::nullopt;
  const std::string* origin = request.header("Origin");
  const std::string* wanted = request.header("Access-Control-Request-Method");
  if (origin == nullptr || wanted == nullptr) return std::nullopt;
  std::string_view allow = kAllMethods;
  for (const auto& spec : kRoutes) {
    if (spec.route == route && route != Route::other) allow = spec.allow;
  }
  ApiResponse r;
  r.status = 204;
  r.set_header("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  const auto allowed = allowed_origin(api.corsorigins, *origin);
  if (!allowed || !allow_list_has(allow, *wanted)) return r;  // no grant: the browser refuses
  r.set_header("Access-Control-Allow-Origin", *allowed);
  r.set_header("Access-Control-Allow-Methods", std::string(allow));
  r.set_header("Access-Control-Allow-Headers", std::string(kCorsHeaders));
  r.set_header("Access-Control-Max-Age", "600");
  return r;
}

void ApiService::decorate(ApiResponse& response, const std::string* origin, const ApiPolicy& policy) const {
  const ApiConfig& api = policy.api;
  if (origin != nullptr && !api.corsorigins.empty() &&
      response.header("Access-Control-Allow-Origin") == nullptr && response.status != 204) {
    if (auto allowed = allowed_origin(api.corsorigins, *origin)) {
      response.set_header("Vary", "Origin");
      response.set_header("Access-Control-Allow-Origin", *allowed);
    }
  }
  if (api.hsts && tls_active_) {
    std::string value = "max-age=" + std::to_string(api.hsts_max_age);
    if (api.hsts_include_subdomains) value += "; includeSubDomains";
    if (api.hsts_preload) value += "; preload";
    response.set_header("Strict-Transport-Security", std::move(value));
  }
}

// ---- Authentication (checks 1..5 of /update) ----

std::optional<ApiResponse> ApiService::auth_rate_limited(const ClientAddress& client) {
  if (!auth_failures_.exhausted(client.primary)) return std::nullopt;
  ApiResponse r = json_error(429, "too_many_requests");
  r.set_header("Retry-After", std::to_string(auth_failures_.retry_after_seconds(client.primary)));
  return r;
}

ApiService::AuthDecision ApiService::authenticate(Credentials credentials, const ClientAddress& client,
                                                  Route route) {
  auto fail = [&](AuthFailure reason, std::string_view why) -> AuthDecision {
    metrics_.count_auth_failure(reason);
    auth_failures_.take(client.primary);
    log::debug("authentication failed", {{"client", client.primary.to_string()},
                                         {"route", std::string(route_name(route))},
                                         {"reason", std::string(why)}});
    return forbidden();
  };
  static const std::string kEmpty;
  const std::string& user = credentials.user != nullptr ? *credentials.user : kEmpty;
  const std::string& key = credentials.key != nullptr ? *credentials.key : kEmpty;
  const auto username = canonical_uuid(user);
  if (!username) return fail(AuthFailure::bad_user, "username is not a UUID");
  if (!is_valid_api_key(key)) return fail(AuthFailure::bad_key, "key is not 40 base64url characters");
  auto result = store_.authenticate(*username, key);
  if (!result) return db_error(result.error(), "authenticate");
  if (result->outcome == AuthOutcome::unknown_user) return fail(AuthFailure::unknown_user, "unknown user");
  if (result->outcome == AuthOutcome::bad_key) return fail(AuthFailure::wrong_key, "wrong key");
  if (!allowfrom_permits(result->account.allowfrom, result->account.allowfrom_invalid, client)) {
    return fail(AuthFailure::allowfrom, "address not in allowfrom");
  }
  return std::move(result->account);
}

ApiService::AuthDecision ApiService::authenticate_api_headers(const ApiRequest& request,
                                                              const ClientAddress& client, Route route) {
  if (auto limited = auth_rate_limited(client)) return std::move(*limited);
  return authenticate({request.header("X-Api-User"), request.header("X-Api-Key")}, client, route);
}

// ---- Part 1: /register and /update ----

void ApiService::on_register(const ApiRequest& request, const ClientAddress& client, const ApiPolicy& policy,
                             const Respond& respond) {
  if (!policy.registration_networks.empty() && !any_contains(policy.registration_networks, client.primary)) {
    return respond(json_error(403, "forbidden"));
  }
  if (policy.api.registration == RegistrationPolicy::token) {
    const std::string* auth = request.header("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    bool granted = false;
    if (auth != nullptr && auth->size() > kBearer.size() &&
        iequals_ascii(auth->substr(0, kBearer.size()), kBearer)) {
      const std::string_view token = std::string_view(*auth).substr(kBearer.size());
      for (const auto& allowed : policy.api.registration_tokens) {
        granted = constant_time_equal(token, allowed) || granted;
      }
    }
    if (!granted) return respond(forbidden());
  }
  if (!any_contains(policy.registration_rate_exempt, client.primary) &&
      !registrations_.take(client.primary)) {
    metrics_.count_registration_refused(RegistrationRefusal::rate);
    ApiResponse r = json_error(429, "too_many_requests");
    r.set_header("Retry-After", std::to_string(registrations_.retry_after_seconds(client.primary)));
    return respond(std::move(r));
  }
  auto parsed = parse_allowfrom_body(request.body);
  if (auto* error = std::get_if<BodyError>(&parsed)) {
    return respond(json_error(
        400, *error == BodyError::malformed_json ? "malformed_json_payload" : "invalid_allowfrom_cidr"));
  }
  if (!reserve_registration(policy.api.registration_max_accounts)) {
    metrics_.count_registration_refused(RegistrationRefusal::cap);
    return respond(json_error(503, "account_limit_reached"));
  }
  auto entries = std::move(std::get<AllowfromBody>(parsed).entries);
  store_.create_account(std::move(entries), guarded(respond, [self = shared_from_this(),
                                                              respond](Result<acmednsd::Credentials> r) {
                          self->registrations_in_flight_.fetch_sub(1);
                          if (!r) return respond(db_error(r.error(), "create_account"));
                          log::info("account registered", {{"username", r->username}});
                          respond(json_response(201, self->credentials_body(*r)));
                        }));
}

bool ApiService::reserve_registration(std::uint32_t max_accounts) {
  const std::uint32_t in_flight = registrations_in_flight_.fetch_add(1) + 1;
  // The index's name count: every account, plus the few names of the embedded ACME client.
  if (max_accounts == 0 || store_.index().name_count() + in_flight <= max_accounts) return true;
  registrations_in_flight_.fetch_sub(1);
  const std::int64_t now = unix_now();
  std::int64_t last = cap_logged_at_.load();
  if (now - last >= 60 && cap_logged_at_.compare_exchange_strong(last, now)) {
    log::warning(
        "registration refused: the account cap is reached; raise [api] registration_max_accounts "
        "or remove unused accounts",
        {{"registration_max_accounts", std::to_string(max_accounts)}});
  }
  return false;
}

void ApiService::on_update(const ApiRequest& request, const ClientAddress& client, bool remove,
                           const Respond& respond) {
  auto decision = authenticate_api_headers(request, client, Route::update);
  if (auto* response = std::get_if<ApiResponse>(&decision)) return respond(std::move(*response));
  const auto& account = std::get<AccountRecord>(decision);
  const UpdateBody body = parse_update_body(request.body);
  if (body.subdomain != account.subdomain) {
    metrics_.count_auth_failure(AuthFailure::subdomain);
    auth_failures_.take(client.primary);
    return respond(forbidden());
  }
  if (!valid_subdomain(body.subdomain)) return respond(json_error(400, "bad_subdomain"));
  if (!is_valid_txt_value(body.txt)) return respond(json_error(400, "bad_txt"));
  write_value(account.subdomain, body.txt, remove, respond);
}

void ApiService::write_value(const std::string& subdomain, const std::string& value, bool remove,
                             const Respond& respond) {
  std::string echo = "{\"txt\": \"" + value + "\"}";
  if (remove) {
    store_.remove_txt(subdomain, value,
                      guarded(respond, [self = shared_from_this(), respond, echo](Result<bool> r) {
                        if (!r) return respond(db_error(r.error(), "remove_txt"));
                        if (*r) self->metrics_.count_update(false);
                        respond(json_response(200, echo));
                      }));
    return;
  }
  store_.add_txt(subdomain, value, guarded(respond, [self = shared_from_this(), respond, echo](Status r) {
                   if (!r) return respond(db_error(r.error(), "add_txt"));
                   self->metrics_.count_update(true);
                   respond(json_response(200, echo));
                 }));
}

// ---- Operations ----

ApiResponse ApiService::ready_response() {
  const std::string reason = store_.unavailable_reason();
  if (reason.empty()) return json_response(200, "{\"status\": \"ready\"}");
  return json_response(503, "{\"status\": \"not_ready\", \"reason\": \"" + json_escape(reason) + "\"}");
}

ApiResponse ApiService::metrics_response() {
  std::string gauges;
  gauges += "# HELP acmednsd_accounts Registered accounts.\n# TYPE acmednsd_accounts gauge\n";
  if (auto count = store_.account_count()) gauges += "acmednsd_accounts " + std::to_string(*count) + "\n";
  gauges += "# HELP acmednsd_txt_values Live TXT values served.\n# TYPE acmednsd_txt_values gauge\n";
  gauges += "acmednsd_txt_values " + std::to_string(store_.index().value_count()) + "\n";
  gauges += "# HELP acmednsd_names Names with an answer below the zone.\n# TYPE acmednsd_names gauge\n";
  gauges += "acmednsd_names " + std::to_string(store_.index().name_count()) + "\n";
  gauges += "# HELP acmednsd_zone_serial SOA serial of the zone.\n# TYPE acmednsd_zone_serial gauge\n";
  gauges += "acmednsd_zone_serial " + std::to_string(store_.index().serial()) + "\n";
  for (const auto& source : extra_metrics_) gauges += source();
  ApiResponse r;
  r.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = metrics_.render(gauges);
  return r;
}

// ---- Bodies built by hand, in acme-dns key order ----

std::string ApiService::fulldomain(const std::string& subdomain) const {
  return subdomain + "." + domain_;
}

std::string ApiService::credentials_body(const acmednsd::Credentials& c) const {
  return "{\"username\":\"" + json_escape(c.username) + "\",\"password\":\"" + json_escape(c.password) +
         "\",\"fulldomain\":\"" + json_escape(fulldomain(c.subdomain)) + "\",\"subdomain\":\"" +
         json_escape(c.subdomain) + "\",\"allowfrom\":" + json_string_array(shown_allowfrom(c.allowfrom)) +
         "}";
}

std::string ApiService::account_body(const AccountRecord& account,
                                     const std::vector<TxtRecord>& values) const {
  const std::int64_t now = unix_now();
  std::string txt = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) txt += ',';
    const std::int64_t age = now > values[i].updated_at ? now - values[i].updated_at : 0;
    txt += "{\"value\":\"" + json_escape(values[i].value) + "\",\"age_seconds\":" + std::to_string(age) + "}";
  }
  txt += ']';
  return "{\"username\":\"" + json_escape(account.username) + "\",\"subdomain\":\"" +
         json_escape(account.subdomain) + "\",\"fulldomain\":\"" +
         json_escape(fulldomain(account.subdomain)) +
         "\",\"allowfrom\":" + json_string_array(shown_allowfrom(account.allowfrom)) + ",\"txt\":" + txt +
         "}";
}

}  // namespace acmednsd::http_api
