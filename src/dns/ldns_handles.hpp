// RAII owners for the ldns objects the DNS plane creates (STYLE.md rule 5).
#pragma once

// ldns/common.h #defines bool/true/false unless stdbool.h came first, which breaks
// later C++ headers (std::optional's <=>); this include order prevents that.
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)

#include <ldns/ldns.h>

#include <memory>

namespace acmednsd::dns {

struct LdnsRrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct LdnsRdfDeleter {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};
struct LdnsBufferDeleter {
  void operator()(ldns_buffer* buffer) const { ldns_buffer_free(buffer); }
};
struct LdnsPktDeleter {
  void operator()(ldns_pkt* pkt) const { ldns_pkt_free(pkt); }
};

using LdnsRr = std::unique_ptr<ldns_rr, LdnsRrDeleter>;
using LdnsRdf = std::unique_ptr<ldns_rdf, LdnsRdfDeleter>;
using LdnsBuffer = std::unique_ptr<ldns_buffer, LdnsBufferDeleter>;
using LdnsPkt = std::unique_ptr<ldns_pkt, LdnsPktDeleter>;

}  // namespace acmednsd::dns
