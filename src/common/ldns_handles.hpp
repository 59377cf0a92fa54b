// RAII owners for ldns objects (STYLE.md rule 5), shared by the DNS plane, the ACME
// client's CNAME check and `doctor`. Header-only: only code that links ldns includes it.
#pragma once

// ldns/common.h #defines bool/true/false unless stdbool.h came first, which breaks
// later C++ headers (std::optional's <=>); this include order prevents that.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include <memory>

#include "common/c_handle.hpp"

namespace acmednsd {

using LdnsRr = std::unique_ptr<ldns_rr, FreeWith<ldns_rr_free>>;
using LdnsRdf = std::unique_ptr<ldns_rdf, FreeWith<ldns_rdf_deep_free>>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, FreeWith<ldns_buffer_free>>;
using LdnsPkt = std::unique_ptr<ldns_pkt, FreeWith<ldns_pkt_free>>;
using LdnsResolver = std::unique_ptr<ldns_resolver, FreeWith<ldns_resolver_deep_free>>;
using LdnsRrList = std::unique_ptr<ldns_rr_list, FreeWith<ldns_rr_list_deep_free>>;

}  // namespace acmednsd
