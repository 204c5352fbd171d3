#include "tests/echo/echo_connection.h"

#include "common/http/error_response.h"
#include "common/ws/close.h"
#include "common/ws/frame_writer.h"
#include "common/ws/mask.h"
#include "tests/echo/echo_handshake.h"
#include "tests/echo/echo_server.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace wsgate::echo {

namespace {

constexpr std::size_t kNoOffset = static_cast<std::size_t>(-1);
// How long a closing connection waits for the peer's close frame after ours, and for the
// peer's EOF after our FIN.
constexpr uint64_t kLingerMs = 3000;
// A flood write holds whole frames, about this many bytes (or one bigger frame).
constexpr std::size_t kFloodChunk = std::size_t{256} * 1024;
// While flooding, the backlog is the flood's own: reading stops only far above it.
constexpr std::size_t kFloodReadLimit = 4 * kHighWater;
constexpr std::string_view kPingPayload = "app-ping";

std::span<const uint8_t> asBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// Flood payloads: byte j of every message is j mod 256. The pattern's size is a multiple of
// 256, so copying it piece after piece keeps the sequence.
constexpr std::size_t kPatternSize = std::size_t{64} * 1024;
const std::array<uint8_t, kPatternSize>& floodPattern() {
  static const auto pattern = [] {
    std::array<uint8_t, kPatternSize> bytes{};
    for (std::size_t i = 0; i < bytes.size(); ++i)
      bytes[i] = static_cast<uint8_t>(i);
    return bytes;
  }();
  return pattern;
}

std::size_t frameHeaderSize(uint64_t payload) {
  if (payload < 126) return 2;
  return payload <= 0xFFFF ? 4 : 10;
}

} // namespace

// Bytes handed to uv_write; freed in onWrite, which libuv calls for every accepted request
// (with UV_ECANCELED when the handle closes first).
struct WriteRequest {
  uv_write_t req{};
  Connection* connection = nullptr;
  std::unique_ptr<uint8_t[]> data;
  std::size_t size = 0;
};

const char* Connection::toString(State state) {
  switch (state) {
  case State::ReadingHead:
    return "reading_head";
  case State::Holding:
    return "holding";
  case State::Open:
    return "open";
  case State::CloseSent:
    return "close_sent";
  case State::Closing:
    return "closing";
  case State::Closed:
    return "closed";
  }
  return "unknown";
}

Connection::Connection(Server& server)
    : server_(server), head_(std::make_unique<http::RequestParser>()) {}

Connection::~Connection() = default;

void Connection::accept(uv_stream_t* listener) {
  // Neither init can fail for a TCP handle without flags and a timer.
  uv_tcp_init(server_.loop(), &tcp_);
  tcp_.data = this;
  ++open_handles_;
  uv_timer_init(server_.loop(), &timer_);
  timer_.data = this;
  ++open_handles_;
  shutdown_req_.data = this;
  if (uv_accept(listener, stream()) != 0) {
    close();
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  updateReading();
}

void Connection::close() {
  if (state_ != State::Closed) setState(State::Closed);
}

void Connection::setState(State next) {
  if (state_ == next || state_ == State::Closed) return;
  state_ = next;
  switch (next) {
  case State::ReadingHead:
    break;
  case State::Holding:
  case State::Open:
    head_.reset();
    break;
  case State::CloseSent:
  case State::Closing:
    head_.reset();
    uv_timer_stop(&timer_);
    ping_due_ = false;
    echo_data_ = false;
    break;
  case State::Closed:
    reading_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), onClosed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), onClosed);
    return;
  }
  updateReading();
}

void Connection::updateReading() {
  if (state_ == State::Closed) return;
  bool want = true;
  if (state_ == State::ReadingHead || state_ == State::Open) {
    const std::size_t limit = echo_data_ ? kHighWater : kFloodReadLimit;
    want = pending_bytes_ <= (reading_ ? limit : std::min(limit, kLowWater));
  }
  if (want && !reading_) {
    if (uv_read_start(stream(), onAlloc, onRead) != 0) {
      close();
      return;
    }
    reading_ = true;
  } else if (!want && reading_) {
    uv_read_stop(stream());
    reading_ = false;
  }
}

