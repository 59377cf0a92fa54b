#include "dns/zone_data.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "common/ldns_handles.hpp"
#include "dns/signer.hpp"
#include "dns/wire.hpp"

namespace acmednsd::dns {
namespace {

std::vector<std::uint8_t> lowercase_wire(const ldns_rdf* dname) {
  std::vector<std::uint8_t> wire(ldns_rdf_data(dname), ldns_rdf_data(dname) + ldns_rdf_size(dname));
  // Only label bytes are lowered; length bytes are < 64 and never letters.
  for (auto& b : wire) b = ascii_lower(b);
  return wire;
}

Result<LdnsRdf> parse_dname(const std::string& text, const char* what) {
  if (text.empty()) return make_error("config_invalid", std::string("[general] ") + what + " is empty");
  std::string absolute = text;
  if (absolute.back() != '.') absolute += '.';
  LdnsRdf rdf(ldns_dname_new_frm_str(absolute.c_str()));
  if (!rdf) {
    return make_error("config_invalid",
                      std::string("[general] ") + what + ": \"" + text + "\" is not a domain name");
  }
  return rdf;
}

// Names the file and line of the record when the config loader recorded them.
Error record_error(const GeneralConfig& general, std::size_t i, const std::string& record,
                   const std::string& why) {
  const std::string where = i < general.record_locations.size() ? general.record_locations[i] + ": " : "";
  return make_error("config_invalid",
                    where + "[general] records[" + std::to_string(i) + "] \"" + record + "\": " + why);
}

void add_unique_rdata(RrSet& set, std::vector<std::uint8_t> rdata, std::uint32_t ttl) {
  set.ttl = std::min(set.ttl, ttl);  // RFC 2181 5.2: one TTL per RRset
  if (std::find(set.rdatas.begin(), set.rdatas.end(), rdata) == set.rdatas.end()) {
    set.rdatas.push_back(std::move(rdata));
  }
}

RrSet& rrset_of(ZoneNode& node, std::uint16_t type) {
  for (auto& set : node.rrsets) {
    if (set.type == type) return set;
  }
  node.rrsets.push_back(RrSet{type, UINT32_MAX, {}});
  return node.rrsets.back();
}

bool equal_ignoring_case(const std::vector<std::uint8_t>& a, const std::vector<std::uint8_t>& b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](std::uint8_t x, std::uint8_t y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace

const RrSet* ZoneNode::find(std::uint16_t type) const {
  for (const auto& set : rrsets) {
    if (set.type == type) return &set;
  }
  return nullptr;
}

bool relative_name_of(const std::uint8_t* name, std::size_t name_size,
                      const std::vector<std::uint8_t>& origin_wire, std::size_t origin_labels, char* out,
                      std::size_t out_capacity, std::size_t& out_size, bool& inside_zone) {
  // Label start offsets; a 255-byte name has at most 127 labels plus the root.
  std::size_t starts[128];
  std::size_t labels = 0;
  std::size_t pos = 0;
  while (pos < name_size && name[pos] != 0 && labels < 128) {
    starts[labels++] = pos;
    pos += 1u + name[pos];
  }
  inside_zone = false;
  out_size = 0;
  if (labels < origin_labels) return false;
  const std::size_t suffix_at = labels == origin_labels ? 0 : starts[labels - origin_labels];
  if (name_size - suffix_at != origin_wire.size()) return false;
  for (std::size_t i = 0; i < origin_wire.size(); ++i) {
    if (ascii_lower(name[suffix_at + i]) != origin_wire[i]) return false;
  }
  inside_zone = true;
  for (std::size_t l = 0; l + origin_labels < labels; ++l) {
    const std::size_t len = name[starts[l]];
    if (out_size + len + 1 > out_capacity) return false;
    if (l != 0) out[out_size++] = '.';
    for (std::size_t i = 1; i <= len; ++i) {
      const std::uint8_t c = ascii_lower(name[starts[l] + i]);
      if (c == '.' || c <= 0x20 || c >= 0x7F) return false;
      out[out_size++] = static_cast<char>(c);
    }
  }
  return true;
}

Result<std::shared_ptr<const ZoneData>> ZoneData::build(const GeneralConfig& general,
                                                        std::shared_ptr<const Signer> signer,
                                                        std::int64_t now_unix) {
  auto zone = std::make_shared<ZoneData>();
  zone->signer = std::move(signer);
  zone->txt_ttl = general.txt_ttl;
  zone->negative_ttl = general.negative_ttl;
  zone->edns_udp_size = std::clamp<std::uint32_t>(general.edns_udp_size, kClassicUdpSize, kMaxMessage);

  auto origin = parse_dname(general.domain, "domain");
  if (!origin) return origin.error();
  auto nsname = parse_dname(general.nsname, "nsname");
  if (!nsname) return nsname.error();
  auto nsadmin = parse_dname(general.nsadmin, "nsadmin");
  if (!nsadmin) return nsadmin.error();
  zone->origin_wire_ = lowercase_wire(origin->get());
  zone->origin_labels_ = ldns_dname_label_count(origin->get());

  std::map<std::string, ZoneNode> nodes;
  ZoneNode& apex = nodes[""];

  // SOA: MNAME nsname, RNAME nsadmin, serial patched per response, MINIMUM = the
  // negative TTL so RFC 2308 caching of "no value yet" stays short.
  RrSet soa{rrtype::SOA, general.negative_ttl, {}};
  std::vector<std::uint8_t> soa_rdata(ldns_rdf_data(nsname->get()),
                                      ldns_rdf_data(nsname->get()) + ldns_rdf_size(nsname->get()));
  soa_rdata.insert(soa_rdata.end(), ldns_rdf_data(nsadmin->get()),
                   ldns_rdf_data(nsadmin->get()) + ldns_rdf_size(nsadmin->get()));
  for (std::uint32_t v :
       {std::uint32_t{0}, general.soa_refresh, general.soa_retry, general.soa_expire, general.negative_ttl}) {
    for (int shift = 24; shift >= 0; shift -= 8) soa_rdata.push_back(static_cast<std::uint8_t>(v >> shift));
  }
  soa.rdatas.push_back(std::move(soa_rdata));
  apex.rrsets.push_back(std::move(soa));
  RrSet ns{rrtype::NS, general.static_ttl, {}};
  ns.rdatas.emplace_back(ldns_rdf_data(nsname->get()),
                         ldns_rdf_data(nsname->get()) + ldns_rdf_size(nsname->get()));
  apex.rrsets.push_back(std::move(ns));

  for (std::size_t i = 0; i < general.records.size(); ++i) {
    const std::string& text = general.records[i];
    ldns_rr* raw = nullptr;
    const ldns_status status =
        ldns_rr_new_frm_str(&raw, text.c_str(), general.static_ttl, origin->get(), nullptr);
    LdnsRr rr(raw);
    if (status != LDNS_STATUS_OK || !rr) {
      return record_error(general, i, text, ldns_get_errorstr_by_id(status));
    }
    if (ldns_rr_get_class(rr.get()) != LDNS_RR_CLASS_IN)
      return record_error(general, i, text, "class is not IN");
    const ldns_rdf* owner = ldns_rr_owner(rr.get());
    char relative[kMaxNameWire + 1];
    std::size_t relative_size = 0;
    bool inside = false;
    if (!relative_name_of(ldns_rdf_data(owner), ldns_rdf_size(owner), zone->origin_wire_,
                          zone->origin_labels_, relative, sizeof relative, relative_size, inside)) {
      return record_error(general, i, text,
                          inside ? "owner name has unsupported characters"
                                 : "owner name is outside the zone " + general.domain);
    }
    const std::uint16_t type = ldns_rr_get_type(rr.get());
    if (type == rrtype::SOA)
      return record_error(general, i, text, "the SOA is generated from nsname/nsadmin");
    if (type == rrtype::OPT || type == rrtype::ANY || type == rrtype::AXFR || type == rrtype::IXFR) {
      return record_error(general, i, text, "not a data type");
    }
    LdnsBuffer buffer(ldns_buffer_new(256));
    if (!buffer || ldns_rr_rdata2buffer_wire(buffer.get(), rr.get()) != LDNS_STATUS_OK) {
      return record_error(general, i, text, "cannot encode its data");
    }
    std::vector<std::uint8_t> rdata(ldns_buffer_begin(buffer.get()),
                                    ldns_buffer_begin(buffer.get()) + ldns_buffer_position(buffer.get()));
    if (rdata.size() > 0xFFFF) return record_error(general, i, text, "data too long");
    const std::string name(relative, relative_size);
    if (name.empty() && type == rrtype::CNAME)
      return record_error(general, i, text, "a CNAME cannot be at the apex");
    if (name.find('*', 1) != std::string::npos || (name[0] == '*' && name.size() > 1 && name[1] != '.')) {
      return record_error(general, i, text, "'*' is only allowed as the whole leftmost label");
    }
    ZoneNode& node = nodes[name];
    node.name = name;
    if (name.empty() && type == rrtype::NS) {
      if (!equal_ignoring_case(rdata, apex.rrsets[1].rdatas[0]))
        add_unique_rdata(apex.rrsets[1], rdata, ldns_rr_ttl(rr.get()));
      continue;
    }
    add_unique_rdata(rrset_of(node, type), std::move(rdata), ldns_rr_ttl(rr.get()));
    const bool has_cname = node.find(rrtype::CNAME) != nullptr;
    if (has_cname && (node.rrsets.size() > 1 || node.find(rrtype::CNAME)->rdatas.size() > 1)) {
      return record_error(general, i, text, "a CNAME cannot share its owner name with other records");
    }
  }

  if (zone->signer != nullptr) {
    for (const auto type : {rrtype::DNSKEY, rrtype::CDS, rrtype::CDNSKEY}) {
      if (apex.find(type) != nullptr) {
        return make_error("config_invalid",
                          "[general] records: with [dnssec] enabled, the apex " +
                              std::string(type == rrtype::DNSKEY ? "DNSKEY" : "CDS/CDNSKEY") +
                              " records are made from the stored keys");
      }
    }
    const Signer& s = *zone->signer;
    RrSet dnskey{rrtype::DNSKEY, general.static_ttl, s.dnskey_rdatas(now_unix)};
    RrSet cds{rrtype::CDS, general.static_ttl, s.cds_rdatas(now_unix)};
    RrSet cdnskey{rrtype::CDNSKEY, general.static_ttl, s.cdnskey_rdatas(now_unix)};
    for (auto* set : {&dnskey, &cds, &cdnskey}) {
      if (!set->rdatas.empty()) apex.rrsets.push_back(std::move(*set));
    }
  }

  // Every ancestor of a static name exists (RFC 8020): add the empty non-terminals.
  std::vector<std::string> owners;
  for (const auto& [name, node] : nodes) owners.push_back(name);
  for (const auto& name : owners) {
    for (auto dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
      auto& ent = nodes[name.substr(dot + 1)];
      ent.name = name.substr(dot + 1);
    }
    if (name.rfind("*", 0) == 0) zone->has_wildcards_ = true;
  }
  zone->nodes_.reserve(nodes.size());
  for (auto& [name, node] : nodes) zone->nodes_.push_back(std::move(node));  // std::map: sorted
  zone->apex_ = &zone->nodes_.front();                                       // "" sorts first
  return std::shared_ptr<const ZoneData>(std::move(zone));
}

const ZoneNode* ZoneData::find(std::string_view relative_name) const {
  auto it = std::lower_bound(nodes_.begin(), nodes_.end(), relative_name,
                             [](const ZoneNode& node, std::string_view key) { return node.name < key; });
  if (it == nodes_.end() || it->name != relative_name) return nullptr;
  return &*it;
}

}  // namespace acmednsd::dns
