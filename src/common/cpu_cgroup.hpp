#pragma once
// Does this process have a CPU cgroup of its own?
//
// SCHED_IDLE is the right policy for the control plane only inside a CPU cgroup that
// holds acme-dnsd alone (the systemd unit with CPUWeight=, a container): the kernel
// first divides the CPU between cgroups by weight, so the idle threads yield to our DNS
// threads only, and the cgroup's share keeps them going when the host is busy. On a host
// where acme-dnsd shares its CPU cgroup with other work (started by hand, from cron, in
// a shell), SCHED_IDLE threads compete with every busy process and starve: measured,
// 40 /updates beside three CPU hogs took p99 297 ms and a bcrypt first use 25.5 s.
// `control_plane_scheduling = "auto"` asks this function at start-up and picks SCHED_IDLE
// or a nice level accordingly.
//
// "Of its own" means the cgroup holds no process but ours and PID 1 (a container's init
// or supervisor: tini, dumb-init, systemd). The decision is made once, at start: a
// process that joins the cgroup later is not seen, so an interactive shell that shares
// the cgroup (it could start a build there any time) counts as another process.
//
// The decision is a pure function of what /proc and the cgroup file systems say, so it
// is tested on recorded contents of hosts, containers and systemd units.
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace acmednsd {

struct CpuCgroupFacts {
  std::string proc_self_cgroup;  // /proc/self/cgroup
  std::string mountinfo;         // /proc/self/mountinfo
  // Reads a file of the cgroup file systems by absolute path; nullopt when absent.
  std::function<std::optional<std::string>(const std::string&)> read_file;
  pid_t pid = 0;
};

struct CpuCgroupVerdict {
  bool own_cgroup = false;
  std::string cgroup;  // the CPU cgroup's path as the kernel names it, e.g. /system.slice/acme-dnsd.service
  std::string reason;  // one sentence for the start-up log line
};

CpuCgroupVerdict decide_cpu_cgroup(const CpuCgroupFacts& facts);

// The same, for this process, from the real files.
CpuCgroupVerdict detect_cpu_cgroup();

}  // namespace acmednsd