void Connection::onAlloc(uv_handle_t* handle, std::size_t /*suggested*/, uv_buf_t* buf) {
  *buf = static_cast<Connection*>(handle->data)->server_.readBuffer();
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto& self = *static_cast<Connection*>(stream->data);
  if (nread == 0) return;
  if (nread < 0) {
    // EOF or an error, in any state: nothing more can be exchanged.
    self.close();
    return;
  }
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(buf->base),
                                       static_cast<std::size_t>(nread));
  switch (self.state_) {
  case State::ReadingHead:
    self.readHead(bytes);
    break;
  case State::Open:
  case State::CloseSent:
    self.readFrames(bytes);
    break;
  case State::Holding:
  case State::Closing:
  case State::Closed:
    break; // input dropped
  }
}

void Connection::readHead(std::span<const uint8_t> bytes) {
  const http::ParseResult result = head_->feed(bytes);
  if (result.status == http::ParseStatus::NeedMore) return;
  if (result.status == http::ParseStatus::Error) {
    const http::ParseError& error = head_->error();
    refuse(error.http_status, std::string(error.reason) + "\n");
    return;
  }
  // The parser owns the request; keep it alive past setState(), which drops head_.
  const std::unique_ptr<http::RequestParser> head = std::move(head_);
  upgrade(head->request(), bytes.subspan(result.consumed));
}

void Connection::upgrade(const http::Request& request, std::span<const uint8_t> rest) {
  route_ = parseRoute(request.target);
  if (route_.mode == Mode::Slow) {
    setState(State::Holding);
    return;
  }
  if (route_.mode == Mode::Reject) {
    refuse(route_.reject_status, "rejected by wsgate-echo\n");
    return;
  }
  UpgradeDecision decision = checkUpgrade(request);
  if (decision.status != 101) {
    server_.scratch().append(buildRefusal(decision));
    finish();
    return;
  }
  if (route_.mode == Mode::BadAccept) decision.accept[0] = decision.accept[0] == 'A' ? 'B' : 'A';
  if (server_.accept_deflate) decision.extensions = acceptDeflate(request.headers);
  server_.scratch().append(
      buildSwitchingProtocols(decision.accept, decision.protocol, decision.extensions));
  if (!decision.extensions.empty()) {
    // Compressed messages are echoed as they came; their UTF-8 is not checked (not inflated).
    ws::ParserOptions options = parser_.options();
    options.allowed_rsv = 0x4;
    parser_ = ws::FrameParser(options);
  }
  startMode(request);
  if (state_ != State::Open) return;
  // Frames the client sent right behind its request: echo them after the 101.
  readFrames(rest);
  if (route_.mode == Mode::Flood) pumpFlood();
}

void Connection::startMode(const http::Request& request) {
  ByteBuffer& out = server_.scratch();
  switch (route_.mode) {
  case Mode::Close:
    sendClose(route_.close_code, route_.close_reason);
    return;
  case Mode::Drop:
    drop_ = true;
    finish();
    return;
  case Mode::BadAccept:
    flush();
    setState(State::Holding);
    return;
  case Mode::Headers: {
    const std::string json = headersJson(request.headers);
    out.commit(ws::writeFrameHeader(out.prepare(ws::kMaxFrameHeader), true, ws::Opcode::Text,
                                    json.size()));
    out.append(json);
    break;
  }
  case Mode::Flood:
    echo_data_ = false;
    flood_left_ = route_.flood_bytes;
    break;
  case Mode::Ping:
    uv_timer_start(&timer_, onPingTimer, route_.ping_interval_ms, route_.ping_interval_ms);
    break;
  case Mode::Echo:
  case Mode::Slow:
  case Mode::Reject:
    break;
  }
  setState(State::Open);
}

