// UDP: one SO_REUSEPORT socket per worker thread, so the kernel spreads datagrams and
// no socket is shared between threads. Each worker is a plain thread blocked in
// recvmmsg (up to 32 datagrams per call) that answers the batch with one sendmmsg.
// Why not the io_context: measured under dnsperf on 2 cores, Asio's reactor
// (epoll_wait in one thread, condition-variable hand-off to the others, one re-arm
// per burst) spent a fifth of the CPU in context switches and capped UDP well below
// Knot; a thread per socket waking straight from the socket's wait queue does not.
// TCP, which needs timers and many connections, stays on the io_context.
// Asio only opens, configures and binds the socket: the worker then takes the bare
// descriptor with release(). Left in an asio socket, the descriptor stays registered
// with the io_context's epoll (edge-triggered, from open on), so every arriving
// datagram woke the io_context threads for nothing: two threads ping-ponging through
// epoll_wait and futexes took 40 % of the CPU under dnsperf.
//
// A socket bound to a wildcard address (":53") asks the kernel for each datagram's
// destination (IP_PKTINFO / IPV6_PKTINFO) and answers from that same address: on a
// host with several addresses the kernel's own choice of source would be the default
// route's, and resolvers drop an answer that comes from another address than the one
// they asked.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/threads.hpp"
#include "dns/listeners.hpp"
#include "dns/rate_limiter.hpp"
#include "dns/responder.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

constexpr std::size_t kBatch = 32;
constexpr std::size_t kMaxQuery = 4096;  // a longer datagram gets FORMERR from its first bytes
constexpr long kStopCheckMicros = 200000;
constexpr int kReceiveBufferBytes = 4 << 20;

// Room for one IP_PKTINFO or IPV6_PKTINFO control message (and some slack), aligned
// as the CMSG macros require.
struct alignas(cmsghdr) Control {
  unsigned char bytes[64];
};

class UdpSocketWorker {
 public:
  UdpSocketWorker(std::shared_ptr<const ServingContext> context, bool wildcard)
      : wildcard_(wildcard),
        context_(std::move(context)),
        response_capacity_(context_->zone.load()->edns_udp_size),
        queries_(kBatch * kMaxQuery),
        responses_(kBatch * response_capacity_) {
    if (context_->rrl_responses_per_second != 0) {
      limiter_ = std::make_unique<ResponseRateLimiter>(context_->rrl_responses_per_second, context_->rrl_slip,
                                                       context_->rrl_ipv4_prefix, context_->rrl_ipv6_prefix,
                                                       context_->rrl_exempt);
    }
  }
  ~UdpSocketWorker() { stop(); }
  UdpSocketWorker(const UdpSocketWorker&) = delete;
  UdpSocketWorker& operator=(const UdpSocketWorker&) = delete;

  // Takes the configured socket's descriptor out of asio (see the top).
  void adopt(udp::socket& socket) { fd_ = socket.release(); }

  void start() {
    // A receive timeout bounds how long stop() waits for the thread to notice.
    timeval timeout{0, kStopCheckMicros};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    thread_ = std::thread([this] { run(); });
  }

  void request_stop() { stopping_.store(true); }

