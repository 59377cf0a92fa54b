#include "dns/socket_activation.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace acmednsd::dns {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START

bool parse_number(const char* text, long& out) {
  if (text == nullptr) return false;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool describe(int fd, InheritedSocket& out) {
  int type = 0;
  socklen_t size = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &size) != 0) return false;
  if (type != SOCK_DGRAM && type != SOCK_STREAM) return false;
  sockaddr_storage local{};
  socklen_t local_size = sizeof local;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) return false;
  char text[INET6_ADDRSTRLEN] = {};
  if (local.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&local);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    out.port = ntohs(a->sin_port);
  } else if (local.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&local);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    out.port = ntohs(a->sin6_port);
  } else {
    return false;
  }
  out.fd = fd;
  out.datagram = type == SOCK_DGRAM;
  out.address = text;
  return true;
}

std::vector<InheritedSocket> read_environment() {
  std::vector<InheritedSocket> sockets;
  long pid = 0;
  long count = 0;
  const bool ours = parse_number(std::getenv("LISTEN_PID"), pid) && pid == static_cast<long>(::getpid()) &&
                    parse_number(std::getenv("LISTEN_FDS"), count) && count > 0 && count < 1024;
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (!ours) return sockets;
  for (int fd = kFirstFd; fd < kFirstFd + static_cast<int>(count); ++fd) {
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // not for the deploy command's processes
    InheritedSocket s;
    if (describe(fd, s)) sockets.push_back(s);
  }
  return sockets;
}

}  // namespace

std::vector<InheritedSocket>& inherited_sockets() {
  static std::vector<InheritedSocket> sockets = read_environment();
  return sockets;
}

}  // namespace acmednsd::dns