void Connection::readFrames(std::span<const uint8_t> bytes) {
  out_frame_start_ = kNoOffset;
  const ws::FeedResult result = parser_.feed(bytes, *this);
  if (close_received_) {
    // Our close reply (if we owe one) is in the scratch buffer; what followed is ignored.
    finish();
  } else if (!result.ok()) {
    if (state_ == State::CloseSent) {
      finish(); // our close frame is out already
    } else {
      failProtocol(result.error);
    }
  } else {
    flush();
  }
}

void Connection::failProtocol(ws::ParseError error) {
  if (out_frame_open_) {
    if (out_frame_start_ == kNoOffset) {
      // Part of the echoed frame is on the wire already: no close frame can follow it.
      drop_ = true;
      finish();
      return;
    }
    server_.scratch().truncate(out_frame_start_);
    out_frame_open_ = false;
  }
  appendClose(ws::closeCodeFor(error), ws::reasonFor(error));
  finish();
}

void Connection::onFrameHeader(const ws::FrameHeader& header) {
  if (ws::isControl(header.opcode) || !echo_data_) return;
  ByteBuffer& out = server_.scratch();
  out_frame_start_ = out.size();
  out_frame_open_ = true;
  mask_offset_ = 0;
  uint8_t* start = out.prepare(ws::kMaxFrameHeader);
  out.commit(ws::writeFrameHeader(start, header.fin, header.opcode, header.payload_length));
  start[0] |= static_cast<uint8_t>(header.rsv << 4); // RSV1 of a compressed message stays
}

void Connection::onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) {
  if (!echo_data_) return;
  ByteBuffer& out = server_.scratch();
  mask_offset_ = ws::unmaskCopy(wire, out.prepare(wire.size()), header.mask, mask_offset_);
  out.commit(wire.size());
}

void Connection::onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control_payload,
                            std::size_t /*end*/) {
  switch (header.opcode) {
  case ws::Opcode::Ping:
    if (state_ == State::Open) appendControl(ws::Opcode::Pong, control_payload);
    break;
  case ws::Opcode::Pong:
    ++pongs_received_;
    break;
  case ws::Opcode::Close: {
    ws::ClosePayload close; // the parser validated it
    ws::parseClosePayload(control_payload, close);
    if (state_ == State::Open)
      appendClose(close.code, ""); // "", not {}: the writer copies from data()
    close_received_ = true;
    break;
  }
  case ws::Opcode::Text:
  case ws::Opcode::Binary:
  case ws::Opcode::Continuation:
    if (!echo_data_) break;
    out_frame_open_ = false;
    out_frame_start_ = kNoOffset;
    if (ping_due_) {
      ping_due_ = false;
      appendControl(ws::Opcode::Ping, asBytes(kPingPayload));
    }
    break;
  }
}

void Connection::appendControl(ws::Opcode opcode, std::span<const uint8_t> payload) {
  server_.scratch().append(ws::ControlFrame::make(opcode, payload).bytes());
}

void Connection::appendClose(uint16_t code, std::string_view reason) {
  server_.scratch().append(ws::ControlFrame::close(code, reason).bytes());
}

void Connection::sendClose(uint16_t code, std::string_view reason) {
  appendClose(code, reason);
  flush();
  if (state_ == State::Closed) return;
  setState(State::CloseSent);
  uv_timer_start(&timer_, onLingerTimer, kLingerMs, 0);
}

void Connection::refuse(int status, std::string_view body) {
  server_.scratch().append(http::buildErrorResponse(status, body));
  finish();
}

