// Where the DNSSEC keys live: table dnssec_keys (migration 4) of the acme-dnsd
// database, beside the accounts, so every instance on one database signs with the same
// keys (SQLite or PostgreSQL: the statements are Db operations of each dialect). Each
// function takes [database] engine and connection. Open the Store first: it creates and
// migrates the database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace acmednsd {

// One key and its timeline (unix seconds), RFC 7583 terms: published from `publish`,
// signs from `activate`, stops signing at `retire`, DNSKEY withdrawn at `remove`.
struct DnssecKeyRecord {
  std::int64_t id = 0;
  std::string zone;  // lowercase, no trailing dot
  std::uint8_t algorithm = 13;
  std::uint16_t flags = 257;
  std::string private_key_pem;  // secret: never logged, never printed
  std::int64_t created = 0;
  std::int64_t publish = 0;
  std::int64_t activate = 0;
  std::optional<std::int64_t> retire;
  std::optional<std::int64_t> remove;
};

// The keys of `zone`, oldest first (removed ones included: callers filter by time).
Result<std::vector<DnssecKeyRecord>> load_dnssec_keys(const std::string& engine,
                                                      const std::string& connection, const std::string& zone);

// When `zone` has no key yet, inserts the one `make_key` returns, in one transaction, so
// instances starting together end with one key, not two (PostgreSQL: under an
// advisory lock). Returns the zone's keys.
Result<std::vector<DnssecKeyRecord>> ensure_dnssec_key(
    const std::string& engine, const std::string& connection, const std::string& zone,
    const std::function<Result<DnssecKeyRecord>()>& make_key);

// A roll: the keys that still sign get `retire`/`remove`, `next` is inserted; one
// transaction. Only when the zone's newest key is still `newest_id` (what the caller
// decided on): otherwise "dnssec_roll_conflict" and nothing changes, so two instances
// whose scheduled rolls fall due together start one roll, not two.
Status store_dnssec_roll(const std::string& engine, const std::string& connection, const std::string& zone,
                         std::int64_t newest_id, std::int64_t retire, std::int64_t remove,
                         const DnssecKeyRecord& next);

}  // namespace acmednsd
