// Maglev consistent hashing: shares follow the weights, the table ignores the order backends
// are listed in, and adding or removing one backend moves about its share of the keys.
#include "common/balance/hash.h"
#include "common/balance/maglev.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace wsgate::balance {
namespace {

constexpr int kKeys = 100000;

std::vector<MaglevTable::Entry> backends(int n, int first = 0) {
  std::vector<MaglevTable::Entry> out;
  for (int i = first; i < first + n; ++i)
    out.push_back({"ws://10.0.0." + std::to_string(i) + ":9001", 1});
  return out;
}

// The identity each of kKeys keys maps to.
std::vector<std::string> mapKeys(const std::vector<MaglevTable::Entry>& entries) {
  const MaglevTable table(entries);
  std::vector<std::string> out;
  out.reserve(kKeys);
  for (int k = 0; k < kKeys; ++k)
    out.push_back(entries[*table.lookup(hash64("user-" + std::to_string(k)))].identity);
  return out;
}

double movedFraction(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  int moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    moved += a[i] != b[i] ? 1 : 0;
  return static_cast<double>(moved) / static_cast<double>(a.size());
}

TEST(Maglev, EmptyTableAnswersNothing) {
  const MaglevTable table({});
  EXPECT_FALSE(table.lookup(42).has_value());
}

TEST(Maglev, KeysSpreadEvenly) {
  const auto entries = backends(7);
  const auto mapped = mapKeys(entries);
  for (const auto& e : entries) {
    const auto n = std::count(mapped.begin(), mapped.end(), e.identity);
    EXPECT_NEAR(static_cast<double>(n) / kKeys, 1.0 / 7, 0.01) << e.identity;
  }
}

TEST(Maglev, SlotsFollowWeights) {
  auto entries = backends(4);
  entries[0].weight = 1;
  entries[1].weight = 2;
  entries[2].weight = 3;
  entries[3].weight = 4;
  const MaglevTable table(entries);
  std::vector<int> slots(4, 0);
  for (std::size_t s = 0; s < table.size(); ++s)
    ++slots[table.at(s)];
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(static_cast<double>(slots[i]) / static_cast<double>(table.size()), (i + 1) / 10.0,
                0.002);
  }
  const auto mapped = mapKeys(entries);
  for (int i = 0; i < 4; ++i) {
    const auto n = std::count(mapped.begin(), mapped.end(), entries[i].identity);
    EXPECT_NEAR(static_cast<double>(n) / kKeys, (i + 1) / 10.0, 0.01);
  }
}

TEST(Maglev, OrderOfTheListDoesNotMatter) {
  auto entries = backends(9);
  const auto reference = mapKeys(entries);
  std::mt19937 shuffle(12345);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(entries.begin(), entries.end(), shuffle);
    EXPECT_EQ(mapKeys(entries), reference) << "round " << round;
  }
}

TEST(Maglev, AddingOneOfNMovesAboutOneOverNPlusOne) {
  for (const int n : {2, 4, 10, 30}) {
    const auto before = mapKeys(backends(n));
    const auto grown = backends(n + 1);
    const auto after = mapKeys(grown);
    const double moved = movedFraction(before, after);
    const double ideal = 1.0 / (n + 1);
    EXPECT_LE(moved, ideal * 1.2) << n << " -> " << n + 1;
    // Nearly every key that moved went to the new backend.
    int to_new = 0;
    for (int k = 0; k < kKeys; ++k) {
      if (before[k] != after[k] && after[k] == grown.back().identity) ++to_new;
    }
    EXPECT_GE(to_new, static_cast<int>(ideal * kKeys * 0.97)) << n;
  }
}

TEST(Maglev, RemovingOneMovesAboutItsShare) {
  for (const int n : {3, 5, 11, 31}) {
    const auto full = backends(n);
    const auto before = mapKeys(full);
    auto shrunk = full;
    shrunk.erase(shrunk.begin() + n / 2);
    const auto after = mapKeys(shrunk);
    EXPECT_LE(movedFraction(before, after), 1.2 / n) << n;
    // Every key of the removed backend moved, obviously; count what else moved.
    int others = 0;
    for (int k = 0; k < kKeys; ++k) {
      if (before[k] != after[k] && before[k] != full[n / 2].identity) ++others;
    }
    EXPECT_LE(others, kKeys / n / 5) << n;
  }
}

} // namespace
} // namespace wsgate::balance
