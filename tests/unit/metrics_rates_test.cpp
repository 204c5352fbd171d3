// The status page's last minute: samples of the summed counters in a ring, one a second; the
// counts since the oldest sample within the minute, and per-second message rates.
#include "proxy/metrics/rates.h"
#include "proxy/metrics/stats.h"
#include "proxy/metrics/totals.h"

#include <gtest/gtest.h>

namespace wsgate::proxy::metrics {
namespace {

RateSample sampleAt(uint64_t at_ms, uint64_t messages) {
  RateSample sample;
  sample.at_ms = at_ms;
  sample.messages[0] = messages;
  return sample;
}

TEST(RateSample, SumsHandshakesOverListenersAndClosesOverClosedBy) {
  Totals totals;
  totals.handshakes[key({"public", "101"})] = 3;
  totals.handshakes[key({"secure", "101"})] = 2;
  totals.handshakes[key({"public", "502"})] = 1;
  totals.closes[key({"client", "client", "1000"})] = 4;
  totals.closes[key({"client", "proxy", "1000"})] = 1;
  totals.closes[key({"backend", "backend", "1006"})] = 2;
  totals.messages[0][0x1] = 5; // text
  totals.messages[0][0x2] = 2; // binary
  totals.messages[0][0x9] = 9; // never a message opcode
  totals.messages[1][0x1] = 7;
  const RateSample sample = rateSample(totals, 42);
  EXPECT_EQ(sample.at_ms, 42U);
  EXPECT_EQ(sample.handshakes, (std::map<std::string, uint64_t>{{"101", 5}, {"502", 1}}));
  EXPECT_EQ(sample.closes, (std::map<std::string, uint64_t>{{key({"client", "1000"}), 5},
                                                            {key({"backend", "1006"}), 2}}));
  EXPECT_EQ(sample.messages[0], 7U);
  EXPECT_EQ(sample.messages[1], 7U);
}

TEST(RateWindow, BaselineIsTheOldestSampleWithinTheMinute) {
  RateWindow window;
  EXPECT_TRUE(window.empty());
  window.push(sampleAt(1000, 0));
  EXPECT_FALSE(window.empty());
  EXPECT_EQ(window.baseline(1500).at_ms, 1000U);
  window.push(sampleAt(2000, 10));
  EXPECT_EQ(window.baseline(2500).at_ms, 1000U);
  EXPECT_EQ(window.baseline(61000).at_ms, 1000U); // exactly a minute old still counts
  EXPECT_EQ(window.baseline(61001).at_ms, 2000U);
  // All older than a minute (the loop stalled): the newest.
  EXPECT_EQ(window.baseline(200000).at_ms, 2000U);
}

TEST(RateWindow, TheRingKeepsTheLastMinuteOfSeconds) {
  RateWindow window;
  for (uint64_t s = 0; s < 100; ++s)
    window.push(sampleAt(s * 1000, s * 3));
  // The last kCapacity samples are kept: seconds 39 to 99.
  EXPECT_EQ(window.baseline(99000).at_ms, 39000U);
  const std::vector<uint64_t> rates = window.messagesPerSecond(0);
  ASSERT_EQ(rates.size(), RateWindow::kCapacity - 1);
  for (const uint64_t rate : rates)
    EXPECT_EQ(rate, 3U);
  EXPECT_EQ(window.messagesPerSecond(1), std::vector<uint64_t>(RateWindow::kCapacity - 1, 0));
}

TEST(RateWindow, RatesAreScaledToASecondWhenTheTimerRanLate) {
  RateWindow window;
  window.push(sampleAt(0, 0));
  window.push(sampleAt(2000, 10)); // two seconds between samples
  window.push(sampleAt(2000, 12)); // no time at all
  EXPECT_EQ(window.messagesPerSecond(0), (std::vector<uint64_t>{5, 0}));
}

TEST(Increase, KeepsOnlyTheKeysThatGrew) {
  const std::map<std::string, uint64_t> base{{"101", 2}, {"404", 1}};
  const std::map<std::string, uint64_t> now{{"101", 5}, {"404", 1}, {"502", 3}};
  EXPECT_EQ(increase(now, base), (std::map<std::string, uint64_t>{{"101", 3}, {"502", 3}}));
}

} // namespace
} // namespace wsgate::proxy::metrics
