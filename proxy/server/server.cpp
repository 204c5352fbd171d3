#include "proxy/server/server.h"

#include "proxy/core/logger.h"
#include "proxy/core/sd_notify.h"
#include "proxy/server/cpus.h"
#include "proxy/transport/address.h"
#include "proxy/transport/stream_factory.h"
#include "proxy/transport/tls_context.h"
#include "proxy/transport/uring_engine.h"

#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace wsgate::proxy {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGQUIT, SIGINT, SIGHUP, SIGUSR1};
constexpr int kBacklog = 1024;

// A listening socket with SO_REUSEPORT, so every worker gets its own and the kernel spreads
// connections between them. Returns the fd or a negative errno.
int openReusePortSocket(const sockaddr* address, socklen_t length) {
  const int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  // Listening starts here, before "ready" is logged: connections made from then on wait in the
  // backlog until the worker's loop accepts them.
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0 ||
      ::bind(fd, address, length) != 0 || ::listen(fd, kBacklog) != 0) {
    const int error = errno;
    ::close(fd);
    return -error;
  }
  return fd;
}

// SO_REUSEPORT lets every socket with the option and the same owner share a port, also the
// sockets of another wsgate process started by mistake on the same address: the two would
// split the traffic without a word. So before the workers' sockets are opened, a probe binds
// the address without SO_REUSEPORT (SO_REUSEADDR only, so TIME_WAIT leftovers do not count):
// the kernel refuses it with EADDRINUSE while any other socket listens there, with or without
// SO_REUSEPORT. Our own sockets do not exist yet, so they cannot be what it finds. For port 0
// the probe's port is the one the workers then bind. The probe is closed before the workers'
// sockets bind; a process that binds the port in between is not detected (a window of a few
// system calls at start-up). Returns 0 or a negative errno; `address` gets the probe's port.
int probeAddress(sockaddr_storage& address, socklen_t length) {
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = 0;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    rc = -errno;
  } else {
    socklen_t actual_length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &actual_length) != 0) rc = -errno;
  }
  ::close(fd);
  return rc;
}

AdminServer::Limits adminLimits(const config::Admin& admin) {
  return {static_cast<uint64_t>(admin.request_timeout.count()), admin.max_connections};
}

} // namespace

Server::Server(std::string config_path, std::shared_ptr<const config::Config> config)
    : config_path_(std::move(config_path)), shared_(std::move(config)) {
  uv_loop_init(&loop_);
}

Server::~Server() {
  if (fd_dir_ != nullptr) ::closedir(fd_dir_);
  workers_.clear();
  uv_loop_close(&loop_);
}

int Server::bindListeners(unsigned workers, std::vector<std::vector<int>>& fds) {
  const auto config = shared_.config();
  fds.assign(workers, {});
  for (const config::Listener& listener : config->listeners) {
    if (const std::string why = listenerSupported(listener); !why.empty()) {
      logText(log::Level::Error, "listen_failed", "listener " + listener.name + ": " + why);
      return 1;
    }
    sockaddr_storage address{};
    if (!literalSockaddr(listener.listen, address)) {
      logText(log::Level::Error, "listen_failed",
              "listener " + listener.name + ": not an IP address: " + listener.listen.host);
      return 1;
    }
    const socklen_t length =
        address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (const int rc = probeAddress(address, length); rc != 0) {
      std::string why = uv_strerror(uv_translate_sys_error(-rc));
      if (rc == -EADDRINUSE) why += " (another process listens there)";
      logText(log::Level::Error, "listen_failed",
              "listener " + listener.name + " on " + config::formatAddress(listener.listen) + ": " +
                  why);
      return 1;
    }
    for (unsigned w = 0; w < workers; ++w) {
      const int fd = openReusePortSocket(reinterpret_cast<sockaddr*>(&address), length);
      if (fd < 0) {
        logText(log::Level::Error, "listen_failed",
                "listener " + listener.name + " on " + config::formatAddress(listener.listen) +
                    ": " + uv_strerror(uv_translate_sys_error(-fd)));
        return 1;
      }
      if (w == 0) {
        // Port 0 was resolved by the probe: every worker binds the port it got.
        listener_addresses_.push_back(formatSockaddr(reinterpret_cast<sockaddr*>(&address)));
        Logger& logger = Logger::instance();
        logger.write(logger.line(log::Level::Info, "listening")
                         .str("listener", listener.name)
                         .str("address", listener_addresses_.back())
                         .finish());
      }
      fds[w].push_back(fd);
    }
  }
  return 0;
}

