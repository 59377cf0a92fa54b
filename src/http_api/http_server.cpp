// The HTTP transport: listeners and keep-alive sessions on Boost.Beast with C++20
// coroutines. It only does I/O and limits (timeouts, header/body size, connection
// cap); every answer comes from ApiService. All Beast code lives in this one
// translation unit because Beast headers are slow to compile.
#include "http_api/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <list>
#include <mutex>

#include "common/encoding.hpp"
#include "common/log.hpp"
#include "http_api/api_service.hpp"
#include "http_api/tls_context.hpp"

namespace acmednsd::http_api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Executor = asio::any_io_executor;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// One open connection, so that stop() can close it while it waits for a request.
// `socket` and `idle` are only touched on the connection's strand.
struct Connection {
  explicit Connection(Executor ex) : executor(std::move(ex)) {}
  Executor executor;
  tcp::socket* socket = nullptr;
  bool idle = false;
};

struct ServerState {
  ServerState(asio::io_context& io_context, const Config& config) : io(io_context), api(config.api) {}
  asio::io_context& io;
  ApiConfig api;
  std::shared_ptr<ApiService> service;
  std::unique_ptr<TlsContextProvider> tls;  // null when tls = "none"
  std::atomic<bool> stopping{false};
  std::atomic<std::uint32_t> connections{0};
  std::mutex mutex;  // guards `open`
  std::list<std::weak_ptr<Connection>> open;
  std::atomic<std::int64_t> last_no_cert_log{0};
  std::atomic<std::int64_t> live{0};  // open connections on every listener
  std::mutex drained_mutex;
  std::function<void()> drained;  // guarded by drained_mutex
  bool drained_fired = false;     // guarded by drained_mutex

  // Posts the drained callback once, when stopping and nothing is open.
  void check_drained() {
    if (!stopping || live.load() != 0) return;
    std::lock_guard lock(drained_mutex);
    if (drained_fired || !drained) return;
    drained_fired = true;
    asio::post(io, drained);
  }
};

IpAddress to_ip(const asio::ip::address& address) {
  IpAddress ip;
  if (address.is_v4()) {
    const auto b = address.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), ip.bytes.begin());
  } else {
    ip.v6 = true;
    const auto b = address.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), ip.bytes.begin());
  }
  return ip;
}

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// Hands the request to the service and resumes the session on its own executor:
// the service may answer from the store's writer thread.
template <typename Token>
auto async_handle(std::shared_ptr<ApiService> service, bool metrics_only, ApiRequest request, Token&& token) {
  return asio::async_initiate<Token, void(ApiResponse)>(
      [](auto handler, std::shared_ptr<ApiService> svc, bool metrics, ApiRequest req) {
        using Handler = decltype(handler);
        struct Pending {
          Handler handler;
          asio::executor_work_guard<asio::associated_executor_t<Handler, Executor>> work;
        };
        auto ex = asio::get_associated_executor(handler, Executor());
        auto pending = std::make_shared<Pending>(Pending{std::move(handler), asio::make_work_guard(ex)});
        Respond respond = [pending](ApiResponse response) {
          auto target = pending->work.get_executor();
          asio::post(target, [pending, response = std::move(response)]() mutable {
            auto h = std::move(pending->handler);
            pending->work.reset();
            h(std::move(response));
          });
        };
        if (metrics) {
          svc->handle_metrics_listener(std::move(req), std::move(respond));
        } else {
          svc->handle(std::move(req), std::move(respond));
        }
      },
      token, std::move(service), metrics_only, std::move(request));
}

