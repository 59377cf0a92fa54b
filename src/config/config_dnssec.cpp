#include "config/config_dnssec.hpp"

#include <set>
#include <sstream>

#include "config/config_values.hpp"
#include "config/section_reader.hpp"

namespace acmednsd {
namespace {

using config_detail::line_of;

}  // namespace

std::string dnssec_algorithm_name(std::uint8_t algorithm) {
  if (algorithm == 13) return "ecdsap256sha256";
  if (algorithm == 15) return "ed25519";
  return std::to_string(algorithm);
}

void read_dnssec_config(const toml::table& root, DnssecConfig& out, std::vector<DnssecConfigError>& errors) {
  const toml::node* section = root.get("dnssec");
  if (section == nullptr) return;
  const toml::table* table = section->as_table();
  if (table == nullptr) {
    errors.push_back({line_of(*section), "", "must be a table ([dnssec])"});
    return;
  }
  const auto fail = [&errors](const toml::node& n, std::string_view key, const std::string& why) {
    errors.push_back({line_of(n), std::string(key), config_detail::show(n) + " " + why});
  };
  if (const auto* n = table->get("enabled")) {
    if (n->is_boolean()) {
      out.enabled = n->as_boolean()->get();
    } else {
      fail(*n, "enabled", "is not true or false");
    }
  }
  if (const auto* n = table->get("algorithm")) {
    const std::string text = n->is_string() ? n->as_string()->get() : "";
    if (text == "ecdsap256sha256") {
      out.algorithm = 13;
    } else if (text == "ed25519") {
      out.algorithm = 15;
    } else {
      fail(*n, "algorithm", "is not one of: ecdsap256sha256, ed25519");
    }
  }
  // Durations: a number of seconds, or a number with s/m/h/d.
  const auto duration = [&](std::string_view key, std::int64_t& value, std::int64_t min, std::int64_t max,
                            bool empty_is_zero) {
    const auto* n = table->get(key);
    if (n == nullptr) return;
    std::optional<std::int64_t> v;
    if (n->is_integer()) v = n->as_integer()->get();
    if (n->is_string()) {
      const std::string& s = n->as_string()->get();
      v = (empty_is_zero && s.empty()) ? std::optional<std::int64_t>(0) : config_values::parse_duration(s);
    }
    if (!v) return fail(*n, key, "is not a duration (seconds, or a number with s/m/h/d)");
    if ((*v < min || *v > max) && !(empty_is_zero && *v == 0)) {
      return fail(*n, key, "is out of range " + std::to_string(min) + "s.." + std::to_string(max) + "s");
    }
    value = *v;
  };
  // An RRSIG must outlive the longest TTL a resolver may cache it for (a day for the
  // static records at most) plus the clock skew; a year is more than anyone needs.
  duration("signature_validity", out.signature_validity, 2LL * 86400, 366LL * 86400, false);
  duration("refresh", out.refresh, 3600, 365LL * 86400, false);
  duration("key_roll", out.key_roll, 86400, 10LL * 366 * 86400, true);
  if (out.refresh >= out.signature_validity) {
    const auto* n = table->get("refresh");
    errors.push_back(
        {n ? line_of(*n) : line_of(*section), "refresh",
         "must be shorter than signature_validity (a signature would be renewed on every answer)"});
  }
  static const std::set<std::string, std::less<>> kKeys = {"enabled", "algorithm", "signature_validity",
                                                           "refresh", "key_roll"};
  for (const auto& [k, v] : *table) {
    if (!kKeys.contains(k.str())) errors.push_back({line_of(v), std::string(k.str()), "unknown key"});
  }
}

}  // namespace acmednsd
