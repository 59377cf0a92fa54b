#include "app/doctor_dnssec.hpp"

#include <algorithm>

#include "common/encoding.hpp"
#include "common/ldns_handles.hpp"
#include "dns/dnssec_setup.hpp"

namespace acmednsd::app {
namespace {

// Signatures closer to expiry than this are reported: the server re-signs at `refresh`
// left, so a served RRSIG this old means a stale cache or a stuck server.
constexpr std::int64_t kNearExpiry = std::int64_t{2} * 86400;

using RrListPtr = std::unique_ptr<ldns_rr_list, FreeWith<ldns_rr_list_deep_free>>;

LdnsPkt ask_dnssec(ldns_resolver* resolver, const std::string& name, ldns_rr_type type, bool recursion) {
  const LdnsRdf owner(ldns_dname_new_frm_str(name.c_str()));
  if (!owner) return LdnsPkt();
  ldns_resolver_set_recursive(resolver, recursion);
  ldns_resolver_set_dnssec(resolver, true);
  ldns_pkt* packet = nullptr;
  const ldns_status status = ldns_resolver_query_status(&packet, resolver, owner.get(), type,
                                                        LDNS_RR_CLASS_IN, recursion ? LDNS_RD : 0);
  ldns_resolver_set_dnssec(resolver, false);
  if (status != LDNS_STATUS_OK) return LdnsPkt();
  return LdnsPkt(packet);
}

RrListPtr answer_of(const LdnsPkt& pkt, ldns_rr_type type) {
  RrListPtr out(ldns_rr_list_new());
  const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answer, i);
    const bool sig = ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG;
    if (type == LDNS_RR_TYPE_RRSIG ? sig : ldns_rr_get_type(rr) == type) {
      ldns_rr_list_push_rr(out.get(), ldns_rr_clone(rr));
    }
  }
  return out;
}

std::string ds_line(const Config& config, const dns::TimedKey& k, const std::vector<std::uint8_t>& origin) {
  const auto ds = k.key.ds_rdata(origin);
  return config.general.domain + ". IN DS " + std::to_string(k.key.key_tag()) + " " +
         std::to_string(k.key.algorithm()) + " 2 " + hex_encode(std::span(ds).subspan(4));
}

}  // namespace