http::response<http::string_body> to_beast(ApiResponse&& r, unsigned version, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), version};
  for (auto& [name, value] : r.headers) res.set(name, value);
  res.set(http::field::date, http_date());
  res.body() = std::move(r.body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

auto& lowest(beast::tcp_stream& s) {
  return s;
}
auto& lowest(beast::ssl_stream<beast::tcp_stream>& s) {
  return beast::get_lowest_layer(s);
}

template <typename Stream>
asio::awaitable<void> write_error_and_close(Stream& stream, const ServerState& st, ApiResponse response) {
  response.close_connection = true;
  auto res = to_beast(std::move(response), 11, false);
  lowest(stream).expires_after(std::chrono::milliseconds(st.api.write_timeout_ms));
  co_await http::async_write(stream, res, kTuple);
}

// Reads requests and writes answers until the peer closes, a limit trips or the
// server stops. One request at a time: the pipeline depth is one. Returns true when
// the connection ends on a request error whose unread bytes must be drained first.
template <typename Stream>
asio::awaitable<bool> serve(std::shared_ptr<ServerState> st, Connection& conn, Stream& stream, IpAddress peer,
                            bool metrics_only) {
  const auto read_timeout = std::chrono::milliseconds(st->api.read_timeout_ms);
  const auto idle_timeout = std::chrono::milliseconds(st->api.idle_timeout_ms);
  const auto write_timeout = std::chrono::milliseconds(st->api.write_timeout_ms);
  beast::flat_buffer buffer(static_cast<std::size_t>(st->api.max_header_bytes) + st->api.max_body_bytes +
                            4096);
  bool first = true;
  for (;;) {
    // Wait for the first byte of the next request under the idle (keep-alive) timeout;
    // from then on the whole request must arrive within the read timeout.
    if (buffer.size() == 0) {
      if (st->stopping) break;
      conn.idle = true;
      lowest(stream).expires_after(first ? read_timeout : idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), kTuple);
      conn.idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    lowest(stream).expires_after(read_timeout);
    http::request_parser<http::string_body> parser;
    parser.header_limit(st->api.max_header_bytes);
    parser.body_limit(st->api.max_body_bytes);
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kTuple);
    // Beast applies header_limit to what one parse step sees, so a header that arrives
    // in one large segment can exceed it; the bytes it consumed for the header cannot.
    if (!hec && hn > st->api.max_header_bytes) hec = http::error::header_limit;
    if (!hec) {
      const auto& h = parser.get();
      if (auto expect = h[http::field::expect]; iequals_ascii(expect, "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, h.version()};
        lowest(stream).expires_after(write_timeout);
        auto [cec, cn] = co_await http::async_write(stream, cont, kTuple);
        if (cec) break;
        lowest(stream).expires_after(read_timeout);
      }
      std::tie(hec, hn) = co_await http::async_read(stream, buffer, parser, kTuple);
    }
    if (hec == http::error::body_limit) {
      co_await write_error_and_close(stream, *st, json_error(413, "body_too_large"));
      co_return true;
    }
    if (hec == http::error::header_limit) {
      co_await write_error_and_close(stream, *st, json_error(431, "header_too_large"));
      co_return true;
    }
    if (hec && is_parse_error(hec)) {
      co_await write_error_and_close(stream, *st, json_error(400, "bad_request"));
      co_return true;
    }
    if (hec) break;  // closed, reset or timed out: nobody to answer

    auto req = parser.release();
    ApiRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.headers.reserve(8);
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = std::move(req.body());
    request.peer = peer;
    ApiResponse response =
        co_await async_handle(st->service, metrics_only, std::move(request), asio::use_awaitable);

    const bool keep_alive = req.keep_alive() && !response.close_connection && !st->stopping;
    auto res = to_beast(std::move(response), req.version(), keep_alive);
    lowest(stream).expires_after(write_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
    if (wec || !keep_alive) break;
  }
  co_return false;
}

// After an error answer the client may still be sending (a body over the limit);
// closing with unread bytes would reset the connection and could destroy the answer
// before the client reads it, so read and discard a bounded amount first.
asio::awaitable<void> drain(beast::tcp_stream& stream, const ServerState& st) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::milliseconds(std::min<std::uint32_t>(st.api.read_timeout_ms, 2000)));
  std::array<char, 16384> scratch;
  std::size_t total = 0;
  while (total < 4 * 1024 * 1024) {
    auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
    if (rec) break;
    total += n;
  }
}

asio::awaitable<void> run_connection(std::shared_ptr<ServerState> st, tcp::socket socket, bool metrics_only) {
  auto conn = std::make_shared<Connection>(socket.get_executor());
  {
    std::lock_guard lock(st->mutex);
    if (st->open.size() >= 2 * static_cast<std::size_t>(st->connections.load()) + 64) {
      st->open.remove_if([](const auto& weak) { return weak.expired(); });
    }
    st->open.push_back(conn);
  }
  st->service->metrics().connection_opened();
  st->live.fetch_add(1);
  struct Release {
    ServerState& st;
    bool counted;
    ~Release() {
      if (counted) st.connections.fetch_sub(1);
      st.service->metrics().connection_closed();
      st.live.fetch_sub(1);
      st.check_drained();
    }
  } release{*st, !metrics_only};

  beast::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) co_return;
  const IpAddress peer = to_ip(remote.address());
  socket.set_option(tcp::no_delay(true), ec);

  if (st->tls == nullptr || metrics_only) {
    beast::tcp_stream stream(std::move(socket));
    conn->socket = &stream.socket();
    if (co_await serve(st, *conn, stream, peer, metrics_only)) {
      co_await drain(stream, *st);
    } else {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
    conn->socket = nullptr;
    co_return;
  }

  auto context = st->tls->current();
  if (context == nullptr) {
    const std::int64_t now = std::time(nullptr);
    if (now - st->last_no_cert_log.exchange(now) >= 10) {
      log::warning("TLS handshake refused: no certificate loaded yet",
                   {{"client", peer.to_string()}, {"fullchain", st->tls->fullchain_path()}});
    }
    socket.close(ec);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *context);
  conn->socket = &beast::get_lowest_layer(stream).socket();
  beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(st->api.read_timeout_ms));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kTuple);
  if (hec) {
    log::debug("TLS handshake failed", {{"client", peer.to_string()}, {"error", hec.message()}});
  } else {
    (void)co_await serve(st, *conn, stream, peer, false);
    beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(st->api.write_timeout_ms));
    co_await stream.async_shutdown(kTuple);
  }
  conn->socket = nullptr;
}