  void stop() {
    stopping_.store(true);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void run() {
    name_this_thread("dns-udp");
    while (!stopping_.load(std::memory_order_relaxed)) {
      const std::size_t count = receive(MSG_WAITFORONE);  // blocks for the first datagram only
      if (count != 0) answer(count);
    }
  }

  // Fills the batch with the datagrams queued on the socket.
  std::size_t receive(int flags) {
    std::array<mmsghdr, kBatch> messages{};
    std::array<iovec, kBatch> vectors{};
    for (std::size_t i = 0; i < kBatch; ++i) {
      vectors[i] = {queries_.data() + i * kMaxQuery, kMaxQuery};
      messages[i].msg_hdr.msg_name = &senders_[i];
      messages[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      if (wildcard_) {
        messages[i].msg_hdr.msg_control = controls_[i].bytes;
        messages[i].msg_hdr.msg_controllen = sizeof controls_[i].bytes;
      }
    }
    const int got = ::recvmmsg(fd_, messages.data(), kBatch, flags, nullptr);
    if (got <= 0) return 0;
    for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
      // A datagram cut by the buffer still has a readable header: it gets FORMERR.
      lengths_[i] = messages[i].msg_len;
      cut_[i] = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
      control_sizes_[i] = wildcard_ ? reply_control(messages[i].msg_hdr, controls_[i]) : 0;
      sender_sizes_[i] = messages[i].msg_hdr.msg_namelen;
    }
    return static_cast<std::size_t>(got);
  }

  void answer(std::size_t count) {
    std::array<mmsghdr, kBatch> replies{};
    std::array<iovec, kBatch> vectors{};
    std::size_t ready = 0;
    const std::int64_t now = std::time(nullptr);
    context_->zone.refresh(zone_, zone_generation_);
    const bool query_log = context_->query_log.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < count; ++i) {
      if (lengths_[i] == 0) continue;
      std::uint8_t* out = responses_.data() + i * response_capacity_;
      const ClientInfo client{Transport::udp, cut_[i]};
      const std::span<const std::uint8_t> query{queries_.data() + i * kMaxQuery, lengths_[i]};
      std::size_t size = 0;
      if (context_->transfer && !cut_[i] && context_->transfer->wants(query)) {
        // Signed queries (a secondary's SOA check) and IXFR/AXFR requests.
        size = context_->transfer
                   ->handle(query, ip_of_sockaddr(&senders_[i]), Transport::udp, zone_, *context_->index, now,
                            {out, response_capacity_})
                   .size;
      } else {
        size = respond(query, client, *zone_, *context_->index, now, {out, response_capacity_});
      }
      if (size != 0 && limiter_) {
        const auto verdict = limiter_->check(reinterpret_cast<const sockaddr*>(&senders_[i]), now);
        if (verdict == ResponseRateLimiter::Verdict::drop) size = 0;
        if (verdict == ResponseRateLimiter::Verdict::slip) size = truncate_to_question(out, size);
      }
      if (size == 0) continue;
      if (query_log) log_query(sockaddr_text(&senders_[i]), "udp", out, size);
      vectors[ready] = {out, size};
      replies[ready].msg_hdr.msg_name = &senders_[i];
      replies[ready].msg_hdr.msg_namelen = sender_sizes_[i];
      replies[ready].msg_hdr.msg_iov = &vectors[ready];
      replies[ready].msg_hdr.msg_iovlen = 1;
      if (control_sizes_[i] != 0) {
        replies[ready].msg_hdr.msg_control = controls_[i].bytes;
        replies[ready].msg_hdr.msg_controllen = control_sizes_[i];
      }
      ++ready;
    }
    std::size_t sent = 0;
    // A full send buffer or an unreachable client loses that datagram only (UDP).
    for (int attempt = 0; sent < ready && attempt < 4; ++attempt) {
      const int n = ::sendmmsg(fd_, replies.data() + sent, static_cast<unsigned>(ready - sent), MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        continue;
      } else {
        ++sent;  // skip the datagram the kernel refused
      }
    }
  }

  // Rewrites the control data received with a datagram into the control data of its
  // reply: the same destination address as source. Returns its size, 0 when absent.
  static std::size_t reply_control(msghdr& received, Control& control) {
    Control reply{};
    for (cmsghdr* c = CMSG_FIRSTHDR(&received); c != nullptr; c = CMSG_NXTHDR(&received, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        in_pktinfo out{};
        out.ipi_spec_dst = info.ipi_addr;  // answer from the address that was asked
        out.ipi_ifindex = info.ipi_ifindex;
        return write_control(reply, control, IPPROTO_IP, IP_PKTINFO, &out, sizeof out);
      }
      if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        return write_control(reply, control, IPPROTO_IPV6, IPV6_PKTINFO, &info, sizeof info);
      }
    }
    return 0;
  }

  static std::size_t write_control(Control& scratch, Control& control, int level, int type, const void* data,
                                   std::size_t size) {
    msghdr m{};
    m.msg_control = scratch.bytes;
    m.msg_controllen = CMSG_SPACE(size);
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = level;
    c->cmsg_type = type;
    c->cmsg_len = CMSG_LEN(size);
    std::memcpy(CMSG_DATA(c), data, size);
    control = scratch;
    return CMSG_SPACE(size);
  }

  int fd_ = -1;
  bool wildcard_;  // bound to 0.0.0.0 or ::, so replies carry their source address
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<const ServingContext> context_;
  std::shared_ptr<const ZoneData> zone_;  // this thread's view of context_->zone
  std::uint64_t zone_generation_ = 0;
  std::size_t response_capacity_;
  std::vector<std::uint8_t> queries_;
  std::vector<std::uint8_t> responses_;
  std::array<sockaddr_storage, kBatch> senders_{};
  std::array<bool, kBatch> cut_{};
  std::array<Control, kBatch> controls_{};
  std::array<std::size_t, kBatch> control_sizes_{};
  std::array<socklen_t, kBatch> sender_sizes_{};
  std::array<std::size_t, kBatch> lengths_{};
  std::unique_ptr<ResponseRateLimiter> limiter_;  // null when RRL is off
};

