// readCpuLimits against a fake cgroup v2 tree laid out like the real one of this process.
#include "proxy/server/cpus.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>
#include <unistd.h>

namespace wsgate::proxy {
namespace {

namespace fs = std::filesystem;

std::string ownCgroup() {
  std::ifstream in("/proc/self/cgroup");
  std::ostringstream text;
  text << in.rdbuf();
  return config::parseCgroupV2Path(text.str()).value_or("");
}

class FakeCgroupRoot : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("wsgate-cgroup-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& cgroup, const std::string& cpu_max) {
    const fs::path dir = cgroup == "/" ? root_ : root_ / cgroup.substr(1);
    fs::create_directories(dir);
    std::ofstream(dir / "cpu.max") << cpu_max;
  }

  fs::path root_;
};

TEST_F(FakeCgroupRoot, AffinityAndNoQuota) {
  const config::CpuLimits limits = readCpuLimits(root_.string());
  EXPECT_GE(limits.affinity_cpus, 1U);
  EXPECT_FALSE(limits.quota.has_value());
  EXPECT_GE(limits.hardware_cpus, limits.affinity_cpus);
}

TEST_F(FakeCgroupRoot, TightestQuotaUpTheTree) {
  const std::string self = ownCgroup();
  if (self.empty()) GTEST_SKIP() << "no cgroup v2 line in /proc/self/cgroup";
  write(self, "max 100000\n");
  write("/", "150000 100000\n");
  config::CpuLimits limits = readCpuLimits(root_.string());
  ASSERT_TRUE(limits.quota.has_value());
  EXPECT_DOUBLE_EQ(limits.quota->fraction(), 1.5);
  EXPECT_EQ(limits.quota_cgroup, "/");
  if (self != "/") {
    write(self, "50000 100000\n");
    limits = readCpuLimits(root_.string());
    ASSERT_TRUE(limits.quota.has_value());
    EXPECT_DOUBLE_EQ(limits.quota->fraction(), 0.5);
    EXPECT_EQ(limits.quota_cgroup, self);
  }
}

TEST_F(FakeCgroupRoot, MalformedFileIsIgnored) {
  const std::string self = ownCgroup();
  if (self.empty()) GTEST_SKIP() << "no cgroup v2 line in /proc/self/cgroup";
  write(self, "garbage\n");
  EXPECT_FALSE(readCpuLimits(root_.string()).quota.has_value());
}

} // namespace
} // namespace wsgate::proxy
