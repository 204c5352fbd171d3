#pragma once

#include "common/http/parser.h"
#include "common/ws/frame_parser.h"
#include "tests/echo/echo_route.h"

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <uv.h>

namespace wsgate::echo {

class Server;
struct WriteRequest;

// Above this many bytes handed to libuv and not yet written, a connection stops reading (an
// echo) or producing (a flood); it resumes once the backlog is under kLowWater.
inline constexpr std::size_t kHighWater = std::size_t{1024} * 1024;
inline constexpr std::size_t kLowWater = std::size_t{256} * 1024;

// One client connection: the upgrade handshake, then the echo (or the test mode its path
// selects), over one TCP handle and one timer (the ping interval, later the close linger).
//
// Output: everything one callback sends is gathered in the server's scratch buffer and sent
// with one uv_try_write; only what the socket refuses is copied into a WriteRequest and
// queued. Echoed frames are streamed: a frame's header goes out with its first payload bytes,
// so an echoed frame may span writes (out_frame_open_ says when the output is mid-frame).
//
// Lifetime: owned by the Server; destroyed only from the last close callback of its handles.
class Connection : private ws::FrameSink {
public:
  // Transitions happen in setState() only.
  enum class State : uint8_t {
    ReadingHead, // reading the upgrade request head
    Holding,     // /slow or /badaccept: input is read and dropped until the peer leaves
    Open,        // WebSocket open: frames are parsed, echoed and answered
    CloseSent,   // we sent a close frame first: frames are parsed only to find the peer's
                 // close, until the close timeout
    Closing,     // our last bytes (close frame, refusal) are queued and a FIN follows them;
                 // input is dropped until EOF or the linger timeout
    Closed,      // uv_close was called on both handles; waiting for the callbacks (transient)
  };
  static const char* toString(State state);

  explicit Connection(Server& server);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Initializes the handles and accepts the pending connection of `listener`. On failure the
  // connection is closing already.
  void accept(uv_stream_t* listener);
  // Closes both handles now; queued writes are cancelled. Idempotent.
  void close();

  State state() const { return state_; }
  // This connection's place in the server's list, for release().
  std::list<std::unique_ptr<Connection>>::iterator self;

private:
  static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);
  static void onPingTimer(uv_timer_t* timer);
  // Ends a connection whose peer did not answer our close or did not leave after our FIN.
  static void onLingerTimer(uv_timer_t* timer);
  static void onClosed(uv_handle_t* handle);

  void setState(State next);
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }

  // Input, by state.
  void readHead(std::span<const uint8_t> bytes);
  void upgrade(const http::Request& request, std::span<const uint8_t> rest);
  void startMode(const http::Request& request);
  void readFrames(std::span<const uint8_t> bytes);
  void failProtocol(ws::ParseError error);

  // FrameSink: builds the echo in the scratch buffer.
  void onFrameHeader(const ws::FrameHeader& header) override;
  void onPayload(const ws::FrameHeader& header, std::span<const uint8_t> wire) override;
  void onFrameEnd(const ws::FrameHeader& header, std::span<const uint8_t> control_payload,
                  std::size_t end) override;

  // Output.
  void appendControl(ws::Opcode opcode, std::span<const uint8_t> payload);
  void appendClose(uint16_t code, std::string_view reason);
  // Sends a close frame (after the scratch buffer) and waits for the peer's (CloseSent).
  void sendClose(uint16_t code, std::string_view reason);
  void flush();
  void queue(std::unique_ptr<WriteRequest> request);
  void pumpFlood();
  // Sends the scratch buffer, then a FIN once every queued byte is written (Closing).
  void finish();
  void refuse(int status, std::string_view body);
  void updateReading();

  Server& server_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_shutdown_t shutdown_req_{};
  State state_ = State::ReadingHead;
  int open_handles_ = 0;
  bool reading_ = false;
  // Bytes in queued WriteRequests whose callback has not run (at least the write queue).
  std::size_t pending_bytes_ = 0;
  std::unique_ptr<http::RequestParser> head_; // while ReadingHead only
  Route route_;
  ws::FrameParser parser_;
  bool echo_data_ = true; // false while flooding or CloseSent: incoming data frames are dropped
  bool drop_ = false;     // /drop: close right after the FIN, without waiting for EOF
  bool close_received_ = false;
  // The echo output is inside a data frame whose payload is not all written yet.
  bool out_frame_open_ = false;
  // Where that frame's header starts in the scratch buffer, or kNoOffset if it was sent by an
  // earlier read.
  std::size_t out_frame_start_ = 0;
  std::size_t mask_offset_ = 0; // offset into the current frame's payload, modulo 4
  bool ping_due_ = false;       // the ping timer fired while the output was mid-frame
  uint64_t pongs_received_ = 0;
  uint64_t flood_left_ = 0;
};

} // namespace wsgate::echo
