#include "dns/dnssec_setup.hpp"

#include <algorithm>

namespace acmednsd::dns {
namespace {

std::vector<std::uint8_t> origin_wire_of(const std::string& domain) {
  std::vector<std::uint8_t> wire;
  std::size_t start = 0;
  while (start < domain.size()) {
    const auto dot = domain.find('.', start);
    const std::size_t end = dot == std::string::npos ? domain.size() : dot;
    wire.push_back(static_cast<std::uint8_t>(end - start));
    for (std::size_t i = start; i < end; ++i)
      wire.push_back(ascii_lower(static_cast<std::uint8_t>(domain[i])));
    start = end + 1;
  }
  wire.push_back(0);
  return wire;
}

Result<DnssecKeyRecord> new_key(const Config& config, std::int64_t publish, std::int64_t activate) {
  auto pem = generate_private_key_pem(config.dnssec.algorithm);
  if (!pem) return pem.error();
  DnssecKeyRecord k;
  k.zone = config.general.domain;
  k.algorithm = config.dnssec.algorithm;
  k.flags = kFlagsCsk;
  k.private_key_pem = std::move(*pem);
  k.created = publish;
  k.publish = publish;
  k.activate = activate;
  return k;
}

}  // namespace

Result<std::vector<TimedKey>> timed_keys(const std::vector<DnssecKeyRecord>& rows) {
  std::vector<TimedKey> out;
  for (const auto& row : rows) {
    auto key = SigningKey::from_pem(row.algorithm, row.flags, row.private_key_pem);
    if (!key)
      return make_error(key.error().code, key.error().message + " (key id " + std::to_string(row.id) + ")");
    out.push_back(TimedKey{std::move(*key), row.publish, row.activate, row.retire, row.remove});
  }
  return out;
}

Result<std::shared_ptr<const Signer>> load_signer(const Config& config, std::int64_t now, bool create) {
  const std::string& db = config.database.connection;
  auto rows = create ? ensure_dnssec_key(config.database.engine, db, config.general.domain,
                                         [&] { return new_key(config, now, now); })
                     : load_dnssec_keys(config.database.engine, db, config.general.domain);
  if (!rows) return rows.error();
  if (rows->empty()) return make_error("dnssec_error", "no DNSSEC key stored for " + config.general.domain);
  auto keys = timed_keys(*rows);
  if (!keys) return keys.error();
  SignerOptions options;
  options.validity = config.dnssec.signature_validity;
  options.refresh = config.dnssec.refresh;
  return std::shared_ptr<const Signer>(
      std::make_shared<Signer>(origin_wire_of(config.general.domain), std::move(*keys), options));
}

RollPlan plan_roll(const Config& config, std::int64_t now) {
  const auto& g = config.general;
  const std::int64_t dnskey_ttl = g.static_ttl;
  const std::int64_t max_ttl = std::max<std::int64_t>({g.static_ttl, g.txt_ttl, g.negative_ttl});
  RollPlan p;
  p.publish = now;
  p.activate = now + dnskey_ttl + kPropagationDelay;
  p.old_remove = p.activate + max_ttl + kPropagationDelay + kDsWait;
  return p;
}

Status start_roll(const Config& config, std::int64_t now, std::int64_t newest_id) {
  const RollPlan plan = plan_roll(config, now);
  auto key = new_key(config, plan.publish, plan.activate);
  if (!key) return key.error();
  return store_dnssec_roll(config.database.engine, config.database.connection, config.general.domain,
                           newest_id, plan.activate, plan.old_remove, *key);
}

std::string key_phase(const Signer& signer, std::int64_t now) {
  std::string out;
  for (const auto& k : signer.keys()) {
    out += std::to_string(k.key.key_tag()) + (k.published(now) ? "p" : "-") + (k.active(now) ? "a" : "-") +
           ((k.retire && now >= *k.retire) ? "r" : "-") + " ";
  }
  return out;
}

bool roll_due(const Config& config, const std::vector<DnssecKeyRecord>& rows, std::int64_t now) {
  if (config.dnssec.key_roll <= 0 || rows.empty()) return false;
  const auto& newest = rows.back();
  // A roll in progress (the newest key not yet signing) is never doubled.
  if (newest.retire || now < newest.activate) return false;
  return now >= newest.activate + config.dnssec.key_roll;
}

}  // namespace acmednsd::dns
