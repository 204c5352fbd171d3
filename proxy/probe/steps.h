#pragma once

// The steps of one probe attempt. Each reports itself and returns a Verdict: when `done`,
// the attempt ends with that exit status and diagnosis.

#include "common/http/parser.h"
#include "proxy/probe/conn.h"
#include "proxy/probe/options.h"
#include "proxy/probe/report.h"

#include <string>
#include <vector>

namespace wsgate::probe {

struct Verdict {
  bool done = false;
  int exit_code = kExitHealthy;
  std::string diagnosis;
  static Verdict fail(int exit_code, std::string diagnosis) {
    return {true, exit_code, std::move(diagnosis)};
  }
};

double msSince(Clock::time_point start);

// What a successful upgrade leaves for the WebSocket steps.
struct Upgraded {
  std::vector<uint8_t> early; // bytes after the 101's head
  uint8_t allowed_rsv = 0;
  std::string subprotocol;
};

// Sends the upgrade request and reads and checks the answer (upgrade.cpp).
Verdict upgrade(Conn& conn, const Options& options, Report& report, Upgraded& upgraded);

// Messages and pings, --hold, then the close handshake (session.cpp).
Verdict converse(Conn& conn, const Options& options, Report& report, Upgraded& upgraded);

} // namespace wsgate::probe
