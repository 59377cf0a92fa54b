// NOTIFY (RFC 1996) to the secondaries of [transfer] notify after every committed
// change of the zone. Private to src/dns/.
//
// One thread watches the serial. Changes are coalesced: a target has at most one
// NOTIFY in flight, and when it is acknowledged the latest serial goes next, so a
// burst of thousands of updates per second costs each secondary a few NOTIFYs, not
// thousands. An unanswered NOTIFY is sent again after 1 s, 2 s, 4 s ... up to 60 s,
// until the secondary acknowledges it.
#pragma once

#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"

namespace acmednsd::dns {

struct ServingContext;

class NotifySender {
 public:
  // Opens one UDP socket per target and starts the thread; null when there are none.
  static Result<std::unique_ptr<NotifySender>> start(const Config& config,
                                                     std::shared_ptr<const ServingContext> context);
  virtual ~NotifySender() = default;
  virtual void stop() = 0;
};

}  // namespace acmednsd::dns
