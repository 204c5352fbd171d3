#pragma once

// Maglev consistent hashing (Eisenbud et al., NSDI 2016) with weights: a lookup table of prime
// size M in which every backend owns a share of the slots proportional to its weight. A key
// hashes to a slot; the slot's backend is the key's backend.
//
// The table depends only on the set of (identity, weight) pairs, never on the order they are
// given in: backends are placed in identity order and their slot preferences come from
// hash64(identity). Two wsgate processes with the same backends, listed in any order (config
// or DNS), build the same table and send every key to the same backend. Adding one backend to
// N moves about 1/(N+1) of the keys, nearly all of them to the new backend.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace wsgate::balance {

class MaglevTable {
public:
  struct Entry {
    std::string identity; // unique; the same string on every replica ("ws://10.0.0.5:9001")
    double weight = 1;    // > 0
  };

  // `entries` may be empty (every lookup then answers nullopt). Slot values index `entries`.
  explicit MaglevTable(const std::vector<Entry>& entries);

  std::size_t size() const { return slots_.size(); }
  std::size_t backends() const { return backends_; }
  // The slot a key hash lands in.
  std::size_t slotOf(uint64_t key_hash) const { return key_hash % slots_.size(); }
  // The backend (an index into the entries given) owning `slot`.
  uint32_t at(std::size_t slot) const { return slots_[slot % slots_.size()]; }
  std::optional<uint32_t> lookup(uint64_t key_hash) const {
    if (backends_ == 0) return std::nullopt;
    return at(slotOf(key_hash));
  }

  // The table size used for `backends` backends: a prime about 2000 times as large, so each
  // backend owns many slots: shares within 0.1% of the weights, and about 1/(N+1) of the keys
  // move when one backend joins N.
  static std::size_t tableSize(std::size_t backends);

private:
  std::vector<uint32_t> slots_;
  std::size_t backends_ = 0;
};

} // namespace wsgate::balance
