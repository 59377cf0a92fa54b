// The route handlers as pure functions over a real store on a temporary SQLite file:
// exact status, headers and body bytes for every rule of API.md, no sockets.
#include "catch_compat.hpp"

#include <unistd.h>

#include <filesystem>
#include <future>
#include <regex>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http_api/api_service.hpp"

using namespace acmednsd;
using namespace acmednsd::http_api;
using namespace std::chrono_literals;

namespace {

constexpr const char* kValue1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kValue2 = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

class Fixture {
 public:
  explicit Fixture(void (*tune)(Config&) = nullptr) {
    char pattern[] = "/tmp/acmednsd-http-unit-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    config_.general.domain = "auth.example.test";
    LogConfig quiet;  // access log lines would drown Catch's report
    quiet.loglevel = LogLevel::error;
    log::configure(quiet);
    if (tune != nullptr) tune(config_);
    StoreOptions options;
    options.path = dir_ + "/db.sqlite";
    auto opened = Store::open(options);
    REQUIRE(opened.ok());
    store_ = std::move(*opened);
    service_ = ApiService::create(config_, *store_, false);
  }
  ~Fixture() {
    service_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ApiResponse call(std::string method, std::string target, std::string body = {}, HeaderList headers = {},
                   const char* peer = "127.0.0.1") {
    ApiRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    request.headers = std::move(headers);
    request.peer = *IpAddress::parse(peer);
    auto promise = std::make_shared<std::promise<ApiResponse>>();
    auto future = promise->get_future();
    service_->handle(std::move(request), [promise](ApiResponse r) { promise->set_value(std::move(r)); });
    REQUIRE(future.wait_for(10s) == std::future_status::ready);
    return future.get();
  }

  Credentials make_account(std::vector<std::string> allowfrom = {}) {
    auto created = store_->create_account_sync(std::move(allowfrom));
    REQUIRE(created.ok());
    return *created;
  }

  static HeaderList api_headers(const Credentials& c) {
    return {{"X-Api-User", c.username}, {"X-Api-Key", c.password}};
  }
  static std::string update_body(const std::string& subdomain, const std::string& txt) {
    return R"({"subdomain": ")" + subdomain + R"(", "txt": ")" + txt + R"("})";
  }

  Store& store() { return *store_; }
  ApiService& service() { return *service_; }

 private:
  std::string dir_;
  Config config_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<ApiService> service_;
};

std::string content_type(const ApiResponse& r) {
  const std::string* v = r.header("Content-Type");
  return v != nullptr ? *v : "";
}

void check_error(const ApiResponse& r, unsigned status, const std::string& code) {
  CHECK(r.status == status);
  CHECK(r.body == "{\"error\": \"" + code + "\"}");
  CHECK(content_type(r) == "application/json");
}

std::vector<std::string> live_values(Store& store, const std::string& name) {
  struct Sink {
    static void add(void* ctx, std::string_view v) {
      static_cast<std::vector<std::string>*>(ctx)->emplace_back(v);
    }
  };
  std::vector<std::string> out;
  store.index().visit(name, static_cast<std::int64_t>(std::time(nullptr)), &Sink::add, &out);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("register: 201 with the acme-dns body, key order and no spaces", "[register]") {
  Fixture f;
  for (const char* body : {"", "{}", "null"}) {
    const auto r = f.call("POST", "/register", body);
    REQUIRE(r.status == 201);
    CHECK(content_type(r) == "application/json");
    static const std::regex shape(
        R"re(^\{"username":"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})",)re"
        R"re("password":"[A-Za-z0-9_-]{40}","fulldomain":"([0-9a-f-]{36})\.auth\.example\.test",)re"
        R"re("subdomain":"([0-9a-f-]{36})","allowfrom":\[\]\}$)re");
    std::smatch m;
    REQUIRE(std::regex_match(r.body, m, shape));
    CHECK(m[2] == m[3]);
  }
  const auto r =
      f.call("POST", "/register", R"({"AllowFrom": ["192.168.1.0/24", "[fd00::]/8", "10.1.2.3/8"]})");
  REQUIRE(r.status == 201);
  CHECK(r.body.find(R"(,"allowfrom":["192.168.1.0/24","fd00::/8","10.1.2.3/8"]})") != std::string::npos);
}

TEST_CASE("register: every rejection keeps the acme-dns error form", "[register]") {
  Fixture f;
  check_error(f.call("POST", "/register", "{"), 400, "malformed_json_payload");
  check_error(f.call("POST", "/register", "allowfrom=10.0.0.0/8"), 400, "malformed_json_payload");
  check_error(f.call("POST", "/register", R"({"allowfrom": "10.0.0.0/8"})"), 400, "malformed_json_payload");
  check_error(f.call("POST", "/register", R"({"allowfrom": ["10.0.0.1"]})"), 400, "invalid_allowfrom_cidr");
  check_error(f.call("POST", "/register", R"({"allowfrom": ["10.0.0.0/33"]})"), 400,
              "invalid_allowfrom_cidr");
  CHECK(*f.store().account_count() == 0);
}

TEST_CASE("register: disabled, token and source policies", "[register]") {
  SECTION("disable_registration hides the route") {
    Fixture f([](Config& c) { c.api.disable_registration = true; });
    const auto r = f.call("POST", "/register");
    CHECK(r.status == 404);
    CHECK(r.body == "404 page not found\n");
  }
  SECTION("bearer tokens") {
    Fixture f([](Config& c) {
      c.api.registration = RegistrationPolicy::token;
      c.api.registration_tokens = {"s3cret-token"};
    });
    check_error(f.call("POST", "/register"), 401, "forbidden");
    check_error(f.call("POST", "/register", "", {{"Authorization", "Bearer wrong"}}), 401, "forbidden");
    CHECK(f.call("POST", "/register", "", {{"authorization", "Bearer s3cret-token"}}).status == 201);
  }
  SECTION("source networks and rate") {
    Fixture f([](Config& c) {
      c.api.registration_allowfrom = {"10.0.0.0/8"};
      c.api.registration_rate_per_minute = 2;
    });
    check_error(f.call("POST", "/register", "", {}, "127.0.0.1"), 403, "forbidden");
    CHECK(f.call("POST", "/register", "", {}, "10.1.1.1").status == 201);
    CHECK(f.call("POST", "/register", "", {}, "::ffff:10.1.1.1").status == 201);
    const auto limited = f.call("POST", "/register", "", {}, "10.1.1.1");
    check_error(limited, 429, "too_many_requests");
    CHECK(limited.header("Retry-After") != nullptr);
    CHECK(f.call("POST", "/register", "", {}, "10.1.1.2").status == 201);
  }
  SECTION("loopback is exempt from the rate by default; an IPv6 /64 is one source") {
    Fixture f([](Config& c) { c.api.registration_rate_per_minute = 1; });
    for (int i = 0; i < 5; ++i) CHECK(f.call("POST", "/register", "", {}, "127.0.0.1").status == 201);
    CHECK(f.call("POST", "/register", "", {}, "::1").status == 201);
    CHECK(f.call("POST", "/register", "", {}, "::1").status == 201);
    CHECK(f.call("POST", "/register", "", {}, "2001:db8:1:2::1").status == 201);
    check_error(f.call("POST", "/register", "", {}, "2001:db8:1:2::ffff"), 429, "too_many_requests");
    CHECK(f.call("POST", "/register", "", {}, "2001:db8:1:3::1").status == 201);  // another /64
  }
  SECTION("the account cap refuses everyone, loopback too, and counts nothing it refused") {
    Fixture f([](Config& c) { c.api.registration_max_accounts = 3; });
    for (int i = 0; i < 3; ++i) CHECK(f.call("POST", "/register", "", {}, "192.0.2.1").status == 201);
    check_error(f.call("POST", "/register", "", {}, "192.0.2.2"), 503, "account_limit_reached");
    check_error(f.call("POST", "/register", "", {}, "127.0.0.1"), 503, "account_limit_reached");
    CHECK(*f.store().account_count() == 3);
    const auto metrics = f.call("GET", "/metrics").body;
    CHECK(metrics.find("acmednsd_registrations_refused_total{reason=\"cap\"} 2\n") != std::string::npos);
  }
}

TEST_CASE("update: success echoes the value, the index serves it", "[update]") {
  Fixture f;
  const auto a = f.make_account();
  const auto r =
      f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a));
  CHECK(r.status == 200);
  CHECK(r.body == std::string("{\"txt\": \"") + kValue1 + "\"}");
  CHECK(content_type(r) == "application/json");
  f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue2), Fixture::api_headers(a));
  CHECK(live_values(f.store(), a.subdomain) == std::vector<std::string>{kValue1, kValue2});
  // Upper-case user and header names in any case.
  auto upper = a.username;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  const auto r2 = f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1),
                         {{"x-api-user", upper}, {"X-API-KEY", a.password}});
  CHECK(r2.status == 200);
}

