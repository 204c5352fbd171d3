#pragma once

#include "proxy/metrics/collector.h"
#include "proxy/metrics/rates.h"
#include "proxy/server/admin.h"
#include "proxy/server/backend_prober.h"
#include "proxy/server/discovery.h"
#include "proxy/server/rebalancer.h"
#include "proxy/server/shared_state.h"
#include "proxy/server/worker.h"

#include <dirent.h>
#include <memory>
#include <string>
#include <uv.h>
#include <vector>

namespace wsgate::proxy {

// The process: binds the listeners (one SO_REUSEPORT socket per listener per worker), runs the
// workers, and on the main loop handles signals, the admin endpoint, drain and reload.
class Server {
public:
  Server(std::string config_path, std::shared_ptr<const config::Config> config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Runs until drained or stopped; returns the process exit code.
  int run();

private:
  int bindListeners(unsigned workers, std::vector<std::vector<int>>& fds);
  // Whether the workers use io_uring (`reason`: why not, when io_uring was possible).
  static bool chooseIoEngine(config::IoEngine wanted, std::string& reason);
  int startEngines(bool io_uring, config::IoEngine wanted, std::string& reason);
  void onSignal(int signum);
  void startDrain();
  void stopNow();
  void reload();
  void checkWorkers();
  // The admin endpoints (server_admin.cpp).
  AdminServer::Response adminResponse(std::string_view path, std::string_view query);
  AdminServer::Response readyResponse() const;
  AdminServer::Response connectionsResponse(std::string_view query);
  AdminServer::Response statsResponse();
  std::vector<metrics::WorkerStats*> workerStats();
  // Once a second: a sample of the counters for the status page's last minute.
  void sampleRates();
  // The balancers' view of every backend, for the metrics (server_admin.cpp).
  std::vector<metrics::BalancerSample> balancerSamples() const;
  void startMonitoring(); // once the workers exist: metrics collector, backend probes
  void stopMonitoring();
  void recordReload(bool ok);
  // DNS discovery and rebalancing (server_fleet.cpp).
  void startFleet();
  void stopFleet();
  // `file` with each DNS pool's backends as last resolved.
  std::shared_ptr<const config::Config> withDiscovered(std::shared_ptr<const config::Config> file);
  void onDiscovered(const std::string& pool, std::vector<config::Backend> backends);
  static void onSignalCb(uv_signal_t* handle, int signum);
  // Once a second: warn when open descriptors near the limit (libuv drops connections it
  // cannot accept without telling, so this is where exhaustion becomes visible).
  void checkDescriptors();

  std::string config_path_;
  SharedState shared_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uv_signal_t> signals_;
  uv_async_t worker_done_{};
  uv_timer_t drain_timer_{};
  uv_timer_t fd_timer_{};
  uint64_t fd_warned_ms_ = 0;
  DIR* fd_dir_ = nullptr; // /proc/self/fd, kept open
  std::unique_ptr<AdminServer> admin_;
  metrics::ServerStats stats_;
  std::unique_ptr<metrics::Collector> collector_;
  std::unique_ptr<BackendProber> prober_;
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<DnsDiscovery> discovery_;
  metrics::RateWindow rates_;
  uv_timer_t rate_timer_{};
  bool monitoring_ = false;                     // rate_timer_ is open
  std::vector<std::string> listener_addresses_; // bound address of config listener i
  uint64_t start_ms_ = 0;                       // uv_hrtime() in ms at startMonitoring()
  bool draining_ = false;
  bool stopping_ = false;
  bool shut_down_ = false;
};

} // namespace wsgate::proxy
