// workers = 0: the text of cpu.max and /proc/self/cgroup, and the choice between the affinity
// mask and the cgroup quota.
#include "common/config/cpu_limit.h"

#include <gtest/gtest.h>

namespace wsgate::config {
namespace {

TEST(CpuMax, NoQuota) {
  for (const char* text : {"max 100000", "max 100000\n", "max 50000"}) {
    const auto parsed = parseCpuMax(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_FALSE(parsed->limited) << text;
    EXPECT_EQ(parsed->cpus(), 0U) << text;
    EXPECT_EQ(parsed->fraction(), 0.0) << text;
  }
}

TEST(CpuMax, QuotaRoundsUp) {
  struct Case {
    const char* text;
    uint32_t cpus;
    double fraction;
  };
  for (const Case& c : {Case{"100000 100000\n", 1, 1.0}, Case{"150000 100000", 2, 1.5},
                        Case{"50000 100000", 1, 0.5}, Case{"1 100000", 1, 0.00001},
                        Case{"200000 100000", 2, 2.0}, Case{"200001 100000", 3, 2.00001},
                        Case{"6400000 100000", 64, 64.0}, Case{"25000 50000", 1, 0.5}}) {
    const auto parsed = parseCpuMax(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_TRUE(parsed->limited) << c.text;
    EXPECT_EQ(parsed->cpus(), c.cpus) << c.text;
    EXPECT_DOUBLE_EQ(parsed->fraction(), c.fraction) << c.text;
  }
  const auto parsed = parseCpuMax("150000 100000\n");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->quota_us, 150000U);
  EXPECT_EQ(parsed->period_us, 100000U);
}

TEST(CpuMax, Malformed) {
  for (const char* text :
       {"", "\n", "max", "100000", "max ", " 100000", "0 100000", "100000 0", "max 0", "-1 100000",
        "1.5 100000", "100000 100000 1", "100000  100000", "abc 100000", "100000 100000\n\n",
        "99999999999999999999999 100000", "MAX 100000"}) {
    EXPECT_FALSE(parseCpuMax(text).has_value()) << '"' << text << '"';
  }
}

TEST(CgroupPath, FindsTheUnifiedLine) {
  EXPECT_EQ(parseCgroupV2Path("0::/\n"), "/");
  EXPECT_EQ(parseCgroupV2Path("0::/kubepods.slice/pod1/cri-abc.scope\n"),
            "/kubepods.slice/pod1/cri-abc.scope");
  // Hybrid: v1 lines first, the unified one anywhere; no trailing newline.
  EXPECT_EQ(parseCgroupV2Path("12:cpu,cpuacct:/x\n1:name=systemd:/y\n0::/user.slice/a b"),
            "/user.slice/a b");
  EXPECT_EQ(parseCgroupV2Path("0::/a/..b/c..\n"), "/a/..b/c..");
}

TEST(CgroupPath, NoUsablePath) {
  EXPECT_EQ(parseCgroupV2Path(""), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("4:memory:/x\n1:cpu:/\n"), std::nullopt); // v1 only
  EXPECT_EQ(parseCgroupV2Path("10::/x\n"), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("0::\n"), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("0::relative\n"), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("0::/../../outside\n"), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("0::/a/../b\n"), std::nullopt);
  EXPECT_EQ(parseCgroupV2Path("0::/a/..\n"), std::nullopt);
}

TEST(CgroupPath, Parents) {
  EXPECT_EQ(parentCgroup("/a/b/c"), "/a/b");
  EXPECT_EQ(parentCgroup("/a/b/"), "/a");
  EXPECT_EQ(parentCgroup("/a"), "/");
  EXPECT_EQ(parentCgroup("/"), std::nullopt);
  EXPECT_EQ(parentCgroup(""), std::nullopt);
}

CpuLimits limits(uint32_t affinity, std::optional<const char*> cpu_max, uint32_t hardware = 64) {
  CpuLimits out;
  out.affinity_cpus = affinity;
  if (cpu_max) out.quota = parseCpuMax(*cpu_max);
  out.hardware_cpus = hardware;
  return out;
}

void expectChoice(const WorkerCount& got, uint32_t workers, WorkersSource source) {
  EXPECT_EQ(got.workers, workers);
  EXPECT_EQ(toString(got.source), toString(source));
}

TEST(ChooseWorkers, ConfiguredWins) {
  expectChoice(chooseWorkers(3, limits(1, "100000 100000")), 3, WorkersSource::Config);
}

TEST(ChooseWorkers, SmallerOfAffinityAndQuota) {
  // A pod limited to one CPU on a 64-core node.
  expectChoice(chooseWorkers(0, limits(64, "100000 100000")), 1, WorkersSource::CgroupCpuMax);
  expectChoice(chooseWorkers(0, limits(64, "150000 100000")), 2, WorkersSource::CgroupCpuMax);
  // taskset -c 0 under a generous quota.
  expectChoice(chooseWorkers(0, limits(1, "400000 100000")), 1, WorkersSource::Affinity);
  expectChoice(chooseWorkers(0, limits(2, "200000 100000")), 2, WorkersSource::Affinity);
  expectChoice(chooseWorkers(0, limits(8, "max 100000")), 8, WorkersSource::Affinity);
  expectChoice(chooseWorkers(0, limits(8, std::nullopt)), 8, WorkersSource::Affinity);
}

TEST(ChooseWorkers, FallsBack) {
  expectChoice(chooseWorkers(0, limits(0, "250000 100000")), 3, WorkersSource::CgroupCpuMax);
  expectChoice(chooseWorkers(0, limits(0, std::nullopt, 12)), 12, WorkersSource::Hardware);
  expectChoice(chooseWorkers(0, limits(0, std::nullopt, 0)), 1, WorkersSource::Hardware);
}

TEST(ChooseWorkers, SourceNames) {
  EXPECT_EQ(toString(WorkersSource::Config), "config");
  EXPECT_EQ(toString(WorkersSource::Affinity), "affinity");
  EXPECT_EQ(toString(WorkersSource::CgroupCpuMax), "cgroup cpu.max");
  EXPECT_EQ(toString(WorkersSource::Hardware), "hardware");
}

} // namespace
} // namespace wsgate::config
