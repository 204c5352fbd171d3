// wsgate: the daemon entry point. Parses the command line, loads the configuration and runs
// the server until it is drained or stopped.

#include "common/config/cli.h"
#include "proxy/core/logger.h"
#include "proxy/policy/auth_set.h"
#include "proxy/probe/probe.h"
#include "proxy/server/server.h"
#include "proxy/transport/tls_context.h"

#include <iostream>
#include <string_view>

int main(int argc, char** argv) {
  using namespace wsgate::config;
  // `wsgate probe ...`: the troubleshooting client, no configuration file.
  if (argc >= 2 && argv[1] != nullptr && std::string_view(argv[1]) == "probe") {
    return wsgate::probe::runProbe(argc - 2, argv + 2);
  }
  const CommandLine line = parseCommandLine(argc, argv);
  switch (line.action) {
  case CliAction::Help:
    std::cout << usageText();
    return kExitOk;
  case CliAction::Version:
    std::cout << versionLine() << '\n';
    return kExitOk;
  case CliAction::UsageError:
    std::cerr << "wsgate: " << line.error << "\n" << usageText();
    return kExitUsage;
  case CliAction::Check: {
    // Like nginx -t: the certificates and keys the configuration names must load too.
    const auto config = loadAndReport(line.config_path, std::cerr);
    if (config == nullptr) return kExitConfigError;
    std::string error;
    if (wsgate::proxy::buildTlsContexts(*config, nullptr, error) == nullptr) {
      std::cerr << line.config_path << ": " << error << '\n';
      return kExitConfigError;
    }
    if (wsgate::proxy::policy::buildAuthSet(*config, error) == nullptr) {
      std::cerr << line.config_path << ": " << error << '\n';
      return kExitConfigError;
    }
    std::cout << "configuration OK\n";
    return kExitOk;
  }
  case CliAction::Run:
    break;
  }
  const auto config = loadAndReport(line.config_path, std::cerr);
  if (config == nullptr) return kExitConfigError;
  wsgate::proxy::Logger& logger = wsgate::proxy::Logger::instance();
  logger.configure(config->log);
  logger.start();
  int code = kExitOk;
  {
    wsgate::proxy::Server server(line.config_path, config);
    code = server.run();
  }
  logger.stop();
  return code;
}