TEST_CASE("update: checks run in the acme-dns order", "[update]") {
  Fixture f;
  const auto a = f.make_account({"192.168.1.0/24"});
  const auto open = f.make_account();
  const std::string good = Fixture::update_body(a.subdomain, kValue1);
  const char* lan = "192.168.1.9";
  // 1. not a UUID; 2. key format; 3. unknown user; 4. wrong key
  check_error(f.call("POST", "/update", good, {{"X-Api-User", "nope"}, {"X-Api-Key", a.password}}, lan), 401,
              "forbidden");
  check_error(f.call("POST", "/update", good, {{"X-Api-User", a.username}, {"X-Api-Key", "short"}}, lan), 401,
              "forbidden");
  check_error(
      f.call("POST", "/update", good,
             {{"X-Api-User", "0d6f3c52-3a1b-4c3d-9e5f-1a2b3c4d5e6f"}, {"X-Api-Key", a.password}}, lan),
      401, "forbidden");
  std::string wrong = a.password;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  check_error(f.call("POST", "/update", good, {{"X-Api-User", a.username}, {"X-Api-Key", wrong}}, lan), 401,
              "forbidden");
  check_error(f.call("POST", "/update", good, {}, lan), 401, "forbidden");
  // 5. allowfrom: outside, IPv4-mapped inside
  check_error(f.call("POST", "/update", good, Fixture::api_headers(a), "127.0.0.1"), 401, "forbidden");
  CHECK(f.call("POST", "/update", good, Fixture::api_headers(a), "::ffff:192.168.1.9").status == 200);
  // 6. subdomain of another account, or a body that does not parse: forbidden
  check_error(
      f.call("POST", "/update", Fixture::update_body(open.subdomain, kValue1), Fixture::api_headers(a), lan),
      401, "forbidden");
  check_error(f.call("POST", "/update", "subdomain=x", Fixture::api_headers(a), lan), 401, "forbidden");
  // 7. txt format (after a bad allowfrom the txt is never looked at)
  check_error(
      f.call("POST", "/update", Fixture::update_body(a.subdomain, "short"), Fixture::api_headers(a), lan),
      400, "bad_txt");
  check_error(f.call("POST", "/update", Fixture::update_body(a.subdomain, "short"), Fixture::api_headers(a)),
              401, "forbidden");
  check_error(f.call("POST", "/update", Fixture::update_body(a.subdomain, std::string(43, '+')),
                     Fixture::api_headers(a), lan),
              400, "bad_txt");
}

