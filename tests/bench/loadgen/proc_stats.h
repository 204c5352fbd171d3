#pragma once

#include <vector>

namespace wsgate::bench {

// CPU time (user + system, all threads) of process `pid` in seconds, from /proc/PID/stat;
// negative when the file cannot be read.
double processCpuSeconds(int pid);

// Resident set size of process `pid` in KiB (VmRSS in /proc/PID/status); negative when the
// file cannot be read.
long processRssKib(int pid);

// The same, summed over several processes (a master and its worker). Negative when any of
// them cannot be read.
double processCpuSeconds(const std::vector<int>& pids);
long processRssKib(const std::vector<int>& pids);

// The CPU time this process has used so far, in seconds.
double selfCpuSeconds();

} // namespace wsgate::bench