class UdpListener : public Listener {
 public:
  explicit UdpListener(std::vector<std::shared_ptr<UdpSocketWorker>> workers)
      : workers_(std::move(workers)) {}
  void start() override {
    for (auto& w : workers_) w->start();
  }
  void stop() override {
    // Flag every worker first so their receive timeouts run out together.
    for (auto& w : workers_) w->request_stop();
    for (auto& w : workers_) w->stop();
  }

 private:
  std::vector<std::shared_ptr<UdpSocketWorker>> workers_;
};

// Learn each datagram's destination so the reply can come from it (see the top).
boost::system::error_code enable_pktinfo(udp::socket& socket, const ListenAddress& where) {
  boost::system::error_code ec;
  const int on = 1;
  const int fd = socket.native_handle();
  const int rc = ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);  // also IPv4 on a dual-stack ::
  if (rc != 0 && where.address.is_v4()) ec.assign(errno, boost::system::system_category());
  if (where.address.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0) {
    ec.assign(errno, boost::system::system_category());
  }
  return ec;
}

// Socket activation: every worker reads the one socket systemd bound (a dup each, so
// each worker owns and closes its own descriptor).
Status adopt_socket(udp::socket& socket, const ListenAddress& where, int fd) {
  boost::system::error_code ec;
  const int own = ::dup(fd);
  if (own < 0) ec.assign(errno, boost::system::system_category());
  if (!ec) socket.assign(where.address.is_v6() ? udp::v6() : udp::v4(), own, ec);
  if (!ec && where.address.is_unspecified()) ec = enable_pktinfo(socket, where);
  if (ec) {
    return make_error("listen_failed", "cannot use the udp socket systemd passed for " + where.to_string() +
                                           ": " + ec.message());
  }
  return ok_status();
}

Status bind_socket(udp::socket& socket, const ListenAddress& where, bool share_port, std::uint16_t port) {
  boost::system::error_code ec;
  const udp::endpoint endpoint(where.address, port);
  socket.open(endpoint.protocol(), ec);
  if (!ec && where.address.is_v6()) socket.set_option(asio::ip::v6_only(where.v6_only), ec);
  if (!ec && share_port) socket.set_option(reuse_port(true), ec);
  if (!ec && share_port) {
    // Room for bursts while the worker is descheduled (capped by net.core.rmem_max);
    // failure only means the kernel default stays.
    boost::system::error_code ignored;
    socket.set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ignored);
  }
  if (!ec && share_port && where.address.is_unspecified()) ec = enable_pktinfo(socket, where);
  if (!ec) socket.bind(endpoint, ec);
  if (ec) {
    return make_error("listen_failed", "cannot listen on udp " + where.to_string() + ": " + ec.message());
  }
  return ok_status();
}

}  // namespace

Result<std::shared_ptr<Listener>> open_udp_listener(asio::io_context& io, const ListenAddress& where,
                                                    unsigned sockets,
                                                    std::shared_ptr<const ServingContext> context) {
  std::vector<std::shared_ptr<UdpSocketWorker>> workers;
  if (where.inherited_udp_fd >= 0) {
    for (unsigned i = 0; i < std::max(1u, sockets); ++i) {
      auto worker = std::make_shared<UdpSocketWorker>(context, where.address.is_unspecified());
      udp::socket socket(io);
      if (auto st = adopt_socket(socket, where, where.inherited_udp_fd); !st) return st.error();
      worker->adopt(socket);
      workers.push_back(std::move(worker));
    }
    ::close(where.inherited_udp_fd);  // each worker holds its own dup
    return std::shared_ptr<Listener>(std::make_shared<UdpListener>(std::move(workers)));
  }
  std::uint16_t port = where.port;
  if (port != 0) {
    // SO_REUSEPORT would let us share a port another process holds with the same
    // option; a plain bind first makes "address in use" an error as it should be.
    udp::socket probe(io);
    if (auto st = bind_socket(probe, where, false, port); !st) return st.error();
  }
  for (unsigned i = 0; i < std::max(1u, sockets); ++i) {
    auto worker = std::make_shared<UdpSocketWorker>(context, where.address.is_unspecified());
    udp::socket socket(io);
    if (auto st = bind_socket(socket, where, true, port); !st) return st.error();
    port = socket.local_endpoint().port();  // port 0: the others join the first
    worker->adopt(socket);
    workers.push_back(std::move(worker));
  }
  return std::shared_ptr<Listener>(std::make_shared<UdpListener>(std::move(workers)));
}

}  // namespace acmednsd::dns
