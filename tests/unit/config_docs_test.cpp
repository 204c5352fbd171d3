// The configuration reference (docs/configuration.md) against the loader: every key the
// loader reads is documented, and the reference documents no key the loader rejects. The
// reference lists each key as the first cell of a table row: "| `server.workers` | ...".
// Also [log] format "auto", the default.
#include "common/config/config.h"

#include <fstream>
#include <gtest/gtest.h>
#include <set>
#include <sstream>
#include <string>

namespace wsgate::config {
namespace {

std::set<std::string> documentedKeys(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "cannot open " << path;
  std::set<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    const std::size_t end = line.find('`', 3);
    if (end == std::string::npos) continue;
    keys.insert(line.substr(3, end - 3));
  }
  return keys;
}

TEST(ConfigDocs, AcceptedKeysIncludeEverySection) {
  const std::vector<std::string> keys = acceptedKeys();
  const std::set<std::string> set(keys.begin(), keys.end());
  EXPECT_EQ(set.size(), keys.size());
  for (const char* key :
       {"server.workers", "server.drain_timeout", "admin.listen", "admin.request_timeout",
        "admin.max_connections", "log.format", "listeners[].name", "listeners[].tls.min_version",
        "listeners[].tls.sni[].server_name", "routes[].policy", "pools[].backends",
        "pools[].health.healthy_after", "policies.<name>.backend_max_frame_size",
        "policies.<name>.allow_missing_origin", "policies.<name>.backend_lost_close_code"}) {
    EXPECT_EQ(set.count(key), 1U) << key;
  }
  // Tables are not keys of their own.
  for (const char* table :
       {"server", "listeners", "listeners[].tls", "pools[].health", "policies"}) {
    EXPECT_EQ(set.count(table), 0U) << table;
  }
}

TEST(ConfigDocs, ReferenceDocumentsExactlyTheAcceptedKeys) {
  const std::set<std::string> documented =
      documentedKeys(std::string(WSGATE_SOURCE_DIR) + "/docs/configuration.md");
  const std::vector<std::string> accepted = acceptedKeys();
  std::string missing;
  for (const std::string& key : accepted) {
    if (documented.count(key) == 0) missing += " " + key;
  }
  EXPECT_EQ(missing, "") << "keys the loader reads that docs/configuration.md does not list";
  const std::set<std::string> acceptedSet(accepted.begin(), accepted.end());
  std::string unknown;
  for (const std::string& key : documented) {
    if (acceptedSet.count(key) == 0) unknown += " " + key;
  }
  EXPECT_EQ(unknown, "") << "keys docs/configuration.md lists that the loader does not read";
}

constexpr std::string_view kListener = R"toml(
[[listeners]]
name = "public"
listen = "127.0.0.1:0"
)toml";

TEST(ConfigLogFormat, AutoIsTheDefault) {
  const LoadResult result = loadConfigString(kListener, "a.toml");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->log.format, LogFormat::Auto);
  EXPECT_EQ(toString(result.config->log.format), "auto");
}

TEST(ConfigLogFormat, EveryName) {
  const struct {
    const char* name;
    LogFormat format;
  } cases[] = {{"auto", LogFormat::Auto}, {"json", LogFormat::Json}, {"text", LogFormat::Text}};
  for (const auto& c : cases) {
    const std::string text =
        "[log]\nformat = \"" + std::string(c.name) + "\"\n" + std::string(kListener);
    const LoadResult result = loadConfigString(text, "a.toml");
    ASSERT_TRUE(result.ok()) << c.name;
    EXPECT_EQ(result.config->log.format, c.format) << c.name;
    EXPECT_EQ(toString(c.format), c.name);
  }
}

TEST(ConfigLogFormat, UnknownNameListsTheChoices) {
  const LoadResult result =
      loadConfigString("[log]\nformat = \"pretty\"\n" + std::string(kListener), "a.toml");
  ASSERT_EQ(result.errors.size(), 1U);
  EXPECT_EQ(formatError(result.errors[0]),
            "a.toml:2:10: log.format: invalid value \"pretty\"; expected one of \"auto\", "
            "\"json\", \"text\"");
}

} // namespace
} // namespace wsgate::config
