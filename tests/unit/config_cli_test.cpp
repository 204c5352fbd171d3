#include "common/config/cli.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <sstream>
#include <vector>

namespace wsgate::config {
namespace {

CommandLine parse(const std::vector<const char*>& args) {
  std::vector<const char*> argv{"wsgate"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(CliParse, RunWithConfig) {
  for (const auto& line :
       {parse({"-c", "a.toml"}), parse({"--config", "a.toml"}), parse({"--config=a.toml"})}) {
    EXPECT_EQ(line.action, CliAction::Run);
    EXPECT_EQ(line.config_path, "a.toml");
    EXPECT_EQ(line.error, "");
  }
}

TEST(CliParse, Check) {
  for (const auto& line : {parse({"-t", "-c", "a.toml"}), parse({"-c", "a.toml", "-t"}),
                           parse({"--check", "--config", "a.toml"})}) {
    EXPECT_EQ(line.action, CliAction::Check);
    EXPECT_EQ(line.config_path, "a.toml");
  }
}

TEST(CliParse, DefaultConfigPath) {
  for (const auto& line : {parse({}), parse({"-t"})}) {
    EXPECT_EQ(line.config_path, "/etc/wsgate/wsgate.toml");
    EXPECT_EQ(line.error, "");
  }
  EXPECT_EQ(parse({}).action, CliAction::Run);
  EXPECT_EQ(parse({"--check"}).action, CliAction::Check);
}

TEST(CliParse, LastConfigWins) {
  EXPECT_EQ(parse({"-c", "a.toml", "-c", "b.toml"}).config_path, "b.toml");
}

TEST(CliParse, VersionAndHelp) {
  EXPECT_EQ(parse({"--version"}).action, CliAction::Version);
  EXPECT_EQ(parse({"-h"}).action, CliAction::Help);
  EXPECT_EQ(parse({"--help"}).action, CliAction::Help);
  EXPECT_EQ(parse({"--help", "--version"}).action, CliAction::Help);
  EXPECT_EQ(parse({"-c", "a.toml", "--version"}).action, CliAction::Version);
  EXPECT_EQ(parse({"--version", "--bogus"}).action, CliAction::Version);
}

TEST(CliParse, UsageErrors) {
  const struct {
    std::vector<const char*> args;
    const char* error;
  } cases[] = {
      {{"-c"}, "option -c needs a FILE argument"},
      {{"-t", "--config"}, "option --config needs a FILE argument"},
      {{"--config="}, "option --config= needs a FILE argument"},
      {{"-x", "-c", "a.toml"}, "unknown option -x"},
      {{"-c", "a.toml", "--verbose"}, "unknown option --verbose"},
      {{"-c", "a.toml", "extra"}, "unexpected argument \"extra\""},
      {{"-v"}, "unknown option -v"},
  };
  for (const auto& c : cases) {
    const CommandLine line = parse(c.args);
    EXPECT_EQ(line.action, CliAction::UsageError) << c.error;
    EXPECT_EQ(line.error, c.error);
    EXPECT_EQ(line.config_path, "");
  }
}

TEST(CliParse, VersionLine) {
  EXPECT_EQ(versionLine(), std::string("wsgate ") + WSGATE_VERSION);
  EXPECT_EQ(versionLine().find('\n'), std::string::npos);
}

TEST(CliParse, UsageMentionsEveryOption) {
  const std::string usage = usageText();
  for (const char* option : {"-c", "--config", "-t", "--check", "--version", "-h", "--help"}) {
    EXPECT_NE(usage.find(option), std::string::npos) << option;
  }
}

std::string writeTemp(const std::string& name, std::string_view text) {
  const std::string path = ::testing::TempDir() + name;
  FILE* file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr);
  if (file != nullptr) {
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }
  return path;
}

TEST(CliCheck, ValidConfigPrintsOk) {
  const std::string path = writeTemp("cli_check_ok.toml", R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
)toml");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(checkConfig(path, out, err), kExitOk);
  EXPECT_EQ(out.str(), "configuration OK\n");
  EXPECT_EQ(err.str(), "");
  std::remove(path.c_str());
}

TEST(CliCheck, InvalidConfigPrintsEveryError) {
  const std::string path = writeTemp("cli_check_bad.toml", R"toml(
[server]
workers = -1
[[listeners]]
name = "public"
listen = "127.0.0.1"
)toml");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(checkConfig(path, out, err), kExitConfigError);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), path + ":3:11: server.workers: -1 is out of range; expected 0 to 1024\n" +
                           path +
                           ":6:10: listeners[0].listen: invalid address \"127.0.0.1\": missing "
                           "port; expected host:port like \"127.0.0.1:8080\"\n");
  std::remove(path.c_str());
}

TEST(CliCheck, MissingFile) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(checkConfig("/nonexistent.toml", out, err), kExitConfigError);
  EXPECT_EQ(err.str(), "/nonexistent.toml: cannot open: No such file or directory\n");
  EXPECT_EQ(loadAndReport("/nonexistent.toml", err), nullptr);
}

} // namespace
} // namespace wsgate::config
