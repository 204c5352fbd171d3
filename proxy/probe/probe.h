#pragma once

// `wsgate probe [options] URL`: a troubleshooting client that walks a WebSocket connection
// step by step and explains what fails (see probeUsage()).

namespace wsgate::probe {

// Runs the probe with the arguments after "probe"; returns the exit status.
int runProbe(int argc, const char* const* argv);

} // namespace wsgate::probe
