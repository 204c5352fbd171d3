#include "proxy/server/worker.h"

#include "proxy/core/logger.h"

#include <algorithm>
#include <unistd.h>

namespace wsgate::proxy {

Worker::Worker(SharedState& shared, unsigned index, std::vector<int> listen_fds,
               std::function<void()> on_finished)
    : shared_(shared), index_(index), listen_fds_(std::move(listen_fds)),
      on_finished_(std::move(on_finished)) {
  uv_loop_init(&loop_);
  wheel_ = std::make_unique<TimerWheel>(uv_now(&loop_));
  uv_async_init(&loop_, &async_, &Worker::onAsync);
  async_.data = this;
  uv_timer_init(&loop_, &tick_);
  tick_.data = this;
}

Worker::~Worker() {
  join();
  for (const int fd : listen_fds_) {
    if (fd >= 0) ::close(fd);
  }
  wheel_.reset();
  const int rc = uv_loop_close(&loop_);
  if (rc != 0) logText(log::Level::Error, "loop_close_failed", uv_strerror(rc));
}

std::string Worker::useUring() {
  std::string error;
  uring_ = UringEngine::create(&loop_, pool_, error);
  return uring_ ? "" : error;
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::post(int command) {
  commands_.fetch_or(command);
  std::lock_guard lock(async_mutex_);
  if (async_open_) uv_async_send(&async_);
}

bool Worker::requestConnections(const std::shared_ptr<metrics::ConnectionsRequest>& request) {
  std::lock_guard lock(async_mutex_);
  if (!async_open_) return false;
  connection_requests_.push_back(request);
  commands_.fetch_or(kConnections);
  uv_async_send(&async_);
  return true;
}

void Worker::answerConnections() {
  std::vector<std::shared_ptr<metrics::ConnectionsRequest>> requests;
  {
    std::lock_guard lock(async_mutex_);
    requests.swap(connection_requests_);
  }
  for (const auto& request : requests) {
    std::vector<metrics::ConnectionInfo> connections;
    connections.reserve(session_count_);
    for (const HostedSession* session = sessions_; session != nullptr;
         session = session->host_next) {
      metrics::ConnectionInfo info = session->describe();
      info.io = ioEngine();
      if (!request->route().empty() && info.route != request->route()) continue;
      connections.push_back(std::move(info));
    }
    request->answer(std::move(connections));
  }
}

Balancer& Worker::balancer(const config::Pool& pool) {
  auto& slot = balancers_[pool.name];
  if (!slot) {
    const uint64_t seed = balance::hash64(pool.name, (uint64_t{index_} << 32) ^ uv_hrtime());
    slot = std::make_unique<Balancer>(shared_.balancers.pool(pool.name), seed);
  }
  return *slot;
}

StreamContext Worker::streamContext(bool tls) {
  return StreamContext{&loop_, &pool_, uring_.get(), tls ? shared_.tls() : nullptr};
}

std::unique_ptr<Stream> Worker::clientStream(const config::Config& config,
                                             std::size_t listener_index, StreamEvents& events) {
  const config::Listener& listener = config.listeners[listener_index];
  return makeListenerStream(streamContext(static_cast<bool>(listener.tls)), config, listener,
                            events);
}

std::unique_ptr<Stream> Worker::backendStream(const config::Config& config,
                                              const config::Pool& pool,
                                              const config::Backend& backend, StreamEvents& events,
                                              std::string& error) {
  return makeBackendStream(streamContext(backend.tls), config, pool, backend, events, error);
}

void Worker::forEachSessionOn(const BackendRuntime* backend,
                              const std::function<void(HostedSession&)>& action) {
  forEachSession([&](HostedSession& session) {
    if (session.boundBackend() == backend) action(session);
  });
}

void Worker::run() {
  openListeners();
  uv_timer_start(&tick_, &Worker::onTick, TimerWheel::kTickMs, TimerWheel::kTickMs);
  if (uring_) {
    uring_->run(); // the ring is the loop's wait; libuv runs inside it
  } else {
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  finished_.store(true);
  if (on_finished_) on_finished_();
}

void Worker::openListeners() {
  for (std::size_t i = 0; uring_ && i < listen_fds_.size(); ++i) {
    auto listener = std::make_unique<UringListener>(
        *uring_, listen_fds_[i],
        [this, i](int fd) {
          accepted(i, AcceptedSocket{nullptr, fd});
        },
        [this](int status) { acceptFailed(status); });
    listen_fds_[i] = -1; // the listener owns it now
    listener->start();
    uring_listeners_.push_back(std::move(listener));
  }
  for (std::size_t i = 0; !uring_ && i < listen_fds_.size(); ++i) {
    auto socket = std::make_unique<ListenSocket>();
    uv_tcp_init(&loop_, &socket->tcp);
    socket->tcp.data = socket.get();
    socket->worker = this;
    socket->listener_index = i;
    int rc = uv_tcp_open(&socket->tcp, listen_fds_[i]);
    if (rc == 0) {
      listen_fds_[i] = -1; // the handle owns it now
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&socket->tcp), 1024, &Worker::onConnection);
    }
    if (rc != 0) logText(log::Level::Error, "listen_failed", uv_strerror(rc));
    listeners_.push_back(std::move(socket));
  }
}

void Worker::closeListeners() {
  for (auto& listener : uring_listeners_)
    listener->close();
  for (auto& socket : listeners_) {
    auto* handle = reinterpret_cast<uv_handle_t*>(&socket->tcp);
    if (!uv_is_closing(handle)) uv_close(handle, nullptr);
  }
}

void Worker::onConnection(uv_stream_t* server, int status) {
  auto* socket = static_cast<ListenSocket*>(server->data);
  if (status != 0) {
    // EMFILE and friends: libuv has already dropped the pending connections (it keeps a spare
    // descriptor for that), so the loop does not spin.
    socket->worker->acceptFailed(status);
    return;
  }
  socket->worker->accepted(socket->listener_index, AcceptedSocket{server, -1});
}

// Says so at most once a second.
void Worker::acceptFailed(int status) {
  ++accept_errors_;
  const uint64_t now = uv_now(&loop_);
  if (accept_error_logged_ms_ == 0 || now - accept_error_logged_ms_ >= 1000) {
    accept_error_logged_ms_ = now;
    Logger& logger = Logger::instance();
    logger.write(logger.line(log::Level::Warn, "accept_failed")
                     .str("error", uv_strerror(status))
                     .unum("worker", index_)
                     .unum("failures", accept_errors_)
                     .finish());
  }
}

void Worker::accepted(std::size_t listener_index, const AcceptedSocket& from) {
  auto config = shared_.config();
  if (draining_ || stopping_ || listener_index >= config->listeners.size()) {
    if (from.fd >= 0) ::close(from.fd); // libuv leaves a connection not taken pending
    return;
  }
  const bool admitted = shared_.admitConnection(config->server.max_connections);
  HostedSession* session = createSession(*this, listener_index, std::move(config));
  link(session);
  session->accept(from, !admitted);
}

void Worker::sessionEnded(HostedSession& session) {
  unlink(&session);
  delete &session;
  maybeFinish();
}

void Worker::link(HostedSession* session) {
  session->host_prev = nullptr;
  session->host_next = sessions_;
  if (sessions_ != nullptr) sessions_->host_prev = session;
  sessions_ = session;
  ++session_count_;
}

void Worker::unlink(HostedSession* session) {
  if (walk_next_ == session) walk_next_ = session->host_next;
  if (session->host_prev != nullptr) {
    session->host_prev->host_next = session->host_next;
  } else {
    sessions_ = session->host_next;
  }
  if (session->host_next != nullptr) session->host_next->host_prev = session->host_prev;
  session->host_prev = session->host_next = nullptr;
  --session_count_;
}

template <typename Action> void Worker::forEachSession(Action action) {
  // Sessions linked during the walk go to the front and are not visited.
  for (HostedSession* session = sessions_; session != nullptr; session = walk_next_) {
    walk_next_ = session->host_next;
    action(*session);
  }
  walk_next_ = nullptr;
}

void Worker::onAsync(uv_async_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  const int commands = self->commands_.exchange(0);
  if ((commands & kConnections) != 0) self->answerConnections();
  if ((commands & kShed) != 0) self->shedSessions();
  if ((commands & kStop) != 0) {
    self->stop();
  } else if ((commands & kDrain) != 0) {
    self->drain();
  }
}

void Worker::onTick(uv_timer_t* handle) {
  auto* self = static_cast<Worker*>(handle->data);
  self->measureLag();
  self->wheel_->advance(uv_now(&self->loop_));
}

// The tick is due kTickMs after the previous one ran; how much later it runs is the time the
// loop spent on other work (or blocked) beyond that.
void Worker::measureLag() {
  constexpr uint64_t kTickNs = uint64_t{TimerWheel::kTickMs} * 1000000;
  const uint64_t now_ns = uv_hrtime();
  if (last_tick_ns_ != 0 && now_ns > last_tick_ns_ + kTickNs) {
    lag_max_us_ = std::max(lag_max_us_, (now_ns - last_tick_ns_ - kTickNs) / 1000);
  }
  last_tick_ns_ = now_ns;
  if (++lag_ticks_ < kLagWindowTicks) return;
  stats_.loop_lag_us.set(lag_max_us_);
  lag_max_us_ = 0;
  lag_ticks_ = 0;
}

void Worker::drain() {
  if (draining_) return;
  draining_ = true;
  closeListeners();
  forEachSession([](HostedSession& session) { session.drain(); });
  maybeFinish();
}

void Worker::stop() {
  stopping_ = true;
  draining_ = true;
  closeListeners();
  forEachSession([](HostedSession& session) { session.abort(); });
  maybeFinish();
}

void Worker::maybeFinish() {
  if (!draining_ || sessions_ != nullptr || handles_closed_) return;
  handles_closed_ = true;
  closeListeners();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  std::vector<std::shared_ptr<metrics::ConnectionsRequest>> unanswered;
  {
    std::lock_guard lock(async_mutex_);
    async_open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
    unanswered.swap(connection_requests_);
  }
  for (const auto& request : unanswered)
    request->answer({}); // no session is left
  if (uring_) uring_->closeWhenIdle();
}

} // namespace wsgate::proxy
