// The DNSSEC part of `acme-dnsd doctor` ([dnssec] enabled): the DS the parent publishes
// names one of our keys, and the signatures the name servers serve validate against
// our DNSKEY and are not close to expiry. Kept apart from doctor.cpp (its size).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"

// ldns's resolver type, declared as ldns does, so this header does not pull in ldns
// (its headers must come after the C++ ones).
struct ldns_struct_resolver;
typedef struct ldns_struct_resolver ldns_resolver;  // NOLINT(modernize-use-using): matches ldns

namespace acmednsd::app {

struct DoctorFinding {
  bool ok = false;
  std::string what;
  std::string fix;  // empty when ok
};

std::vector<DoctorFinding> dnssec_findings(const Config& config, ldns_resolver* recursive,
                                           const std::vector<ldns_resolver*>& name_servers, std::int64_t now);

}  // namespace acmednsd::app
