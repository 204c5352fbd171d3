#include "proxy/probe/ws_client.h"

#include "common/ws/close.h"
#include "common/ws/frame_writer.h"
#include "common/ws/handshake.h"
#include "common/ws/mask.h"

#include <span>

namespace wsgate::probe {

namespace {

ws::ParserOptions serverFrames(uint8_t allowed_rsv) {
  ws::ParserOptions options;
  options.peer = ws::Role::Server;
  options.allowed_rsv = allowed_rsv;
  return options;
}

std::string asString(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

} // namespace

WsClient::WsClient(Conn& conn, std::vector<uint8_t> early, uint8_t allowed_rsv)
    : conn_(conn), parser_(serverFrames(allowed_rsv)), in_(std::move(early)) {}

bool WsClient::send(ws::Opcode opcode, const std::string& payload, Clock::time_point deadline) {
  const ws::MaskKey key = ws::randomMaskKey();
  std::vector<uint8_t> frame(ws::kMaxFrameHeader + payload.size());
  const std::size_t head = ws::writeFrameHeader(frame.data(), true, opcode, payload.size(), &key);
  ws::unmaskCopy({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
                 frame.data() + head, key, 0);
  frame.resize(head + payload.size());
  last_activity_ = Clock::now();
  if (conn_.writeAll(frame.data(), frame.size(), deadline) == IoStatus::Ok) return true;
  send_error_ = conn_.error().empty() ? "the connection is closed" : conn_.error();
  return false;
}

bool WsClient::sendClose(uint16_t code, const std::string& reason, Clock::time_point deadline) {
  const ws::MaskKey key = ws::randomMaskKey();
  const ws::ControlFrame frame = ws::ControlFrame::close(code, reason, &key);
  last_activity_ = Clock::now();
  if (conn_.writeAll(frame.bytes().data(), frame.size(), deadline) == IoStatus::Ok) return true;
  send_error_ = conn_.error().empty() ? "the connection is closed" : conn_.error();
  return false;
}

void WsClient::onFrameHeader(const ws::FrameHeader& header) {
  if (header.opcode == ws::Opcode::Text || header.opcode == ws::Opcode::Binary) {
    message_.clear();
    message_opcode_ = header.opcode;
  }
}

void WsClient::onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) {
  if (!ws::isControl(header.opcode) && message_.size() < (1U << 20)) message_ += asString(wire);
}

void WsClient::onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control_payload,
                          std::size_t end) {
  (void)end;
  last_activity_ = Clock::now();
  WsEvent event;
  switch (header.opcode) {
  case ws::Opcode::Ping:
    pongs_due_.push_back(asString(control_payload));
    return;
  case ws::Opcode::Pong:
    event.kind = WsEvent::Kind::Pong;
    event.data = asString(control_payload);
    break;
  case ws::Opcode::Close: {
    ws::ClosePayload close;
    ws::parseClosePayload(control_payload, close);
    event.kind = WsEvent::Kind::Close;
    event.code = close.code;
    event.data = std::string(close.reason);
    break;
  }
  default:
    if (!header.fin) return;
    event.kind = WsEvent::Kind::Message;
    event.opcode = message_opcode_;
    event.data = std::move(message_);
    message_.clear();
  }
  events_.push_back(std::move(event));
}

// Feeds the buffered bytes to the parser; false (with an Error event) on a violation.
bool WsClient::parseBuffered() {
  if (in_.empty()) return true;
  const ws::FeedResult result = parser_.feed(in_, *this);
  in_.clear();
  for (const std::string& payload : pongs_due_) {
    const ws::MaskKey key = ws::randomMaskKey();
    const ws::ControlFrame pong = ws::ControlFrame::make(
        ws::Opcode::Pong, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}, &key);
    conn_.writeAll(pong.bytes().data(), pong.size(), Clock::now() + std::chrono::seconds(5));
    ++pings_answered_;
  }
  pongs_due_.clear();
  if (result.ok()) return true;
  WsEvent event;
  event.kind = WsEvent::Kind::Error;
  event.code = ws::closeCodeFor(result.error);
  event.data =
      std::string("the server broke the WebSocket protocol: ") + ws::reasonFor(result.error);
  events_.push_back(std::move(event));
  return false;
}

WsEvent WsClient::next(Clock::time_point deadline) {
  for (;;) {
    parseBuffered();
    if (!events_.empty()) {
      WsEvent event = std::move(events_.front());
      events_.pop_front();
      return event;
    }
    if (parser_.error() != ws::ParseError::None) return {WsEvent::Kind::Error, {}, 0, "dead"};
    const IoStatus status = conn_.readSome(in_, deadline);
    if (status == IoStatus::Ok) continue;
    WsEvent event;
    event.kind = status == IoStatus::Eof       ? WsEvent::Kind::Eof
                 : status == IoStatus::Timeout ? WsEvent::Kind::Timeout
                                               : WsEvent::Kind::Error;
    if (status == IoStatus::Error) event.data = conn_.error();
    return event;
  }
}

} // namespace wsgate::probe
