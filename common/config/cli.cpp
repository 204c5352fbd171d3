#include "common/config/cli.h"

#include <ostream>

#ifndef WSGATE_VERSION
#define WSGATE_VERSION "unknown"
#endif

namespace wsgate::config {

CommandLine parseCommandLine(int argc, const char* const* argv) {
  CommandLine line;
  bool check = false;
  bool help = false;
  bool version = false;
  std::string error;
  const auto fail = [&error](std::string why) {
    if (error.empty()) error = std::move(why);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg == "-t" || arg == "--check") {
      check = true;
    } else if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--version") {
      version = true;
    } else if (arg == "-c" || arg == "--config") {
      if (i + 1 >= argc || argv[i + 1] == nullptr) {
        fail("option " + std::string(arg) + " needs a FILE argument");
        continue;
      }
      line.config_path = argv[++i];
    } else if (arg.substr(0, 9) == "--config=") {
      line.config_path = std::string(arg.substr(9));
      if (line.config_path.empty()) fail("option --config= needs a FILE argument");
    } else if (!arg.empty() && arg.front() == '-') {
      fail("unknown option " + std::string(arg));
    } else {
      fail("unexpected argument \"" + std::string(arg) + "\"");
    }
  }
  if (line.config_path.empty()) line.config_path = std::string(kDefaultConfigPath);
  if (!error.empty() && !help && !version) {
    line.error = std::move(error);
    line.action = CliAction::UsageError;
    line.config_path.clear();
  } else if (help) {
    line.action = CliAction::Help;
  } else if (version) {
    line.action = CliAction::Version;
  } else {
    line.action = check ? CliAction::Check : CliAction::Run;
  }
  return line;
}

std::string versionLine() {
  return std::string("wsgate ") + WSGATE_VERSION;
}

std::string usageText() {
  const std::string file(kDefaultConfigPath);
  return "usage: wsgate [-c FILE]        run the proxy with configuration FILE\n"
         "       wsgate -t [-c FILE]     check FILE and exit: 0 valid, 1 invalid\n"
         "       wsgate probe [options] URL  diagnose a ws:// or wss:// endpoint\n"
         "                               (wsgate probe --help for its options)\n"
         "       wsgate --version        print the version\n"
         "       wsgate -h | --help      print this help\n"
         "\n"
         "options:\n"
         "  -c, --config FILE   the TOML configuration file (default " +
         file +
         ")\n"
         "  -t, --check         validate the configuration (and load its certificates), print\n"
         "                      \"configuration OK\" or FILE:LINE:COL: errors, and exit\n"
         "  --version           print \"wsgate VERSION\" and exit\n"
         "  -h, --help          print this help and exit\n"
         "\n"
         "signals:\n"
         "  SIGTERM, SIGQUIT    drain: readiness fails, clients and backends get close 1001,\n"
         "                      exit 0 when the last connection ends or after drain_timeout\n"
         "  second SIGTERM, SIGINT  stop at once\n"
         "  SIGHUP              reload FILE for new connections (an invalid file is ignored)\n"
         "  SIGUSR1             reopen the access log file\n"
         "\n"
         "environment:\n"
         "  NOTIFY_SOCKET       systemd's notification socket: READY=1 once the listeners are\n"
         "                      bound, RELOADING=1 and READY=1 around a reload, STOPPING=1\n"
         "\n"
         "exit status: 0 success, 1 invalid configuration or failure, 2 usage error\n"
         "manual: man 8 wsgate, man 5 wsgate.toml, docs/configuration.md\n";
}

std::shared_ptr<const Config> loadAndReport(const std::string& path, std::ostream& err) {
  LoadResult result = loadConfigFile(path);
  for (const ConfigError& error : result.errors)
    err << formatError(error) << '\n';
  return result.ok() ? result.config : nullptr;
}

int checkConfig(const std::string& path, std::ostream& out, std::ostream& err) {
  if (loadAndReport(path, err) == nullptr) return kExitConfigError;
  out << "configuration OK\n";
  return kExitOk;
}

} // namespace wsgate::config
