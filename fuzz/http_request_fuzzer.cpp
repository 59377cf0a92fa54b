// Fuzz target for the HTTP request path as the server runs it: raw bytes through Beast's
// request parser (with the server's header and body limits), then every route of
// ApiService over a real store in a temporary folder. The placeholders $USER, $KEY, $SUB
// and $BASIC (base64 of "user:key") in header values and the body stand for a
// registered account's credentials, so seeds (and what libFuzzer derives from them)
// reach the authenticated routes, not only their 401s.
// Checks: exactly one answer per request, within 10 s; a status the API can give; JSON
// error bodies in acme-dns's exact form.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http_api/api_service.hpp"
#include "store/store.hpp"

using namespace acmednsd;
using namespace acmednsd::http_api;
namespace http = boost::beast::http;

namespace {

struct World {
  std::filesystem::path dir;
  std::unique_ptr<Store> store;
  std::shared_ptr<ApiService> service;
  Credentials account;

  World() {
    LogConfig quiet;
    quiet.loglevel = LogLevel::error;  // an access-log line per input would dominate the time
    (void)log::configure(quiet);
    dir = std::filesystem::temp_directory_path() / ("acmednsd-http-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    StoreOptions options;
    options.path = (dir / "fuzz.db").string();
    options.read_connections = 1;
    auto opened = Store::open(options);
    if (!opened) std::abort();
    store = std::move(opened.value());
    Config config;
    config.general.domain = "auth.example.test";
    config.api.corsorigins = {"https://ui.example.test"};
    config.api.use_header = true;
    config.api.trusted_proxies = {"127.0.0.0/8"};
    service = ApiService::create(config, *store, false);
    std::promise<Result<Credentials>> made;
    store->create_account({}, [&](Result<Credentials> r) { made.set_value(std::move(r)); });
    auto created = made.get_future().get();
    if (!created) std::abort();
    account = *created;
  }
  ~World() {
    service.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

World& world() {
  static World w;
  return w;
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

bool is_json_error(const std::string& body) {
  static const std::set<std::string> kCodes = {
      "forbidden",  "malformed_json_payload", "invalid_allowfrom_cidr", "bad_txt",        "bad_subdomain",
      "db_error",   "internal_error",         "too_many_requests",      "body_too_large", "header_too_large",
      "bad_request"};
  constexpr std::string_view kPrefix = "{\"error\": \"";
  if (body.size() < kPrefix.size() + 2 || body.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  if (body.compare(body.size() - 2, 2, "\"}") != 0) return false;
  return kCodes.count(body.substr(kPrefix.size(), body.size() - kPrefix.size() - 2)) == 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  // The server's parser settings (http_server.cpp): 8 KiB of header, 64 KiB of body.
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes), ec);
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;  // the transport answers 400/413/431 or waits

  auto req = parser.release();
  ApiRequest request;
  request.method = std::string(req.method_string());
  request.target = std::string(req.target());
  for (const auto& field : req) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(req.body());
  request.peer = *IpAddress::parse("127.0.0.1");
  static const std::string basic = base64_encode(w.account.username + ":" + w.account.password);
  for (std::string* text : {&request.body}) {
    replace_all(*text, "$USER", w.account.username);
    replace_all(*text, "$KEY", w.account.password);
    replace_all(*text, "$SUB", w.account.subdomain);
  }
  for (auto& [name, value] : request.headers) {
    replace_all(value, "$USER", w.account.username);
    replace_all(value, "$KEY", w.account.password);
    replace_all(value, "$SUB", w.account.subdomain);
    replace_all(value, "$BASIC", basic);
  }

  std::mutex mutex;
  std::condition_variable answered_cv;
  int answers = 0;
  ApiResponse response;
  w.service->handle(std::move(request), [&](ApiResponse r) {
    std::lock_guard lock(mutex);
    if (++answers == 1) response = std::move(r);
    answered_cv.notify_all();
  });
  std::unique_lock lock(mutex);
  if (!answered_cv.wait_for(lock, std::chrono::seconds(10), [&] { return answers > 0; })) __builtin_trap();
  static const std::set<unsigned> kStatuses = {200, 201, 204, 400, 401, 403, 404,
                                               405, 413, 429, 431, 500, 503};
  if (kStatuses.count(response.status) == 0) __builtin_trap();
  const std::string* type = response.header("Content-Type");
  if (response.status >= 400 && type != nullptr && *type == "application/json" && response.status != 503 &&
      !is_json_error(response.body)) {
    __builtin_trap();
  }
  if (response.status == 500) __builtin_trap();  // a healthy store never fails a request
  return 0;
}
