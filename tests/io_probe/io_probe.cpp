// wsgate-io-probe: exits 0 when this process may use wsgate's io_uring engine, else prints why
// and exits 77 (ctest's skip code): the io_uring runs of the integration tests are skipped, never
// failed, on a kernel or a seccomp profile that refuses io_uring.
#include "proxy/transport/uring_engine.h"

#include <cstdio>

int main() {
  const std::string reason = wsgate::proxy::UringEngine::probe();
  if (reason.empty()) return 0;
  std::fprintf(stderr, "io_uring is not available here, skipping the io_uring run: %s\n",
               reason.c_str());
  return 77;
}
