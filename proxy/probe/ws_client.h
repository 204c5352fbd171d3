#pragma once

// The WebSocket side of the probe after a 101: masked frames out (common/ws frame writer),
// server frames in (common/ws frame parser), the server's pings answered as they come.

#include "common/ws/frame_parser.h"
#include "proxy/probe/conn.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace wsgate::probe {

struct WsEvent {
  enum class Kind : uint8_t {
    Message, // a complete text or binary message: opcode, data
    Pong,    // data is the pong's payload
    Close,   // the server's close frame: code (1005 without one), data is the reason
    Eof,     // the connection ended without a close frame
    Timeout, // the deadline passed with nothing to report
    Error,   // a socket error or a protocol violation: data says which
  };
  Kind kind = Kind::Timeout;
  ws::Opcode opcode = ws::Opcode::Text;
  uint16_t code = 0;
  std::string data;
};

class WsClient : private ws::FrameSink {
public:
  // `early` holds the bytes that followed the 101's head.
  WsClient(Conn& conn, std::vector<uint8_t> early, uint8_t allowed_rsv);

  bool send(ws::Opcode opcode, const std::string& payload, Clock::time_point deadline);
  bool sendClose(uint16_t code, const std::string& reason, Clock::time_point deadline);
  // The next event, waiting until `deadline`.
  WsEvent next(Clock::time_point deadline);

  int pingsAnswered() const { return pings_answered_; }
  // When a frame was last sent or received: the start of the current silence.
  Clock::time_point lastActivity() const { return last_activity_; }
  const std::string& sendError() const { return send_error_; }

private:
  void onFrameHeader(const ws::FrameHeader& header) override;
  void onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) override;
  void onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control_payload,
                  std::size_t end) override;
  bool parseBuffered();

  Conn& conn_;
  ws::FrameParser parser_;
  std::vector<uint8_t> in_;
  std::deque<WsEvent> events_;
  std::string message_;
  ws::Opcode message_opcode_ = ws::Opcode::Text;
  std::vector<std::string> pongs_due_; // pings to answer once the current feed is done
  int pings_answered_ = 0;
  Clock::time_point last_activity_ = Clock::now();
  std::string send_error_;
};

} // namespace wsgate::probe