TEST_CASE("DELETE /update removes one value", "[update]") {
  Fixture f;
  const auto a = f.make_account();
  for (const char* v : {kValue1, kValue2}) {
    REQUIRE(f.call("POST", "/update", Fixture::update_body(a.subdomain, v), Fixture::api_headers(a)).status ==
            200);
  }
  const auto r =
      f.call("DELETE", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a));
  CHECK(r.status == 200);
  CHECK(r.body == std::string("{\"txt\": \"") + kValue1 + "\"}");
  CHECK(live_values(f.store(), a.subdomain) == std::vector<std::string>{kValue2});
}

TEST_CASE("unknown paths 404, wrong methods 405 with Allow", "[routes]") {
  Fixture f;
  auto r = f.call("GET", "/nope");
  CHECK(r.status == 404);
  CHECK(r.body == "404 page not found\n");
  r = f.call("GET", "/update");
  CHECK(r.status == 405);
  CHECK(*r.header("Allow") == "POST, DELETE");
  CHECK(r.body == "Method Not Allowed\n");
  r = f.call("POST", "/health");
  CHECK(r.status == 405);
  CHECK(*r.header("Allow") == "GET");
  r = f.call("GET", "/register");
  CHECK(*r.header("Allow") == "POST");
  r = f.call("GET", "/health?x=1");
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(r.header("Content-Type") == nullptr);
}

