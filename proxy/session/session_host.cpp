// What the host asks of a session beyond its life cycle: its creation, and the sessions the
// rebalancer closes (proxy/server/rebalancer.h).
#include "proxy/session/session_host.h"

#include "common/ws/close.h"
#include "proxy/session/session.h"

namespace wsgate::proxy {

HostedSession* createSession(SessionHost& host, std::size_t listener_index,
                             std::shared_ptr<const config::Config> config) {
  return new Session(host, listener_index, std::move(config));
}

bool Session::openOn(std::string_view pool, std::string_view backend) const {
  return state_ == State::Open && lease_ && lease_->pool() == pool && lease_->label() == backend;
}

void Session::shed(uint16_t code) {
  if (state_ != State::Open) return;
  closeBoth(Termination::Rebalance, code, "rebalancing: please reconnect",
            ws::close_code::kGoingAway, "rebalancing");
}

} // namespace wsgate::proxy
