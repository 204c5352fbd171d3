#include "tests/bench/loadgen/bench.h"

#include "tests/bench/loadgen/proc_stats.h"

#include <algorithm>
#include <cassert>
#include <csignal>
#include <cstdio>

namespace wsgate::bench {

namespace {

constexpr uint64_t kTickMs = 100;
// A connect plus upgrade taking longer than this fails the connection.
constexpr uint64_t kSetupDeadlineMs = 10000;
// A close handshake (close frame answered, then the server's FIN) taking longer than this
// fails the connection.
constexpr uint64_t kCloseDeadlineMs = 5000;
// After the window, connections have this long to finish their close handshakes.
constexpr double kDrainGraceSeconds = 5;
// Echo and idle wait at most this long for every connection to open.
constexpr double kOpeningLimitSeconds = 120;

// Resumption: keeps a copy of the first session a server ticket arrived for. A copy, because
// SSL_free marks the session of a connection closed without close_notify unresumable.
int onNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* target = static_cast<Target*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (target->tls_resume && target->tls_session == nullptr &&
      SSL_SESSION_is_resumable(session) == 1) {
    target->tls_session = SSL_SESSION_dup(session);
  }
  return 0; // OpenSSL keeps its own reference
}

double seconds(uint64_t from_ns, uint64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

} // namespace

const char* Bench::toString(Phase phase) {
  switch (phase) {
  case Phase::Opening:
    return "opening";
  case Phase::Warmup:
    return "warmup";
  case Phase::Measure:
    return "measure";
  case Phase::Draining:
    return "draining";
  case Phase::Done:
    return "done";
  }
  return "?";
}

Bench::Bench(const Options& options, uv_loop_t* loop) : options_(options), loop_(loop) {
  target_.loop = loop;
  target_.host_header = options.host + ":" + std::to_string(options.port);
  target_.path = options.path;
  target_.headers = options.headers;
  target_.header_cycle = options.header_cycle;
  target_.tls_server_name = options.tls_server_name;
  target_.tls_resume = options.tls_resume;
}

Bench::~Bench() {
  SSL_SESSION_free(target_.tls_session);
  SSL_CTX_free(target_.tls);
  // The loop ran until every handle closed: every connection is idle again.
  for ([[maybe_unused]] const auto& connection : connections_) {
    assert(connection->state() == Connection::State::Idle);
  }
}

int Bench::start() {
  if (const int rc = uv_ip4_addr(options_.host.c_str(), options_.port, &target_.address); rc != 0) {
    return rc;
  }
  if (options_.deflate == Deflate::Takeover) target_.extensions = "permessage-deflate";
  if (options_.deflate == Deflate::NoContext) {
    target_.extensions =
        "permessage-deflate; client_no_context_takeover; server_no_context_takeover";
  }
  if (options_.tls) {
    // A client as a browser would be: TLS 1.2 or 1.3, OpenSSL's default suites and groups,
    // ALPN http/1.1. No verification (the loopback peer is ours); the server's signature in
    // the handshake is still checked by OpenSSL.
    target_.tls = SSL_CTX_new(TLS_client_method());
    if (target_.tls == nullptr) return UV_ENOMEM;
    SSL_CTX_set_min_proto_version(target_.tls, TLS1_2_VERSION);
    if (options_.tls13_only) SSL_CTX_set_min_proto_version(target_.tls, TLS1_3_VERSION);
    if (options_.tls12_only) SSL_CTX_set_max_proto_version(target_.tls, TLS1_2_VERSION);
    SSL_CTX_set_verify(target_.tls, SSL_VERIFY_NONE, nullptr);
    static constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(target_.tls, kAlpn, sizeof kAlpn);
    SSL_CTX_set_app_data(target_.tls, &target_);
    SSL_CTX_set_session_cache_mode(target_.tls,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(target_.tls, &onNewSession);
  }
  for (auto [handle, signum] : {std::pair{&sigint_, SIGINT}, std::pair{&sigterm_, SIGTERM}}) {
    handle->init(uv_signal_init, loop_, this);
    uv_signal_start(handle->get(), &Bench::onSignal, signum);
  }
  phase_timer_.init(uv_timer_init, loop_, this);
  tick_timer_.init(uv_timer_init, loop_, this);
  uv_timer_start(tick_timer_.get(), &Bench::onTick, kTickMs, kTickMs);

  if (!options_.watch_pids.empty()) rss_before_ = processRssKib(options_.watch_pids);
  connections_.reserve(static_cast<std::size_t>(options_.connections));
  in_setup_.assign(static_cast<std::size_t>(options_.connections), 0);
  for (int i = 0; i < options_.connections; ++i) {
    connections_.push_back(std::make_unique<Connection>(target_, *this, i));
  }
  opening_started_ = uv_hrtime();
  if (opensAllFirst()) {
    for (int i = 0; i < options_.connections; ++i)
      pending_.push_back(i);
    armPhaseTimer(kOpeningLimitSeconds);
    startPending();
  } else {
    beginLoad();
  }
  return 0;
}

void Bench::setPhase(Phase next) {
  phase_ = next;
}

void Bench::armPhaseTimer(double secs) {
  uv_timer_start(phase_timer_.get(), &Bench::onPhaseTimer, static_cast<uint64_t>(secs * 1000), 0);
}

void Bench::restart(Connection& connection) {
  const auto index = static_cast<std::size_t>(connection.index());
  in_setup_[index] = 1;
  ++setting_up_;
  ++active_;
  connection.start();
}

void Bench::startPending() {
  while (!pending_.empty() && setting_up_ < options_.connect_concurrency &&
         phase_ != Phase::Draining && phase_ != Phase::Done) {
    const int index = pending_.front();
    pending_.pop_front();
    restart(*connections_[static_cast<std::size_t>(index)]);
  }
}

void Bench::beginLoad() {
  if (opensAllFirst()) all_open_at_ = uv_hrtime();
  if (const double warmup = warmupSeconds(); warmup > 0) {
    setPhase(Phase::Warmup);
    armPhaseTimer(warmup);
  } else {
    beginMeasure();
  }
  onLoadStart();
  if (!opensAllFirst()) {
    // Cycle modes: every connection runs its own loop of cycles.
    for (const auto& connection : connections_)
      restart(*connection);
  }
}

void Bench::beginMeasure() {
  setPhase(Phase::Measure);
  onMeasureStart();
  if (!options_.watch_pids.empty()) cpu_before_ = processCpuSeconds(options_.watch_pids);
  self_cpu_before_ = selfCpuSeconds();
  measure_started_ = uv_hrtime();
  armPhaseTimer(options_.duration_s);
}

void Bench::endMeasure() {
  measure_ended_ = uv_hrtime();
  self_cpu_after_ = selfCpuSeconds();
  if (!options_.watch_pids.empty()) {
    cpu_after_ = processCpuSeconds(options_.watch_pids);
    rss_after_ = processRssKib(options_.watch_pids);
  }
  open_at_measure_end_ = open_;
  onMeasureEnd();
  beginDrain();
}

void Bench::beginDrain() {
  setPhase(Phase::Draining);
  pending_.clear();
  for (const auto& connection : connections_) {
    if (connection->state() == Connection::State::Open) connection->sendClose();
  }
  armPhaseTimer(kDrainGraceSeconds);
  maybeFinish();
}

void Bench::maybeFinish() {
  if (phase_ != Phase::Draining || active_ > 0) return;
  setPhase(Phase::Done);
  phase_timer_.close(nullptr, nullptr);
  tick_timer_.close(nullptr, nullptr);
  sigint_.close(nullptr, nullptr);
  sigterm_.close(nullptr, nullptr);
}

void Bench::onPhaseTimer(uv_timer_t* timer) {
  Bench& self = *static_cast<Bench*>(timer->data);
  switch (self.phase_) {
  case Phase::Opening:
    // Not every connection opened in time: measure with those that did.
    self.pending_.clear();
    for (const auto& connection : self.connections_) {
      const auto state = connection->state();
      if (state == Connection::State::Connecting || state == Connection::State::TlsHandshake ||
          state == Connection::State::Upgrading) {
        connection->abort(Failure::Timeout);
      }
    }
    break;
  case Phase::Warmup:
    self.beginMeasure();
    break;
  case Phase::Measure:
    self.endMeasure();
    break;
  case Phase::Draining:
    for (const auto& connection : self.connections_)
      connection->abort(Failure::Aborted);
    break;
  case Phase::Done:
    break;
  }
}

void Bench::onTick(uv_timer_t* timer) {
  static_cast<Bench*>(timer->data)->checkDeadlines();
}

void Bench::checkDeadlines() {
  const uint64_t now = uv_now(loop_);
  for (const auto& connection : connections_) {
    const uint64_t age = now - connection->stateSince();
    switch (connection->state()) {
    case Connection::State::Connecting:
    case Connection::State::TlsHandshake:
    case Connection::State::Upgrading:
      if (age > kSetupDeadlineMs) connection->abort(Failure::Timeout);
      break;
    case Connection::State::CloseSent:
    case Connection::State::AwaitingEof:
      if (age > kCloseDeadlineMs) connection->abort(Failure::Timeout);
      break;
    default:
      break;
    }
  }
}

void Bench::onSignal(uv_signal_t* handle, int) {
  Bench& self = *static_cast<Bench*>(handle->data);
  self.interrupted_ = true;
  switch (self.phase_) {
  case Phase::Opening:
  case Phase::Warmup:
    self.open_at_measure_end_ = self.open_;
    self.beginDrain();
    break;
  case Phase::Measure:
    self.endMeasure();
    break;
  case Phase::Draining:
    for (const auto& connection : self.connections_)
      connection->abort(Failure::Aborted);
    break;
  case Phase::Done:
    break;
  }
}

void Bench::onOpen(Connection& connection) {
  const auto index = static_cast<std::size_t>(connection.index());
  if (in_setup_[index] != 0) {
    in_setup_[index] = 0;
    --setting_up_;
  }
  ++open_;
  if (phase_ == Phase::Draining || phase_ == Phase::Done) {
    connection.sendClose(); // opened too late to take part
    return;
  }
  connectionOpened(connection);
  startPending();
  if (phase_ == Phase::Opening && pending_.empty() && setting_up_ == 0) beginLoad();
}

void Bench::onMessage(Connection& connection, ws::Opcode opcode, uint64_t size) {
  messageReceived(connection, opcode, size);
}

void Bench::onPayload(Connection& connection, std::span<const uint8_t> bytes, uint64_t offset) {
  payloadReceived(connection, bytes, offset);
}

void Bench::onReadDone(Connection& connection) {
  readDone(connection);
}

void Bench::onClosed(Connection& connection, Failure failure) {
  const auto index = static_cast<std::size_t>(connection.index());
  if (in_setup_[index] != 0) {
    in_setup_[index] = 0;
    --setting_up_;
  } else {
    --open_;
  }
  --active_;
  ++failures_[static_cast<std::size_t>(failure)];
  connectionClosed(connection, failure);
  switch (phase_) {
  case Phase::Opening:
    startPending();
    if (pending_.empty() && setting_up_ == 0) {
      if (open_ > 0) {
        beginLoad();
      } else {
        beginDrain(); // nothing opened: nothing to measure
      }
    }
    break;
  case Phase::Warmup:
  case Phase::Measure:
    // Echo and idle never reopen a connection: once none is left there is nothing to measure.
    if (opensAllFirst() && open_ == 0 && setting_up_ == 0) {
      if (phase_ == Phase::Measure) {
        endMeasure();
      } else {
        beginDrain();
      }
    }
    break;
  case Phase::Draining:
    maybeFinish();
    break;
  case Phase::Done:
    break;
  }
}

double Bench::windowSeconds() const {
  if (measure_started_ == 0) return 0;
  return seconds(measure_started_, measure_ended_ != 0 ? measure_ended_ : uv_hrtime());
}

double Bench::openingSeconds() const {
  return all_open_at_ != 0 ? seconds(opening_started_, all_open_at_) : 0;
}

bool Bench::clean() const {
  uint64_t failed = modeErrors();
  for (std::size_t i = 1; i < failures_.size(); ++i)
    failed += failures_[i];
  return failed == 0 && measure_ended_ != 0 && !interrupted_;
}

std::string Bench::result() const {
  JsonLine out;
  out.add("mode", bench::toString(options_.mode));
  if (!options_.label.empty()) out.add("label", options_.label);
  out.add("target", target_.host_header + options_.path);
  out.add("connections", options_.connections);
  out.add("window_s", windowSeconds(), 3);
  if (target_.tls != nullptr) {
    out.add("tls", target_.tls_negotiated);
    out.add("tls_handshakes", target_.tls_handshakes);
    out.add("tls_resumed", target_.tls_resumed);
  }
  report(out);

  JsonLine kinds;
  uint64_t errors = modeErrors();
  for (std::size_t i = 1; i < failures_.size(); ++i) {
    if (failures_[i] == 0) continue;
    kinds.add(bench::toString(static_cast<Failure>(i)), failures_[i]);
    errors += failures_[i];
  }
  out.add("errors", errors);
  out.addObject("error_kinds", kinds);
  if (!options_.watch_pids.empty()) {
    const double cpu = cpu_before_ >= 0 && cpu_after_ >= 0 ? cpu_after_ - cpu_before_ : -1;
    out.add("proxy_cpu_s", cpu, 2);
    const uint64_t units = unitsMeasured();
    if (units > 0 && cpu >= 0) {
      out.add("proxy_cpu_s_per_million", cpu / static_cast<double>(units) * 1e6, 3);
    }
    out.add("rss_before_kib", static_cast<int64_t>(rss_before_));
    out.add("rss_after_kib", static_cast<int64_t>(rss_after_));
  }
  out.add("client_cpu_s", self_cpu_after_ - self_cpu_before_, 2);
  if (interrupted_) out.add("interrupted", true);
  return out.str();
}

} // namespace wsgate::bench
