#include "tests/echo/echo_route.h"

#include "common/http/target.h"

#include <algorithm>
#include <charconv>

namespace wsgate::echo {

namespace {

bool parseUnsigned(std::string_view text, uint64_t& out) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  out = value;
  return true;
}

// The path of an origin-form or absolute-form target, without its query.
std::string_view pathOf(std::string_view target, std::string_view& query) {
  if (const std::size_t scheme = target.find("://"); scheme != std::string_view::npos) {
    const std::size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  const std::size_t mark = target.find('?');
  if (mark == std::string_view::npos) {
    query = {};
    return target;
  }
  query = target.substr(mark + 1);
  return target.substr(0, mark);
}

Mode modeFor(std::string_view path) {
  if (path == "/flood") return Mode::Flood;
  if (path == "/close") return Mode::Close;
  if (path == "/drop") return Mode::Drop;
  if (path == "/headers") return Mode::Headers;
  if (path == "/slow") return Mode::Slow;
  if (path == "/reject") return Mode::Reject;
  if (path == "/badaccept") return Mode::BadAccept;
  if (path == "/ping") return Mode::Ping;
  return Mode::Echo;
}

void applyParameter(Route& route, std::string_view name, const std::string& value) {
  uint64_t number = 0;
  if (name == "reason") {
    route.close_reason = value;
  } else if (!parseUnsigned(value, number)) {
    return;
  } else if (name == "bytes") {
    route.flood_bytes = number;
  } else if (name == "size") {
    route.flood_size = std::clamp<uint64_t>(number, 1, kMaxFloodSize);
  } else if (name == "code") {
    if (number <= 0xFFFF) route.close_code = static_cast<uint16_t>(number);
  } else if (name == "status") {
    if (number >= 200 && number <= 599) route.reject_status = static_cast<int>(number);
  } else if (name == "interval_ms") {
    route.ping_interval_ms = std::max<uint64_t>(number, 1);
  }
}

} // namespace

const char* toString(Mode mode) {
  switch (mode) {
  case Mode::Echo:
    return "echo";
  case Mode::Flood:
    return "flood";
  case Mode::Close:
    return "close";
  case Mode::Drop:
    return "drop";
  case Mode::Headers:
    return "headers";
  case Mode::Slow:
    return "slow";
  case Mode::Reject:
    return "reject";
  case Mode::BadAccept:
    return "badaccept";
  case Mode::Ping:
    return "ping";
  }
  return "unknown";
}

Route parseRoute(std::string_view target) {
  Route route;
  std::string_view query;
  route.mode = modeFor(pathOf(target, query));
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    const std::string name = http::decodeQueryComponent(pair.substr(0, eq));
    const std::string value = eq == std::string_view::npos
                                  ? std::string()
                                  : http::decodeQueryComponent(pair.substr(eq + 1));
    applyParameter(route, name, value);
  }
  return route;
}

} // namespace wsgate::echo
