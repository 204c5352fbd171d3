#include "tests/bench/loadgen/connection.h"

#include "common/ws/close.h"
#include "common/ws/handshake.h"

#include <array>
#include <cassert>
#include <openssl/err.h>
#include <string_view>

namespace wsgate::bench {

namespace {

// Buffers per uv_try_write / uv_write call when sending repeated frames.
constexpr unsigned kMaxBufs = 64;

// Mask keys for the control frames we send. RFC 6455 asks for unpredictable keys against
// cache poisoning by intermediaries; a load generator on loopback only needs them to vary.
ws::MaskKey nextMaskKey() {
  static uint64_t state = uv_hrtime() | 1;
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return {static_cast<uint8_t>(state), static_cast<uint8_t>(state >> 8),
          static_cast<uint8_t>(state >> 16), static_cast<uint8_t>(state >> 24)};
}

// `deflate`: RSV1 marks compressed messages, counted at their wire size (not inflated).
ws::ParserOptions serverFrameOptions(bool deflate = false) {
  ws::ParserOptions options;
  options.allowed_rsv = deflate ? 0x4 : 0;
  options.peer = ws::Role::Server;
  // The generator checks sizes, not content: UTF-8 validation would cost the generator CPU
  // that the system under test needs on a shared machine.
  options.validate_utf8 = false;
  return options;
}

} // namespace

const char* toString(Failure failure) {
  switch (failure) {
  case Failure::None:
    return "none";
  case Failure::Connect:
    return "connect";
  case Failure::Handshake:
    return "handshake";
  case Failure::Accept:
    return "accept";
  case Failure::Protocol:
    return "protocol";
  case Failure::Reset:
    return "reset";
  case Failure::Write:
    return "write";
  case Failure::Timeout:
    return "timeout";
  case Failure::Aborted:
    return "aborted";
  case Failure::Tls:
    return "tls";
  }
  return "?";
}

const char* Connection::toString(State state) {
  switch (state) {
  case State::Idle:
    return "idle";
  case State::Connecting:
    return "connecting";
  case State::TlsHandshake:
    return "tls_handshake";
  case State::Upgrading:
    return "upgrading";
  case State::Open:
    return "open";
  case State::CloseSent:
    return "close_sent";
  case State::AwaitingEof:
    return "awaiting_eof";
  case State::Closing:
    return "closing";
  }
  return "?";
}

Connection::Connection(Target& target, ConnectionEvents& events, int index)
    : target_(target), events_(events), index_(index), parser_(serverFrameOptions()) {}

Connection::~Connection() {
  assert(state_ == State::Idle);
}

void Connection::setState(State next) {
  state_ = next;
  state_since_ = uv_now(target_.loop);
}

void Connection::start() {
  assert(state_ == State::Idle);
  failure_ = Failure::None;
  started_at_ = uv_hrtime();
  parser_ = ws::FrameParser(serverFrameOptions(!target_.extensions.empty()));
  message_opcode_ = ws::Opcode::Continuation;
  head_ = std::make_unique<http::ResponseParser>();
  key_ = ws::generateKey();
  request_ = "GET " + target_.path + " HTTP/1.1\r\nHost: " + target_.host_header +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
             "\r\nSec-WebSocket-Version: 13\r\n" + target_.headers;
  if (!target_.extensions.empty()) {
    request_ += "Sec-WebSocket-Extensions: " + target_.extensions + "\r\n";
  }
  if (!target_.header_cycle.empty()) {
    request_ += target_.header_cycle[target_.next_header++ % target_.header_cycle.size()];
  }
  request_ += "\r\n";
  if (target_.tls != nullptr && !setupTls()) {
    failure_ = Failure::Tls;
    events_.onClosed(*this, failure_);
    return;
  }
  if (tcp_.init(uv_tcp_init, target_.loop, this) != 0) {
    freeTls();
    // No handle to close: report the failure the way a closed handle would.
    failure_ = Failure::Connect;
    events_.onClosed(*this, failure_);
    return;
  }
  setState(State::Connecting);
  uv_tcp_nodelay(tcp_.get(), 1);
  connect_req_.data = this;
  if (uv_tcp_connect(&connect_req_, tcp_.get(), reinterpret_cast<const sockaddr*>(&target_.address),
                     &Connection::onConnect) != 0) {
    abort(Failure::Connect);
  }
}

bool Connection::setupTls() {
  ssl_ = SSL_new(target_.tls);
  if (ssl_ == nullptr) return false;
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    rbio_ = wbio_ = nullptr;
    freeTls();
    return false;
  }
  // An empty read BIO means "no data yet", not end of file.
  BIO_set_mem_eof_return(rbio_, -1);
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_connect_state(ssl_);
  if (!target_.tls_server_name.empty()) {
    SSL_set_tlsext_host_name(ssl_, target_.tls_server_name.c_str());
  }
  if (target_.tls_resume && target_.tls_session != nullptr) {
    // A copy per connection: a TLS 1.3 client that receives a new ticket marks the session it
    // resumed unresumable, which would end resumption for every later connection.
    SSL_SESSION* copy = SSL_SESSION_dup(target_.tls_session);
    if (copy != nullptr) {
      SSL_set_session(ssl_, copy);
      SSL_SESSION_free(copy); // the connection holds its own reference
    }
  }
  return true;
}

