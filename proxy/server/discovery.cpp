#include "proxy/server/discovery.h"

#include "proxy/core/logger.h"

#include <algorithm>
#include <netinet/in.h>

namespace wsgate::proxy {
namespace {

// A round that has not answered by then is given up: the slow names keep what they had.
uint64_t roundDeadlineMs(const config::Pool& pool) {
  return std::max<uint64_t>(static_cast<uint64_t>(pool.resolve_interval.count()), 5000);
}

bool sameBackends(std::vector<config::Backend> a, std::vector<config::Backend> b) {
  const auto order = [](const config::Backend& x, const config::Backend& y) {
    return std::tie(x.address.host, x.address.port, x.tls) <
           std::tie(y.address.host, y.address.port, y.tls);
  };
  std::sort(a.begin(), a.end(), order);
  std::sort(b.begin(), b.end(), order);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](const auto& x, const auto& y) {
           return x.tls == y.tls && x.address == y.address;
         });
}

} // namespace

DnsDiscovery::~DnsDiscovery() = default;

void DnsDiscovery::start() {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  started_ = true;
  uv_timer_start(
      &timer_, [](uv_timer_t* handle) { static_cast<DnsDiscovery*>(handle->data)->tick(); }, 0,
      kTickMs);
}

void DnsDiscovery::close() {
  if (closed_) return;
  closed_ = true;
  pools_.clear(); // detaches every lookup in flight
  if (started_) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

std::vector<config::Backend> DnsDiscovery::backendsOf(const config::Pool& pool) {
  if (pool.discovery != config::Discovery::Dns) return pool.backends;
  PoolState& state = pools_[pool.name];
  state.current = expand(pool, state);
  return state.current;
}

std::vector<config::Backend> DnsDiscovery::expand(const config::Pool& pool,
                                                  const PoolState& state) {
  std::vector<config::Backend> all;
  for (const config::Backend& backend : pool.backends) {
    const auto it = state.known.find(backend.original);
    const std::vector<config::Backend> one =
        it != state.known.end() ? it->second : std::vector<config::Backend>{backend};
    for (const config::Backend& b : one) {
      const bool seen = std::any_of(all.begin(), all.end(), [&](const config::Backend& x) {
        return x.tls == b.tls && x.address == b.address;
      });
      if (!seen) all.push_back(b);
    }
  }
  return all;
}

void DnsDiscovery::configure(const config::Config& file) {
  std::erase_if(pools_, [&](const auto& entry) {
    return std::none_of(file.pools.begin(), file.pools.end(), [&](const config::Pool& p) {
      return p.name == entry.first && p.discovery == config::Discovery::Dns;
    });
  });
  for (const config::Pool& pool : file.pools) {
    if (pool.discovery != config::Discovery::Dns) continue;
    PoolState& state = pools_[pool.name];
    state.source = pool;
    // Names no longer configured are forgotten.
    std::erase_if(state.known, [&](const auto& entry) {
      return std::none_of(pool.backends.begin(), pool.backends.end(),
                          [&](const config::Backend& b) { return b.original == entry.first; });
    });
  }
}

void DnsDiscovery::tick() {
  const uint64_t now = uv_now(loop_);
  for (auto& [name, state] : pools_) {
    if (state.pending > 0 && now >= state.deadline_ms) {
      for (auto& query : state.queries) {
        if (query->answered) continue;
        query->lookup.reset();
        onAnswer(*query, UV_ETIMEDOUT, nullptr);
      }
    }
    if (state.pending == 0 && now >= state.due_ms) startRound(state, now);
  }
}

void DnsDiscovery::startRound(PoolState& state, uint64_t now) {
  const config::Pool& pool = state.source;
  state.due_ms = now + static_cast<uint64_t>(pool.resolve_interval.count());
  state.deadline_ms = now + roundDeadlineMs(pool);
  state.queries.clear();
  for (const config::Backend& backend : pool.backends) {
    auto query = std::make_unique<Query>();
    query->owner = this;
    query->pool = pool.name;
    query->source = backend;
    state.queries.push_back(std::move(query));
  }
  state.pending = state.queries.size();
  // Started after the list is complete: an answer may come before start() returns.
  for (std::size_t i = 0; i < state.queries.size(); ++i) {
    Query& query = *state.queries[i];
    const config::Address& at = query.source.address;
    if (const int rc = query.lookup.start(loop_, at.host, at.port, query); rc != 0) {
      onAnswer(query, rc, nullptr);
    }
  }
}

void DnsDiscovery::onAnswer(Query& query, int status, const addrinfo* result) {
  if (query.answered) return;
  query.answered = true;
  const auto found_state = pools_.find(query.pool);
  if (found_state == pools_.end()) return;
  PoolState& state = found_state->second;
  const std::string& name = query.source.original;
  std::vector<config::Backend> found;
  for (const addrinfo* ai = result; status == 0 && ai != nullptr; ai = ai->ai_next) {
    char ip[INET6_ADDRSTRLEN] = {};
    if (ai->ai_family == AF_INET) {
      uv_ip4_name(reinterpret_cast<const sockaddr_in*>(ai->ai_addr), ip, sizeof ip);
    } else if (ai->ai_family == AF_INET6) {
      uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr), ip, sizeof ip);
    } else {
      continue;
    }
    config::Backend backend = query.source;
    backend.address.host = ip;
    const bool seen = std::any_of(found.begin(), found.end(), [&](const config::Backend& b) {
      return b.address == backend.address;
    });
    if (!seen) found.push_back(std::move(backend));
  }
  if (found.empty()) {
    Logger& logger = Logger::instance();
    logger.write(logger.line(log::Level::Warn, "discovery_failed")
                     .str("pool", query.pool)
                     .str("backend", name)
                     .str("error", status != 0 ? uv_strerror(status) : "no address")
                     .str("message", "keeping the last known addresses")
                     .finish());
  } else {
    state.known[name] = std::move(found);
  }
  if (--state.pending == 0) finishRound(state);
}

void DnsDiscovery::finishRound(PoolState& state) {
  std::vector<config::Backend> all = expand(state.source, state);
  if (sameBackends(all, state.current)) return;
  state.current = all;
  changed_(state.source.name, std::move(all));
}

} // namespace wsgate::proxy
