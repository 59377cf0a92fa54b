// What a SIGHUP can apply to a running server. The running Config and the file's new
// contents are compared key by key; each changed key is either applied live (zone
// data, API policy, log level) or reported as needing a restart (sockets, database,
// thread counts, TLS mode, the ACME client), so an operator never wonders whether an
// edit took effect.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace acmednsd {

struct ReloadPlan {
  std::vector<std::string> applied;        // "[general] records", ... changed and live
  std::vector<std::string> needs_restart;  // changed, but only a restart applies them

  [[nodiscard]] bool unchanged() const { return applied.empty() && needs_restart.empty(); }
};

ReloadPlan plan_reload(const Config& running, const Config& loaded);

// `running` with every live key of `loaded` copied in: what the server serves after a
// reload. Keys that need a restart keep their running values.
Config merge_live_keys(const Config& running, const Config& loaded);

// "[general] records", ...: every key (or whole section, "[acme]") the rules cover, so a
// test can check that no documented key was forgotten.
std::vector<std::string> reload_rule_names();

}  // namespace acmednsd
