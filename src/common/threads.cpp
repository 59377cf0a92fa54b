#include "common/threads.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace acmednsd {
namespace {

std::atomic<int> g_control_plane_nice{0};
std::atomic<int> g_base_nice{0};  // the process's nice value when the increment was set

}  // namespace

void set_control_plane_nice(int increment) {
  errno = 0;
  const int base = ::getpriority(PRIO_PROCESS, 0);
  g_base_nice.store(base == -1 && errno != 0 ? 0 : base);
  g_control_plane_nice.store(std::clamp(increment, 0, 19));
}

void enter_control_plane(const char* name) {
  if (name != nullptr) name_this_thread(name);
  const int increment = g_control_plane_nice.load();
  if (increment == 0) return;
  // Absolute, from the base: a thread started by an already lowered thread ends at the
  // same level. Best effort: a failure leaves the thread at the process's priority,
  // which is only the behaviour without this setting.
  const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
  ::setpriority(PRIO_PROCESS, tid, std::min(19, g_base_nice.load() + increment));
}

}  // namespace acmednsd
