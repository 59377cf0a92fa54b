#include "acme_client/dns01_challenge.hpp"

#include <charconv>
#include <memory>

#include "common/encoding.hpp"
#include "common/ldns_handles.hpp"
#include "store/store.hpp"

namespace acmednsd::acme {
namespace {

std::string normalized(std::string_view name) {
  std::string out = to_lower_ascii(name);
  if (out.starts_with("*.")) out.erase(0, 2);
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

std::string rdf_text(const ldns_rdf* rdf) {
  char* text = ldns_rdf2str(rdf);
  if (text == nullptr) return {};
  std::string out(text);
  free(text);  // NOLINT(cppcoreguidelines-no-malloc): ldns allocates with malloc
  return out;
}

// A non-recursive-capable stub resolver aimed at one "host:port", or the system's.
Result<LdnsResolver> make_resolver(const std::string& host, std::uint16_t port) {
  ldns_resolver* raw = nullptr;
  if (host.empty()) {
    if (ldns_resolver_new_frm_file(&raw, nullptr) != LDNS_STATUS_OK || raw == nullptr) {
      return make_error("dns", "cannot read the system resolver configuration");
    }
    return LdnsResolver(raw);
  }
  LdnsResolver resolver(ldns_resolver_new());
  const bool ipv6 = host.find(':') != std::string::npos;
  ldns_rdf* address = ldns_rdf_new_frm_str(ipv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, host.c_str());
  if (address == nullptr) return make_error("dns", "resolver address is not an IP: " + host);
  const LdnsRdf owned_address(address);
  if (ldns_resolver_push_nameserver(resolver.get(), address) != LDNS_STATUS_OK) {
    return make_error("dns", "cannot use resolver " + host);
  }
  ldns_resolver_set_port(resolver.get(), port);
  ldns_resolver_set_retry(resolver.get(), 2);
  ldns_resolver_set_timeout(resolver.get(), timeval{2, 0});
  return resolver;
}

Result<LdnsPkt> ask(ldns_resolver* resolver, const std::string& name, ldns_rr_type type, bool recursion) {
  const LdnsRdf owner(ldns_dname_new_frm_str(name.c_str()));
  if (!owner) return make_error("dns", "not a domain name: " + name);
  ldns_resolver_set_recursive(resolver, recursion);
  ldns_pkt* packet = nullptr;
  const ldns_status status = ldns_resolver_query_status(&packet, resolver, owner.get(), type,
                                                        LDNS_RR_CLASS_IN, recursion ? LDNS_RD : 0);
  if (status != LDNS_STATUS_OK || packet == nullptr) {
    return make_error("dns", "query " + name + " failed: " + ldns_get_errorstr_by_id(status));
  }
  return LdnsPkt(packet);
}

}  // namespace

bool is_inside_zone(std::string_view domain, std::string_view zone) {
  const std::string name = normalized(domain);
  const std::string apex = normalized(zone);
  return name == apex || name.ends_with("." + apex);
}

std::string dns_account_label(std::string_view account_url) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
  const auto digest = sha256(account_url);
  // 10 bytes = 80 bits = exactly 16 base32 characters: no padding to strip.
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    buffer = (buffer << 8U) | digest[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kAlphabet[(buffer >> static_cast<unsigned>(bits)) & 31U]);
    }
  }
  return out;
}

std::string dns_account_owner(std::string_view account_url) {
  return "_" + dns_account_label(account_url) + "._acme-challenge";
}

Result<std::string> challenge_record_name(std::string_view domain, std::string_view zone,
                                          std::string_view challenge_subdomain, std::string_view owner) {
  const std::string name = normalized(domain);
  const std::string apex = normalized(zone);
  if (name.empty()) return make_error("config", "empty domain name");
  if (name == apex) return std::string(owner);
  if (name.ends_with("." + apex)) {
    return std::string(owner) + "." + name.substr(0, name.size() - apex.size() - 1);
  }
  if (challenge_subdomain.empty()) {
    return make_error("config", "domain " + std::string(domain) + " is outside the zone " + apex +
                                    " and the certificate has no challenge_subdomain");
  }
  return to_lower_ascii(challenge_subdomain);
}

