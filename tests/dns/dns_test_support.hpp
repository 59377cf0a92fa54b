// Helpers for the responder tests: hand-built query bytes (so malformed ones can be
// made too), a fixture zone + answer index, and ldns decoding of the responses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "common/ldns_handles.hpp"
#include "dns/responder.hpp"
#include "dns/zone_data.hpp"
#include "store/answer_index.hpp"

namespace acmednsd::dns::test {

inline constexpr const char* kZone = "auth.example.test";
inline constexpr const char* kSub = "d420c923-bbd7-4056-ab64-c3ca54c9b3cf";
inline constexpr const char* kEmptySub = "0e3f4a1b-1111-4222-8333-944455556666";
inline constexpr const char* kBigSub = "b16b16b1-6b16-4b16-8b16-b16b16b16b16";
inline constexpr std::int64_t kNow = 1700000000;

inline std::string value_of(int i) {
  std::string s = "v" + std::to_string(i);
  s.resize(43, 'A');
  return s;
}

inline std::vector<std::uint8_t> wire_name(std::string_view dotted) {
  std::vector<std::uint8_t> out;
  while (!dotted.empty()) {
    const auto dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  out.push_back(0);
  return out;
}

struct QueryOptions {
  std::uint16_t id = 0x1234;
  std::uint8_t flags2 = 0x01;  // RD
  std::uint8_t flags3 = 0x00;
  std::uint16_t qclass = 1;
  bool edns = false;
  std::uint16_t udp_size = 1232;
  std::uint8_t edns_version = 0;
};

inline void put16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x >> 8));
  v.push_back(static_cast<std::uint8_t>(x));
}

inline std::vector<std::uint8_t> make_query(std::string_view name, std::uint16_t type,
                                            const QueryOptions& o = {}) {
  std::vector<std::uint8_t> q;
  put16(q, o.id);
  q.push_back(o.flags2);
  q.push_back(o.flags3);
  put16(q, 1);
  put16(q, 0);
  put16(q, 0);
  put16(q, o.edns ? 1 : 0);
  const auto n = wire_name(name);
  q.insert(q.end(), n.begin(), n.end());
  put16(q, type);
  put16(q, o.qclass);
  if (o.edns) {
    q.push_back(0);
    put16(q, 41);
    put16(q, o.udp_size);
    q.push_back(0);
    q.push_back(o.edns_version);
    put16(q, 0);
    put16(q, 0);
  }
  return q;
}

inline GeneralConfig fixture_config() {
  GeneralConfig g;
  g.domain = kZone;
  g.nsname = "ns1.auth.example.test";
  g.nsadmin = "admin.auth.example.test";
  g.records = {
      "auth.example.test. A 198.51.100.1",
      "auth.example.test. AAAA 2001:db8::1",
      "ns1.auth.example.test. A 198.51.100.1",
      "auth.example.test. NS ns1.auth.example.test.",
      "auth.example.test. NS ns2.Other.test.",
      "auth.example.test. TXT \"Hello World\"",
      "auth.example.test. CAA 0 issue \"LetsEncrypt.org\"",
      "auth.example.test. 300 MX 10 Mail.Example.test.",
      "*.wild.auth.example.test. A 192.0.2.9",
      "deep.ent.auth.example.test. A 192.0.2.5",
      std::string("_acme-challenge.www CNAME ") + kSub + ".auth.example.test.",
      "out CNAME target.elsewhere.test.",
      "loop1 CNAME loop2",
      "loop2 CNAME loop1",
      "alias CNAME deep.ent",
  };
  return g;
}

// Decoded response, or no packet when the responder dropped the query.
struct Reply {
  std::vector<std::uint8_t> bytes;
  LdnsPkt pkt;

  [[nodiscard]] bool dropped() const { return bytes.empty(); }
  [[nodiscard]] ldns_pkt_rcode rcode() const { return ldns_pkt_get_rcode(pkt.get()); }
  [[nodiscard]] std::size_t answers() const { return ldns_rr_list_rr_count(ldns_pkt_answer(pkt.get())); }
  [[nodiscard]] std::size_t authority() const { return ldns_rr_list_rr_count(ldns_pkt_authority(pkt.get())); }
  [[nodiscard]] ldns_rr* answer(std::size_t i) const {
    return ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), i);
  }
  [[nodiscard]] ldns_rr* auth(std::size_t i) const {
    return ldns_rr_list_rr(ldns_pkt_authority(pkt.get()), i);
  }
};

inline std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s != nullptr ? s : "";
  free(s);  // NOLINT: ldns hands out malloc'ed strings
  return out;
}

inline std::string rr_text(const ldns_rr* rr) {
  char* s = ldns_rr2str(rr);
  std::string out = s != nullptr ? s : "";
  free(s);  // NOLINT
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

struct Fixture {
  std::shared_ptr<const ZoneData> zone;
  AnswerIndex index{RetentionPolicy{}};

  explicit Fixture(const GeneralConfig& general = fixture_config()) {
    auto built = ZoneData::build(general);
    if (!built) throw std::runtime_error(built.error().message);
    zone = built.value();
    index.add_name(kSub);
    index.put_value(kSub, value_of(1), kNow - 10);
    index.add_name(kEmptySub);
    index.add_name(kBigSub);
    for (int i = 0; i < 100; ++i) index.put_value(kBigSub, value_of(i), kNow - 100 + i);
  }

  Reply ask(const std::vector<std::uint8_t>& query, Transport transport = Transport::udp) const {
    std::vector<std::uint8_t> out(65535);
    const std::size_t n = respond(query, ClientInfo{transport}, *zone, index, kNow, out);
    Reply reply;
    out.resize(n);
    reply.bytes = std::move(out);
    if (n != 0) {
      ldns_pkt* raw = nullptr;
      if (ldns_wire2pkt(&raw, reply.bytes.data(), reply.bytes.size()) != LDNS_STATUS_OK) {
        throw std::runtime_error("ldns cannot parse the response");
      }
      reply.pkt.reset(raw);
    }
    return reply;
  }

  Reply ask(std::string_view name, std::uint16_t type, const QueryOptions& o = {},
            Transport transport = Transport::udp) const {
    return ask(make_query(name, type, o), transport);
  }
};

}  // namespace acmednsd::dns::test
