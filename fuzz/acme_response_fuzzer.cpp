// libFuzzer target for everything the ACME client parses from a CA's responses: JSON
// bodies (directory, problem documents), Link and Retry-After headers, RFC 3339 times
// and PEM certificate chains. Must never crash, hang or leak.
// Build (clang): link with acmednsd_acme_client, acmednsd_common, OpenSSL, -fsanitize=fuzzer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "acme_client/acme_problem.hpp"
#include "acme_client/acme_resources.hpp"
#include "acme_client/acme_session.hpp"
#include "acme_client/https_transport.hpp"
#include "acme_client/x509_tools.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace acmednsd::acme;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    (void)parse_directory(json);
    if (json.is_object()) (void)problem::describe(json);
  }
  HttpResponse response;
  response.headers = {{"link", text}, {"retry-after", text}};
  (void)link_targets(response, "alternate");
  (void)parse_retry_after(text, 1'700'000'000);
  (void)parse_rfc3339(text);
  (void)parse_https_url(text);
  (void)inspect_certificate_chain(text);
  return 0;
}
