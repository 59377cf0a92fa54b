// The "auto" scheduling decision on recorded /proc and cgroup contents of the places
// acme-dnsd runs: a systemd unit, a container, a shell on a busy host.
#include "catch_compat.hpp"

#include <map>

#include "common/cpu_cgroup.hpp"

using namespace acmednsd;

namespace {

// mountinfo lines as the kernel writes them (fields: id parent dev root mountpoint opts - fstype source
// superopts).
constexpr const char* kMountinfoV2 =
    "25 30 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "28 24 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
// A hybrid host (cgroup v1 controllers, v2 only for systemd), as this project's CI machine.
constexpr const char* kMountinfoHybrid =
    "30 29 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:28 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

CpuCgroupFacts facts(std::string cgroup, std::string mountinfo, std::map<std::string, std::string> files,
                     pid_t pid) {
  CpuCgroupFacts f;
  f.proc_self_cgroup = std::move(cgroup);
  f.mountinfo = std::move(mountinfo);
  f.read_file = [files = std::move(files)](const std::string& path) -> std::optional<std::string> {
    const auto it = files.find(path);
    if (it == files.end()) return std::nullopt;
    return it->second;
  };
  f.pid = pid;
  return f;
}

}  // namespace

TEST_CASE("cgroup v2 systemd unit with the cpu controller: a cgroup of its own") {
  const auto v = decide_cpu_cgroup(facts(
      "0::/system.slice/acme-dnsd.service\n", kMountinfoV2,
      {{"/sys/fs/cgroup/system.slice/acme-dnsd.service/cgroup.controllers", "cpuset cpu io memory pids\n"},
       {"/sys/fs/cgroup/system.slice/acme-dnsd.service/cgroup.procs", "812\n"}},
      812));
  CHECK(v.own_cgroup);
  CHECK(v.cgroup == "/system.slice/acme-dnsd.service");
  CHECK(v.reason.find("alone") != std::string::npos);
}

TEST_CASE("cgroup v2 without the cpu controller does not divide CPU: shared") {
  const auto v = decide_cpu_cgroup(
      facts("0::/system.slice/acme-dnsd.service\n", kMountinfoV2,
            {{"/sys/fs/cgroup/system.slice/acme-dnsd.service/cgroup.controllers", "memory pids\n"},
             {"/sys/fs/cgroup/system.slice/acme-dnsd.service/cgroup.procs", "812\n"}},
            812));
  CHECK_FALSE(v.own_cgroup);
  CHECK(v.reason.find("cpu controller is not enabled") != std::string::npos);
}

TEST_CASE("started from a shell in a login session beside other work: shared") {
  // 700 is the shell that started us; 655 is someone's busy loop.
  auto v = decide_cpu_cgroup(facts(
      "0::/user.slice/user-1000.slice/session-2.scope\n", kMountinfoV2,
      {{"/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.controllers", "cpu memory pids\n"},
       {"/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope/cgroup.procs", "655\n700\n701\n"}},
      701));
  CHECK_FALSE(v.own_cgroup);
  CHECK(v.reason.find("2 other processes") != std::string::npos);
  // Only sshd's session process and the shell: still shared, the shell can start a
  // build in this cgroup after we decided (SCHED_IDLE threads would then starve).
  v = decide_cpu_cgroup(facts(
      "0::/user.slice/user-1000.slice/session-3.scope\n", kMountinfoV2,
      {{"/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cgroup.controllers", "cpu memory pids\n"},
       {"/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/cgroup.procs", "900\n901\n950\n"}},
      950));
  CHECK_FALSE(v.own_cgroup);
}

TEST_CASE("a container with its own cgroup namespace, under tini: own") {
  const auto v = decide_cpu_cgroup(facts("0::/\n", kMountinfoV2,
                                         {{"/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n"},
                                          {"/sys/fs/cgroup/cgroup.procs", "1\n7\n"}},
                                         7));
  CHECK(v.own_cgroup);
}

TEST_CASE("a host's root cgroup on a hybrid machine (this CI machine, by hand): shared") {
  const auto v = decide_cpu_cgroup(
      facts("9:name=systemd:/\n4:memory:/process_api/5bb4\n2:cpuacct:/\n1:cpu:/\n0::/\n", kMountinfoHybrid,
            {{"/sys/fs/cgroup/cpu/cgroup.procs", "1\n12\n301\n4242\n"}}, 4242));
  CHECK_FALSE(v.own_cgroup);
  CHECK(v.cgroup == "/");
  CHECK(v.reason.find("2 other processes") != std::string::npos);
}

TEST_CASE("hybrid machine, a cgroup v1 cpu group made for us: own") {
  const auto v = decide_cpu_cgroup(facts("1:cpu:/acme-dnsd\n0::/\n", kMountinfoHybrid,
                                         {{"/sys/fs/cgroup/cpu/acme-dnsd/cgroup.procs", "4242\n"}}, 4242));
  CHECK(v.own_cgroup);
  CHECK(v.cgroup == "/acme-dnsd");
}

TEST_CASE("cgroup v1 container that mounts only its own part of the hierarchy") {
  const std::string mountinfo =
      "600 590 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct\n";
  const auto v = decide_cpu_cgroup(facts("5:cpu,cpuacct:/docker/abc\n", mountinfo,
                                         {{"/sys/fs/cgroup/cpu,cpuacct/cgroup.procs", "1\n"}}, 1));
  CHECK(v.own_cgroup);
}

TEST_CASE("no CPU controller mounted at all, or unreadable: shared") {
  auto v = decide_cpu_cgroup(facts("0::/\n", "25 30 0:22 / /proc rw - proc proc rw\n", {}, 5));
  CHECK_FALSE(v.own_cgroup);
  CHECK(v.reason.find("no CPU cgroup") != std::string::npos);
  v = decide_cpu_cgroup(
      facts("0::/x\n", kMountinfoV2, {{"/sys/fs/cgroup/x/cgroup.controllers", "cpu\n"}}, 5));
  CHECK_FALSE(v.own_cgroup);
  CHECK(v.reason.find("cannot read") != std::string::npos);
}

TEST_CASE("this process's own verdict is one of the two, with a reason") {
  const auto v = detect_cpu_cgroup();
  CHECK_FALSE(v.reason.empty());
}