asio::awaitable<void> accept_loop(std::shared_ptr<ServerState> st, std::shared_ptr<tcp::acceptor> acceptor,
                                  bool metrics_only) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(Executor(asio::make_strand(st->io)), kTuple);
    if (ec) {
      if (st->stopping || ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      log::warning("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(kTuple);
      continue;
    }
    if (!metrics_only && st->connections.fetch_add(1) >= st->api.max_connections) {
      st->connections.fetch_sub(1);
      st->service->metrics().count_rejected_connection();
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, run_connection(st, std::move(socket), metrics_only), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        log::error("HTTP connection failed", {{"error", x.what()}});
      } catch (...) {
        log::error("HTTP connection failed", {{"error", "unknown exception"}});
      }
    });
  }
}

std::string describe(const tcp::endpoint& ep) {
  const std::string host = ep.address().to_string();
  return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

Result<std::shared_ptr<tcp::acceptor>> bind(asio::io_context& io, const std::string& host,
                                            std::uint16_t port) {
  beast::error_code ec;
  const std::string literal = host.empty() ? "0.0.0.0" : host == "localhost" ? "127.0.0.1" : host;
  const auto address = asio::ip::make_address(literal, ec);
  if (ec) return make_error("bad_listen_address", "cannot listen on \"" + host + "\": not an IP address");
  const tcp::endpoint endpoint(address, port);
  auto acceptor = std::make_shared<tcp::acceptor>(asio::make_strand(io));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("listen_failed", "cannot listen on " + describe(endpoint) + ": " + ec.message());
  return acceptor;
}

class BeastHttpServer final : public HttpServer {
 public:
  explicit BeastHttpServer(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}
  ~BeastHttpServer() override { stop(); }

  Status listen(const std::string& host, std::uint16_t port, bool metrics_only) {
    auto acceptor = bind(state_->io, host, port);
    if (!acceptor) return acceptor.error();
    log::info(metrics_only ? "metrics listening" : "HTTP API listening",
              {{"address", describe((*acceptor)->local_endpoint())},
               {"tls", state_->tls && !metrics_only ? "yes" : "no"}});
    acceptors_.push_back(*acceptor);
    asio::co_spawn((*acceptor)->get_executor(), accept_loop(state_, *acceptor, metrics_only), asio::detached);
    return ok_status();
  }

  void stop() override {
    if (state_->stopping.exchange(true)) return;
    for (const auto& acceptor : acceptors_) {
      asio::post(acceptor->get_executor(), [acceptor] {
        beast::error_code ignored;
        acceptor->close(ignored);
      });
    }
    // Connections waiting for their next request are closed now; the others finish
    // the request in flight and then close (keep-alive is refused while stopping).
    std::lock_guard lock(state_->mutex);
    for (auto& weak : state_->open) {
      if (auto conn = weak.lock()) {
        asio::post(conn->executor, [conn] {
          if (conn->idle && conn->socket != nullptr) {
            beast::error_code ignored;
            conn->socket->cancel(ignored);
          }
        });
      }
    }
    state_->open.clear();
    state_->check_drained();
  }

  void on_drained(std::function<void()> callback) override {
    {
      std::lock_guard lock(state_->drained_mutex);
      state_->drained = std::move(callback);
    }
    state_->check_drained();
  }

  void reload_tls() override {
    if (state_->tls) state_->tls->reload();
  }

  void reload_policy(const Config& config) override { state_->service->reload(config); }

  void add_metrics_source(std::function<std::string()> source) override {
    state_->service->add_metrics_source(std::move(source));
  }

 private:
  std::shared_ptr<ServerState> state_;
  std::vector<std::shared_ptr<tcp::acceptor>> acceptors_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::create(boost::asio::io_context& io, const Config& config,
                                                       Store& store) {
  auto state = std::make_shared<ServerState>(io, config);
  const ApiConfig& api = config.api;
  switch (api.tls) {
    case TlsMode::none:
      break;
    case TlsMode::cert: {
      state->tls = std::make_unique<TlsContextProvider>(api.tls_cert_fullchain, api.tls_cert_privkey);
      if (auto loaded = state->tls->load(); !loaded) return loaded.error();
      break;
    }
    case TlsMode::acme:
    case TlsMode::letsencrypt:
    case TlsMode::letsencryptstaging: {
      // Written by the embedded ACME client; until it exists handshakes fail, while
      // the DNS plane keeps answering so that the certificate can be obtained.
      const std::string folder = api.acme_cache_dir + "/" + config.general.domain + "/";
      state->tls = std::make_unique<TlsContextProvider>(folder + "fullchain.pem", folder + "privkey.pem");
      (void)state->tls->load();
      break;
    }
  }
  state->service = ApiService::create(config, store, state->tls != nullptr);
  auto server = std::make_unique<BeastHttpServer>(state);
  if (auto s = server->listen(api.ip, api.port, false); !s) return s.error();
  if (api.metrics_listen) {
    if (auto s = server->listen(api.metrics_listen->host, api.metrics_listen->port, true); !s)
      return s.error();
  }
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace acmednsd::http_api