Status StorePresenter::present(const std::string& name, const std::string& value) {
  return store_.add_txt_sync(name, value);
}

Status StorePresenter::cleanup(const std::string& name, const std::string& value) {
  auto removed = store_.remove_txt_sync(name, value);
  if (!removed) return removed.error();
  return ok_status();
}

Result<std::vector<std::string>> StorePresenter::persistent_values(const std::string& name) {
  auto records = store_.list_persist(name);
  if (!records) return records.error();
  std::vector<std::string> out;
  for (auto& r : *records) out.push_back(std::move(r.value));
  return out;
}

Status StorePresenter::put_persistent(const std::string& name, const std::string& value) {
  auto written = store_.set_persist_sync(name, value);
  if (!written) return written.error();
  return ok_status();
}

Status check_cname_delegation(std::string_view domain, std::string_view target,
                              const std::string& resolver_address, std::string_view owner_prefix) {
  const std::string owner = std::string(owner_prefix) + "." + normalized(domain) + ".";
  const std::string wanted = normalized(target) + ".";
  const std::string fix = "create the record \"" + owner + " CNAME " + wanted + "\"";
  std::string host;
  std::uint16_t port = 53;
  if (!resolver_address.empty()) {
    const auto colon = resolver_address.rfind(':');
    host = resolver_address.substr(0, colon);
    if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
    if (colon != std::string::npos) {
      const std::string digits = resolver_address.substr(colon + 1);
      const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() || port == 0) {
        return make_error("config", "[acme] resolver is not host:port: " + resolver_address);
      }
    }
  }
  auto resolver = make_resolver(host, port);
  if (!resolver) return resolver.error();
  auto answer = ask(resolver->get(), owner, LDNS_RR_TYPE_CNAME, true);
  if (!answer) return make_error("cname", answer.error().message + "; " + fix);
  const LdnsRrList cnames(ldns_pkt_rr_list_by_type(answer->get(), LDNS_RR_TYPE_CNAME, LDNS_SECTION_ANSWER));
  std::string found;
  for (std::size_t i = 0; cnames && i < ldns_rr_list_rr_count(cnames.get()); ++i) {
    const ldns_rr* record = ldns_rr_list_rr(cnames.get(), i);
    if (normalized(rdf_text(ldns_rr_owner(record))) + "." != owner) continue;
    found = to_lower_ascii(rdf_text(ldns_rr_rdf(record, 0)));
    if (found == wanted) return ok_status();
  }
  if (found.empty()) return make_error("cname", owner + " has no CNAME; " + fix);
  return make_error("cname", owner + " is a CNAME to " + found + ", not " + wanted + "; " + fix);
}

Result<std::vector<std::string>> query_txt(const std::string& fqdn, const Endpoint& server) {
  auto resolver = make_resolver(server.host.empty() ? "127.0.0.1" : server.host, server.port);
  if (!resolver) return resolver.error();
  ldns_resolver_set_retry(resolver->get(), 1);
  ldns_resolver_set_timeout(resolver->get(), timeval{1, 0});
  auto answer = ask(resolver->get(), fqdn, LDNS_RR_TYPE_TXT, false);
  if (!answer) return answer.error();
  std::vector<std::string> values;
  const LdnsRrList records(ldns_pkt_rr_list_by_type(answer->get(), LDNS_RR_TYPE_TXT, LDNS_SECTION_ANSWER));
  for (std::size_t i = 0; records && i < ldns_rr_list_rr_count(records.get()); ++i) {
    std::string text = rdf_text(ldns_rr_rdf(ldns_rr_list_rr(records.get(), i), 0));
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') text = text.substr(1, text.size() - 2);
    values.push_back(std::move(text));
  }
  return values;
}

}  // namespace acmednsd::acme
