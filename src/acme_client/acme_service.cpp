// Placeholder wiring until the orchestrator lands: keeps main.cpp linking.
#include "acme_client/acme_service.hpp"

#include <iostream>

namespace acmednsd::acme {

namespace {
class PendingAcmeService final : public AcmeService {
 public:
  void start() override {}
  void stop() override {}
  void on_api_certificate(std::function<void()> callback) override { callback_ = std::move(callback); }

 private:
  std::function<void()> callback_;
};
}  // namespace

Result<std::unique_ptr<AcmeService>> AcmeService::create(const Config&, Store&) {
  return std::unique_ptr<AcmeService>(std::make_unique<PendingAcmeService>());
}

std::string api_certificate_path(const Config& config) {
  return config.api.acme_cache_dir + "/" + config.general.domain + "/fullchain.pem";
}
std::string api_private_key_path(const Config& config) {
  return config.api.acme_cache_dir + "/" + config.general.domain + "/privkey.pem";
}

int run_cert_command(const Config&, Store&, const std::vector<std::string>&) {
  std::cerr << "acme-dnsd cert: not implemented yet\n";
  return 2;
}

}  // namespace acmednsd::acme