void Connection::freeTls() {
  if (ssl_ == nullptr) return;
  // The cycle ended with the WebSocket close handshake: mark the TLS connection as shut down, as
  // a close_notify exchange would, or SSL_free flags its session unresumable.
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_); // frees both BIOs
  ssl_ = nullptr;
  rbio_ = wbio_ = nullptr;
  ERR_clear_error();
}

void Connection::abort(Failure failure) {
  if (state_ == State::Idle || state_ == State::Closing) return;
  // SSL_get_error reads the thread's error queue: what this failure left there must not fail
  // the next connection's read before the close callback frees this one's TLS state.
  if (failure == Failure::Tls) ERR_clear_error();
  failure_ = failure;
  setState(State::Closing);
  tcp_.close(&Connection::onHandleClosed, this);
}

void Connection::onHandleClosed(void* owner) {
  auto& self = *static_cast<Connection*>(owner);
  assert(self.writes_in_flight_ == 0); // libuv cancels queued writes before the close callback
  self.head_.reset();
  self.freeTls();
  self.setState(State::Idle);
  self.events_.onClosed(self, self.failure_);
}

void Connection::onConnect(uv_connect_t* req, int status) {
  auto& self = *static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self.state_ != State::Connecting) return;
  if (status < 0) {
    self.abort(Failure::Connect);
    return;
  }
  if (self.ssl_ != nullptr) {
    self.setState(State::TlsHandshake);
    if (uv_read_start(self.tcp_.stream(), &Connection::onAlloc, &Connection::onRead) != 0) {
      self.abort(Failure::Reset);
      return;
    }
    self.tlsHandshake();
    return;
  }
  self.sendRequest();
  if (self.state_ == State::Upgrading &&
      uv_read_start(self.tcp_.stream(), &Connection::onAlloc, &Connection::onRead) != 0) {
    self.abort(Failure::Reset);
  }
}

void Connection::sendRequest() {
  setState(State::Upgrading);
  uv_buf_t buf = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
  write(&buf, 1, nullptr);
}

void Connection::tlsHandshake() {
  const int rc = SSL_do_handshake(ssl_);
  const int error = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl_, rc);
  flushTls();
  if (state_ != State::TlsHandshake) return;
  if (error == SSL_ERROR_WANT_READ) return;
  if (error != SSL_ERROR_NONE) {
    abort(Failure::Tls);
    return;
  }
  ++target_.tls_handshakes;
  if (SSL_session_reused(ssl_) == 1) ++target_.tls_resumed;
  if (target_.tls_negotiated.empty()) {
    target_.tls_negotiated = std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
    if (const char* group = SSL_group_to_name(ssl_, SSL_get_negotiated_group(ssl_))) {
      target_.tls_negotiated += std::string(" ") + group;
    }
  }
  sendRequest();
}

void Connection::readTls() {
  std::vector<uint8_t>& plain = target_.plain_buffer;
  for (;;) {
    std::size_t length = 0;
    const int rc = SSL_read_ex(ssl_, plain.data(), plain.size(), &length);
    if (rc == 1) {
      readBytes({plain.data(), length});
      if (state_ == State::Closing || state_ == State::Idle) return;
      continue;
    }
    const int error = SSL_get_error(ssl_, rc);
    // WANT_READ: the read BIO is empty. ZERO_RETURN: the server's close_notify; its FIN follows.
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_ZERO_RETURN) break;
    abort(Failure::Tls);
    return;
  }
  flushTls(); // reading may have produced records to send (a key update)
}

