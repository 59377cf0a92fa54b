// The DNS plane's one public header: validate the served zone data and run the
// authoritative UDP/TCP listeners. Everything else in src/dns/ is private.
#pragma once

#include <memory>

#include "common/result.hpp"
#include "config/config.hpp"
#include "store/answer_index.hpp"
#include "store/zone_journal.hpp"

namespace acmednsd::dns {

// Parses general.records etc. the way the server will; used by --check-config.
Status check_zone_config(const Config& config);

class DnsServer {
 public:
  // Binds every configured address (UDP: one SO_REUSEPORT socket per worker thread)
  // before returning, then starts the plane's own threads (UDP workers, one TCP
  // thread); an address in use is an error naming it.
  // `journal` (may be null) lets IXFR send only what changed.
  static Result<std::unique_ptr<DnsServer>> create(const Config& config, const AnswerIndex& index,
                                                   const ZoneJournal* journal = nullptr);
  virtual ~DnsServer() = default;
  virtual void stop() = 0;  // closes the sockets and joins the plane's threads
  // SIGHUP: serves the zone data (SOA/NS fields, TTLs, records) and query-log switch of
  // `config` from the next query on. Sockets and limits stay as they are. On error the
  // running zone is kept.
  virtual Status reload(const Config& config) = 0;
};

}  // namespace acmednsd::dns
