#pragma once

#include "common/ws/deflate_params.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

struct z_stream_s;

namespace wsgate::ws {

// Receives what an inflater produces, a block at a time (the block is reused afterwards).
class InflateSink {
public:
  virtual ~InflateSink() = default;
  // Returns false to stop inflating at once (a limit was crossed, the text is not UTF-8).
  virtual bool onInflated(std::span<const uint8_t> block) = 0;
};

enum class InflateResult : uint8_t {
  Ok,      // all input consumed, every output block accepted
  Stopped, // the sink returned false
  Corrupt, // not a valid DEFLATE stream (RFC 1951) under the negotiated window
};

// Inflates the compressed messages of one direction of a permessage-deflate session (RFC 7692)
// only to look at them: output goes to the sink a block at a time through a per-thread scratch
// block, so memory does not grow with the inflated size. The zlib state exists only while it is
// needed: from the first compressed byte, until the end of the message without context takeover
// or for the rest of the session with it.
class MessageInflater {
public:
  explicit MessageInflater(const DeflateDirection& params) : params_(params) {}
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  // Compressed payload bytes of the current message, unmasked, in order.
  InflateResult feed(std::span<const uint8_t> compressed, InflateSink& sink);
  // The message ended: inflates the 0x00 0x00 0xff 0xff tail RFC 7692 section 7.2.2 removed,
  // and drops the state when the sender does not take its context over to the next message.
  InflateResult endMessage(InflateSink& sink);
  // Frees the zlib state (a failed or closed stream needs no more).
  void release();
  // True while zlib state (and its window) is allocated.
  bool holdsState() const { return stream_ != nullptr; }
  const DeflateDirection& params() const { return params_; }

private:
  // Ends and frees the zlib stream (zlib.h stays out of this header).
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const;
  };
  bool ensureStream();

  DeflateDirection params_;
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
};

} // namespace wsgate::ws
