#include "proxy/probe/options.h"

#include "common/config/values.h"

#include <charconv>
#include <functional>
#include <map>
#include <string_view>

namespace wsgate::probe {

std::string Url::hostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::text() const {
  return std::string(tls ? "wss://" : "ws://") + hostHeader() + path;
}

bool parseUrl(const std::string& text, Url& url, std::string& error) {
  std::string_view rest = text;
  if (rest.starts_with("ws://")) {
    url.tls = false;
    rest.remove_prefix(5);
  } else if (rest.starts_with("wss://")) {
    url.tls = true;
    rest.remove_prefix(6);
  } else {
    error = "the URL must start with ws:// or wss://: \"" + text + "\"";
    return false;
  }
  const std::size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.path.front() == '?') url.path.insert(0, "/");
  if (const std::size_t hash = url.path.find('#'); hash != std::string::npos) {
    url.path.resize(hash);
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "user information in the URL is not supported: use --header 'Authorization: ...'";
    return false;
  }
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address in the URL";
      return false;
    }
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') {
        error = "bad authority in the URL";
        return false;
      }
      port_text = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (url.host.empty()) {
    error = "the URL has no host";
    return false;
  }
  url.port = url.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      error = "bad port in the URL: \"" + std::string(port_text) + "\"";
      return false;
    }
    url.port = static_cast<uint16_t>(value);
  }
  return true;
}

namespace {

// A duration: the configuration's syntax ("500ms", "2s", "1m30s") or plain seconds ("60").
bool parseMillis(const std::string& text, Millis& out, std::string& error) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
      text.size() < 8) {
    out = std::chrono::seconds(std::stol(text));
    return true;
  }
  const auto parsed = config::parseDuration(text);
  if (!parsed) {
    error = parsed.error;
    return false;
  }
  out = *parsed.value;
  return true;
}

bool parseCount(const std::string& text, int& out, std::string& error) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0 || out > 1000000) {
    error = "not a count: \"" + text + "\"";
    return false;
  }
  return true;
}

using Setter = std::function<bool(Options&, const std::string&, std::string&)>;

const std::map<std::string, Setter, std::less<>>& valueOptions() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"--header",
       [](Options& o, const std::string& v, std::string& e) {
         if (v.find(':') == std::string::npos || v.front() == ':') {
           e = "--header needs 'Name: value', got \"" + v + "\"";
           return false;
         }
         o.headers.push_back(v);
         return true;
       }},
      {"--origin",
       [](Options& o, const std::string& v, std::string&) { return !(o.origin = v).empty(); }},
      {"--subprotocol",
       [](Options& o, const std::string& v, std::string&) {
         o.subprotocols.push_back(v);
         return true;
       }},
      {"--cacert",
       [](Options& o, const std::string& v, std::string&) { return !(o.cacert = v).empty(); }},
      {"--sni",
       [](Options& o, const std::string& v, std::string&) { return !(o.sni = v).empty(); }},
      {"--send",
       [](Options& o, const std::string& v, std::string&) {
         o.send = v;
         return true;
       }},
      {"--timeout", [](Options& o, const std::string& v,
                       std::string& e) { return parseMillis(v, o.timeout, e); }},
      {"--interval", [](Options& o, const std::string& v,
                        std::string& e) { return parseMillis(v, o.interval, e); }},
      {"--hold",
       [](Options& o, const std::string& v, std::string& e) { return parseMillis(v, o.hold, e); }},
      {"--max-backoff", [](Options& o, const std::string& v,
                           std::string& e) { return parseMillis(v, o.max_backoff, e); }},
      {"--count",
       [](Options& o, const std::string& v, std::string& e) { return parseCount(v, o.count, e); }},
      {"--reconnect", [](Options& o, const std::string& v,
                         std::string& e) { return parseCount(v, o.reconnect, e); }},
  };
  return table;
}

bool applyFlag(Options& o, std::string_view arg) {
  if (arg == "--insecure" || arg == "-k") return o.insecure = true;
  if (arg == "--json") return o.json = true;
  if (arg == "--quiet" || arg == "-q") return o.quiet = true;
  return false;
}

} // namespace

ParsedArgs parseProbeArgs(int argc, const char* const* argv) {
  ParsedArgs out;
  std::string url;
  const auto fail = [&out](std::string why) {
    if (out.error.empty()) out.error = std::move(why);
  };
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i] != nullptr ? argv[i] : "";
    std::string value;
    bool has_value = false;
    if (const std::size_t eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
    } else if (!has_value && applyFlag(out.options, arg)) {
    } else if (const auto it = valueOptions().find(arg); it != valueOptions().end()) {
      if (!has_value) {
        if (i + 1 >= argc || argv[i + 1] == nullptr) {
          fail("option " + arg + " needs a value");
          continue;
        }
        value = argv[++i];
      }
      std::string why;
      if (!it->second(out.options, value, why)) {
        fail("bad value for " + arg + (why.empty() ? std::string() : ": " + why));
      }
    } else if (arg.starts_with("-") && arg.size() > 1) {
      fail("unknown option " + arg);
    } else if (url.empty()) {
      url = arg;
    } else {
      fail("unexpected argument \"" + arg + "\"");
    }
  }
  if (out.help) return out;
  if (url.empty()) fail("probe needs a ws:// or wss:// URL");
  std::string why;
  if (out.error.empty() && !parseUrl(url, out.options.url, why)) fail(why);
  if (out.options.timeout.count() <= 0) fail("--timeout must be above zero");
  return out;
}

std::string probeUsage() {
  return "usage: wsgate probe [options] URL    (URL: ws://host[:port]/path or wss://...)\n"
         "\n"
         "Connects step by step (resolve, TCP, TLS, upgrade, messages, pings, close) and\n"
         "explains what fails.\n"
         "\n"
         "options:\n"
         "  --header 'K: V'      add a request header (repeatable)\n"
         "  --origin ORIGIN      send Origin: ORIGIN\n"
         "  --subprotocol NAME   offer a subprotocol (repeatable)\n"
         "  --cacert FILE        trust the CA certificates in FILE (default: the system store)\n"
         "  --insecure, -k       do not verify the server's certificate\n"
         "  --sni NAME           the TLS server name (default: the URL's host)\n"
         "  --timeout D          limit for each step (default 10s)\n"
         "  --count N            messages and pings to send after the upgrade (default 3)\n"
         "  --send TEXT          the message to send (default \"wsgate probe\")\n"
         "  --interval D         pause between messages (default 0)\n"
         "  --hold D             stay connected and idle for D, then close (default 0)\n"
         "  --reconnect N        on failure, try again up to N times with exponential backoff\n"
         "                       and full jitter (1 s, 2 s, 4 s ... capped by --max-backoff)\n"
         "  --max-backoff D      the backoff cap (default 30s)\n"
         "  --json               print one JSON object instead of the steps\n"
         "  --quiet, -q          print only the result line\n"
         "\n"
         "durations: 500ms, 2s, 1m30s or plain seconds (60)\n"
         "exit status: 0 healthy, 1 handshake refused or invalid, 2 usage error,\n"
         "             3 could not connect or the connection ended abnormally\n";
}

} // namespace wsgate::probe
