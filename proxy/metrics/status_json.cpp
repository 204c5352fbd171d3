#include "proxy/metrics/status_json.h"

#include "common/log/log_line.h"
#include "proxy/metrics/names.h"

#include <cmath>
#include <cstdio>

namespace wsgate::proxy::metrics {

namespace {

// A small JSON writer: objects and arrays that take care of their commas.
class Json {
public:
  Json& open(char bracket) {
    comma();
    out_ += bracket;
    first_ = true;
    return *this;
  }
  Json& close(char bracket) {
    out_ += bracket;
    first_ = false;
    return *this;
  }
  Json& key(std::string_view name) {
    comma();
    string(name);
    out_ += ':';
    first_ = true; // the value follows without a comma
    return *this;
  }
  Json& str(std::string_view value) {
    comma();
    string(value);
    return *this;
  }
  Json& num(uint64_t value) {
    comma();
    out_ += std::to_string(value);
    return *this;
  }
  Json& real(double value) {
    comma();
    if (!std::isfinite(value)) {
      out_ += "null";
      return *this;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    out_ += text;
    return *this;
  }
  Json& boolean(bool value) {
    comma();
    out_ += value ? "true" : "false";
    return *this;
  }
  std::string take() { return std::move(out_); }

private:
  void comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void string(std::string_view value) {
    out_ += '"';
    log::appendJsonEscaped(out_, value);
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
};

uint64_t valueOr0(const std::map<std::string, uint64_t>& map, const std::string& id) {
  const auto it = map.find(id);
  return it == map.end() ? 0 : it->second;
}

void countsObject(Json& j, const std::map<std::string, uint64_t>& counts) {
  j.open('{');
  for (const auto& [id, count] : counts) {
    if (count != 0) j.key(id).num(count);
  }
  j.close('}');
}

// {"client": {"1000": n, ...}, "backend": {...}} from key({leg, code}) counts.
void closesObject(Json& j, const std::map<std::string, uint64_t>& closes) {
  j.open('{');
  for (const std::string_view leg : kLegs) {
    j.key(leg).open('{');
    for (const auto& [id, count] : closes) {
      const std::vector<std::string_view> labels = splitKey(id);
      if (count != 0 && labels.size() == 2 && labels[0] == leg) j.key(labels[1]).num(count);
    }
    j.close('}');
  }
  j.close('}');
}

void messagesObject(Json& j, const std::array<uint64_t, kDirections>& messages) {
  j.open('{');
  for (std::size_t d = 0; d < kDirections; ++d)
    j.key(kDirectionNames[d]).num(messages[d]);
  j.close('}');
}

void listeners(Json& j, const StatusInput& in) {
  j.key("listeners").open('[');
  for (std::size_t i = 0; i < in.config->listeners.size(); ++i) {
    const config::Listener& listener = in.config->listeners[i];
    j.open('{');
    j.key("name").str(listener.name);
    j.key("address").str(i < in.listener_addresses.size() ? in.listener_addresses[i]
                                                          : config::formatAddress(listener.listen));
    j.key("tls").boolean(listener.tls.has_value());
    j.key("connections_active").num(valueOr0(in.totals.active, listener.name));
    j.key("connections_accepted_total").num(valueOr0(in.totals.accepted, listener.name));
    j.close('}');
  }
  j.close(']');
}

void routes(Json& j, const StatusInput& in) {
  j.key("routes").open('[');
  for (const config::Route& route : in.config->routes) {
    j.open('{');
    j.key("name").str(route.name);
    j.key("listener").str(route.listener);
    j.key("host").str(route.host);
    j.key("path_prefix").str(route.path_prefix);
    j.key("pool").str(route.pool);
    j.key("policy").str(route.policy);
    j.key("sessions_active")
        .num(valueOr0(in.totals.sessions_active, key({route.name, route.pool})));
    j.close('}');
  }
  j.close(']');
}

void pools(Json& j, const StatusInput& in) {
  j.key("pools").open('[');
  for (const config::Pool& pool : in.config->pools) {
    std::size_t up = 0;
    for (const config::Backend& backend : pool.backends) {
      if (in.health->isUp(pool.name, backendLabel(backend))) ++up;
    }
    j.open('{');
    j.key("name").str(pool.name);
    j.key("balance").str(config::toString(pool.balance));
    j.key("backends_up").num(up);
    j.key("backends").open('[');
    for (const config::Backend& backend : pool.backends) {
      const std::string address = backendLabel(backend);
      const std::string id = key({pool.name, address});
      j.open('{');
      j.key("address").str(address);
      j.key("up").boolean(in.health->isUp(pool.name, address));
      j.key("sessions_active").num(valueOr0(in.totals.backend_active, id));
      j.key("connect_failures_total").num(valueOr0(in.totals.connect_failures, id));
      j.close('}');
    }
    j.close(']');
    j.close('}');
  }
  j.close(']');
}

void lastMinute(Json& j, const StatusInput& in, const RateSample& now) {
  const RateSample& base = in.rates->baseline(in.now_ms);
  const double window_s = static_cast<double>(now.at_ms - base.at_ms) / 1000.0;
  std::array<uint64_t, kDirections> messages{};
  for (std::size_t d = 0; d < kDirections; ++d)
    messages[d] = now.messages[d] - base.messages[d];
  j.key("last_minute").open('{');
  j.key("window_s").real(window_s);
  j.key("handshakes");
  countsObject(j, increase(now.handshakes, base.handshakes));
  j.key("closes");
  closesObject(j, increase(now.closes, base.closes));
  j.key("messages");
  messagesObject(j, messages);
  j.key("messages_per_s").open('{');
  for (std::size_t d = 0; d < kDirections; ++d) {
    j.key(kDirectionNames[d])
        .real(window_s > 0 ? static_cast<double>(messages[d]) / window_s : 0.0);
  }
  j.close('}');
  j.key("messages_per_second").open('{');
  for (std::size_t d = 0; d < kDirections; ++d) {
    j.key(kDirectionNames[d]).open('[');
    for (const uint64_t rate : in.rates->messagesPerSecond(d))
      j.num(rate);
    j.close(']');
  }
  j.close('}');
  j.close('}');
}

} // namespace

std::string statusJson(const StatusInput& in) {
  const RateSample now = rateSample(in.totals, in.now_ms);
  uint64_t connections = 0;
  for (const auto& [name, count] : in.totals.active)
    connections += count;
  uint64_t sessions = 0;
  for (const auto& [id, count] : in.totals.sessions_active)
    sessions += count;
  Json j;
  j.open('{');
  j.key("version").str(WSGATE_VERSION);
  j.key("uptime_s").real(in.uptime_s);
  j.key("workers").num(in.workers);
  j.key("health").open('{');
  j.key("ready").boolean(in.ready_status == 200);
  j.key("status").num(static_cast<uint64_t>(in.ready_status));
  j.key("message").str(in.ready_message);
  j.key("draining").boolean(in.draining);
  j.close('}');
  j.key("connections_active").num(connections);
  j.key("sessions_active").num(sessions);
  listeners(j, in);
  routes(j, in);
  pools(j, in);
  lastMinute(j, in, now);
  j.key("totals").open('{');
  j.key("handshakes");
  countsObject(j, now.handshakes);
  j.key("closes");
  closesObject(j, now.closes);
  j.key("messages");
  messagesObject(j, now.messages);
  j.close('}');
  j.close('}');
  std::string out = j.take();
  out += '\n';
  return out;
}

} // namespace wsgate::proxy::metrics
