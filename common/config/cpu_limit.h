#pragma once

// How many workers `workers = 0` means: one per CPU this process may use. The figures come
// from the kernel (the affinity mask, the cgroup v2 CPU quota); this file only interprets
// their text, proxy/server/cpus.cpp reads them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::config {

// A cgroup v2 `cpu.max` file: "max 100000" (no quota) or "QUOTA PERIOD" in microseconds,
// "150000 100000" = 1.5 CPUs.
struct CpuMax {
  bool limited = false;
  uint64_t quota_us = 0;  // set when limited; > 0
  uint64_t period_us = 0; // > 0 (also when not limited)

  // The quota in CPUs rounded up, at least 1; 0 when not limited.
  [[nodiscard]] uint32_t cpus() const;
  // The quota in CPUs (1.5); 0 when not limited.
  [[nodiscard]] double fraction() const;
};

// Parses the text of a cpu.max file (a trailing newline is allowed); nullopt when it is not
// in one of the two forms above.
std::optional<CpuMax> parseCpuMax(std::string_view text);

// The cgroup v2 path of the process from the text of /proc/self/cgroup: the "0::PATH" line
// ("0::/kubepods/pod1/abc" -> "/kubepods/pod1/abc"). nullopt without such a line (cgroup v1
// only) or when PATH is not absolute or climbs with ".." (outside the cgroup namespace).
std::optional<std::string> parseCgroupV2Path(std::string_view proc_self_cgroup);

// "/a/b" -> "/a", "/a" -> "/", "/" -> nullopt: the cgroups whose quotas also bind a process.
std::optional<std::string> parentCgroup(std::string_view path);

// What a process may use, as read at start: the CPUs in its affinity mask (0 = unknown) and
// the tightest cpu.max quota of its cgroup and its ancestors (nullopt = none or unreadable).
struct CpuLimits {
  uint32_t affinity_cpus = 0;
  std::optional<CpuMax> quota;
  std::string quota_cgroup;   // the cgroup whose cpu.max gave `quota`
  uint32_t hardware_cpus = 0; // std::thread::hardware_concurrency(), the last resort
};

enum class WorkersSource { Config, Affinity, CgroupCpuMax, Hardware };

// "config", "affinity", "cgroup cpu.max", "hardware".
std::string_view toString(WorkersSource source);

struct WorkerCount {
  uint32_t workers = 1;
  WorkersSource source = WorkersSource::Config;
};

// `configured` > 0 is used as it is. 0: the smaller of the affinity count and the quota
// (rounded up), at least 1; the source names which of the two decided (the affinity on a
// tie); the hardware count only when neither is known.
WorkerCount chooseWorkers(uint32_t configured, const CpuLimits& limits);

} // namespace wsgate::config
