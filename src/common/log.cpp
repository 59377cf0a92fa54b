#include "common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>

#include "common/encoding.hpp"

namespace acmednsd::log {
namespace {

struct State {
  std::mutex mutex;
  LogConfig config;
  int fd = STDOUT_FILENO;
  std::atomic<int> level{static_cast<int>(LogLevel::info)};
};

State& state() {
  static State s;
  return s;
}

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::error:
      return "error";
    case LogLevel::warning:
      return "warning";
    case LogLevel::info:
      return "info";
    case LogLevel::debug:
      return "debug";
  }
  return "info";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
  return out;
}

std::string open_file(State& s) {
  if (s.config.logtype != "file") {
    s.fd = STDOUT_FILENO;
    return {};
  }
  const int fd = ::open(s.config.logfile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open log file " + s.config.logfile;
  if (s.fd != STDOUT_FILENO) ::close(s.fd);
  s.fd = fd;
  return {};
}

}  // namespace

std::string configure(const LogConfig& config) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.config = config;
  s.level.store(static_cast<int>(config.loglevel));
  return open_file(s);
}

void set_level(LogLevel level) {
  state().level.store(static_cast<int>(level));
}

std::string reopen() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  return open_file(s);
}

bool enabled(LogLevel level) {
  return static_cast<int>(level) <= state().level.load(std::memory_order_relaxed);
}

void write(LogLevel level, std::string_view message, const Fields& fields) {
  if (!enabled(level)) return;
  auto& s = state();
  std::string line;
  line.reserve(128);
  const bool json = s.config.logformat == LogFormat::json;
  if (json) {
    line += "{\"time\":\"" + timestamp() + "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"msg\":\"" + json_escape(message) + '"';
    for (const auto& [k, v] : fields) line += ",\"" + json_escape(k) + "\":\"" + json_escape(v) + '"';
    line += "}\n";
  } else {
    line += timestamp() + ' ';
    line += level_name(level);
    line += ' ';
    line += message;
    for (const auto& [k, v] : fields) {
      line += ' ' + k + '=';
      const bool quote = v.empty() || v.find_first_of(" \"=") != std::string::npos;
      line += quote ? '"' + json_escape(v) + '"' : v;
    }
    line += '\n';
  }
  std::lock_guard lock(s.mutex);
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(s.fd, p, left);
    if (n <= 0) break;  // logging must never take the server down
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace acmednsd::log
