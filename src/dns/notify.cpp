#include "dns/notify.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/threads.hpp"
#include "dns/listeners.hpp"
#include "dns/tsig.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(10);          // how often the serial is looked at
constexpr auto kFirstRetry = std::chrono::milliseconds(1000);  // then doubled
constexpr auto kMaxRetry = std::chrono::seconds(60);
// A NOTIFY unanswered for this long was lost (a secondary not listening yet, a dropped
// datagram): a newer serial goes out at once instead of waiting for the backed-off retry.
constexpr auto kUnansweredAfter = std::chrono::milliseconds(250);
constexpr std::uint8_t kOpcodeNotify = 4;

struct Target {
  std::string text;  // "host:port", for logs
  int fd = -1;       // a connected UDP socket: only the target's answers reach it
  std::uint32_t acked = 0;
  bool ever_acked = false;
  bool in_flight = false;
  std::uint32_t sent_serial = 0;
  std::uint16_t id = 0;
  std::vector<std::uint8_t> mac;  // of the NOTIFY in flight, when signed
  Clock::time_point sent_at{};
  Clock::time_point retry_at{};
  std::chrono::milliseconds backoff = kFirstRetry;
  bool warned = false;
};

class NotifySenderImpl final : public NotifySender {
 public:
  NotifySenderImpl(std::vector<Target> targets, std::optional<tsig::Key> key,
                   std::shared_ptr<const ServingContext> context)
      : targets_(std::move(targets)), key_(std::move(key)), context_(std::move(context)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~NotifySenderImpl() override {
    stop();
    for (auto& t : targets_) ::close(t.fd);
  }
  NotifySenderImpl(const NotifySenderImpl&) = delete;
  NotifySenderImpl& operator=(const NotifySenderImpl&) = delete;

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    name_this_thread("dns-notify");
    std::vector<pollfd> fds;
    for (const auto& t : targets_) fds.push_back({t.fd, POLLIN, 0});
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (stopping_) return;
      }
      const std::uint32_t serial = context_->index->serial();
      const auto now = Clock::now();
      for (auto& t : targets_) {
        const bool behind = !t.ever_acked || t.acked != serial;
        if (!behind) continue;
        // One NOTIFY in flight per target: a newer serial waits for its answer (or its
        // retry time), which is what coalesces a burst of changes. A lost one does not
        // hold a newer serial back for its whole backoff (seconds after a start).
        const bool lost = serial != t.sent_serial && now >= t.sent_at + kUnansweredAfter;
        if (t.in_flight && now < t.retry_at && !lost) continue;
        send(t, serial, now);
      }
      // Wait for answers up to one tick.
      for (auto& f : fds) f.revents = 0;
      const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(kTick.count()));
      if (ready > 0) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
          if ((fds[i].revents & POLLIN) != 0) receive(targets_[i]);
        }
      }
    }
  }

  void send(Target& t, std::uint32_t serial, Clock::time_point now) {
    const auto zone = context_->zone.load();
    std::vector<std::uint8_t> msg(1024);
    WireWriter w(msg.data(), msg.size() - 256);
    t.id = static_cast<std::uint16_t>(random_u64());
    w.u16(t.id);
    w.u8(static_cast<std::uint8_t>((kOpcodeNotify << 3) | 0x04));  // NOTIFY, AA
    w.u8(0);
    w.u16(1);  // the zone's SOA as question
    w.u16(1);  // and its new SOA as answer (RFC 1996 3.7: a hint)
    w.u16(0);
    w.u16(0);
    w.bytes(zone->origin_wire().data(), zone->origin_wire().size());
    w.u16(rrtype::SOA);
    w.u16(kClassIn);
    w.pointer(kHeaderSize);
    const auto& soa = zone->apex().rrsets.front();
    auto rdata = soa.rdatas.front();
    const std::size_t at = soa_serial_offset(rdata);
    for (int i = 0; i < 4; ++i)
      rdata[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(serial >> (24 - 8 * i));
    w.u16(rrtype::SOA);
    w.u16(kClassIn);
    w.u32(soa.ttl);
    w.u16(static_cast<std::uint16_t>(rdata.size()));
    w.bytes(rdata.data(), rdata.size());
    std::size_t size = w.size();
    t.mac.clear();
    if (key_) size = tsig::sign_request(msg, size, *key_, std::time(nullptr), t.mac);
    if (size == 0) return;
    // Sent or not (a full socket buffer), the retry timer covers it.
    (void)::send(t.fd, msg.data(), size, MSG_DONTWAIT);
    const bool retry = t.in_flight && t.sent_serial == serial;
    t.backoff = retry ? std::min<std::chrono::milliseconds>(t.backoff * 2, kMaxRetry) : kFirstRetry;
    t.in_flight = true;
    t.sent_serial = serial;
    t.sent_at = now;
    t.retry_at = now + t.backoff;
    log::debug("notify sent",
               {{"target", t.text}, {"serial", std::to_string(serial)}, {"retry", retry ? "yes" : "no"}});
  }

  void receive(Target& t) {
    std::vector<std::uint8_t> buffer(4096);
    for (int i = 0; i < 64; ++i) {  // bounded: whatever is queued now
      const ssize_t n = ::recv(t.fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n <= 0) return;
      const std::span<const std::uint8_t> reply(buffer.data(), static_cast<std::size_t>(n));
      if (reply.size() < kHeaderSize || !t.in_flight || read_u16(reply.data()) != t.id) continue;
      const bool response = (reply[2] & 0x80) != 0;
      const auto opcode = static_cast<std::uint8_t>((reply[2] >> 3) & 0x0F);
      const std::uint8_t code = reply[3] & 0x0F;
      if (!response || opcode != kOpcodeNotify) continue;
      if (code != rcode::noerror ||
          (key_ && !tsig::verify_response(reply, *key_, t.mac, std::time(nullptr)))) {
        if (!t.warned) {
          log::warning("a secondary did not accept our NOTIFY; retrying with backoff",
                       {{"target", t.text},
                        {"rcode", std::to_string(code)},
                        {"signed_answer_ok", code == rcode::noerror ? "no" : "n/a"}});
          t.warned = true;
        }
        continue;  // the retry timer sends it again
      }
      t.acked = t.sent_serial;
      t.ever_acked = true;
      t.in_flight = false;
      t.warned = false;
      t.backoff = kFirstRetry;
      log::debug("notify acknowledged", {{"target", t.text}, {"serial", std::to_string(t.acked)}});
    }
  }

  std::vector<Target> targets_;
  std::optional<tsig::Key> key_;
  std::shared_ptr<const ServingContext> context_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<NotifySender>> NotifySender::start(const Config& config,
                                                          std::shared_ptr<const ServingContext> context) {
  if (config.transfer.notify.empty()) return std::unique_ptr<NotifySender>();
  std::optional<tsig::Key> key;
  if (!config.transfer.notify_tsig.empty()) {
    const tsig::Keyring ring(config.tsig_keys);
    if (const auto* k = ring.find(config.transfer.notify_tsig)) key = *k;
  }
  std::vector<Target> targets;
  const auto fail = [&targets](const std::string& why) {
    for (auto& t : targets) ::close(t.fd);
    return make_error("notify_failed", why);
  };
  for (const auto& n : config.transfer.notify) {
    Target t;
    const auto ip = IpAddress::parse(n.host);
    if (!ip) return fail("[transfer] notify: " + n.host + " is not an address");
    t.text = (ip->v6 ? "[" + n.host + "]" : n.host) + ":" + std::to_string(n.port);
    sockaddr_storage addr{};
    socklen_t len = 0;
    if (ip->v6) {
      auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
      a6->sin6_family = AF_INET6;
      a6->sin6_port = htons(n.port);
      std::memcpy(&a6->sin6_addr, ip->bytes.data(), 16);
      len = sizeof(sockaddr_in6);
    } else {
      auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
      a4->sin_family = AF_INET;
      a4->sin_port = htons(n.port);
      std::memcpy(&a4->sin_addr, ip->bytes.data(), 4);
      len = sizeof(sockaddr_in);
    }
    t.fd = ::socket(ip->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (t.fd < 0 || ::connect(t.fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      const int err = errno;  // before close() can change it
      if (t.fd >= 0) ::close(t.fd);
      return fail("[transfer] notify: cannot open a socket to " + t.text + ": " +
                  std::error_code(err, std::generic_category()).message());
    }
    targets.push_back(std::move(t));
  }
  log::info("notifying secondaries",
            {{"targets", std::to_string(targets.size())}, {"signed", key ? "yes" : "no"}});
  return std::unique_ptr<NotifySender>(
      std::make_unique<NotifySenderImpl>(std::move(targets), std::move(key), std::move(context)));
}

}  // namespace acmednsd::dns