void Connection::flushTls() {
  std::vector<uint8_t>& out = target_.cipher_buffer;
  while (ssl_ != nullptr && BIO_ctrl_pending(wbio_) > 0 && state_ != State::Closing &&
         state_ != State::Idle) {
    const int n = BIO_read(wbio_, out.data(), static_cast<int>(out.size()));
    if (n <= 0) break;
    uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned>(n));
    writeRaw(&buf, 1, nullptr, true);
  }
}

void Connection::onAlloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto& self = *static_cast<Connection*>(handle->data);
  std::vector<uint8_t>& bytes = self.target_.read_buffer;
  *buf = uv_buf_init(reinterpret_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto& self = *static_cast<Connection*>(stream->data);
  if (nread > 0) {
    if (self.ssl_ != nullptr) {
      // A memory BIO takes everything unless memory runs out.
      if (BIO_write(self.rbio_, buf->base, static_cast<int>(nread)) != static_cast<int>(nread)) {
        self.abort(Failure::Tls);
        return;
      }
      if (self.state_ == State::TlsHandshake) self.tlsHandshake();
      if (self.state_ != State::TlsHandshake && self.state_ != State::Closing &&
          self.state_ != State::Idle) {
        self.readTls();
      }
    } else {
      self.readBytes(
          {reinterpret_cast<const uint8_t*>(buf->base), static_cast<std::size_t>(nread)});
    }
    if (self.state_ == State::Open) self.events_.onReadDone(self);
    return;
  }
  if (nread == 0) return; // EAGAIN: nothing read
  // EOF or an error. Only an EOF after the close frames ends a cycle cleanly.
  self.abort(nread == UV_EOF && self.state_ == State::AwaitingEof ? Failure::None : Failure::Reset);
}

void Connection::readBytes(std::span<const uint8_t> bytes) {
  if (state_ == State::Upgrading) {
    readHead(bytes);
    return;
  }
  readFrames(bytes);
}

void Connection::readHead(std::span<const uint8_t> bytes) {
  const http::ParseResult result = head_->feed(bytes);
  if (result.status == http::ParseStatus::NeedMore) return;
  if (result.status == http::ParseStatus::Error) {
    abort(Failure::Handshake);
    return;
  }
  if (const Failure failure = checkResponse(); failure != Failure::None) {
    abort(failure);
    return;
  }
  head_.reset();
  setState(State::Open);
  events_.onOpen(*this);
  // Frames may follow the head in the same read.
  if (state_ != State::Closing && result.consumed < bytes.size()) {
    readFrames(bytes.subspan(result.consumed));
  }
}

Failure Connection::checkResponse() const {
  const http::Response& response = head_->response();
  if (response.status != 101 || !response.headers.hasToken("Upgrade", "websocket") ||
      !response.headers.hasToken("Connection", "upgrade")) {
    return Failure::Handshake;
  }
  const std::optional<std::string_view> accept = response.headers.get("Sec-WebSocket-Accept");
  if (!accept || *accept != ws::computeAccept(key_)) return Failure::Accept;
  // An offer the path dropped would make the compressed messages protocol errors: say so here.
  const std::optional<std::string> chosen = response.headers.getAll("Sec-WebSocket-Extensions");
  if (!target_.extensions.empty() &&
      (!chosen || chosen->find("permessage-deflate") == std::string::npos)) {
    return Failure::Handshake;
  }
  return Failure::None;
}

void Connection::readFrames(std::span<const uint8_t> bytes) {
  if (state_ != State::Open && state_ != State::CloseSent && state_ != State::AwaitingEof) return;
  const ws::FeedResult result = parser_.feed(bytes, *this);
  if (!result.ok()) abort(Failure::Protocol);
}

void Connection::onFrameHeader(const ws::FrameHeader& header) {
  if (ws::isControl(header.opcode)) return;
  if (header.opcode != ws::Opcode::Continuation) {
    message_opcode_ = header.opcode;
    message_size_ = 0;
    message_seen_ = 0;
  }
  message_size_ += header.payload_length;
}

void Connection::onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) {
  if (ws::isControl(header.opcode) || state_ == State::Closing) return;
  events_.onPayload(*this, wire, message_seen_);
  message_seen_ += wire.size();
}

