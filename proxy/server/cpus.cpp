#include "proxy/server/cpus.h"

#include <cerrno>
#include <fstream>
#include <optional>
#include <sched.h>
#include <sstream>
#include <thread>

namespace wsgate::proxy {
namespace {

// The whole (small) file, or nullopt when it cannot be read.
std::optional<std::string> readSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

// CPUs in the affinity mask; the mask is sized for machines with more CPUs than cpu_set_t
// holds. 0 when it cannot be read.
uint32_t affinityCpus() {
  for (int cpus = 1024; cpus <= 1 << 16; cpus *= 2) {
    cpu_set_t* set = CPU_ALLOC(cpus);
    if (set == nullptr) return 0;
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    CPU_ZERO_S(size, set);
    const int rc = ::sched_getaffinity(0, size, set);
    const int count = rc == 0 ? CPU_COUNT_S(size, set) : 0;
    const int error = errno;
    CPU_FREE(set);
    if (rc == 0) return static_cast<uint32_t>(count);
    if (error != EINVAL) return 0; // EINVAL: the mask is too small for the kernel's
  }
  return 0;
}

} // namespace

config::CpuLimits readCpuLimits(const std::string& cgroup_root) {
  config::CpuLimits limits;
  limits.affinity_cpus = affinityCpus();
  limits.hardware_cpus = std::thread::hardware_concurrency();
  const std::optional<std::string> self = readSmallFile("/proc/self/cgroup");
  std::optional<std::string> cgroup = self ? config::parseCgroupV2Path(*self) : std::nullopt;
  // A quota anywhere up the tree binds the process; the root cgroup has no cpu.max.
  for (; cgroup; cgroup = config::parentCgroup(*cgroup)) {
    const std::string dir = *cgroup == "/" ? cgroup_root : cgroup_root + *cgroup;
    const std::optional<std::string> text = readSmallFile(dir + "/cpu.max");
    const std::optional<config::CpuMax> quota = text ? config::parseCpuMax(*text) : std::nullopt;
    if (!quota || !quota->limited) continue;
    if (!limits.quota || quota->fraction() < limits.quota->fraction()) {
      limits.quota = quota;
      limits.quota_cgroup = *cgroup;
    }
  }
  return limits;
}

} // namespace wsgate::proxy
