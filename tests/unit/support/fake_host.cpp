#include "tests/unit/support/fake_host.h"

#include <cstdlib>

namespace wsgate::proxy::test {

FakeHost::FakeHost(std::shared_ptr<const config::Config> config)
    : config_(std::move(config)), wheel_(clock_.nowMs()), shared_(config_), streams_(loop_, pool_) {
  // Only DNS lookups would run on it; the tests' backends are literal addresses.
  if (uv_loop_init(&uv_loop_) != 0) std::abort();
}

FakeHost::~FakeHost() {
  if (session_ != nullptr) {
    // A test that failed half-way: end the session so that nothing leaks.
    session_->abort();
    loop_.run();
  }
  uv_loop_close(&uv_loop_);
}

std::unique_ptr<Stream> FakeHost::clientStream(const config::Config&, std::size_t,
                                               StreamEvents& events) {
  return streams_.make(events, "client");
}

std::unique_ptr<Stream> FakeHost::backendStream(const config::Config&, const config::Pool&,
                                                const config::Backend&, StreamEvents& events,
                                                std::string&) {
  ++backend_streams_;
  return streams_.make(events, "backend");
}

Balancer& FakeHost::balancer(const config::Pool& pool) {
  auto& slot = balancers_[pool.name];
  if (!slot) slot = std::make_unique<Balancer>(shared_.balancers.pool(pool.name), 1);
  return *slot;
}

void FakeHost::sessionEnded(HostedSession& session) {
  if (&session == session_) session_ = nullptr;
  ++ended_;
  delete &session;
}

HostedSession& FakeHost::startSession(bool over_capacity) {
  if (!over_capacity) ++counted_connections_;
  session_ = createSession(*this, 0, config_);
  session_->accept(AcceptedSocket{}, over_capacity);
  return *session_;
}

void FakeHost::advance(uint64_t ms) {
  const uint64_t until = clock_.nowMs() + ms;
  while (clock_.nowMs() < until) {
    const uint64_t step = std::min<uint64_t>(TimerWheel::kTickMs, until - clock_.nowMs());
    clock_.advance(step);
    wheel_.advance(clock_.nowMs());
    loop_.run();
  }
}

std::string FakeHost::leftovers() {
  loop_.run();
  std::string why;
  if (session_ != nullptr) why += "the session is still running; ";
  if (released_connections_ != counted_connections_) {
    why += std::to_string(counted_connections_ - released_connections_) +
           " server.max_connections slots not given back; ";
  }
  why += streams_.whyNotAllClosed();
  for (const config::Pool& pool : config_->pools) {
    for (const auto& backend : shared_.balancers.pool(pool.name)->entries()) {
      if (backend->live() != 0) why += backend->identity() + " still counts a live session; ";
    }
  }
  if (wheel_.size() != 0) why += std::to_string(wheel_.size()) + " timers armed; ";
  if (pool_.inUse() != 0) why += std::to_string(pool_.inUse()) + " blocks held; ";
  if (!loop_.idle()) why += "callbacks queued; ";
  return why;
}

} // namespace wsgate::proxy::test
