#include "tests/bench/loadgen/options.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string_view>

namespace wsgate::bench {

namespace {

constexpr int kUsageError = 2;

const char* const kUsage =
    "usage: wsgate-bench --mode MODE --port PORT [options]\n"
    "  --mode echo|idle|handshake|flood\n"
    "  --host ADDR            IPv4 address of the proxy or backend (default 127.0.0.1)\n"
    "  --port PORT            its port\n"
    "  --path PATH            request target (default /echo; flood: /flood?bytes=B&size=S)\n"
    "  --header 'NAME: VALUE' an extra upgrade request header (repeatable; e.g. a token)\n"
    "  --headers-file FILE    one header line per line; each upgrade sends the next (cycling)\n"
    "  --connections N        default: echo 100, idle 1000, handshake 20, flood 1\n"
    "  --size BYTES           payload per message, suffix K/KiB or M/MiB allowed (default 64)\n"
    "  --pipeline K           echo: messages in flight per connection (default 1)\n"
    "  --text | --binary      message type (default binary)\n"
    "  --content ascii|utf8|json  text payload: ASCII, with multi-byte sequences, or JSON records\n"
    "                         that deflate about 5x (default ascii)\n"
    "  --deflate off|takeover|no-context  offer permessage-deflate (with context takeover or\n"
    "                         without); echo messages are sent compressed, idle connections\n"
    "                         send one compressed message each first (default off)\n"
    "  --duration SECONDS     measured window; idle: how long to hold (default 5)\n"
    "  --warmup SECONDS       unmeasured load before the window (default 1)\n"
    "  --flood-bytes BYTES    flood: bytes per /flood request (default 256MiB)\n"
    "  --connect-concurrency N  connects in progress at once (default 256)\n"
    "  --verify-content       echo: compare echoed bytes, not only sizes\n"
    "  --watch-pid PID[,PID]  report these processes' CPU time and RSS\n"
    "  --label TEXT           copied into the result line\n"
    "  --tls                  wss: TLS to the server (certificate not verified)\n"
    "  --tls-resume           offer a session ticket from an earlier connection\n"
    "  --tls1.2 | --tls1.3    only this TLS version (default: 1.2 or 1.3)\n"
    "  --sni NAME             server name sent in the TLS handshake (default localhost)\n";

bool parseInt(std::string_view text, long long min, long long max, long long& out) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  out = value;
  return true;
}

bool parseSize(std::string_view text, uint64_t& out) {
  uint64_t scale = 1;
  for (const auto& [suffix, factor] : {std::pair<std::string_view, uint64_t>{"KiB", 1024},
                                       {"MiB", 1024 * 1024},
                                       {"GiB", uint64_t{1} << 30},
                                       {"K", 1024},
                                       {"M", 1024 * 1024},
                                       {"G", uint64_t{1} << 30}}) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      scale = factor;
      break;
    }
  }
  long long value = 0;
  if (!parseInt(text, 0, (1LL << 40), value)) return false;
  out = static_cast<uint64_t>(value) * scale;
  return true;
}

bool parseSeconds(std::string_view text, double& out) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !(value >= 0) || value > 86400) return false;
  out = value;
  return true;
}

bool parsePids(std::string_view text, std::vector<int>& out) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    long long pid = 0;
    if (!parseInt(text.substr(0, comma), 1, 1 << 30, pid)) return false;
    out.push_back(static_cast<int>(pid));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return !out.empty();
}

bool parseMode(std::string_view text, Mode& mode) {
  for (const Mode m : {Mode::Echo, Mode::Idle, Mode::Handshake, Mode::Flood}) {
    if (text == toString(m)) {
      mode = m;
      return true;
    }
  }
  return false;
}

