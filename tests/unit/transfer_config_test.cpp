// [transfer] and [[tsig_key]] (issue 13): what loads, what is refused, and that a secret
// never appears in an error message.
#include "catch_compat.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "config/config.hpp"

using namespace acmednsd;

namespace {

constexpr const char* kBase = "[general]\ndomain = \"auth.example.org\"\n";
constexpr const char* kSecret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

std::string with(const std::string& extra) {
  return std::string(kBase) + extra;
}

std::string key_toml(const std::string& name = "xfr-key", const std::string& secret_line = "") {
  return "[[tsig_key]]\nname = \"" + name + "\"\nalgorithm = \"hmac-sha512\"\n" +
         (secret_line.empty() ? "secret = \"" + std::string(kSecret) + "\"\n" : secret_line);
}

}  // namespace

TEST_CASE("transfer: defaults are off, a full section loads") {
  auto plain = parse_config(kBase, "t.toml");
  REQUIRE(plain.ok());
  CHECK(plain->transfer.allow.empty());
  CHECK(plain->transfer.ixfr_journal == 10000);
  CHECK(plain->tsig_keys.empty());

  auto c = parse_config(
      with(key_toml("XFR-Key.") +
           "[transfer]\nallow = [\"192.0.2.0/24\", \"2001:db8::/32\"]\n"
           "require_tsig = [\"xfr-key\"]\nnotify = [\"192.0.2.10:53\", \"[2001:db8::10]:5353\"]\n"
           "notify_tsig = \"xfr-key\"\nixfr_journal = 50\nmax_transfers = 3\n"),
      "t.toml");
  REQUIRE(c.ok());
  REQUIRE(c->tsig_keys.size() == 1);
  CHECK(c->tsig_keys[0].name == "xfr-key");  // lowercased, no trailing dot
  CHECK(c->tsig_keys[0].algorithm == TsigAlgorithm::hmac_sha512);
  CHECK(c->tsig_keys[0].secret.size() == 32);
  CHECK(c->transfer.require_tsig == std::vector<std::string>{"xfr-key"});
  REQUIRE(c->transfer.notify.size() == 2);
  CHECK(c->transfer.notify[1].host == "2001:db8::10");
  CHECK(c->transfer.notify[1].port == 5353);
  CHECK(c->transfer.notify_tsig == "xfr-key");
  CHECK(c->transfer.ixfr_journal == 50);
  CHECK(c->transfer.max_transfers == 3);
}

TEST_CASE("transfer: errors name the line and never show a secret") {
  const std::string bad_secret = "c2VjcmV0!!notbase64";
  auto c = parse_config(with(key_toml("xfr-key", "secret = \"" + bad_secret + "\"\n")), "t.toml");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("t.toml:6: [[tsig_key]] secret: is not base64") != std::string::npos);
  CHECK(c.error().message.find(bad_secret) == std::string::npos);

  auto unknown = parse_config(with("[transfer]\nrequire_tsig = [\"nokey\"]\n"), "t.toml");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("t.toml:4: [transfer] require_tsig") != std::string::npos);
}

TEST_CASE("transfer: secret_file must be 0600 and hold base64") {
  const auto dir = std::filesystem::temp_directory_path() / ("acmednsd-tsig-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "xfr.secret").string();
  {
    std::ofstream f(path);
    f << kSecret << "\n";
  }
  const std::string line = "secret_file = \"" + path + "\"\n";
  ::chmod(path.c_str(), 0644);
  auto open = parse_config(with(key_toml("xfr-key", line)), "t.toml");
  REQUIRE_FALSE(open.ok());
  CHECK(open.error().message.find("is readable by group or others: chmod 600 it") != std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto ok = parse_config(with(key_toml("xfr-key", line)), "t.toml");
  REQUIRE(ok.ok());
  CHECK(ok->tsig_keys[0].secret.size() == 32);
  std::filesystem::remove_all(dir);
}