bool Server::chooseIoEngine(config::IoEngine wanted, std::string& reason) {
  if (wanted == config::IoEngine::Epoll) return false;
  reason = UringEngine::probe();
  return reason.empty();
}

// Gives each worker its ring (io_uring) or leaves it on libuv's epoll loop, and says which.
int Server::startEngines(bool io_uring, config::IoEngine wanted, std::string& reason) {
  Logger& logger = Logger::instance();
  for (auto& worker : workers_) {
    if (io_uring) {
      const std::string error = worker->useUring();
      if (!error.empty() && wanted == config::IoEngine::IoUring) {
        logText(log::Level::Error, "io_uring_unavailable",
                "worker " + std::to_string(worker->index()) + ": " + error);
        return 1;
      }
      if (!error.empty()) reason = error;
    }
    worker->stats().io_uring.set(worker->uring() != nullptr ? 1 : 0);
    log::LogLine line = logger.line(log::Level::Info, "io_engine");
    line.unum("worker", worker->index()).str("io", worker->ioEngine());
    if (worker->uring() != nullptr) line.str("task_running", worker->uring()->taskRunning());
    if (worker->uring() == nullptr) {
      line.str("reason", wanted == config::IoEngine::Epoll ? "server.io = \"epoll\"" : reason);
    }
    logger.write(line.finish());
  }
  return 0;
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  const auto config = shared_.config();
  // Certificates load before anything listens: a bad one stops the start with its reason.
  std::string tls_error;
  auto tls = buildTlsContexts(*config, nullptr, tls_error);
  if (!tls) {
    logText(log::Level::Error, "tls_load_failed", config_path_ + ": " + tls_error);
    return 1;
  }
  std::string auth_error;
  auto auth = policy::buildAuthSet(*config, auth_error);
  if (!auth) {
    logText(log::Level::Error, "auth_load_failed", config_path_ + ": " + auth_error);
    return 1;
  }
  shared_.setAuth(std::move(auth));
  shared_.setConfig(config, std::move(tls));
  std::string io_reason;
  const bool io_uring = chooseIoEngine(config->server.io, io_reason);
  if (config->server.io == config::IoEngine::IoUring && !io_uring) {
    logText(log::Level::Error, "io_uring_unavailable",
            "server.io = \"io_uring\" but this process cannot use io_uring: " + io_reason);
    return 1;
  }
  // workers = 0: one per CPU this process may use (affinity mask, cgroup quota), not the
  // machine's core count, which a container limited to one CPU on a big node would see.
  const config::CpuLimits cpu_limits = readCpuLimits();
  const config::WorkerCount chosen = config::chooseWorkers(config->server.workers, cpu_limits);
  const unsigned workers = chosen.workers;
  std::vector<std::vector<int>> fds;
  if (bindListeners(workers, fds) != 0) {
    for (auto& list : fds) {
      for (const int fd : list)
        ::close(fd);
    }
    return 1;
  }
  admin_ = std::make_unique<AdminServer>(
      &loop_,
      [this](std::string_view path, std::string_view query) { return adminResponse(path, query); },
      adminLimits(config->admin));
  std::string admin_address;
  if (const int rc = admin_->listen(config->admin.listen, admin_address); rc != 0) {
    logText(log::Level::Error, "admin_listen_failed",
            config::formatAddress(config->admin.listen) + ": " + uv_strerror(rc));
    admin_->close();
    uv_run(&loop_, UV_RUN_NOWAIT);
    for (auto& list : fds) {
      for (const int fd : list)
        ::close(fd);
    }
    return 1;
  }
  Logger& logger = Logger::instance();
  logger.write(
      logger.line(log::Level::Info, "admin_listening").str("address", admin_address).finish());

  uv_async_init(&loop_, &worker_done_,
                [](uv_async_t* handle) { static_cast<Server*>(handle->data)->checkWorkers(); });
  worker_done_.data = this;
  uv_timer_init(&loop_, &drain_timer_);
  fd_dir_ = ::opendir("/proc/self/fd");
  uv_timer_init(&loop_, &fd_timer_);
  fd_timer_.data = this;
  uv_timer_start(
      &fd_timer_,
      [](uv_timer_t* handle) { static_cast<Server*>(handle->data)->checkDescriptors(); }, 1000,
      1000);
  drain_timer_.data = this;
  signals_.resize(std::size(kSignals));
  for (std::size_t i = 0; i < std::size(kSignals); ++i) {
    uv_signal_init(&loop_, &signals_[i]);
    signals_[i].data = this;
    uv_signal_start(&signals_[i], &Server::onSignalCb, kSignals[i]);
  }
  for (unsigned w = 0; w < workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(shared_, w, std::move(fds[w]),
                                                [this] { uv_async_send(&worker_done_); }));
  }
  if (startEngines(io_uring, config->server.io, io_reason) != 0) return 1;
  startMonitoring();
  for (auto& worker : workers_)
    worker->start();
  log::LogLine ready = logger.line(log::Level::Info, "ready");
  ready.unum("workers", workers)
      .str("workers_source", config::toString(chosen.source))
      .unum("affinity_cpus", cpu_limits.affinity_cpus)
      .str("io", workers_.front()->ioEngine());
  if (!io_reason.empty()) ready.str("io_reason", io_reason);
  if (cpu_limits.quota) {
    ready.real("cgroup_cpu_quota", cpu_limits.quota->fraction())
        .str("cgroup", cpu_limits.quota_cgroup);
  }
  logger.write(ready.str("config", config_path_).finish());
  // The listeners were bound (and are listening) before the workers started.
  sdNotify("READY=1\nSTATUS=ready, workers=" + std::to_string(workers) +
           "\nMAINPID=" + std::to_string(::getpid()));
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_)
    worker->join();
  logger.write(logger.line(log::Level::Info, "stopped").finish());
  return 0;
}

