#pragma once

#include <cstdint>
#include <dirent.h>

namespace wsgate::proxy::metrics {

// What the kernel says about this process, read at scrape time from /proc/self and getrusage.
struct ProcessSample {
  double cpu_seconds = 0; // user + system
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0; // the soft RLIMIT_NOFILE
};

// Keeps /proc/self/fd and /proc/self/statm open from start-up, so that a scrape while
// descriptors run out still reports them (opening them then could fail for want of one).
class ProcessSampler {
public:
  ProcessSampler();
  ~ProcessSampler();
  ProcessSampler(const ProcessSampler&) = delete;
  ProcessSampler& operator=(const ProcessSampler&) = delete;

  ProcessSample sample() const;

private:
  DIR* fd_dir_ = nullptr;
  int statm_fd_ = -1;
};

} // namespace wsgate::proxy::metrics
