// What a SIGHUP applies and what it says needs a restart (config_reload.hpp).
#include <algorithm>
#include "catch_compat.hpp"
#include <fstream>
#include <regex>

#include "config/config.hpp"
#include "config/config_reload.hpp"

using namespace acmednsd;

namespace {

Config parsed(const std::string& text) {
  auto c = parse_config(text, "reload.toml");
  INFO((c.ok() ? "" : c.error().message));
  REQUIRE(c.ok());
  return *c;
}

bool has(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

constexpr const char* kBase =
    "[general]\ndomain = \"auth.example.org\"\nlisten = \"127.0.0.1:5353\"\n"
    "records = [\"auth.example.org. A 192.0.2.1\"]\n"
    "[api]\nport = 8053\nuse_header = true\ntrusted_proxies = [\"10.0.0.0/8\"]\n"
    "[logconfig]\nloglevel = \"info\"\n";

}  // namespace

TEST_CASE("an unchanged file reloads to an empty plan") {
  const Config a = parsed(kBase);
  const Config b = parsed(std::string("# a comment moves every line\n") + kBase);
  CHECK(plan_reload(a, b).unchanged());
}

TEST_CASE("live keys are applied, socket and store keys are reported as needing a restart") {
  const Config running = parsed(kBase);
  const Config loaded = parsed(
      "[general]\ndomain = \"auth.example.org\"\nlisten = \"127.0.0.1:5454\"\n"
      "records = [\"auth.example.org. A 192.0.2.2\"]\ntxt_limit = 5\n"
      "[api]\nport = 8053\nuse_header = true\ntrusted_proxies = [\"192.168.0.0/16\"]\n"
      "registration = \"disabled\"\n"
      "[logconfig]\nloglevel = \"debug\"\n");
  const ReloadPlan plan = plan_reload(running, loaded);
  CHECK(has(plan.applied, "[general] records"));
  CHECK(has(plan.applied, "[api] trusted_proxies"));
  CHECK(has(plan.applied, "[api] registration"));
  CHECK(has(plan.applied, "[logconfig] loglevel"));
  CHECK(has(plan.needs_restart, "[general] listen"));
  CHECK(has(plan.needs_restart, "[general] txt_limit"));
  CHECK_FALSE(has(plan.applied, "[general] listen"));
  CHECK(plan.applied.size() == 4);
  CHECK(plan.needs_restart.size() == 2);

  const Config merged = merge_live_keys(running, loaded);
  CHECK(merged.general.records == loaded.general.records);
  CHECK(merged.api.trusted_proxies == loaded.api.trusted_proxies);
  CHECK(merged.log.loglevel == LogLevel::debug);
  CHECK(merged.general.listen[0].port == 5353);  // still the bound socket
  CHECK(merged.general.txt_limit == running.general.txt_limit);
  CHECK(plan_reload(merged, loaded).applied.empty());
}

TEST_CASE("a [[certificate]] moved to another line is not a change") {
  const std::string cert =
      "[[certificate]]\nname = \"web\"\ndomains = [\"auth.example.org\"]\n"
      "cert_path = \"c.pem\"\nkey_path = \"k.pem\"\n";
  const Config a = parsed(std::string(kBase) + cert);
  const Config b = parsed(std::string(kBase) + "\n\n" + cert);
  REQUIRE(a.certificates.at(0).line != b.certificates.at(0).line);
  CHECK(plan_reload(a, b).unchanged());
}

// Every key config.toml.example documents must have a reload rule; a new key without one
// would be reloaded silently as "unchanged".
TEST_CASE("every documented key has a reload rule") {
  std::ifstream example(std::string(ACMEDNSD_SOURCE_DIR) + "/config.toml.example");
  REQUIRE(example.good());
  const auto names = reload_rule_names();
  const std::regex section_re(R"(^#?\s*\[\[?([a-z_]+)\]\]?)");
  const std::regex key_re(R"(^#?\s*([a-z_0-9]+)\s*=)");
  std::string section;
  std::string line;
  int checked = 0;
  while (std::getline(example, line)) {
    std::smatch m;
    if (std::regex_search(line, m, section_re)) {
      section = m[1];
      continue;
    }
    if (section.empty() || !std::regex_search(line, m, key_re)) continue;
    const std::string key = m[1];
    const std::string whole = section == "certificate" ? "[[certificate]]" : "[" + section + "]";
    INFO(whole << " " << key);
    CHECK((has(names, whole + " " + key) || has(names, whole)));
    ++checked;
  }
  CHECK(checked > 60);
}
