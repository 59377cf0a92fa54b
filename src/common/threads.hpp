#pragma once
// Thread names and the CPU priority of the control plane.
//
// acme-dnsd has two planes on the same cores: DNS (UDP workers, the TCP thread), whose
// answers a CA is waiting for, and the control plane (HTTP API threads, the store's
// SQLite writer, WAL checkpoints, ACME client), which is rarely busy and never in a
// hurry by comparison. In a CPU cgroup of its own the control plane runs SCHED_IDLE: it
// gets the CPU time DNS leaves, and a DNS thread that wakes preempts it at once (a nice
// value only lowers its share, and under the EEVDF scheduler a low-priority thread may
// finish its slice first). The other policy is `nice`: N nice levels below DNS, which is
// what a process that shares its cgroup with other busy work needs (SCHED_IDLE threads
// would starve there; cpu_cgroup.hpp). `auto`, the default, picks one at start-up.
// One store thread stays at the DNS threads' priority on purpose: the index publisher,
// the only thread that takes the answer index's shard locks for writing (DNS queries
// take them to read); a low-priority holder preempted inside one would stall DNS behind
// it (priority inversion).
// Lowering one's own priority needs no privilege, so this works for the unprivileged
// service user (the systemd unit allows the two system calls). Policies apply per thread
// on Linux and are inherited by the threads a thread starts, so every DNS thread is
// started before any thread enters the control plane.
// Numbers: bench/api-update --control-plane-scheduling, docs/configuration.md.
#include <pthread.h>

namespace acmednsd {

// Names the calling thread (at most 15 characters), so `top -H`, `ps -L` and perf show
// which plane a busy thread belongs to. The main thread keeps the process name.
inline void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

enum class ControlPlanePolicy { automatic, idle, nice };

// Set once at start-up ([general] control_plane_scheduling and control_plane_nice),
// before any control-plane thread is created, with `automatic` already resolved
// (resolve_control_plane_policy). nice_increment 0 with the nice policy = the DNS
// threads' priority.
void set_control_plane_policy(ControlPlanePolicy policy, int nice_increment);

// `automatic` becomes idle when the process has a CPU cgroup of its own and nice
// otherwise (logged once, with the reason); the others are returned as they are.
ControlPlanePolicy resolve_control_plane_policy(ControlPlanePolicy configured);

// Names the calling thread (unless name is null) and lowers its priority: SCHED_IDLE, or
// the process's start-up nice value plus the increment (at most 19). When the system
// refuses (a seccomp filter, say), the thread keeps the DNS priority and one warning
// is logged.
void enter_control_plane(const char* name);

}  // namespace acmednsd
