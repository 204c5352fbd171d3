#pragma once

#include "common/config/config.h"
#include "proxy/metrics/backend_health.h"
#include "proxy/metrics/rates.h"
#include "proxy/metrics/totals.h"

#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::proxy::metrics {

// What /stats.json is made of; filled by the Server on the main loop.
struct StatusInput {
  const config::Config* config = nullptr;
  Totals totals; // summed workers, known series seeded
  const BackendHealth* health = nullptr;
  const RateWindow* rates = nullptr;           // !empty()
  std::vector<std::string> listener_addresses; // bound address of config listener i
  uint64_t now_ms = 0;                         // the clock of the RateWindow's samples
  double uptime_s = 0;
  std::size_t workers = 0;
  bool draining = false;
  int ready_status = 200;    // what /readyz answers now
  std::string ready_message; // its body, without the final newline
};

// The /stats.json document (README, "Admin endpoints", has its shape): listeners, routes,
// pools with every backend's state, health, and the handshakes, closes and messages of the last
// minute and since the start. Maps of counts list only the keys that are not zero.
std::string statusJson(const StatusInput& input);

} // namespace wsgate::proxy::metrics