// Applies one option that takes a value. Returns false when the value is invalid.
bool applyValue(std::string_view name, std::string_view value, Options& o) {
  long long n = 0;
  if (name == "--mode") return parseMode(value, o.mode);
  if (name == "--host") {
    o.host = std::string(value);
    return !value.empty();
  }
  if (name == "--path") {
    o.path = std::string(value);
    return value.starts_with('/');
  }
  if (name == "--header") {
    const std::size_t colon = value.find(':');
    if (colon == 0 || colon == std::string_view::npos ||
        value.find_first_of("\r\n") != value.npos) {
      return false;
    }
    o.headers += std::string(value) + "\r\n";
    return true;
  }
  if (name == "--headers-file") {
    std::ifstream in{std::string(value)};
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line.find(':') != std::string::npos)
        o.header_cycle.push_back(line + "\r\n");
    }
    return !o.header_cycle.empty();
  }
  if (name == "--sni") {
    o.tls_server_name = std::string(value);
    return true;
  }
  if (name == "--label") {
    o.label = std::string(value);
    return true;
  }
  if (name == "--size") return parseSize(value, o.size) && o.size <= (uint64_t{1} << 30);
  if (name == "--flood-bytes") return parseSize(value, o.flood_bytes) && o.flood_bytes > 0;
  if (name == "--duration") return parseSeconds(value, o.duration_s);
  if (name == "--warmup") return parseSeconds(value, o.warmup_s);
  if (name == "--watch-pid") return parsePids(value, o.watch_pids);
  if (name == "--content") {
    if (value != "ascii" && value != "utf8" && value != "json") return false;
    o.content = value == "ascii" ? Content::Ascii : value == "utf8" ? Content::Utf8 : Content::Json;
    return true;
  }
  if (name == "--deflate") {
    if (value != "off" && value != "takeover" && value != "no-context") return false;
    o.deflate = value == "off"        ? Deflate::Off
                : value == "takeover" ? Deflate::Takeover
                                      : Deflate::NoContext;
    return true;
  }
  bool ok = false;
  if (name == "--port") {
    ok = parseInt(value, 1, 65535, n);
    o.port = static_cast<int>(n);
  } else if (name == "--connections") {
    ok = parseInt(value, 1, 1000000, n);
    o.connections = static_cast<int>(n);
  } else if (name == "--pipeline") {
    ok = parseInt(value, 1, 4096, n);
    o.pipeline = static_cast<int>(n);
  } else if (name == "--connect-concurrency") {
    ok = parseInt(value, 1, 100000, n);
    o.connect_concurrency = static_cast<int>(n);
  }
  return ok;
}

bool takesValue(std::string_view name) {
  for (const std::string_view known :
       {"--mode", "--host", "--port", "--path", "--connections", "--size", "--pipeline",
        "--content", "--deflate", "--duration", "--warmup", "--flood-bytes",
        "--connect-concurrency", "--watch-pid", "--label", "--sni", "--header", "--headers-file"}) {
    if (name == known) return true;
  }
  return false;
}

int usageError(const char* what, std::string_view arg) {
  std::fprintf(stderr, "wsgate-bench: %s: %.*s\n%s", what, static_cast<int>(arg.size()), arg.data(),
               kUsage);
  return kUsageError;
}

} // namespace

const char* toString(Mode mode) {
  switch (mode) {
  case Mode::Echo:
    return "echo";
  case Mode::Idle:
    return "idle";
  case Mode::Handshake:
    return "handshake";
  case Mode::Flood:
    return "flood";
  }
  return "?";
}

int parseOptions(int argc, char** argv, Options& options) {
  bool have_mode = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--text" || arg == "--binary") {
      options.text = arg == "--text";
      continue;
    }
    if (arg == "--verify-content") {
      options.verify_content = true;
      continue;
    }
    if (arg == "--tls" || arg == "--tls-resume" || arg == "--tls1.2" || arg == "--tls1.3") {
      options.tls = true;
      if (arg == "--tls-resume") options.tls_resume = true;
      if (arg == "--tls1.2") options.tls12_only = true;
      if (arg == "--tls1.3") options.tls13_only = true;
      continue;
    }
    std::string_view value;
    if (const std::size_t eq = arg.find('='); arg.starts_with("--") && eq != arg.npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (takesValue(arg)) {
      if (i + 1 >= argc) return usageError("missing value for", arg);
      value = argv[++i];
    } else {
      return usageError("unknown option", arg);
    }
    if (!takesValue(arg)) return usageError("unknown option", arg);
    if (!applyValue(arg, value, options)) return usageError("invalid value for", arg);
    have_mode = have_mode || arg == "--mode";
  }
  if (!have_mode) return usageError("missing", "--mode");
  if (options.tls12_only && options.tls13_only)
    return usageError("conflicting", "--tls1.2 --tls1.3");
  if (options.port == 0) return usageError("missing", "--port");
  if (options.connections == 0) {
    constexpr int kDefaults[] = {100, 1000, 20, 1}; // indexed by Mode
    options.connections = kDefaults[static_cast<int>(options.mode)];
  }
  if (options.path.empty()) {
    options.path = options.mode == Mode::Flood
                       ? "/flood?bytes=" + std::to_string(options.flood_bytes) +
                             "&size=" + std::to_string(options.size)
                       : "/echo";
  }
  return -1;
}

} // namespace wsgate::bench
