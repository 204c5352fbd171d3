// wsgate-echo: the WebSocket echo backend of wsgate's integration tests, demo and benchmarks.
//
//   wsgate-echo [--host ADDR] [--port PORT]
//
// Prints "listening ADDR:PORT" once it accepts connections; SIGINT or SIGTERM closes every
// connection and exits 0. See echo_route.h for the test paths.

#include "tests/echo/echo_server.h"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <uv.h>

namespace {

constexpr int kUsageError = 2;

struct Options {
  std::string host = "127.0.0.1";
  int port = 9001;
  bool deflate = false;
};

void printUsage(std::FILE* out) {
  std::fputs("usage: wsgate-echo [--host ADDR] [--port PORT] [--deflate]\n"
             "  --deflate    accept permessage-deflate and echo compressed frames unchanged\n"
             "  --host ADDR  IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
             "  --port PORT  TCP port, 0 for an ephemeral one (default 9001)\n",
             out);
}

bool parsePort(std::string_view text, int& port) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0 || value > 65535) {
    return false;
  }
  port = value;
  return true;
}

// Returns -1 to go on, or the exit status.
int parseArgs(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    bool has_value = false;
    if (const std::size_t eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    if (arg == "-h" || arg == "--help") {
      printUsage(stdout);
      return 0;
    }
    if (arg == "--deflate") {
      options.deflate = true;
      continue;
    }
    if (arg != "--host" && arg != "--port") {
      std::fprintf(stderr, "wsgate-echo: unknown option %s\n", argv[i]);
      printUsage(stderr);
      return kUsageError;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "wsgate-echo: %s needs a value\n", argv[i]);
        return kUsageError;
      }
      value = argv[++i];
    }
    if (arg == "--host") {
      options.host = std::string(value);
    } else if (!parsePort(value, options.port)) {
      std::fprintf(stderr, "wsgate-echo: invalid port %.*s\n", static_cast<int>(value.size()),
                   value.data());
      return kUsageError;
    }
  }
  return -1;
}

} // namespace

int main(int argc, char** argv) {
  Options options;
  if (const int status = parseArgs(argc, argv, options); status >= 0) return status;
  // A peer that vanishes must give EPIPE on write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);

  uv_loop_t loop;
  if (const int rc = uv_loop_init(&loop); rc != 0) {
    std::fprintf(stderr, "wsgate-echo: uv_loop_init: %s\n", uv_strerror(rc));
    return 1;
  }
  int exit_status = 0;
  {
    wsgate::echo::Server server(&loop);
    server.accept_deflate = options.deflate;
    std::string bound;
    if (const int rc = server.start(options.host, options.port, bound); rc != 0) {
      std::fprintf(stderr, "wsgate-echo: cannot listen on %s port %d: %s\n", options.host.c_str(),
                   options.port, uv_strerror(rc));
      server.stop();
      exit_status = 1;
    } else {
      std::printf("listening %s\n", bound.c_str());
      std::fflush(stdout);
    }
    // Runs until stop() has closed every handle.
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  if (const int rc = uv_loop_close(&loop); rc != 0) {
    std::fprintf(stderr, "wsgate-echo: loop not closed: %s\n", uv_strerror(rc));
    return 1;
  }
  return exit_status;
}