TEST_CASE("httpreq /present and /cleanup in default and RAW mode", "[httpreq]") {
  Fixture f;
  const auto a = f.make_account();
  const std::string basic = "Basic " + base64_encode(a.username + ":" + a.password);
  auto r = f.call("POST", "/present",
                  R"({"fqdn": "_acme-challenge.example.com.", "value": ")" + std::string(kValue1) + "\"}",
                  {{"Authorization", basic}});
  CHECK(r.status == 200);
  CHECK(r.body == std::string("{\"txt\": \"") + kValue1 + "\"}");
  r = f.call("POST", "/present", R"({"domain": "example.com", "token": "t", "keyAuth": "abc"})",
             {{"Authorization", basic}});
  CHECK(r.body == "{\"txt\": \"ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0\"}");
  CHECK(live_values(f.store(), a.subdomain).size() == 2);
  r = f.call("POST", "/cleanup", R"({"domain": "example.com", "token": "t", "keyAuth": "abc"})",
             {{"Authorization", basic}});
  CHECK(r.status == 200);
  r = f.call("POST", "/cleanup",
             R"({"fqdn": "_acme-challenge.example.com.", "value": ")" + std::string(kValue1) + "\"}",
             {{"Authorization", basic}});
  CHECK(r.status == 200);
  CHECK(live_values(f.store(), a.subdomain).empty());
  r = f.call("POST", "/present", R"({"value": "x"})", {{"Authorization", basic}});
  check_error(r, 400, "bad_txt");
  r = f.call("POST", "/present", "nope", {{"Authorization", basic}});
  check_error(r, 400, "malformed_json_payload");
  r = f.call("POST", "/present", R"({"value": ")" + std::string(kValue1) + "\"}");
  check_error(r, 401, "forbidden");
  CHECK(r.header("WWW-Authenticate") != nullptr);
}

TEST_CASE("account endpoints: GET, PATCH, rotate-key, DELETE", "[account]") {
  Fixture f;
  const auto a = f.make_account({"10.0.0.0/8"});
  const char* inside = "10.2.3.4";
  REQUIRE(
      f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a), inside)
          .status == 200);
  auto r = f.call("GET", "/account", "", Fixture::api_headers(a), inside);
  REQUIRE(r.status == 200);
  const std::string prefix = "{\"username\":\"" + a.username + "\",\"subdomain\":\"" + a.subdomain +
                             "\",\"fulldomain\":\"" + a.subdomain +
                             ".auth.example.test\",\"allowfrom\":[\"10.0.0.0/8\"]," +
                             "\"txt\":[{\"value\":\"" + kValue1 + "\",\"age_seconds\":";
  CHECK(r.body.substr(0, prefix.size()) == prefix);
  CHECK(r.body.find(a.password) == std::string::npos);

  check_error(f.call("PATCH", "/account", R"({"allowfrom": ["nope"]})", Fixture::api_headers(a), inside), 400,
              "invalid_allowfrom_cidr");
  check_error(f.call("PATCH", "/account", R"({})", Fixture::api_headers(a), inside), 400,
              "malformed_json_payload");
  r = f.call("PATCH", "/account", R"({"allowfrom": ["127.0.0.0/8"]})", Fixture::api_headers(a), inside);
  CHECK(r.status == 200);
  CHECK(r.body.find(R"("allowfrom":["127.0.0.0/8"])") != std::string::npos);
  check_error(f.call("GET", "/account", "", Fixture::api_headers(a), inside), 401, "forbidden");

  r = f.call("POST", "/account/rotate-key", "", Fixture::api_headers(a));
  REQUIRE(r.status == 200);
  const std::regex shape(
      R"re(^\{"username":"[0-9a-f-]{36}","password":"([A-Za-z0-9_-]{40})","fulldomain":"[0-9a-f-]{36})re"
      R"re(\.auth\.example\.test","subdomain":"[0-9a-f-]{36}","allowfrom":\["127\.0\.0\.0/8"\]\}$)re");
  std::smatch m;
  REQUIRE(std::regex_match(r.body, m, shape));
  const std::string new_key = m[1];
  CHECK(new_key != a.password);
  check_error(f.call("GET", "/account", "", Fixture::api_headers(a)), 401, "forbidden");
  HeaderList rotated = {{"X-Api-User", a.username}, {"X-Api-Key", new_key}};
  CHECK(f.call("GET", "/account", "", rotated).status == 200);

  r = f.call("DELETE", "/account", "", rotated);
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  check_error(f.call("GET", "/account", "", rotated), 401, "forbidden");
  CHECK(live_values(f.store(), a.subdomain).empty());
}

