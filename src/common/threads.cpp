#include "common/threads.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string>
#include <system_error>

#include "common/cpu_cgroup.hpp"
#include "common/log.hpp"

namespace acmednsd {
namespace {

std::atomic<ControlPlanePolicy> g_policy{ControlPlanePolicy::nice};
std::atomic<int> g_control_plane_nice{0};
std::atomic<int> g_base_nice{0};  // the process's nice value when the policy was set
std::atomic<bool> g_warned{false};

void warn_once(const char* what, int error) {
  if (g_warned.exchange(true)) return;
  log::warning("cannot lower the control plane's CPU priority; it competes with DNS as an equal",
               {{"call", what}, {"error", std::generic_category().message(error)}});
}

}  // namespace

ControlPlanePolicy resolve_control_plane_policy(ControlPlanePolicy configured) {
  if (configured != ControlPlanePolicy::automatic) return configured;
  const CpuCgroupVerdict verdict = detect_cpu_cgroup();
  const ControlPlanePolicy chosen = verdict.own_cgroup ? ControlPlanePolicy::idle : ControlPlanePolicy::nice;
  log::info("control plane scheduling chosen",
            {{"control_plane_scheduling", "auto"},
             {"policy", chosen == ControlPlanePolicy::idle ? "idle" : "nice"},
             {"reason", verdict.reason}});
  return chosen;
}

void set_control_plane_policy(ControlPlanePolicy policy, int nice_increment) {
  if (policy == ControlPlanePolicy::automatic) policy = ControlPlanePolicy::nice;  // callers resolve it first
  errno = 0;
  const int base = ::getpriority(PRIO_PROCESS, 0);
  g_base_nice.store(base == -1 && errno != 0 ? 0 : base);
  g_control_plane_nice.store(std::clamp(nice_increment, 0, 19));
  g_policy.store(policy);
}

void enter_control_plane(const char* name) {
  if (name != nullptr) name_this_thread(name);
  if (g_policy.load() == ControlPlanePolicy::idle) {
    const sched_param param{};  // SCHED_IDLE takes priority 0
    const int error = pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
    if (error != 0) warn_once("sched_setscheduler(SCHED_IDLE)", error);
    return;
  }
  const int increment = g_control_plane_nice.load();
  if (increment == 0) return;
  // Absolute, from the base: a thread started by an already lowered thread ends at the
  // same level.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, tid, std::min(19, g_base_nice.load() + increment)) != 0) {
    warn_once("setpriority", errno);
  }
}

}  // namespace acmednsd
