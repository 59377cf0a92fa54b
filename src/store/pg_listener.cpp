#include "store/pg_listener.hpp"

#include <poll.h>

#include <chrono>

#include "common/threads.hpp"

namespace acmednsd::store_detail {

void Listener::loop() {
  enter_control_plane("pg-listen");
  bool listening = false;
  while (!stopping_) {
    if (!listening) {
      if (conn_.exec(std::string("LISTEN ") + kChangeChannel).ok()) {
        listening = true;
        wake_();  // whatever was committed while not listening
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
    }
    pollfd p{PQsocket(conn_.raw()), POLLIN, 0};
    if (::poll(&p, 1, 200) < 0) continue;
    if (PQconsumeInput(conn_.raw()) == 0) {
      listening = false;  // the connection dropped: the next round reconnects
      continue;
    }
    bool woke = false;
    while (PGnotify* n = PQnotifies(conn_.raw())) {
      if (n->extra == nullptr || origin_ != n->extra) woke = true;
      PQfreemem(n);
    }
    if (woke) wake_();
  }
}

}  // namespace acmednsd::store_detail
