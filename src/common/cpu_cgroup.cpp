#include "common/cpu_cgroup.hpp"

#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <vector>

namespace acmednsd {
namespace {

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool contains_word(std::string_view list, std::string_view word, char separator) {
  for (auto item : split(list, separator)) {
    if (item == word) return true;
  }
  return false;
}

struct Mount {
  std::string root;  // the hierarchy's path mounted there ("/" unless a container hides the rest)
  std::string mountpoint;
};

// The cgroup hierarchy that runs the CPU controller, from /proc/self/cgroup and
// mountinfo: cgroup v1's "cpu" hierarchy when one is mounted (hybrid hosts keep the
// controller there), otherwise the unified v2 hierarchy.
struct CpuHierarchy {
  bool v2 = false;
  std::string path;  // our cgroup inside the hierarchy
  Mount mount;
};

std::optional<Mount> find_mount(std::string_view mountinfo, bool v2) {
  for (auto line : split(mountinfo, '\n')) {
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    const auto left = split(line.substr(0, dash), ' ');
    const auto right = split(line.substr(dash + 3), ' ');
    if (left.size() < 5 || right.size() < 3) continue;
    if (v2 ? right[0] != "cgroup2" : (right[0] != "cgroup" || !contains_word(right[2], "cpu", ','))) continue;
    return Mount{std::string(left[3]), std::string(left[4])};
  }
  return std::nullopt;
}

std::optional<CpuHierarchy> find_cpu_hierarchy(const CpuCgroupFacts& facts) {
  std::optional<std::string> v1_path;
  std::optional<std::string> v2_path;
  for (auto line : split(facts.proc_self_cgroup, '\n')) {
    const auto fields = split(line, ':');
    if (fields.size() < 3) continue;
    // The path may itself contain ':'; it is everything after the second one.
    const std::string path(line.substr(fields[0].size() + fields[1].size() + 2));
    if (fields[0] == "0" && fields[1].empty()) v2_path = path;
    if (contains_word(fields[1], "cpu", ',')) v1_path = path;
  }
  if (v1_path) {
    if (auto mount = find_mount(facts.mountinfo, false)) return CpuHierarchy{false, *v1_path, *mount};
  }
  if (v2_path) {
    if (auto mount = find_mount(facts.mountinfo, true)) return CpuHierarchy{true, *v2_path, *mount};
  }
  return std::nullopt;
}

// The directory of `path` under the mount; a container that mounts only its own part
// of the hierarchy shows it at the mount's root.
std::string directory_of(const CpuHierarchy& h) {
  std::string relative = h.path;
  if (h.mount.root != "/" && relative.starts_with(h.mount.root)) relative.erase(0, h.mount.root.size());
  if (relative == "/") relative.clear();
  return h.mount.mountpoint + relative;
}

}  // namespace

CpuCgroupVerdict decide_cpu_cgroup(const CpuCgroupFacts& facts) {
  CpuCgroupVerdict verdict;
  const auto hierarchy = find_cpu_hierarchy(facts);
  if (!hierarchy) {
    verdict.reason = "no CPU cgroup controller is mounted";
    return verdict;
  }
  verdict.cgroup = hierarchy->path;
  const std::string dir = directory_of(*hierarchy);
  if (hierarchy->v2) {
    // Without the cpu controller, cgroup v2 groups do not divide CPU time at all.
    const auto controllers = facts.read_file(dir + "/cgroup.controllers");
    if (!controllers ||
        !contains_word(std::string_view(*controllers).substr(0, controllers->find('\n')), "cpu", ' ')) {
      verdict.reason = "the cpu controller is not enabled for cgroup " + hierarchy->path;
      return verdict;
    }
  }
  const auto procs = facts.read_file(dir + "/cgroup.procs");
  if (!procs) {
    verdict.reason = "cannot read " + dir + "/cgroup.procs";
    return verdict;
  }
  std::size_t others = 0;
  for (auto item : split(*procs, '\n')) {
    pid_t pid = 0;
    if (item.empty() || std::from_chars(item.data(), item.data() + item.size(), pid).ec != std::errc())
      continue;
    if (pid != facts.pid && pid != 1) ++others;
  }
  if (others > 0) {
    verdict.reason = "CPU cgroup " + hierarchy->path + " also holds " + std::to_string(others) +
                     " other process" + (others == 1 ? "" : "es");
    return verdict;
  }
  verdict.own_cgroup = true;
  verdict.reason = "CPU cgroup " + hierarchy->path + " holds acme-dnsd alone";
  return verdict;
}

namespace {

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CpuCgroupVerdict detect_cpu_cgroup() {
  CpuCgroupFacts facts;
  facts.proc_self_cgroup = read_whole("/proc/self/cgroup").value_or("");
  facts.mountinfo = read_whole("/proc/self/mountinfo").value_or("");
  facts.read_file = read_whole;
  facts.pid = ::getpid();
  return decide_cpu_cgroup(facts);
}

}  // namespace acmednsd
