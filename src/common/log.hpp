// Process-wide leveled logging, text or JSON lines, to stdout or a file that can be
// reopened (logrotate + SIGHUP). Thread-safe; one write per line.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace acmednsd::log {

using Fields = std::vector<std::pair<std::string, std::string>>;

// Applies [logconfig]. Returns an error message if the log file cannot be opened.
std::string configure(const LogConfig& config);
std::string reopen();
void set_level(LogLevel level);  // SIGHUP: the sink stays, the level changes
bool enabled(LogLevel level);
void write(LogLevel level, std::string_view message, const Fields& fields = {});

inline void error(std::string_view m, const Fields& f = {}) {
  write(LogLevel::error, m, f);
}
inline void warning(std::string_view m, const Fields& f = {}) {
  write(LogLevel::warning, m, f);
}
inline void info(std::string_view m, const Fields& f = {}) {
  write(LogLevel::info, m, f);
}
inline void debug(std::string_view m, const Fields& f = {}) {
  write(LogLevel::debug, m, f);
}

}  // namespace acmednsd::log