void Connection::onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control,
                            std::size_t) {
  if (state_ == State::Closing) return;
  switch (header.opcode) {
  case ws::Opcode::Ping: {
    const ws::MaskKey key = nextMaskKey();
    if (state_ == State::Open) sendControl(ws::ControlFrame::make(ws::Opcode::Pong, control, &key));
    return;
  }
  case ws::Opcode::Pong:
    return;
  case ws::Opcode::Close: {
    if (state_ == State::Open) {
      // The server closes first: answer with its code, as RFC 6455 section 5.5.1 asks.
      ws::ClosePayload payload;
      ws::parseClosePayload(control, payload);
      const ws::MaskKey key = nextMaskKey();
      sendControl(ws::ControlFrame::close(payload.code, "", &key));
    }
    if (state_ != State::Closing) setState(State::AwaitingEof);
    return;
  }
  default:
    if (header.fin && state_ == State::Open) {
      events_.onMessage(*this, message_opcode_, message_size_);
    }
    return;
  }
}

void Connection::send(std::span<const uint8_t> frame, unsigned copies) {
  std::array<uv_buf_t, kMaxBufs> bufs;
  while (copies > 0 && state_ == State::Open) {
    const unsigned n = copies < kMaxBufs ? copies : kMaxBufs;
    for (unsigned i = 0; i < n; ++i) {
      bufs[i] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(frame.data())),
                            static_cast<unsigned>(frame.size()));
    }
    write(bufs.data(), n, nullptr);
    copies -= n;
  }
}

void Connection::sendClose() {
  if (state_ != State::Open) return;
  const ws::MaskKey key = nextMaskKey();
  sendControl(ws::ControlFrame::close(ws::close_code::kNormal, "", &key));
  if (state_ == State::Open) setState(State::CloseSent);
}

void Connection::sendControl(const ws::ControlFrame& frame) {
  std::unique_ptr<WriteRequest> request = acquireRequest();
  request->control = frame;
  const std::span<const uint8_t> bytes = request->control.bytes();
  uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())),
                             static_cast<unsigned>(bytes.size()));
  write(&buf, 1, std::move(request));
}

std::unique_ptr<Connection::WriteRequest> Connection::acquireRequest() {
  if (free_requests_.empty()) return std::make_unique<WriteRequest>();
  std::unique_ptr<WriteRequest> request = std::move(free_requests_.back());
  free_requests_.pop_back();
  return request;
}

void Connection::write(uv_buf_t* bufs, unsigned count, std::unique_ptr<WriteRequest> request) {
  if (state_ == State::Closing || state_ == State::Idle) return;
  if (ssl_ == nullptr) {
    writeRaw(bufs, count, std::move(request), false);
    return;
  }
  // One record per buffer; the memory BIO takes everything.
  for (unsigned i = 0; i < count; ++i) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_, bufs[i].base, bufs[i].len, &written) != 1) {
      if (request) free_requests_.push_back(std::move(request));
      abort(Failure::Tls);
      return;
    }
  }
  if (request) free_requests_.push_back(std::move(request));
  flushTls();
}

void Connection::writeRaw(uv_buf_t* bufs, unsigned count, std::unique_ptr<WriteRequest> request,
                          bool copy) {
  // uv_try_write refuses (EAGAIN) while earlier writes are queued, so bytes stay in order.
  int written = uv_try_write(tcp_.stream(), bufs, count);
  if (written == UV_EAGAIN) written = 0;
  if (written < 0) {
    abort(Failure::Write);
    return;
  }
  auto skip = static_cast<std::size_t>(written);
  while (count > 0 && skip >= bufs->len) {
    skip -= bufs->len;
    ++bufs;
    --count;
  }
  if (count == 0) {
    if (request) free_requests_.push_back(std::move(request));
    return;
  }
  bufs->base += skip;
  bufs->len -= skip;
  if (!request) request = acquireRequest();
  if (copy) {
    // Only the single-buffer writes of flushTls() copy.
    assert(count == 1);
    request->bytes.assign(bufs->base, bufs->base + bufs->len);
    *bufs = uv_buf_init(reinterpret_cast<char*>(request->bytes.data()),
                        static_cast<unsigned>(request->bytes.size()));
  }
  request->owner = this;
  // libuv holds the request until onWrite, which takes ownership back from req.data.
  WriteRequest* pending = request.release();
  pending->req.data = pending;
  if (uv_write(&pending->req, tcp_.stream(), bufs, count, &Connection::onWrite) != 0) {
    free_requests_.emplace_back(pending);
    abort(Failure::Write);
    return;
  }
  ++writes_in_flight_;
}

void Connection::onWrite(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  Connection& self = *request->owner;
  --self.writes_in_flight_;
  self.free_requests_.push_back(std::move(request));
  if (status < 0 && status != UV_ECANCELED) self.abort(Failure::Write);
}

} // namespace wsgate::bench
