#include "tests/bench/loadgen/proc_stats.h"

#include <cstdio>
#include <cstring>
#include <sys/resource.h>
#include <unistd.h>

namespace wsgate::bench {

namespace {

// Reads up to `size - 1` bytes of `path` into `out`; returns the length or -1.
long readSmallFile(const char* path, char* out, std::size_t size) {
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) return -1;
  const std::size_t n = std::fread(out, 1, size - 1, file);
  std::fclose(file);
  out[n] = '\0';
  return static_cast<long>(n);
}

} // namespace

double processCpuSeconds(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  char text[1024];
  if (readSmallFile(path, text, sizeof text) <= 0) return -1;
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted from
  // the last ')'. Field 3 is the state; utime and stime are fields 14 and 15.
  const char* p = std::strrchr(text, ')');
  if (p == nullptr) return -1;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                  &stime) != 2) {
    return -1;
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long processRssKib(int pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/status", pid);
  char text[4096];
  if (readSmallFile(path, text, sizeof text) <= 0) return -1;
  const char* line = std::strstr(text, "\nVmRSS:");
  long kib = -1;
  if (line == nullptr || std::sscanf(line + 7, " %ld", &kib) != 1) return -1;
  return kib;
}

double processCpuSeconds(const std::vector<int>& pids) {
  double total = 0;
  for (const int pid : pids) {
    const double seconds = processCpuSeconds(pid);
    if (seconds < 0) return -1;
    total += seconds;
  }
  return total;
}

long processRssKib(const std::vector<int>& pids) {
  long total = 0;
  for (const int pid : pids) {
    const long kib = processRssKib(pid);
    if (kib < 0) return -1;
    total += kib;
  }
  return total;
}

double selfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

} // namespace wsgate::bench
