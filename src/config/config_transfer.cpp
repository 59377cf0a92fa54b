// [transfer] and [[tsig_key]] (zone transfer, SCALE-OUT.md), read apart from config.cpp.
// Kept as one file: secrets must never reach an error message, so the secret keys are
// reported by line and name only, never with their value.
#include "config/config_transfer.hpp"

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/encoding.hpp"
#include "config/config_values.hpp"

namespace acmednsd::config_detail {
namespace {

namespace cv = config_values;

std::optional<std::string> decode_tsig_secret(std::string_view text) {
  std::string compact;
  for (const char ch : text) {
    if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t') compact.push_back(ch);
  }
  if (compact.empty()) return std::nullopt;
  auto decoded = base64_decode(compact);
  if (!decoded || decoded->empty()) return std::nullopt;
  return decoded;
}

}  // namespace

void read_tsig_keys(const toml::table& root, Config& c, Errors& errors) {
  const auto* n = root.get("tsig_key");
  if (!n) return;
  const auto* arr = n->as_array();
  if (!arr) return errors.add(line_of(*n), "tsig_key", "must be written as [[tsig_key]] tables");
  std::set<std::string> names;
  for (const auto& el : *arr) {
    const auto* t = el.as_table();
    if (!t) {
      errors.add(line_of(el), "tsig_key", "must be a table");
      continue;
    }
    SectionReader r(t, "[tsig_key]", line_of(el), errors);
    TsigKeyConfig key;
    key.line = line_of(el);
    std::string raw_name;
    if (!r.read("name", raw_name)) {
      r.fail_at(key.line, "name", "is required");
    } else if (auto norm = cv::normalize_domain(raw_name)) {
      key.name = *norm;
      if (!names.insert(key.name).second) r.fail(*r.node("name"), "name", "is used by two keys");
    } else {
      r.fail(*r.node("name"), "name", "is not a DNS name");
    }
    r.read_enum("algorithm", key.algorithm,
                {{"hmac-sha256", TsigAlgorithm::hmac_sha256},
                 {"hmac-sha384", TsigAlgorithm::hmac_sha384},
                 {"hmac-sha512", TsigAlgorithm::hmac_sha512}});
    std::string secret;
    std::string secret_file;
    const bool inline_secret = r.node("secret") != nullptr;  // node() also marks them as read
    const bool file_secret = r.node("secret_file") != nullptr;
    if (inline_secret && file_secret) {
      r.fail_at(line_of(*r.node("secret")), "secret", "and secret_file cannot both be set");
    } else if (!inline_secret && !file_secret) {
      r.fail_at(key.line, "secret", "is required (or secret_file)");
    }
    if (inline_secret) {
      const auto* s = r.node("secret");
      if (!s->is_string()) {
        r.fail_at(line_of(*s), "secret", "is not a string");
      } else if (auto d = decode_tsig_secret(s->as_string()->get())) {
        key.secret = std::move(*d);
      } else {
        r.fail_at(line_of(*s), "secret", "is not base64 (e.g. the output of `openssl rand -base64 32`)");
      }
    }
    if (file_secret && r.read("secret_file", secret_file)) {
      const int at = line_of(*r.node("secret_file"));
      struct stat st {};
      std::ifstream in(secret_file, std::ios::binary);
      if (!in || ::stat(secret_file.c_str(), &st) != 0) {
        r.fail_at(at, "secret_file", "\"" + secret_file + "\" cannot be read");
      } else if ((st.st_mode & 077) != 0) {
        r.fail_at(at, "secret_file", "\"" + secret_file + "\" is readable by group or others: chmod 600 it");
      } else {
        std::ostringstream text;
        text << in.rdbuf();
        if (auto d = decode_tsig_secret(text.str())) {
          key.secret = std::move(*d);
        } else {
          r.fail_at(at, "secret_file", "\"" + secret_file + "\" does not hold a base64 secret");
        }
      }
    }
    r.reject_unknown();
    c.tsig_keys.push_back(std::move(key));
  }
}

void read_transfer(SectionReader r, Config& c) {
  auto& t = c.transfer;
  r.read_cidrs("allow", t.allow);
  const auto key_known = [&c](const std::string& name) {
    for (const auto& k : c.tsig_keys) {
      if (k.name == name) return true;
    }
    return false;
  };
  std::vector<std::string> required;
  if (r.read("require_tsig", required)) {
    for (const auto& raw : required) {
      auto norm = cv::normalize_domain(raw);
      if (!norm || !key_known(*norm)) {
        r.fail(*r.node("require_tsig"), "require_tsig",
               "names \"" + raw + "\", which is no [[tsig_key]] name");
      } else {
        t.require_tsig.push_back(*norm);
      }
    }
  }
  std::vector<std::string> notify;
  if (r.read("notify", notify)) {
    for (const auto& target : notify) {
      auto e = cv::parse_endpoint(target);
      if (!e || e->host.empty() || !cv::is_ip_literal(e->host)) {
        r.fail(*r.node("notify"), "notify",
               "has \"" + target +
                   "\", which is not an IP address with a port (192.0.2.10:53, [2001:db8::10]:53)");
      } else {
        t.notify.push_back({e->host, e->port});
      }
    }
  }
  std::string notify_key;
  if (r.read("notify_tsig", notify_key) && !notify_key.empty()) {
    auto norm = cv::normalize_domain(notify_key);
    if (!norm || !key_known(*norm)) {
      r.fail(*r.node("notify_tsig"), "notify_tsig", "is no [[tsig_key]] name");
    } else {
      t.notify_tsig = *norm;
    }
  }
  r.read("ixfr_journal", t.ixfr_journal, 0, 10000000);
  r.read("max_transfers", t.max_transfers, 1, 1024);
  r.reject_unknown();
}

}  // namespace acmednsd::config_detail
