#include "common/balance/maglev.h"

#include "common/balance/hash.h"

#include <algorithm>
#include <numeric>

namespace wsgate::balance {

std::size_t MaglevTable::tableSize(std::size_t backends) {
  // Maglev moves a few more keys than the minimum when a backend joins or leaves, the more so
  // the fewer slots each backend owns: about 2000 slots per backend keep it within ~12%.
  if (backends <= 32) return 65537;
  if (backends <= 327) return 655373;
  return 6553621;
}

MaglevTable::MaglevTable(const std::vector<Entry>& entries) : backends_(entries.size()) {
  const std::size_t m = tableSize(entries.size());
  constexpr uint32_t kEmpty = UINT32_MAX;
  if (entries.empty()) {
    slots_.assign(1, 0);
    return;
  }
  slots_.assign(m, kEmpty);

  // Placement order is identity order, so the input order cannot matter.
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0U);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return entries[a].identity < entries[b].identity; });

  struct Walk {
    uint64_t offset = 0;
    uint64_t skip = 1;
    uint64_t next = 0;   // the next index into this backend's permutation
    double share = 0;    // weight / the largest weight, in (0, 1]
    uint64_t filled = 0; // slots this backend owns so far
  };
  double max_weight = 0;
  for (const Entry& e : entries)
    max_weight = std::max(max_weight, e.weight);
  std::vector<Walk> walks(entries.size());
  for (const uint32_t i : order) {
    walks[i].offset = hash64(entries[i].identity, 1) % m;
    walks[i].skip = hash64(entries[i].identity, 2) % (m - 1) + 1;
    walks[i].share = max_weight > 0 ? entries[i].weight / max_weight : 1.0;
  }
  // Round r: every backend whose weighted quota r x share exceeds what it owns claims its next
  // preferred free slot. The heaviest backend claims one slot per round, the others in
  // proportion to their weight.
  std::size_t filled = 0;
  for (uint64_t round = 1; filled < m; ++round) {
    for (const uint32_t i : order) {
      Walk& w = walks[i];
      if (static_cast<double>(w.filled) >= static_cast<double>(round) * w.share) continue;
      std::size_t slot = 0;
      do {
        slot = (w.offset + w.next * w.skip) % m;
        ++w.next;
      } while (slots_[slot] != kEmpty);
      slots_[slot] = i;
      ++w.filled;
      if (++filled == m) break;
    }
  }
}

} // namespace wsgate::balance