void Server::onSignalCb(uv_signal_t* handle, int signum) {
  static_cast<Server*>(handle->data)->onSignal(signum);
}

void Server::onSignal(int signum) {
  switch (signum) {
  case SIGTERM:
  case SIGQUIT:
    if (draining_) {
      stopNow();
    } else {
      startDrain();
    }
    return;
  case SIGINT:
    stopNow();
    return;
  case SIGHUP: {
    const auto before = shared_.config();
    sdNotify(sdReloadingState());
    reload();
    const bool reloaded = shared_.config() != before; // reload() swaps the config only on success
    recordReload(reloaded);
    sdNotify(reloaded ? "READY=1\nSTATUS=configuration reloaded"
                      : "READY=1\nSTATUS=reload failed: the running configuration is kept");
    return;
  }
  case SIGUSR1:
    Logger::instance().reopen();
    return;
  default:
    return;
  }
}

void Server::startDrain() {
  sdNotify("STOPPING=1\nSTATUS=draining");
  draining_ = true;
  shared_.draining.store(true);
  const auto timeout = shared_.config()->server.drain_timeout;
  Logger& logger = Logger::instance();
  logger.write(logger.line(log::Level::Info, "draining")
                   .unum("connections", shared_.activeConnections())
                   .real("drain_timeout_s", static_cast<double>(timeout.count()) / 1000.0)
                   .finish());
  for (auto& worker : workers_)
    worker->requestDrain();
  uv_timer_start(
      &drain_timer_,
      [](uv_timer_t* handle) {
        auto* self = static_cast<Server*>(handle->data);
        logText(log::Level::Warn, "drain_timeout", "closing the connections that are left");
        self->stopNow();
      },
      static_cast<uint64_t>(timeout.count()), 0);
  checkWorkers();
}

void Server::stopNow() {
  if (!draining_) sdNotify("STOPPING=1\nSTATUS=stopping");
  stopping_ = true;
  draining_ = true;
  shared_.draining.store(true);
  for (auto& worker : workers_)
    worker->requestStop();
  checkWorkers();
}

