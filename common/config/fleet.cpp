// How a pool's fleet is found and followed: `discovery`, `resolve_interval` and the
// [pools.rebalance] table.
#include "common/config/loader.h"

#include <limits>
#include <string>

namespace wsgate::config::detail {
namespace {

constexpr double kMaxTolerance = 100.0;
constexpr int64_t kMaxRate = 10000;

// A number, integer or float, in [0, kMaxTolerance].
void readTolerance(TableReader& in, double& out) {
  const toml::node* node = in.get("tolerance");
  if (node == nullptr) return;
  double value = 0;
  if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    in.error(*node, "tolerance", "expected a number, got " + std::string(describeType(*node)));
    return;
  }
  if (!(value >= 0.0 && value <= kMaxTolerance)) {
    in.error(*node, "tolerance", "must be between 0 and 100 (0.25 = 25% above the fair share)");
    return;
  }
  out = value;
}

void readRebalance(TableReader& pool, Rebalance& out) {
  const toml::table* table = pool.getTable("rebalance");
  if (table == nullptr) return;
  TableReader in(*table, pool.pathOf("rebalance"), pool.errors());
  in.readBool("enabled", out.enabled);
  readTolerance(in, out.tolerance);
  in.readUnsigned("rate", out.rate, 1, kMaxRate);
  int64_t code = 0;
  if (const toml::node* node =
          in.readInteger("close_code", code, std::numeric_limits<int64_t>::min(),
                         std::numeric_limits<int64_t>::max())) {
    if (isSendableCloseCode(code)) {
      out.close_code = static_cast<uint16_t>(code);
    } else {
      in.error(*node, "close_code",
               std::to_string(code) +
                   " is not a close code that may be sent; use 1012 (Service Restart), 1013 "
                   "(Try Again Later), or another of 1000-1003, 1007-1014, 3000-4999");
    }
  }
  in.readDuration("drain_removed", out.drain_removed, DurationRule::ZeroAllowed);
  in.reportUnknownKeys();
}

} // namespace

void readFleet(TableReader& in, Pool& pool) {
  in.readEnum("discovery", pool.discovery,
              {{"static", Discovery::Static}, {"dns", Discovery::Dns}});
  in.readDuration("resolve_interval", pool.resolve_interval, DurationRule::Positive);
  readRebalance(in, pool.rebalance);
}

} // namespace wsgate::config::detail
