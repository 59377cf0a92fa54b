// Fuzz target for the HTTP plane's own parsers of network input: the JSON bodies of
// /register, /update, /present (Go encoding/json semantics) and the forwarded-address
// header. Input: "<header value>\n<body>". libFuzzer entry point, plus a replay main
// (ACMEDNSD_FUZZ_REPLAY_MAIN) that runs a seed corpus as an ordinary test.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_api/client_address.hpp"
#include "http_api/request_body.hpp"

using namespace acmednsd;
using namespace acmednsd::http_api;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string header(input.substr(0, newline));
  const std::string_view body =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  auto allowfrom = parse_allowfrom_body(body);
  if (auto* parsed = std::get_if<AllowfromBody>(&allowfrom)) {
    // Accepted entries must be valid CIDRs and render as a JSON array.
    if (!valid_cidr_list(parsed->entries)) __builtin_trap();
    const std::string json = json_string_array(shown_allowfrom(parsed->entries));
    if (json.empty() || json.front() != '[' || json.back() != ']') __builtin_trap();
  }
  const UpdateBody update = parse_update_body(body);
  (void)update;
  (void)parse_httpreq_value(body);

  static const ClientAddressResolver acme_dns_mode = [] {
    ApiConfig api;
    api.use_header = true;
    return ClientAddressResolver(api);
  }();
  static const ClientAddressResolver proxy_mode = [] {
    ApiConfig api;
    api.use_header = true;
    api.trusted_proxies = {"127.0.0.0/8", "::1/128"};
    return ClientAddressResolver(api);
  }();
  const IpAddress peer = *IpAddress::parse("127.0.0.1");
  for (const auto* resolver : {&acme_dns_mode, &proxy_mode}) {
    const ClientAddress client = resolver->resolve(peer, &header);
    (void)allowfrom_permits({"10.0.0.0/8", "fd00::/8"}, false, client);
    if (allowfrom_permits({}, true, client)) __builtin_trap();  // invalid allowfrom never passes
  }
  return 0;
}

#ifdef ACMEDNSD_FUZZ_REPLAY_MAIN
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

// Runs every file of the given folders through the target; exits non-zero if none.
int main(int argc, char** argv) {
  std::size_t count = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++count;
    }
  }
  std::cout << count << " inputs replayed\n";
  return count > 0 ? 0 : 1;
}
#endif
