// Load driver for bench/api-update: N keep-alive connections send POST /update with
// valid credentials (accounts round-robin, a fresh 43-char value each time) for a fixed
// time, then print requests/s and latency percentiles. Not a test: it prints numbers.
//
//   api-update-driver HOST PORT SECONDS CONNECTIONS ACCOUNTS_FILE [RATE]
//   ACCOUNTS_FILE: one "username key subdomain" per line.
//   RATE: total updates per second, paced (request k is due at start + k / RATE); latency
//   then counts from when a request was due, so a stall is not hidden by the requests it
//   delayed. 0 or absent: every connection sends its next request as soon as it can.
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Account {
  std::string user, key, subdomain;
};

struct Shared {
  std::vector<Account> accounts;
  std::atomic<std::size_t> next_account{0};
  Clock::time_point start, deadline;
  double rate = 0;  // updates per second; 0 = unpaced
  std::atomic<std::uint64_t> next_ticket{0};
  std::atomic<std::uint64_t> ok{0}, failed{0}, errors{0};
};

std::string random_value(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string v(43, 'A');
  for (auto& c : v) c = kAlphabet[rng() % 64];
  return v;
}

// Reads one response; returns its status or -1.
asio::awaitable<int> read_response(tcp::socket& socket, std::string& buffer) {
  for (;;) {
    const auto end = buffer.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      const auto cl = buffer.find("Content-Length: ");
      if (cl != std::string::npos && cl < end) length = std::stoul(buffer.substr(cl + 16));
      while (buffer.size() < end + 4 + length) {
        char chunk[4096];
        const std::size_t n = co_await socket.async_read_some(asio::buffer(chunk), asio::use_awaitable);
        buffer.append(chunk, n);
      }
      const int status = std::stoi(buffer.substr(9, 3));
      buffer.erase(0, end + 4 + length);
      co_return status;
    }
    char chunk[4096];
    const std::size_t n = co_await socket.async_read_some(asio::buffer(chunk), asio::use_awaitable);
    buffer.append(chunk, n);
  }
}

asio::awaitable<void> client(Shared& shared, tcp::endpoint endpoint, std::vector<double>& latencies_ms,
                             unsigned seed) {
  std::mt19937_64 rng(seed);
  tcp::socket socket(co_await asio::this_coro::executor);
  try {
    co_await socket.async_connect(endpoint, asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    std::string buffer;
    asio::steady_timer pacer(co_await asio::this_coro::executor);
    while (Clock::now() < shared.deadline) {
      auto due = Clock::now();
      if (shared.rate > 0) {
        const double offset = static_cast<double>(shared.next_ticket.fetch_add(1)) / shared.rate;
        due =
            shared.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset));
        if (due >= shared.deadline) break;
        pacer.expires_at(due);
        co_await pacer.async_wait(asio::use_awaitable);
      }
      const Account& a = shared.accounts[shared.next_account.fetch_add(1) % shared.accounts.size()];
      const std::string body =
          "{\"subdomain\": \"" + a.subdomain + "\", \"txt\": \"" + random_value(rng) + "\"}";
      const std::string request = "POST /update HTTP/1.1\r\nHost: bench\r\nX-Api-User: " + a.user +
                                  "\r\nX-Api-Key: " + a.key +
                                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
      const int status = co_await read_response(socket, buffer);
      latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - due).count());
      (status == 200 ? shared.ok : shared.failed).fetch_add(1);
    }
  } catch (const std::exception& e) {
    shared.errors.fetch_add(1);
    std::cerr << "connection error: " << e.what() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) {
    std::cerr << "usage: api-update-driver HOST PORT SECONDS CONNECTIONS ACCOUNTS_FILE [RATE]\n";
    return 2;
  }
  const tcp::endpoint endpoint(asio::ip::make_address(argv[1]),
                               static_cast<unsigned short>(std::stoi(argv[2])));
  const double seconds = std::stod(argv[3]);
  const int connections = std::stoi(argv[4]);
  Shared shared;
  if (argc == 7) shared.rate = std::stod(argv[6]);
  std::ifstream in(argv[5]);
  Account a;
  while (in >> a.user >> a.key >> a.subdomain) shared.accounts.push_back(a);
  if (shared.accounts.empty()) {
    std::cerr << "no accounts in " << argv[5] << "\n";
    return 2;
  }
  asio::io_context io(1);
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
  const auto start = Clock::now();
  shared.start = start;
  shared.deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (int i = 0; i < connections; ++i) {
    latencies[static_cast<std::size_t>(i)].reserve(1 << 16);
    asio::co_spawn(
        io, client(shared, endpoint, latencies[static_cast<std::size_t>(i)], static_cast<unsigned>(i + 1)),
        asio::detached);
  }
  io.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))];
  };
  std::printf("updates_ok=%llu updates_failed=%llu connection_errors=%llu seconds=%.2f\n",
              static_cast<unsigned long long>(shared.ok.load()),
              static_cast<unsigned long long>(shared.failed.load()),
              static_cast<unsigned long long>(shared.errors.load()), elapsed);
  std::printf("requests_per_second=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f\n",
              static_cast<double>(all.size()) / elapsed, pct(0.50), pct(0.90), pct(0.99), pct(0.999),
              all.empty() ? 0.0 : all.back());
  return shared.failed.load() == 0 && shared.errors.load() == 0 ? 0 : 1;
}
