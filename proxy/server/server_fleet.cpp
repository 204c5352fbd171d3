// The fleet of each pool as it changes at run time: DNS discovery swaps the resolved backends
// into the running configuration (like a reload), and the rebalancer moves sessions after it.
#include "common/config/clone.h"
#include "proxy/core/logger.h"
#include "proxy/metrics/names.h"
#include "proxy/server/server.h"

namespace wsgate::proxy {

void Server::startFleet() {
  std::vector<Worker*> workers;
  for (auto& worker : workers_)
    workers.push_back(worker.get());
  rebalancer_ = std::make_unique<Rebalancer>(&loop_, shared_, std::move(workers));
  rebalancer_->start();
  discovery_ = std::make_unique<DnsDiscovery>(
      &loop_, shared_, [this](const std::string& pool, std::vector<config::Backend> backends) {
        onDiscovered(pool, std::move(backends));
      });
  discovery_->configure(*shared_.config());
  discovery_->start();
}

void Server::stopFleet() {
  if (discovery_) discovery_->close();
  if (rebalancer_) rebalancer_->close();
}

std::shared_ptr<const config::Config>
Server::withDiscovered(std::shared_ptr<const config::Config> file) {
  if (!discovery_) return file;
  discovery_->configure(*file);
  std::shared_ptr<const config::Config> out = file;
  for (const config::Pool& pool : file->pools) {
    if (pool.discovery != config::Discovery::Dns) continue;
    out = config::withBackends(*out, pool.name, discovery_->backendsOf(pool));
  }
  return out;
}

void Server::onDiscovered(const std::string& pool, std::vector<config::Backend> backends) {
  if (draining_ || stopping_) return;
  const auto before = shared_.config();
  std::string list;
  for (const config::Backend& backend : backends)
    list += (list.empty() ? "" : " ") + metrics::backendLabel(backend);
  auto after = config::withBackends(*before, pool, std::move(backends));
  shared_.setConfig(after, shared_.tls());
  Logger& logger = Logger::instance();
  logger.write(logger.line(log::Level::Info, "discovery_changed")
                   .str("pool", pool)
                   .str("backends", list)
                   .finish());
  if (rebalancer_) rebalancer_->configChanged(*before, *after);
}

} // namespace wsgate::proxy
