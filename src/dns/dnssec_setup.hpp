// From [dnssec] and the stored keys to a Signer; the roll arithmetic (RFC 7583
// pre-publish, adapted to a CSK whose DS the parent must follow).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"
#include "dns/signer.hpp"
#include "store/dnssec_key_store.hpp"

namespace acmednsd::dns {

// Loads the zone's keys (generating the first one when `create` and there is none) and
// builds the Signer. The database must exist and be migrated (Store::open).
Result<std::shared_ptr<const Signer>> load_signer(const Config& config, std::int64_t now, bool create);

// Turns stored rows into keys; rows whose key cannot be read are an error.
Result<std::vector<TimedKey>> timed_keys(const std::vector<DnssecKeyRecord>& rows);

// The timeline of a pre-publish roll started at `now` (all unix seconds).
struct RollPlan {
  std::int64_t publish = 0;     // new DNSKEY appears
  std::int64_t activate = 0;    // new key signs, old key stops (= old retire)
  std::int64_t old_remove = 0;  // old DNSKEY withdrawn
};
// Ipub = DNSKEY TTL + propagation; Iret = the longest TTL of anything the old key
// signed + propagation + `ds_wait` (time for the parent to follow CDS/the operator to
// replace the DS, and for the old DS to expire from caches).
RollPlan plan_roll(const Config& config, std::int64_t now);
inline constexpr std::int64_t kPropagationDelay = 120;  // instances re-read keys every 60 s
inline constexpr std::int64_t kDsWait = std::int64_t{2} * 86400;

// Starts a roll: a new key of the configured algorithm with the plan's times, provided
// the newest stored key is still `newest_id` (see store_dnssec_roll).
Status start_roll(const Config& config, std::int64_t now, std::int64_t newest_id);

// "published/active" key tags at `now`: when it changes, the served zone is rebuilt.
std::string key_phase(const Signer& signer, std::int64_t now);

// The configured scheduled roll is due: the newest key signs and has for key_roll.
bool roll_due(const Config& config, const std::vector<DnssecKeyRecord>& rows, std::int64_t now);

}  // namespace acmednsd::dns
