#pragma once

#include "tests/bench/loadgen/bench.h"

#include <memory>

namespace wsgate::bench {

// Closed-loop echo: each connection keeps `pipeline` messages in flight; reports messages per
// second, MB/s and the round-trip latency percentiles.
std::unique_ptr<Bench> makeEchoBench(const Options& options, uv_loop_t* loop);
// Opens N connections and holds them for the window; reports the RSS growth of the watched
// processes per open connection.
std::unique_ptr<Bench> makeIdleBench(const Options& options, uv_loop_t* loop);
// Connect, upgrade, close handshake, repeat, on N connections at once; reports upgrades per
// second and the upgrade latency (connect to checked 101).
std::unique_ptr<Bench> makeHandshakeBench(const Options& options, uv_loop_t* loop);
// The backend streams /flood messages to N connections; reports one-way MB/s.
std::unique_ptr<Bench> makeFloodBench(const Options& options, uv_loop_t* loop);

} // namespace wsgate::bench
