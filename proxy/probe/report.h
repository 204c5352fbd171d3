#pragma once

// What the probe prints: one line per step as it happens (text), or one JSON object at the
// end (--json). --quiet keeps only the result line.

#include "proxy/probe/options.h"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::probe {

std::string jsonQuote(std::string_view text);

// The fields of one JSON object, in insertion order.
class Json {
public:
  Json& str(std::string_view key, std::string_view value);
  Json& num(std::string_view key, double value);
  Json& integer(std::string_view key, int64_t value);
  Json& boolean(std::string_view key, bool value);
  Json& raw(std::string_view key, std::string value); // already JSON
  Json& strings(std::string_view key, const std::vector<std::string>& values);
  std::string text() const;

private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

class Report {
public:
  Report(const Options& options, std::ostream& out);

  void beginAttempt(int number);
  // A step and its outcome. `text` is the human line; `fields` go to --json with the step's
  // name, ok and ms.
  void step(std::string_view name, bool ok, double ms, const std::string& text,
            const Json& fields = {});
  // An indented detail under the last step (text output only).
  void detail(const std::string& text);
  // The attempt's verdict: its exit status and the one-sentence diagnosis.
  void endAttempt(int exit_code, const std::string& diagnosis);
  void wait(int number, int of, double seconds, double cap);
  // Prints the result line (text) or the JSON object; returns exit_code.
  int finish(int exit_code);

private:
  struct Attempt {
    int exit_code = 0;
    std::string diagnosis;
    std::vector<std::string> steps; // JSON objects
  };
  bool verbose() const { return !json_ && !quiet_; }

  std::ostream& out_;
  std::string url_;
  bool json_;
  bool quiet_;
  bool retries_; // --reconnect: each attempt gets its own verdict line
  std::vector<Attempt> attempts_;
  std::vector<double> waits_;
};

} // namespace wsgate::probe
