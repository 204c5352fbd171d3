#include "proxy/probe/report.h"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace wsgate::probe {

std::string jsonQuote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

Json& Json::str(std::string_view key, std::string_view value) {
  return raw(key, jsonQuote(value));
}

Json& Json::num(std::string_view key, double value) {
  if (!std::isfinite(value)) return raw(key, "null");
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return raw(key, buf);
}

Json& Json::integer(std::string_view key, int64_t value) {
  return raw(key, std::to_string(value));
}

Json& Json::boolean(std::string_view key, bool value) {
  return raw(key, value ? "true" : "false");
}

Json& Json::raw(std::string_view key, std::string value) {
  fields_.emplace_back(std::string(key), std::move(value));
  return *this;
}

Json& Json::strings(std::string_view key, const std::vector<std::string>& values) {
  std::string list = "[";
  for (std::size_t i = 0; i < values.size(); ++i)
    list += (i != 0 ? "," : "") + jsonQuote(values[i]);
  return raw(key, list + "]");
}

std::string Json::text() const {
  std::string out = "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    out += (i != 0 ? "," : "") + jsonQuote(fields_[i].first) + ":" + fields_[i].second;
  }
  return out + "}";
}

Report::Report(const Options& options, std::ostream& out)
    : out_(out), url_(options.url.text()), json_(options.json), quiet_(options.quiet),
      retries_(options.reconnect > 0) {}

void Report::beginAttempt(int number) {
  attempts_.emplace_back();
  if (verbose()) out_ << (number == 1 ? "" : "\n") << "probe " << url_ << "\n";
}

void Report::step(std::string_view name, bool ok, double ms, const std::string& text,
                  const Json& fields) {
  if (verbose()) {
    char timing[32] = "";
    if (ms >= 0) std::snprintf(timing, sizeof timing, "  (%.1f ms)", ms);
    char label[16];
    std::snprintf(label, sizeof label, "%-9s", std::string(name).c_str());
    out_ << (ok ? "  " : "! ") << label << " " << text << timing << "\n";
    out_.flush(); // a --hold run shows its progress as it goes
  }
  Json step;
  step.str("step", name).boolean("ok", ok);
  if (ms >= 0) step.num("ms", ms);
  step.str("text", text);
  std::string object = step.text();
  const std::string extra = fields.text();
  if (extra.size() > 2) object = object.substr(0, object.size() - 1) + "," + extra.substr(1);
  if (!attempts_.empty()) attempts_.back().steps.push_back(std::move(object));
}

void Report::detail(const std::string& text) {
  if (verbose()) out_ << "            " << text << "\n";
}

void Report::endAttempt(int exit_code, const std::string& diagnosis) {
  if (attempts_.empty()) return;
  attempts_.back().exit_code = exit_code;
  attempts_.back().diagnosis = diagnosis;
  if (verbose() && retries_) {
    out_ << "=> attempt " << attempts_.size() << ": exit " << exit_code << ": " << diagnosis
         << "\n";
  }
}

void Report::wait(int number, int of, double seconds, double cap) {
  waits_.push_back(seconds);
  if (!verbose()) return;
  char line[200];
  std::snprintf(line, sizeof line,
                "reconnect %d/%d in %.3f s (full jitter: random in 0..%.3f s; backoff 1 s, "
                "2 s, 4 s ... capped by --max-backoff)\n",
                number, of, seconds, cap);
  out_ << line;
}

int Report::finish(int exit_code) {
  const Attempt last = attempts_.empty() ? Attempt{} : attempts_.back();
  static const char* const kResults[] = {"healthy", "handshake failed", "usage error",
                                         "connection failed"};
  const char* result = exit_code >= 0 && exit_code <= 3 ? kResults[exit_code] : "failed";
  if (!json_) {
    out_ << (quiet_ ? "" : "\n") << "result: " << result << " (exit " << exit_code
         << "): " << last.diagnosis << "\n";
    return exit_code;
  }
  std::string attempts = "[";
  for (std::size_t i = 0; i < attempts_.size(); ++i) {
    std::string steps = "[";
    for (std::size_t s = 0; s < attempts_[i].steps.size(); ++s)
      steps += (s != 0 ? "," : "") + attempts_[i].steps[s];
    Json a;
    a.integer("attempt", static_cast<int64_t>(i + 1))
        .integer("exit_code", attempts_[i].exit_code)
        .str("diagnosis", attempts_[i].diagnosis)
        .raw("steps", steps + "]");
    attempts += (i != 0 ? "," : "") + a.text();
  }
  std::string waits = "[";
  for (std::size_t i = 0; i < waits_.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%.3f", i != 0 ? "," : "", waits_[i]);
    waits += buf;
  }
  std::string steps = "[";
  for (std::size_t s = 0; s < last.steps.size(); ++s)
    steps += (s != 0 ? "," : "") + last.steps[s];
  Json top;
  top.str("url", url_)
      .integer("exit_code", exit_code)
      .boolean("healthy", exit_code == 0)
      .str("result", result)
      .str("diagnosis", last.diagnosis)
      .raw("steps", steps + "]")
      .raw("attempts", attempts + "]")
      .raw("waits_s", waits + "]");
  out_ << top.text() << "\n";
  return exit_code;
}

} // namespace wsgate::probe