TEST_CASE("auth failures per minute: 429 once the budget is spent", "[ratelimit]") {
  Fixture f([](Config& c) { c.api.auth_failures_per_minute = 3; });
  const auto a = f.make_account();
  HeaderList bad = {{"X-Api-User", a.username}, {"X-Api-Key", std::string(40, 'x')}};
  for (int i = 0; i < 3; ++i) check_error(f.call("POST", "/update", "{}", bad), 401, "forbidden");
  const auto r =
      f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a));
  check_error(r, 429, "too_many_requests");
  CHECK(r.header("Retry-After") != nullptr);
  // Another source is not affected.
  CHECK(f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a),
               "127.0.0.2")
            .status == 200);
}

TEST_CASE("CORS: preflight grants the X-Api headers, simple requests get the origin", "[cors]") {
  Fixture f([](Config& c) { c.api.corsorigins = {"https://ui.example.test"}; });
  auto r = f.call("OPTIONS", "/update", "",
                  {{"Origin", "https://ui.example.test"},
                   {"Access-Control-Request-Method", "POST"},
                   {"Access-Control-Request-Headers", "x-api-user, x-api-key, content-type"}});
  CHECK(r.status == 204);
  CHECK(*r.header("Access-Control-Allow-Origin") == "https://ui.example.test");
  CHECK(*r.header("Access-Control-Allow-Methods") == "POST, DELETE");
  CHECK(r.header("Access-Control-Allow-Headers")->find("X-Api-Key") != std::string::npos);
  r = f.call("OPTIONS", "/update", "",
             {{"Origin", "https://evil.test"}, {"Access-Control-Request-Method", "POST"}});
  CHECK(r.header("Access-Control-Allow-Origin") == nullptr);
  r = f.call("GET", "/health", "", {{"Origin", "https://ui.example.test"}});
  CHECK(*r.header("Access-Control-Allow-Origin") == "https://ui.example.test");
  r = f.call("OPTIONS", "/register");
  CHECK(r.status == 200);
  CHECK(*r.header("Allow") == "POST");
}

TEST_CASE("ready and metrics", "[ops]") {
  Fixture f;
  const auto a = f.make_account();
  f.call("POST", "/update", Fixture::update_body(a.subdomain, kValue1), Fixture::api_headers(a));
  f.call("POST", "/update", "{}", {{"X-Api-User", "bad"}});
  const auto ready = f.call("GET", "/ready");
  CHECK(ready.status == 200);
  CHECK(ready.body == "{\"status\": \"ready\"}");
  f.service().add_metrics_source([] { return std::string("acmednsd_dns_queries_total 7\n"); });
  const auto m = f.call("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.header("Content-Type")->find("text/plain") == 0);
  CHECK(m.body.find("acmednsd_http_requests_total{route=\"update\",status=\"200\"} 1\n") !=
        std::string::npos);
  CHECK(m.body.find("acmednsd_http_requests_total{route=\"update\",status=\"401\"} 1\n") !=
        std::string::npos);
  CHECK(m.body.find("acmednsd_http_auth_failures_total{reason=\"bad_user\"} 1\n") != std::string::npos);
  CHECK(m.body.find("acmednsd_txt_updates_total{op=\"add\"} 1\n") != std::string::npos);
  CHECK(m.body.find("acmednsd_accounts 1\n") != std::string::npos);
  CHECK(m.body.find("acmednsd_txt_values 1\n") != std::string::npos);
  CHECK(m.body.find("acmednsd_http_request_duration_seconds_count 3\n") != std::string::npos);
  CHECK(m.body.find("acmednsd_dns_queries_total 7\n") != std::string::npos);
}
