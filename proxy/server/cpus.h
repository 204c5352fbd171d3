#pragma once

#include "common/config/cpu_limit.h"

#include <string>

namespace wsgate::proxy {

// Reads what this process may use: sched_getaffinity(2), and the cpu.max of its cgroup v2
// (from /proc/self/cgroup, under `cgroup_root`) and of every ancestor, the tightest of them.
config::CpuLimits readCpuLimits(const std::string& cgroup_root = "/sys/fs/cgroup");

} // namespace wsgate::proxy
