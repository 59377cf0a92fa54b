// The only translation unit that includes Beast (its headers are slow to compile).
#include "acme_client/https_transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/encoding.hpp"

namespace acmednsd::acme {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::size_t kMaxResponseBytes = 8 * 1024 * 1024;  // certificate chains are small

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

class BeastHttpsClient final : public HttpsClient {
 public:
  explicit BeastHttpsClient(HttpsOptions options) : options_(std::move(options)) {}

  Status init() {
    error_code ec;
    context_.set_verify_mode(ssl::verify_peer, ec);
    if (options_.ca_bundle.empty()) {
      context_.set_default_verify_paths(ec);
    } else {
      context_.load_verify_file(options_.ca_bundle, ec);
    }
    if (ec) {
      return make_error(
          "tls", "cannot load CA certificates" +
                     (options_.ca_bundle.empty() ? std::string() : " from " + options_.ca_bundle) + ": " +
                     ec.message());
    }
    return ok_status();
  }

  Result<HttpResponse> request(std::string_view method, const std::string& url, const std::string& body,
                               std::string_view content_type) override {
    auto parsed = parse_https_url(url);
    if (!parsed) return parsed.error();
    // A kept-alive connection the server closed meanwhile fails on first use: retry
    // once on a fresh connection.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = stream_ && parsed->host == host_ && parsed->port == port_;
      if (!reused) {
        if (auto connected = connect(*parsed); !connected) return connected.error();
      }
      auto response = exchange(method, *parsed, body, content_type);
      if (response) return response;
      stream_.reset();
      if (!reused || response.error().code == "stopped") return response.error();
    }
    return make_error("transport", "unreachable");
  }

 private:
  bool stopping() const { return options_.stop_requested != nullptr && options_.stop_requested->load(); }

  // Starts one async operation with `start(handler)` and runs the io_context until it
  // completes; the stream's own timer bounds it, a stop request cancels it.
  template <typename Start>
  error_code run(Start&& start) {
    bool done = false;
    error_code result;
    start([&](error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    io_.restart();
    bool cancelled = false;
    while (!done) {
      io_.run_for(std::chrono::milliseconds(100));
      if (!done && !cancelled && stopping() && stream_) {
        beast::get_lowest_layer(*stream_).cancel();
        cancelled = true;
      }
      if (io_.stopped()) io_.restart();
    }
    return result;
  }

  Status connect(const HttpsUrl& url) {
    stream_.reset();
    if (stopping()) return make_error("stopped", "stopping");
    error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) return make_error("transport", "cannot resolve " + url.host + ": " + ec.message());

    stream_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, context_);
    SSL* handle = stream_->native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    if (is_ip_literal(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(handle, url.host.c_str());
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    }
    auto& socket = beast::get_lowest_layer(*stream_);
    socket.expires_after(options_.timeout);
    ec = run([&](auto handler) { socket.async_connect(endpoints, handler); });
    if (ec) return failure("connect to " + url.host + ":" + url.port, ec);
    socket.expires_after(options_.timeout);
    ec = run([&](auto handler) { stream_->async_handshake(ssl::stream_base::client, handler); });
    if (ec) return failure("TLS handshake with " + url.host + ":" + url.port, ec);
    host_ = url.host;
    port_ = url.port;
    buffer_.clear();
    return ok_status();
  }

  Error failure(const std::string& what, const error_code& ec) {
    if (stopping()) return make_error("stopped", "stopping");
    std::string message = what + " failed: " + ec.message();
    if (ec.category() == asio::error::get_ssl_category()) {
      const long verify = SSL_get_verify_result(stream_->native_handle());
      if (verify != X509_V_OK) {
        message += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
      }
    }
    return make_error(ec == beast::error::timeout ? "timeout" : "transport", message);
  }

  Result<HttpResponse> exchange(std::string_view method, const HttpsUrl& url, const std::string& body,
                                std::string_view content_type) {
    http::request<http::string_body> request{http::string_to_verb(method), url.target, 11};
    const bool ipv6 = url.host.find(':') != std::string::npos;
    std::string host_header = ipv6 ? "[" + url.host + "]" : url.host;
    if (url.port != "443") host_header += ":" + url.port;
    request.set(http::field::host, host_header);
    request.set(http::field::user_agent, options_.user_agent);
    request.set(http::field::accept, "*/*");
    if (!content_type.empty()) request.set(http::field::content_type, content_type);
    if (method == "POST") request.body() = body;
    request.keep_alive(true);
    request.prepare_payload();

    auto& socket = beast::get_lowest_layer(*stream_);
    socket.expires_after(options_.timeout);
    error_code ec = run([&](auto handler) { http::async_write(*stream_, request, handler); });
    if (ec) return failure(std::string(method) + " " + url.target, ec);

    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBytes);
    parser.skip(method == "HEAD");
    socket.expires_after(options_.timeout);
    ec = run([&](auto handler) { http::async_read(*stream_, buffer_, parser, handler); });
    if (ec) return failure(std::string(method) + " " + url.target, ec);

    auto& message = parser.get();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.emplace_back(to_lower_ascii(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) stream_.reset();
    return response;
  }

  HttpsOptions options_;
  asio::io_context io_;
  ssl::context context_{ssl::context::tls_client};
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> stream_;
  std::string host_;
  std::string port_;
  beast::flat_buffer buffer_;
};

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals_ascii(key, name)) return value;
  }
  return {};
}

std::vector<std::string> HttpResponse::all_headers(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : headers) {
    if (iequals_ascii(key, name)) out.push_back(value);
  }
  return out;
}

Result<std::unique_ptr<HttpsClient>> HttpsClient::create(const HttpsOptions& options) {
  auto client = std::make_unique<BeastHttpsClient>(options);
  if (auto status = client->init(); !status) return status.error();
  return std::unique_ptr<HttpsClient>(std::move(client));
}

Result<HttpsUrl> parse_https_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) {
    return make_error("url", "not an https:// URL: " + std::string(url));
  }
  std::string_view rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  HttpsUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  out.port = "443";
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return make_error("url", "bad IPv6 host in " + std::string(url));
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      out.port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty() || out.port.find_first_not_of("0123456789") != std::string::npos) {
    return make_error("url", "bad host or port in " + std::string(url));
  }
  return out;
}

std::vector<std::string> link_targets(const HttpResponse& response, std::string_view rel) {
  std::vector<std::string> out;
  for (const auto& value : response.all_headers("link")) {
    // One header may carry several comma-separated links.
    std::size_t position = 0;
    while (position < value.size()) {
      const auto open = value.find('<', position);
      if (open == std::string::npos) break;
      const auto close = value.find('>', open);
      if (close == std::string::npos) break;
      const auto next = value.find('<', close);
      const std::string params =
          value.substr(close + 1, next == std::string::npos ? std::string::npos : next - close - 1);
      const std::string wanted = "rel=\"" + std::string(rel) + "\"";
      if (params.find(wanted) != std::string::npos ||
          params.find("rel=" + std::string(rel)) != std::string::npos) {
        out.push_back(value.substr(open + 1, close - open - 1));
      }
      position = next == std::string::npos ? value.size() : next;
    }
  }
  return out;
}

}  // namespace acmednsd::acme
