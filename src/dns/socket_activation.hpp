// systemd socket activation (sd_listen_fds(3) protocol, without libsystemd): sockets
// passed as fds 3.. with LISTEN_PID/LISTEN_FDS. With acme-dnsd.socket, systemd binds
// port 53 and the service needs no CAP_NET_BIND_SERVICE at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace acmednsd::dns {

struct InheritedSocket {
  int fd = -1;
  bool datagram = false;  // SOCK_DGRAM (UDP) or SOCK_STREAM (TCP)
  std::string address;    // numeric, IPv6 without brackets; "::" / "0.0.0.0" for any
  std::uint16_t port = 0;
  bool used = false;
};

// Reads and clears LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES once per process (children,
// such as a deploy command, must not believe the sockets are theirs). Sockets that are
// not IP UDP/TCP are ignored. Empty when the process was not socket-activated.
std::vector<InheritedSocket>& inherited_sockets();

}  // namespace acmednsd::dns
