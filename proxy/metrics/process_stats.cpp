#include "proxy/metrics/process_stats.h"

#include <cstdio>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace wsgate::proxy::metrics {

ProcessSampler::ProcessSampler()
    : fd_dir_(::opendir("/proc/self/fd")),
      statm_fd_(::open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) {}

ProcessSampler::~ProcessSampler() {
  if (fd_dir_ != nullptr) ::closedir(fd_dir_);
  if (statm_fd_ >= 0) ::close(statm_fd_);
}

ProcessSample ProcessSampler::sample() const {
  ProcessSample sample;
  rusage usage{};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    sample.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  }
  char text[128];
  const ssize_t n = statm_fd_ >= 0 ? ::pread(statm_fd_, text, sizeof text - 1, 0) : -1;
  unsigned long long pages_total = 0;
  unsigned long long pages_resident = 0;
  if (n > 0) {
    text[n] = '\0';
    if (std::sscanf(text, "%llu %llu", &pages_total, &pages_resident) == 2) {
      const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
      sample.virtual_bytes = pages_total * page;
      sample.resident_bytes = pages_resident * page;
    }
  }
  if (fd_dir_ != nullptr) {
    ::rewinddir(fd_dir_);
    while (const dirent* entry = ::readdir(fd_dir_)) {
      if (entry->d_name[0] != '.') ++sample.open_fds;
    }
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) sample.max_fds = limit.rlim_cur;
  return sample;
}

} // namespace wsgate::proxy::metrics