void Connection::flush() {
  ByteBuffer& out = server_.scratch();
  if (out.empty()) return;
  if (state_ == State::Closed) {
    out.clear();
    return;
  }
  uv_buf_t buf =
      uv_buf_init(reinterpret_cast<char*>(out.data()), static_cast<unsigned int>(out.size()));
  const int written = uv_try_write(stream(), &buf, 1);
  if (written < 0 && written != UV_EAGAIN) {
    out.clear();
    close();
    return;
  }
  const std::size_t sent = written > 0 ? static_cast<std::size_t>(written) : 0;
  if (sent < out.size()) {
    auto request = std::make_unique<WriteRequest>();
    request->size = out.size() - sent;
    request->data = std::make_unique_for_overwrite<uint8_t[]>(request->size);
    std::memcpy(request->data.get(), out.data() + sent, request->size);
    out.clear();
    queue(std::move(request));
    return;
  }
  out.clear();
}

void Connection::queue(std::unique_ptr<WriteRequest> request) {
  request->connection = this;
  request->req.data = request.get();
  uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(request->data.get()),
                             static_cast<unsigned int>(request->size));
  if (uv_write(&request->req, stream(), &buf, 1, onWrite) != 0) {
    close();
    return;
  }
  pending_bytes_ += request->size;
  static_cast<void>(request.release()); // onWrite owns it now
  updateReading();
}

void Connection::onWrite(uv_write_t* req, int status) {
  std::unique_ptr<WriteRequest> request(static_cast<WriteRequest*>(req->data));
  Connection& self = *request->connection;
  self.pending_bytes_ -= request->size;
  request.reset();
  if (self.state_ == State::Closed) return;
  if (status < 0) {
    self.close();
    return;
  }
  if (self.state_ == State::Open && self.route_.mode == Mode::Flood) self.pumpFlood();
  self.updateReading();
}

void Connection::pumpFlood() {
  const auto& pattern = floodPattern();
  const uint64_t size = route_.flood_size;
  while (state_ == State::Open && flood_left_ > 0 && pending_bytes_ < kHighWater) {
    auto request = std::make_unique<WriteRequest>();
    const std::size_t capacity = std::max<std::size_t>(kFloodChunk, size + ws::kMaxFrameHeader);
    request->data = std::make_unique_for_overwrite<uint8_t[]>(capacity);
    uint8_t* out = request->data.get();
    std::size_t used = 0;
    while (flood_left_ > 0) {
      const uint64_t payload = std::min(size, flood_left_);
      if (used != 0 && used + frameHeaderSize(payload) + payload > capacity) break;
      used += ws::writeFrameHeader(out + used, true, ws::Opcode::Binary, payload);
      for (uint64_t done = 0; done < payload;) {
        const std::size_t piece = std::min<uint64_t>(payload - done, pattern.size());
        std::memcpy(out + used, pattern.data(), piece);
        used += piece;
        done += piece;
      }
      flood_left_ -= payload;
    }
    request->size = used;
    queue(std::move(request));
  }
  if (state_ == State::Open && flood_left_ == 0) sendClose(ws::close_code::kNormal, "flood done");
}

void Connection::finish() {
  flush();
  if (state_ == State::Closed) return;
  setState(State::Closing);
  if (uv_shutdown(&shutdown_req_, stream(), onShutdown) != 0) close();
}

void Connection::onShutdown(uv_shutdown_t* req, int status) {
  Connection& self = *static_cast<Connection*>(req->data);
  if (self.state_ == State::Closed) return;
  if (status < 0 || self.drop_) {
    self.close();
    return;
  }
  uv_timer_start(&self.timer_, onLingerTimer, kLingerMs, 0);
}

void Connection::onPingTimer(uv_timer_t* timer) {
  Connection& self = *static_cast<Connection*>(timer->data);
  if (self.state_ != State::Open) return;
  if (self.out_frame_open_) {
    self.ping_due_ = true; // sent when the echoed frame ends
    return;
  }
  self.appendControl(ws::Opcode::Ping, asBytes(kPingPayload));
  self.flush();
}

void Connection::onLingerTimer(uv_timer_t* timer) {
  static_cast<Connection*>(timer->data)->close();
}

void Connection::onClosed(uv_handle_t* handle) {
  Connection& self = *static_cast<Connection*>(handle->data);
  if (--self.open_handles_ == 0) self.server_.release(&self);
}

} // namespace wsgate::echo
