#pragma once

#include <cstdint>
#include <string_view>

// Hashes that must give the same value in every wsgate process, on every machine and in every
// build: consistent hashing sends a key to the same backend from every replica. std::hash makes
// no such promise, so these are written out.
namespace wsgate::balance {

// FNV-1a over the bytes, then the splitmix64 finaliser so that nearby inputs spread over all
// 64 bits.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

constexpr uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);
  for (const char c : bytes) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

// A small, fast generator for the randomised algorithms (random, p2c, tie breaks): one per
// worker, never shared between threads. Not for anything secret.
class Rng {
public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) {
    const auto r = static_cast<uint64_t>(unit() * static_cast<double>(n));
    return r < n ? r : n - 1;
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  uint64_t state_;
};

} // namespace wsgate::balance
