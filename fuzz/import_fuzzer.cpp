// libFuzzer target for the acme-dns database import: any bytes as the SQLite file
// handed to `acme-dnsd import-acme-dns`. It must import, skip rows with a reason, or
// refuse the file, never crash; and whatever it imports must satisfy our formats.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "store/store.hpp"

namespace {

// The folder lives as long as the process and is removed at exit (replay tests run the
// corpus on every CI run; each used to leave one behind).
struct WorkDir {
  std::filesystem::path path;
  WorkDir()
      : path(std::filesystem::temp_directory_path() /
             ("acmednsd-import-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

std::filesystem::path work_dir() {
  static const WorkDir dir;
  return dir.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace acmednsd;
  const auto dir = work_dir();
  const auto source = dir / "acme-dns.db";
  const auto ours = dir / "ours.db";
  std::filesystem::remove(ours);
  std::filesystem::remove(dir / "ours.db-wal");
  std::filesystem::remove(dir / "ours.db-shm");
  {
    std::ofstream out(source, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  StoreOptions options;
  options.path = ours.string();
  options.read_connections = 1;
  auto store = Store::open(options);
  if (!store) __builtin_trap();
  auto report = (*store)->import_acme_dns(source.string());
  if (report) {
    auto accounts = (*store)->list_accounts();
    if (!accounts || accounts->size() != report->accounts) __builtin_trap();
    for (const auto& a : *accounts) {
      if (canonical_uuid(a.username) != a.username || !is_valid_owner_name(a.subdomain)) __builtin_trap();
      auto values = (*store)->list_txt(a.subdomain);
      if (!values) __builtin_trap();
      for (const auto& v : *values) {
        if (!is_valid_txt_value(v.value)) __builtin_trap();
      }
    }
  }
  return 0;
}
