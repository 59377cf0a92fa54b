// TCP per RFC 7766: 2-byte length framing, any number of pipelined queries per
// connection (all complete frames in a read are answered and written back in one
// write), an idle timeout and a cap on concurrent connections. One coroutine per
// connection on its own strand; a watchdog coroutine closes idle connections.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <list>
#include <mutex>
#include <optional>
#include <vector>

#include "common/log.hpp"
#include "dns/listeners.hpp"
#include "dns/responder.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

class Connection {
 public:
  explicit Connection(tcp::socket socket) : socket_(std::move(socket)), timer_(socket_.get_executor()) {}

  tcp::socket socket_;
  asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;

  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    timer_.cancel();
  }
};

class TcpListener : public Listener, public std::enable_shared_from_this<TcpListener> {
 public:
  TcpListener(asio::io_context& io, const TcpLimits& limits, std::shared_ptr<const ServingContext> context)
      : io_(io),
        strand_(asio::make_strand(io)),
        acceptor_(strand_),
        limits_(limits),
        context_(std::move(context)) {}

  tcp::acceptor& acceptor() { return acceptor_; }

  void start() override { asio::co_spawn(strand_, accept_loop(shared_from_this()), asio::detached); }

  void stop() override {
    asio::post(strand_, [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
    std::lock_guard lock(mutex_);
    for (auto& weak : connections_) {
      if (auto c = weak.lock()) asio::post(c->socket_.get_executor(), [c] { c->close(); });
    }
  }

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<TcpListener> self) {
    while (self->acceptor_.is_open()) {
      auto [ec, socket] = co_await self->acceptor_.async_accept(asio::make_strand(self->io_), use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) co_return;
        // Out of file descriptors or similar: pause instead of spinning.
        asio::steady_timer pause(self->strand_, std::chrono::milliseconds(50));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      if (self->active_.load() >= self->limits_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: a fast refusal beats a hanging client
        continue;
      }
      auto connection = std::make_shared<Connection>(std::move(socket));
      self->track(connection);
      asio::co_spawn(connection->socket_.get_executor(), serve(self, connection), asio::detached);
    }
  }

  void track(const std::shared_ptr<Connection>& connection) {
    ++active_;
    std::lock_guard lock(mutex_);
    connections_.remove_if([](const std::weak_ptr<Connection>& w) { return w.expired(); });
    connections_.push_back(connection);
  }

  static asio::awaitable<void> serve(std::shared_ptr<TcpListener> self, std::shared_ptr<Connection> c) {
    try {
      // Set before either coroutine runs: the watchdog must not see a stale deadline.
      c->deadline_ =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(self->limits_.idle_timeout_ms);
      co_await (read_and_answer(self, c) || idle_watchdog(c));
    } catch (const std::exception& e) {
      log::warning("dns tcp connection failed", {{"error", e.what()}});
    }
    c->close();
    --self->active_;
  }

  static asio::awaitable<void> idle_watchdog(std::shared_ptr<Connection> c) {
    for (;;) {
      c->timer_.expires_at(c->deadline_);
      co_await c->timer_.async_wait(use_tuple);
      if (!c->socket_.is_open() || std::chrono::steady_clock::now() >= c->deadline_) co_return;
    }
  }

  static asio::awaitable<void> read_and_answer(std::shared_ptr<TcpListener> self,
                                               std::shared_ptr<Connection> c) {
    const auto idle = std::chrono::milliseconds(self->limits_.idle_timeout_ms);
    std::vector<std::uint8_t> in(4096);
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> scratch(kMaxMessage);
    std::size_t have = 0;
    const ClientInfo client{Transport::tcp};
    std::string peer;  // for the query log, filled on its first line (it can be switched on by SIGHUP)
    std::optional<IpAddress> peer_ip;      // for the transfer ACL, looked up when first needed
    std::shared_ptr<const ZoneData> zone;  // this connection's view of the served zone
    std::uint64_t zone_generation = 0;
    bool message_done = true;
    for (;;) {
      // The idle timeout restarts only after a complete message: a client trickling a
      // frame a byte at a time cannot hold a connection slot past it (slowloris).
      if (message_done) c->deadline_ = std::chrono::steady_clock::now() + idle;
      message_done = false;
      auto [ec, n] =
          co_await c->socket_.async_read_some(asio::buffer(in.data() + have, in.size() - have), use_tuple);
      if (ec) co_return;
      have += n;
      std::size_t pos = 0;
      out.clear();
      const std::int64_t now = std::time(nullptr);
      self->context_->zone.refresh(zone, zone_generation);
      const bool query_log = self->context_->query_log.load(std::memory_order_relaxed);
      bool confused = false;
      while (have - pos >= 2) {
        const std::size_t length = read_u16(in.data() + pos);
        if (length == 0) {  // not a DNS message: answer what came before it, then close
          confused = true;
          break;
        }
        if (have - pos - 2 < length) break;
        const std::span<const std::uint8_t> query{in.data() + pos + 2, length};
        std::size_t size = 0;
        const auto& gate = self->context_->transfer;
        if (gate && gate->wants(query)) {
          if (!peer_ip) peer_ip = remote_ip(*c);
          auto outcome =
              gate->handle(query, *peer_ip, Transport::tcp, zone, *self->context_->index, now, scratch);
          size = outcome.size;
          if (outcome.stream) {
            // Answers queued before the transfer go first, then the transfer's messages
            // one write at a time: the socket's back-pressure paces a slow secondary.
            if (!out.empty()) {
              auto [write_ec, written] = co_await asio::async_write(c->socket_, asio::buffer(out), use_tuple);
              if (write_ec) co_return;
              out.clear();
            }
            if (!co_await stream_transfer(c, *outcome.stream, idle)) co_return;
          }
        } else {
          size = respond(query, client, *zone, *self->context_->index, now, scratch);
        }
        if (size != 0) {
          if (query_log) {
            if (peer.empty()) {
              boost::system::error_code endpoint_ec;
              const auto remote = c->socket_.remote_endpoint(endpoint_ec);
              peer = endpoint_ec ? "?" : sockaddr_text(remote.data());
            }
            log_query(peer, "tcp", scratch.data(), size);
          }
          out.push_back(static_cast<std::uint8_t>(size >> 8));
          out.push_back(static_cast<std::uint8_t>(size));
          out.insert(out.end(), scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(size));
        }
        pos += 2 + length;
        message_done = true;
      }
      std::memmove(in.data(), in.data() + pos, have - pos);
      have -= pos;
      // A frame may be up to 64 KiB: grow only when one needs it.
      if (have >= 2 && read_u16(in.data()) + 2u > in.size()) in.resize(read_u16(in.data()) + 2u);
      if (!out.empty()) {
        c->deadline_ = std::chrono::steady_clock::now() + idle;  // the answers get a full period
        auto [write_ec, written] = co_await asio::async_write(c->socket_, asio::buffer(out), use_tuple);
        if (write_ec) co_return;
      }
      if (confused) co_return;
    }
  }

  static IpAddress remote_ip(Connection& c) {
    boost::system::error_code ec;
    const auto remote = c.socket_.remote_endpoint(ec);
    if (ec) return IpAddress{};  // 0.0.0.0: in no allow list that matters
    return ip_of_sockaddr(remote.data());
  }

  // Writes every message of a zone transfer, each with its 2-byte length.
  static asio::awaitable<bool> stream_transfer(std::shared_ptr<Connection> c, TransferStream& stream,
                                               std::chrono::milliseconds idle) {
    // A bounded send buffer (the kernel doubles it: 128 KiB in flight, ~2.5 MB/s at 50 ms
    // of RTT) keeps a secondary that stops reading from parking megabytes of zone in the
    // kernel, and makes max_transfers count the transfers really in progress.
    boost::system::error_code ignored;
    c->socket_.set_option(asio::socket_base::send_buffer_size(64 * 1024), ignored);
    std::vector<std::uint8_t> message(2 + kMaxMessage);
    for (;;) {
      const std::size_t size = stream.next({message.data() + 2, kMaxMessage}, std::time(nullptr));
      if (size == 0) co_return true;
      message[0] = static_cast<std::uint8_t>(size >> 8);
      message[1] = static_cast<std::uint8_t>(size);
      c->deadline_ = std::chrono::steady_clock::now() + idle;
      auto [ec, written] =
          co_await asio::async_write(c->socket_, asio::buffer(message.data(), size + 2), use_tuple);
      if (ec) co_return false;
    }
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  TcpLimits limits_;
  std::shared_ptr<const ServingContext> context_;
  std::atomic<std::uint32_t> active_{0};
  std::mutex mutex_;
  std::list<std::weak_ptr<Connection>> connections_;
};

}  // namespace

Result<std::shared_ptr<Listener>> open_tcp_listener(asio::io_context& io, const ListenAddress& where,
                                                    const TcpLimits& limits,
                                                    std::shared_ptr<const ServingContext> context) {
  auto listener = std::make_shared<TcpListener>(io, limits, std::move(context));
  boost::system::error_code ec;
  const tcp::endpoint endpoint(where.address, where.port);
  tcp::acceptor& acceptor = listener->acceptor();
  if (where.inherited_tcp_fd >= 0) {  // socket activation: systemd bound and listens
    acceptor.assign(endpoint.protocol(), where.inherited_tcp_fd, ec);
    if (ec) {
      return make_error("listen_failed", "cannot use the tcp socket systemd passed for " + where.to_string() +
                                             ": " + ec.message());
    }
    return std::shared_ptr<Listener>(std::move(listener));
  }
  acceptor.open(endpoint.protocol(), ec);
  if (!ec && where.address.is_v6()) acceptor.set_option(asio::ip::v6_only(where.v6_only), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);  // restarts in TIME_WAIT
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error("listen_failed", "cannot listen on tcp " + where.to_string() + ": " + ec.message());
  }
  return std::shared_ptr<Listener>(std::move(listener));
}

}  // namespace acmednsd::dns
