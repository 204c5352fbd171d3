#pragma once

#include "proxy/server/admin.h"
#include "proxy/server/shared_state.h"
#include "proxy/server/worker.h"

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
  void onSignal(int signum);
  void startDrain();
  void stopNow();
  void reload();
  void checkWorkers();
  AdminServer::Response adminResponse(std::string_view path, std::string_view query);
  static void onSignalCb(uv_signal_t* handle, int signum);

  std::string config_path_;
  SharedState shared_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uv_signal_t> signals_;
  uv_async_t worker_done_{};
  uv_timer_t drain_timer_{};
  std::unique_ptr<AdminServer> admin_;
  bool draining_ = false;
  bool stopping_ = false;
  bool shut_down_ = false;
};

} // namespace wsgate::proxy