std::vector<DoctorFinding> dnssec_findings(const Config& config, ldns_resolver* recursive,
                                           const std::vector<ldns_resolver*>& name_servers,
                                           std::int64_t now) {
  std::vector<DoctorFinding> out;
  auto signer = dns::load_signer(config, now, false);
  if (!signer) {
    out.push_back({false, "DNSSEC is enabled but the keys cannot be read: " + signer.error().message,
                   "start the server once, or run `acme-dnsd dnssec ds`"});
    return out;
  }
  const auto& keys = (*signer)->keys();
  const auto& origin = (*signer)->origin_wire();
  const std::string zone = config.general.domain + ".";

  // 1. The DS at the parent (through the resolver) must name a key we publish.
  const LdnsPkt ds_reply = ask_dnssec(recursive, zone, LDNS_RR_TYPE_DS, true);
  std::string wanted;
  for (const auto& k : keys) {
    if (k.published(now) && (!k.retire || now < *k.retire))
      wanted += (wanted.empty() ? "" : "; ") + ds_line(config, k, origin);
  }
  if (!ds_reply) {
    out.push_back({false, "DS of " + zone + ": no answer from the resolver", ""});
  } else {
    auto ds = answer_of(ds_reply, LDNS_RR_TYPE_DS);
    if (ldns_rr_list_rr_count(ds.get()) == 0) {
      out.push_back(
          {false,
           "no DS for " + zone + " at the parent: the zone is signed but validators treat it as insecure",
           "publish at the parent: " + wanted});
    } else {
      bool matched = false;
      for (std::size_t i = 0; i < ldns_rr_list_rr_count(ds.get()) && !matched; ++i) {
        const ldns_rr* rr = ldns_rr_list_rr(ds.get(), i);
        if (ldns_rr_rd_count(rr) < 4) continue;
        const auto tag = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
        const ldns_rdf* digest = ldns_rr_rdf(rr, 3);
        for (const auto& k : keys) {
          if (!k.published(now) || k.key.key_tag() != tag) continue;
          const auto ours = k.key.ds_rdata(origin);
          if (ldns_rr_rdf(rr, 2) != nullptr && ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)) == 2 &&
              ours.size() == 4 + ldns_rdf_size(digest) &&
              std::equal(ours.begin() + 4, ours.end(), ldns_rdf_data(digest))) {
            matched = true;
          }
        }
      }
      if (matched) {
        out.push_back({true, "DS at the parent matches a published key of " + zone, ""});
      } else {
        out.push_back({false,
                       "the DS at the parent names none of our keys: validators answer SERVFAIL for " + zone,
                       "replace the DS at the parent with: " + wanted});
      }
    }
  }

  // 2. At each name server: the DNSKEY RRset and the SOA validate against our keys and
  //    are not near expiry.
  RrListPtr our_keys(ldns_rr_list_new());
  for (const auto& k : keys) {
    if (!k.published(now)) continue;
    const auto& rdata = k.key.dnskey_rdata();
    const std::string text =
        zone + " 3600 IN DNSKEY " + std::to_string(k.key.flags()) + " 3 " +
        std::to_string(k.key.algorithm()) + " " +
        base64_encode(std::string_view(reinterpret_cast<const char*>(rdata.data()) + 4, rdata.size() - 4));
    ldns_rr* rr = nullptr;
    if (ldns_rr_new_frm_str(&rr, text.c_str(), 3600, nullptr, nullptr) == LDNS_STATUS_OK) {
      ldns_rr_list_push_rr(our_keys.get(), rr);
    }
  }
  for (std::size_t n = 0; n < name_servers.size(); ++n) {
    const std::string where = "name server #" + std::to_string(n + 1);
    for (const ldns_rr_type type : {LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_SOA}) {
      std::string subject = type == LDNS_RR_TYPE_DNSKEY ? "DNSKEY" : "SOA";
      subject += " of ";
      subject += zone;
      subject += " at ";
      subject += where;
      const LdnsPkt reply = ask_dnssec(name_servers[n], zone, type, false);
      if (!reply) {
        out.push_back({false, subject + ": no answer", ""});
        continue;
      }
      auto set = answer_of(reply, type);
      auto sigs = answer_of(reply, LDNS_RR_TYPE_RRSIG);
      if (ldns_rr_list_rr_count(sigs.get()) == 0) {
        out.push_back({false, subject + " is not signed",
                       "a secondary that serves the zone must sign it too (docs/dnssec.md)"});
        continue;
      }
      bool valid = false;
      std::int64_t expires = 0;
      for (std::size_t i = 0; i < ldns_rr_list_rr_count(sigs.get()); ++i) {
        ldns_rr* sig = ldns_rr_list_rr(sigs.get(), i);
        std::unique_ptr<ldns_rr_list, FreeWith<ldns_rr_list_free>> good(ldns_rr_list_new());
        RrListPtr copy(ldns_rr_list_clone(set.get()));
        if (ldns_verify_rrsig_keylist_time(copy.get(), sig, our_keys.get(), static_cast<time_t>(now),
                                           good.get()) == LDNS_STATUS_OK) {
          valid = true;
          expires = std::max<std::int64_t>(expires, ldns_rdf2native_int32(ldns_rr_rrsig_expiration(sig)));
        }
      }
      if (!valid) {
        out.push_back({false, subject + ": no signature validates with our keys",
                       "the server answering there is not this one, or uses other keys"});
      } else if ((expires - now) % (std::int64_t{1} << 32) < kNearExpiry) {
        out.push_back({false, subject + ": its signature expires within two days",
                       "check that the server runs and its clock is right"});
      } else {
        out.push_back({true,
                       subject + " is signed by our key, valid for " +
                           std::to_string((expires - now) / 86400) + " more day(s)",
                       ""});
      }
    }
  }
  return out;
}

}  // namespace acmednsd::app
