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
    } else if (!arg.empty() && arg.front() == '-') {
      fail("unknown option " + std::string(arg));
    } else {
      fail("unexpected argument \"" + std::string(arg) + "\"");
    }
  }
  if (error.empty() && (check || !(help || version)) && line.config_path.empty()) {
    error = "no configuration file: use -c FILE";
  }
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
  return "usage: wsgate -c FILE          run the proxy with configuration FILE\n"
         "       wsgate -t -c FILE       check FILE and exit: 0 valid, 1 invalid\n"
         "       wsgate probe [options] URL  diagnose a ws:// or wss:// endpoint\n"
         "                               (wsgate probe --help for its options)\n"
         "       wsgate --version        print the version\n"
         "       wsgate -h | --help      print this help\n"
         "\n"
         "options:\n"
         "  -c, --config FILE   the TOML configuration file (required; no default path)\n"
         "  -t, --check         validate the configuration and exit\n"
         "  --version           print \"wsgate VERSION\" and exit\n"
         "  -h, --help          print this help and exit\n"
         "\n"
         "exit status: 0 success, 1 invalid configuration or failure, 2 usage error\n";
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
