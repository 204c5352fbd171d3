// wsgate-bench: the load generator of wsgate's benchmarks (tests/bench/run.sh drives it).
//
//   wsgate-bench --mode echo|idle|handshake|flood --port PORT [options]   (--help lists them)
//
// Runs one measurement against a WebSocket server or proxy on the loopback and prints one JSON
// line with its result. Exits 0 when the run was clean, 1 when a connection or message failed
// a check (the line says which), 2 on a usage error.

#include "tests/bench/loadgen/modes.h"
#include "tests/bench/loadgen/options.h"

#include <csignal>
#include <cstdio>
#include <uv.h>

namespace {

std::unique_ptr<wsgate::bench::Bench> makeBench(const wsgate::bench::Options& options,
                                                uv_loop_t* loop) {
  using wsgate::bench::Mode;
  switch (options.mode) {
  case Mode::Echo:
    return wsgate::bench::makeEchoBench(options, loop);
  case Mode::Idle:
    return wsgate::bench::makeIdleBench(options, loop);
  case Mode::Handshake:
    return wsgate::bench::makeHandshakeBench(options, loop);
  case Mode::Flood:
    return wsgate::bench::makeFloodBench(options, loop);
  }
  return nullptr;
}

} // namespace

int main(int argc, char** argv) {
  wsgate::bench::Options options;
  if (const int status = wsgate::bench::parseOptions(argc, argv, options); status >= 0) {
    return status;
  }
  // A server that vanishes must give EPIPE on write, not kill the generator.
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  if (const int rc = uv_loop_init(&loop); rc != 0) {
    std::fprintf(stderr, "wsgate-bench: uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  int status = 0;
  {
    std::unique_ptr<wsgate::bench::Bench> bench = makeBench(options, &loop);
    if (const int rc = bench->start(); rc != 0) {
      std::fprintf(stderr, "wsgate-bench: cannot start: %s\n", uv_strerror(rc));
      status = 2;
    }
    // Runs until the benchmark has closed every connection, timer and signal handler.
    uv_run(&loop, UV_RUN_DEFAULT);
    if (status == 0) {
      std::printf("%s\n", bench->result().c_str());
      std::fflush(stdout);
      status = bench->clean() ? 0 : 1;
    }
  }
  if (const int rc = uv_loop_close(&loop); rc != 0) {
    std::fprintf(stderr, "wsgate-bench: loop not closed: %s\n", uv_strerror(rc));
    return 1;
  }
  return status;
}
