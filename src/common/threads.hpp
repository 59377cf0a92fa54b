#pragma once
// Thread names and the CPU priority of the control plane.
//
// acme-dnsd has two planes on the same cores: DNS (UDP workers, the TCP thread), whose
// answers a CA is waiting for, and the control plane (HTTP API threads, the store's
// SQLite writer, WAL checkpoints, ACME client), which is rarely busy and never in a
// hurry by comparison. One store thread stays at the DNS threads' priority on purpose:
// the index publisher, the only thread that takes the answer index's shard locks for
// writing (DNS queries take them to read); a low-priority holder preempted inside one
// would stall DNS behind it (priority inversion).
// Raising one's own nice value needs no privilege, so this works for the unprivileged
// service user. Numbers: bench/api-update --control-plane-nice, docs/configuration.md.
#include <pthread.h>

namespace acmednsd {

// Names the calling thread (at most 15 characters), so `top -H`, `ps -L` and perf show
// which plane a busy thread belongs to. The main thread keeps the process name.
inline void name_this_thread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

// Set once at start-up ([general] control_plane_nice; 0 = same priority as DNS), before
// any control-plane thread is created.
void set_control_plane_nice(int increment);

// Names the calling thread (unless name is null) and sets its nice value to the
// process's start-up value plus the configured increment, at most 19. Linux keeps a
// nice value per thread, so the DNS threads are unaffected.
void enter_control_plane(const char* name);

}  // namespace acmednsd
