#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::bench {

enum class Mode : uint8_t {
  Echo,      // N connections, closed loop: each keeps `pipeline` messages in flight
  Idle,      // open N connections and hold them; reports the watched processes' RSS growth
  Handshake, // connect, upgrade, close, repeat on N connections at once
  Flood,     // the backend streams /flood messages to N clients; one-way throughput
};
const char* toString(Mode mode);

// Text payloads: plain ASCII (the validators' fast path) or a mix with 2-, 3- and 4-byte
// UTF-8 sequences.
// Json: records of random numbers and words that deflate about 5x (for permessage-deflate).
enum class Content : uint8_t { Ascii, Utf8, Json };

// permessage-deflate: off, or offered with context takeover, or with no_context_takeover both
// ways. Every message is compressed on its own either way (so an echo may reflect it).
enum class Deflate : uint8_t { Off, Takeover, NoContext };

struct Options {
  Mode mode = Mode::Echo;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path;    // empty: "/echo", or "/flood?..." in flood mode
  std::string headers; // extra request header lines ("Name: value\r\n" each), from --header
  std::vector<std::string> header_cycle; // --headers-file: one line per upgrade, in turn
  int connections = 0;                   // 0: the mode's default
  uint64_t size = 64;                    // payload bytes per message
  int pipeline = 1;                      // echo: messages in flight per connection
  bool text = false;
  Content content = Content::Ascii;
  double duration_s = 5; // the measured window (idle: how long connections are held)
  double warmup_s = 1;   // load before the window, not measured
  uint64_t flood_bytes = uint64_t{256} * 1024 * 1024; // per /flood request
  int connect_concurrency = 256;                      // connects and upgrades in progress at once
  Deflate deflate = Deflate::Off;
  bool verify_content = false; // echo: compare every echoed byte, not only sizes
  std::vector<int> watch_pids; // processes whose CPU time and RSS are reported
  std::string label;           // copied into the result line
  bool tls = false;            // wss://
  bool tls_resume = false;     // every connection offers a session ticket from an earlier one
  bool tls12_only = false;
  bool tls13_only = false;
  std::string tls_server_name = "localhost"; // SNI
};

// Parses the command line. Returns -1 to go on, or an exit status (0 after --help, 2 on a
// usage error, with the message printed).
int parseOptions(int argc, char** argv, Options& options);

} // namespace wsgate::bench
