#include "proxy/metrics/connections.h"

#include "common/log/log_line.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace wsgate::proxy::metrics {

namespace {

void appendString(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":\"";
  log::appendJsonEscaped(out, value);
  out += "\",";
}

void appendNumber(std::string& out, std::string_view key, uint64_t value) {
  out += '"';
  out += key;
  out += "\":";
  out += std::to_string(value);
  out += ',';
}

void appendReal(std::string& out, std::string_view key, double value) {
  out += '"';
  out += key;
  out += "\":";
  if (value < 0 || !std::isfinite(value)) {
    out += "null,";
    return;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.3f,", value);
  out += text;
}

void appendConnection(std::string& out, const ConnectionInfo& c) {
  out += '{';
  appendNumber(out, "id", c.id);
  appendNumber(out, "worker", c.worker);
  appendString(out, "io", c.io);
  appendString(out, "listener", c.listener);
  appendString(out, "route", c.route);
  appendString(out, "pool", c.pool);
  appendString(out, "client_addr", c.client_addr);
  appendString(out, "upstream_addr", c.upstream_addr);
  appendString(out, "backend", c.backend);
  appendString(out, "path", c.path);
  appendString(out, "subprotocol", c.subprotocol);
  appendString(out, "state", c.state);
  appendString(out, "client_leg", c.client_leg);
  appendString(out, "backend_leg", c.backend_leg);
  appendReal(out, "age_s", c.age_s);
  appendNumber(out, "bytes_from_client", c.bytes_from_client);
  appendNumber(out, "bytes_to_client", c.bytes_to_client);
  appendNumber(out, "bytes_from_backend", c.bytes_from_backend);
  appendNumber(out, "bytes_to_backend", c.bytes_to_backend);
  appendNumber(out, "messages_from_client", c.messages_from_client);
  appendNumber(out, "messages_to_client", c.messages_to_client);
  appendReal(out, "last_ping_rtt_ms", c.last_ping_rtt_ms);
  out.back() = '}';
}

} // namespace

void ConnectionsRequest::answer(std::vector<ConnectionInfo> connections) {
  std::lock_guard lock(mutex_);
  connections_.insert(connections_.end(), std::make_move_iterator(connections.begin()),
                      std::make_move_iterator(connections.end()));
  ++answered_;
  if (pending_ > 0 && --pending_ == 0) done_.notify_all();
}

std::size_t ConnectionsRequest::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  done_.wait_for(lock, timeout, [this] { return pending_ == 0; });
  return answered_;
}

std::vector<ConnectionInfo> ConnectionsRequest::take() {
  std::vector<ConnectionInfo> out;
  {
    std::lock_guard lock(mutex_);
    out.swap(connections_);
  }
  std::sort(out.begin(), out.end(),
            [](const ConnectionInfo& a, const ConnectionInfo& b) { return a.id < b.id; });
  return out;
}

std::string connectionsJson(const std::vector<ConnectionInfo>& connections, std::size_t limit,
                            std::size_t workers, std::size_t answered) {
  const std::size_t shown = limit == 0 ? connections.size() : std::min(limit, connections.size());
  std::string out = "{\"connections\":[";
  out.reserve(64 + shown * 420);
  for (std::size_t i = 0; i < shown; ++i) {
    if (i != 0) out += ',';
    out += "\n";
    appendConnection(out, connections[i]);
  }
  out += "\n],";
  appendNumber(out, "total", connections.size());
  out += "\"truncated\":";
  out += shown < connections.size() ? "true," : "false,";
  appendNumber(out, "workers", workers);
  appendNumber(out, "workers_answered", answered);
  out.back() = '}';
  out += '\n';
  return out;
}

} // namespace wsgate::proxy::metrics
