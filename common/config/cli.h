#pragma once

// The wsgate command line, parsed without side effects so that it can be tested:
//
//   wsgate [-c FILE]          run with FILE (default kDefaultConfigPath)
//   wsgate -t [-c FILE]       check FILE: "configuration OK" and 0, or errors and 1
//   wsgate --version          print "wsgate VERSION"
//   wsgate -h | --help        print the usage
//
// `wsgate probe ...` is dispatched by main() before this parser (proxy/probe/).

#include "common/config/config.h"

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace wsgate::config {

inline constexpr int kExitOk = 0;
inline constexpr int kExitConfigError = 1; // also any failure while running
inline constexpr int kExitUsage = 2;

// The configuration used without -c (where `make install` and the package put it).
inline constexpr std::string_view kDefaultConfigPath = "/etc/wsgate/wsgate.toml";

enum class CliAction {
  Run,        // load config_path and serve
  Check,      // load config_path, report, exit
  Version,    // print versionLine()
  Help,       // print usageText() to stdout
  UsageError, // print `error` and usageText() to stderr, exit kExitUsage
};

struct CommandLine {
  CliAction action = CliAction::UsageError;
  std::string config_path; // set for Run and Check
  std::string error;       // set for UsageError
};

// Options: -c FILE, --config FILE, --config=FILE, -t, --check, --version, -h, --help.
// Help, then version, win over everything else, usage errors included; otherwise an
// unknown option, a stray argument or a missing FILE after -c is a usage error. Without -c,
// config_path is kDefaultConfigPath.
CommandLine parseCommandLine(int argc, const char* const* argv);

// "wsgate 0.1.0".
std::string versionLine();

std::string usageText();

// Loads `path` and writes each error as a formatError() line to `err`. Returns the
// config, or nullptr when it is invalid.
std::shared_ptr<const Config> loadAndReport(const std::string& path, std::ostream& err);

// `wsgate -t`: "configuration OK" on `out` and kExitOk, or the errors on `err` and
// kExitConfigError.
int checkConfig(const std::string& path, std::ostream& out, std::ostream& err);

} // namespace wsgate::config
