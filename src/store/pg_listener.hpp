// Private to src/store/: the LISTEN side of the change log (pg_listener.cpp).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "store/pg_connection.hpp"

namespace acmednsd::store_detail {

// The channel every commit that changes the zone notifies, with its origin as payload.
inline constexpr const char* kChangeChannel = "acmednsd_changes";

// LISTEN on its own connection; every notification from another instance (and every
// reconnect, after which notifications may have been missed) wakes the writer's
// catch-up. This process's own notifications (payload `origin`) are skipped: its index
// already has what it committed, and a wake-up per own commit would cost the writer a
// needless read of the change log after every batch.
class Listener {
 public:
  Listener(std::string conninfo, std::string origin, std::function<void()> wake)
      : conn_(std::move(conninfo)),
        origin_(std::move(origin)),
        wake_(std::move(wake)),
        thread_([this] { loop(); }) {}
  ~Listener() { stop(); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();

  pg::Connection conn_;
  std::string origin_;
  std::function<void()> wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace acmednsd::store_detail