void Server::checkWorkers() {
  if (shut_down_) return;
  for (auto& worker : workers_) {
    if (!worker->finished()) return;
  }
  // Every worker is done: close the main loop's handles so run() returns.
  shut_down_ = true;
  admin_->close();
  stopMonitoring();
  uv_close(reinterpret_cast<uv_handle_t*>(&worker_done_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&fd_timer_), nullptr);
  for (uv_signal_t& signal : signals_)
    uv_close(reinterpret_cast<uv_handle_t*>(&signal), nullptr);
}

void Server::checkDescriptors() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  // The directory stays open from start-up: opening it now could fail for want of a descriptor.
  if (fd_dir_ == nullptr) return;
  ::rewinddir(fd_dir_);
  std::size_t open = 0;
  while (const dirent* entry = ::readdir(fd_dir_)) {
    if (entry->d_name[0] != '.') ++open;
  }
  if (open + 4 < limit.rlim_cur) return; // a few spare: libuv keeps one in reserve
  const uint64_t now = uv_now(&loop_);
  if (fd_warned_ms_ != 0 && now - fd_warned_ms_ < 10000) return;
  fd_warned_ms_ = now;
  Logger& logger = Logger::instance();
  logger.write(logger.line(log::Level::Warn, "fd_limit_reached")
                   .unum("open_fds", open)
                   .unum("limit", limit.rlim_cur)
                   .str("message", "new connections are dropped until descriptors free up; "
                                   "raise the limit (ulimit -n / LimitNOFILE)")
                   .finish());
}

namespace {

bool listenersChanged(const config::Config& running, const config::Config& loaded) {
  if (running.listeners.size() != loaded.listeners.size()) return true;
  for (std::size_t i = 0; i < running.listeners.size(); ++i) {
    if (running.listeners[i].name != loaded.listeners[i].name ||
        !(running.listeners[i].listen == loaded.listeners[i].listen)) {
      return true;
    }
  }
  return false;
}

} // namespace

void Server::reload() {
  Logger& logger = Logger::instance();
  config::LoadResult result = config::loadConfigFile(config_path_);
  std::vector<std::string> errors;
  for (const config::ConfigError& error : result.errors) {
    errors.push_back(config::formatError(error));
  }
  if (errors.empty() && listenersChanged(*shared_.config(), *result.config)) {
    errors.emplace_back("listeners differ from the running ones; changing listeners needs a "
                        "restart");
  }
  // New certificates serve new handshakes; established connections keep the contexts they
  // started with. One that does not load rejects the whole reload.
  std::shared_ptr<const TlsContexts> tls;
  if (errors.empty()) {
    std::string tls_error;
    tls = buildTlsContexts(*result.config, shared_.tls().get(), tls_error);
    if (!tls) errors.push_back(config_path_ + ": " + tls_error);
  }
  // Key files are read again: a rotated JWKS takes effect; one that does not load keeps the
  // running configuration and its keys.
  std::shared_ptr<const policy::AuthSet> auth;
  if (errors.empty()) {
    std::string auth_error;
    auth = policy::buildAuthSet(*result.config, auth_error);
    if (!auth) errors.push_back(config_path_ + ": " + auth_error);
  }
  if (!errors.empty()) {
    for (const std::string& error : errors) {
      logger.write(
          logger.line(log::Level::Error, "config_reload_failed").str("error", error).finish());
    }
    logger.write(logger.line(log::Level::Warn, "config_reload_ignored")
                     .str("config", config_path_)
                     .str("message", "keeping the running configuration")
                     .finish());
    return;
  }
  Logger::instance().configure(result.config->log);
  admin_->setLimits(adminLimits(result.config->admin));
  const auto before = shared_.config();
  const auto loaded = withDiscovered(result.config);
  shared_.setAuth(std::move(auth));
  shared_.setConfig(loaded, std::move(tls));
  logger.write(logger.line(log::Level::Info, "config_reloaded")
                   .str("config", config_path_)
                   .unum("routes", result.config->routes.size())
                   .unum("pools", result.config->pools.size())
                   .finish());
  if (rebalancer_) rebalancer_->configChanged(*before, *loaded);
}

} // namespace wsgate::proxy
