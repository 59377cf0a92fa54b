#include "acme_client/acme_state.hpp"

#include <nlohmann/json.hpp>

#include "acme_client/acme_problem.hpp"
#include "acme_client/crypto_keys.hpp"
#include "acme_client/https_transport.hpp"
#include "acme_client/x509_tools.hpp"
#include "common/encoding.hpp"
#include "common/log.hpp"

namespace acmednsd::acme {
namespace {

// Readable and unique per CA: "acme-v02.api.letsencrypt.org-1a2b3c4d".
std::string account_folder_name(const std::string& directory_url) {
  auto url = parse_https_url(directory_url);
  std::string host = url ? url->host + (url->port == "443" ? "" : "_" + url->port) : "ca";
  for (char& c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  }
  const auto digest = sha256(directory_url);
  return host + "-" + hex_encode(std::span<const std::uint8_t>(digest.data(), 4));
}

// Certificate names come from the config; keep them to one safe path segment.
std::string safe_segment(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  }
  if (out.empty() || out.front() == '.') out.insert(0, "_");
  return out;
}

}  // namespace

Result<AccountState> load_or_create_account(const std::string& state_dir, const std::string& directory_url,
                                            const std::string& key_type) {
  AccountState account;
  account.folder = state_dir + "/accounts/" + account_folder_name(directory_url);
  if (auto status = make_directories(state_dir, 0700); !status) return status.error();
  if (auto status = make_directories(account.folder, 0700); !status) return status.error();
  const std::string key_path = account.folder + "/account.key";
  if (auto pem = read_file(key_path)) {
    auto key = private_key_from_pem(*pem);
    if (!key) return make_error("state", key_path + ": " + key.error().message);
    account.key = std::move(*key);
  } else {
    auto key = generate_private_key(key_type == "rsa2048" || key_type == "rsa3072" || key_type == "rsa4096" ||
                                            key_type == "ec384"
                                        ? key_type
                                        : "ec256");
    if (!key) return key.error();
    if (auto status = write_file_atomically(key_path, private_key_to_pem(key->get()), 0600); !status) {
      return status.error();
    }
    account.key = std::move(*key);
    log::info("created an ACME account key", {{"path", key_path}});
  }
  if (auto text = read_file(account.folder + "/account.json")) {
    const auto json = nlohmann::json::parse(*text, nullptr, false);
    if (json.is_object() && problem::string_member(json, "directory") == directory_url) {
      account.url = problem::string_member(json, "url");
    }
  }
  return account;
}

std::string stored_account_url(const std::string& state_dir, const std::string& directory_url) {
  const std::string path = state_dir + "/accounts/" + account_folder_name(directory_url) + "/account.json";
  auto text = read_file(path);
  if (!text) return {};
  const auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object() || problem::string_member(json, "directory") != directory_url) return {};
  return problem::string_member(json, "url");
}

Status save_account_url(const AccountState& account, const std::string& directory_url) {
  const nlohmann::json json{{"directory", directory_url}, {"url", account.url}};
  return write_file_atomically(account.folder + "/account.json", json.dump(2) + "\n", 0600);
}

std::string certificate_state_path(const std::string& state_dir, const std::string& name) {
  return state_dir + "/certificates/" + safe_segment(name) + ".json";
}

CertificateState parse_certificate_state(const std::string& text, const std::string& where) {
  CertificateState state;
  if (text.empty()) return state;
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) {
    log::warning("unreadable certificate state; starting afresh", {{"path", where}});
    return state;
  }
  const auto number = [](const nlohmann::json& object, const char* key) -> std::int64_t {
    const auto it = object.find(key);
    return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  state.failures = static_cast<int>(number(json, "failures"));
  state.next_retry = number(json, "next_retry");
  state.last_attempt = number(json, "last_attempt");
  state.last_success = number(json, "last_success");
  state.last_error = problem::string_member(json, "last_error");
  if (const auto it = json.find("ari"); it != json.end() && it->is_object()) {
    AriState ari;
    ari.cert_id = problem::string_member(*it, "cert_id");
    ari.window_start = number(*it, "window_start");
    ari.window_end = number(*it, "window_end");
    ari.chosen_time = number(*it, "chosen_time");
    ari.fetched_at = number(*it, "fetched_at");
    ari.refetch_after = number(*it, "refetch_after");
    state.ari = ari;
  }
  return state;
}

std::string certificate_state_json(const CertificateState& state) {
  nlohmann::json json{{"failures", state.failures},
                      {"next_retry", state.next_retry},
                      {"last_attempt", state.last_attempt},
                      {"last_success", state.last_success},
                      {"last_error", state.last_error}};
  if (state.ari) {
    json["ari"] = {{"cert_id", state.ari->cert_id},       {"window_start", state.ari->window_start},
                   {"window_end", state.ari->window_end}, {"chosen_time", state.ari->chosen_time},
                   {"fetched_at", state.ari->fetched_at}, {"refetch_after", state.ari->refetch_after}};
  }
  return json.dump(2) + "\n";
}

CertificateState load_certificate_state(const std::string& state_dir, const std::string& name) {
  const std::string path = certificate_state_path(state_dir, name);
  auto text = read_file(path);
  if (!text) return CertificateState{};
  return parse_certificate_state(*text, path);
}

Status save_certificate_state(const std::string& state_dir, const std::string& name,
                              const CertificateState& state) {
  if (auto status = make_directories(state_dir + "/certificates", 0700); !status) return status;
  return write_file_atomically(certificate_state_path(state_dir, name), certificate_state_json(state), 0600);
}

}  // namespace acmednsd::acme
