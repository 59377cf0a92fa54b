// Who is asking: the TCP peer, or the address a reverse proxy put in a header.
//
// Three modes, from [api]:
// - use_header = false: the TCP peer.
// - use_header = true, trusted_proxies empty: acme-dns behaviour. Every address in the
//   header is a candidate and allowfrom passes when any of them matches. A client can
//   spoof this; the config loader warns at startup.
// - use_header = true with trusted_proxies: the header is honoured only when the peer
//   is a trusted proxy, and the client is the right-most address in it that is not a
//   trusted proxy itself.
#pragma once

#include <string>
#include <vector>

#include "common/cidr.hpp"
#include "config/config.hpp"

namespace acmednsd::http_api {

struct ClientAddress {
  IpAddress primary;                  // logs, rate limits, registration_allowfrom
  std::vector<IpAddress> candidates;  // what an account's allowfrom is checked against
  bool from_header = false;
};

class ClientAddressResolver {
 public:
  explicit ClientAddressResolver(const ApiConfig& config);

  // `header_value` is the header_name header, or nullptr when absent.
  [[nodiscard]] ClientAddress resolve(const IpAddress& peer, const std::string* header_value) const;

 private:
  bool use_header_;
  std::vector<Cidr> trusted_proxies_;
};

// acme-dns's allowfrom rule: an empty (readable) list allows everyone, otherwise one
// candidate must be inside one entry. `allowfrom_invalid` accounts never pass.
bool allowfrom_permits(const std::vector<std::string>& allowfrom, bool allowfrom_invalid,
                       const ClientAddress& client);

}  // namespace acmednsd::http_api
